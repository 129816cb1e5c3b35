"""The end-to-end benchmark's command line: instances, the comparison of instance counts, the ladders."""

from __future__ import annotations

import itertools

import pytest

from tests.bench.e2e_args import MAX_RATE, fine_ramp, offered_rates, parse_args, ramp


def test_one_instance_of_each_service_by_default() -> None:
    args = parse_args([])
    assert args.instances == 1
    assert args.compare_instances is None
    assert list(itertools.islice(offered_rates(args), 3)) == list(itertools.islice(ramp(), 3))


def test_instances_and_a_comparison_are_read() -> None:
    assert parse_args(["--instances", "2"]).instances == 2
    assert parse_args(["--compare-instances", "1,2"]).compare_instances == [1, 2]
    assert parse_args(["--compare-instances", " 2, 1 ,3"]).compare_instances == [2, 1, 3]


@pytest.mark.parametrize(
    "argv",
    [
        ["--instances", "0"],
        ["--instances", "two"],
        ["--compare-instances", "2"],
        ["--compare-instances", "1,1"],
        ["--compare-instances", "0,2"],
        ["--compare-instances", "1,2", "--instances", "2"],
        ["--compare-instances", "1,2", "--profile", "router"],
    ],
)
def test_what_cannot_be_run_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_rates_given_win_over_the_ladder() -> None:
    assert list(offered_rates(parse_args(["--rates", "8,16,24", "--ladder", "fine"]))) == [8.0, 16.0, 24.0]
    assert list(offered_rates(parse_args(["--rate", "12"]))) == [12.0]


def test_the_fine_ladder_rises_by_about_ten_per_cent_from_48() -> None:
    rates = list(fine_ramp())
    assert rates[:6] == [16.0, 48.0, 53.0, 58.0, 64.0, 70.0]
    steps = [b / a for a, b in itertools.pairwise(rates[1:])]
    assert all(1.08 <= s <= 1.12 for s in steps)
    assert rates[-1] <= MAX_RATE
    assert list(itertools.islice(offered_rates(parse_args(["--ladder", "fine"])), 3)) == [16.0, 48.0, 53.0]
