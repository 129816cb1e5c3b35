"""`workrouter config check DIR` and `workrouter config schemas DIR`: every file checked together, every problem
listed in one run, and the checked-in schemas written from the code."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import CONFIG_DIR
from workrouter.cli import main
from workrouter.config.rules_file import load_ruleset
from workrouter.config_cli import check, schemas


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err


def seed(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    return folder


def test_the_seed_configuration_checks_clean_with_a_line_per_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "config", "check", str(CONFIG_DIR))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok    sources, work types, queues, calendars",
        "ok    queues, agents, codes",
        f"ok    rules ({CONFIG_DIR / 'rules.yaml'})",
        "ok    escalation",
    ]
    assert "8 queues in 3 domains, 13 agents (1 supervisor)" in lines[1]
    assert "version 2026-11-23.1" in lines[2]
    assert "office-de (Europe/Berlin)" in lines[0]


def test_every_broken_part_is_named_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = seed(tmp_path)
    calendars = folder / "calendars.yaml"
    calendars.write_text(calendars.read_text().replace("Europe/London", "Mars/Olympus"))
    agents = yaml.safe_load((folder / "agents.yaml").read_text())
    agents["agents"][0]["queues"] = ["no-such-queue"]
    (folder / "agents.yaml").write_text(yaml.safe_dump(agents))
    (folder / "rules.yaml").write_text("rules:\n  - {id: d, default: true, set: {priority: hihg}}\n")
    code, out, err = run(capsys, "config", "check", str(folder))
    assert code == 1
    assert "unknown time zone 'Mars/Olympus'" in err
    assert "unknown queue 'no-such-queue'" in err
    assert "rule 'd' (#1): set.priority: unknown level 'hihg'" in err
    assert "escalation: not checked" in err
    assert "4 part(s) with problems" in err
    assert out == ""


def test_a_bad_escalation_file_is_named_with_what_it_refers_to(tmp_path: Path) -> None:
    folder = seed(tmp_path)
    doc = yaml.safe_load((folder / "escalation.yaml").read_text())
    doc["olas"][0]["queue"] = "nowhere"
    (folder / "escalation.yaml").write_text(yaml.safe_dump(doc))
    fine, wrong = check(folder)
    assert len(fine) == 3
    assert len(wrong) == 1
    assert wrong[0].startswith("escalation: ")
    assert "nowhere" in wrong[0]


def test_a_rule_file_elsewhere_is_checked_against_the_folders_calendars(tmp_path: Path) -> None:
    rules = tmp_path / "candidate.yaml"
    rules.write_text(
        "rules:\n  - {id: d, default: true, set: {queue: general, sla: {duration: 2d, calendar: office-fr}}}\n"
    )
    _, wrong = check(CONFIG_DIR, rules)
    assert len(wrong) == 1
    assert "office-fr" in wrong[0]
    rules.write_text(
        "rules:\n  - {id: d, default: true, set: {queue: general, sla: {duration: 2d, calendar: office-de}}}\n"
    )
    assert check(CONFIG_DIR, rules)[1] == []


def test_a_rule_file_without_a_version_is_known_by_its_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"rules:\r\n  - {id: d, default: true, set: {queue: general}}\r\n")
    assert load_ruleset(path).version == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_schemas_writes_every_checked_in_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "schemas", str(tmp_path / "out"))
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert (
        written
        == sorted(schemas())
        == [
            "agents.schema.json",
            "calendars.schema.json",
            "codes.schema.json",
            "escalation.schema.json",
            "queues.schema.json",
            "rules.schema.json",
        ]
    )
    assert len(out.splitlines()) == 6
    docs = CONFIG_DIR.parent.parent / "docs"
    for name in written:
        assert (tmp_path / "out" / name).read_text() == (docs / name).read_text(), f"docs/{name} is stale"
