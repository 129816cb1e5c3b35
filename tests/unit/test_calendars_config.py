"""calendars.yaml: the seed loads, bad input is refused naming the calendar and field, rules and work types use it."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from workrouter.config.calendars import load_calendars, schema_json
from workrouter.config.catalog import load_catalog
from workrouter.config.files import ConfigError
from workrouter.config.rules_file import read_rule_file
from workrouter.domain.rules import RuleSetError, parse_ruleset

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "deploy" / "config"
REGENERATE = "run `.venv/bin/workrouter config schemas docs`"

Doc = dict[str, Any]
OFFICE: Doc = {
    "name": "office-de",
    "timezone": "Europe/Berlin",
    "hours": {"mon": "08:00-18:00", "tue": "08:00-12:00,13:00-18:00", "sat": "10:00-24:00"},
    "holidays": {"country": "DE", "subdiv": "BY"},
    "closed": ["2026-12-24"],
    "business_day": "8h",
}


def write(tmp_path: Path, doc: Any) -> Path:
    (tmp_path / "calendars.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path


def with_office(change: Callable[[Doc], None]) -> Doc:
    office = copy.deepcopy(OFFICE)
    change(office)
    return {"calendars": [office]}


def test_the_seed_loads_with_24x7_and_follows_the_published_schema() -> None:
    calendars = load_calendars(SEED)
    assert list(calendars) == ["24x7", "office-de", "office-us", "support-uk"]
    office_de = calendars["office-de"]
    assert (office_de.tz.key, office_de.business_day_seconds) == ("Europe/Berlin", 8 * 3600)
    assert office_de.is_closed_day(date(2026, 12, 25))  # Christmas, a public holiday
    assert office_de.is_closed_day(date(2026, 12, 24))  # listed under closed
    assert office_de.is_closed_day(date(2026, 1, 6))  # Epiphany: a holiday in Bavaria, not in Berlin
    assert not office_de.is_closed_day(date(2026, 12, 23))
    assert calendars["office-us"].is_closed_day(date(2026, 7, 3))  # July 4th is a Saturday: observed on Friday
    doc = read_rule_file((SEED / "calendars.yaml").read_text())
    assert list(Draft202012Validator(json.loads(schema_json())).iter_errors(doc)) == []


def test_the_checked_in_schema_matches_the_code() -> None:
    path = ROOT / "docs" / "calendars.schema.json"
    assert path.exists(), f"docs/calendars.schema.json is missing: {REGENERATE}"
    assert path.read_text() == schema_json(), f"docs/calendars.schema.json is stale: {REGENERATE}"
    assert '"null"' not in schema_json(), "keys are left out, never null"


def test_without_a_file_only_24x7_exists(tmp_path: Path) -> None:
    assert list(load_calendars(tmp_path)) == ["24x7"]


def test_a_good_file_builds_the_calendars(tmp_path: Path) -> None:
    office = load_calendars(write(tmp_path, {"calendars": [OFFICE]}))["office-de"]
    monday_noon = datetime(2026, 1, 19, 11, 30, tzinfo=UTC)  # 12:30 in Berlin: the Tuesday lunch hour is closed
    assert office.is_open(monday_noon)
    assert not office.is_open(datetime(2026, 1, 20, 11, 30, tzinfo=UTC))
    assert office.is_open(datetime(2026, 1, 24, 22, 59, tzinfo=UTC))  # Saturday 23:59: open until midnight
    assert not office.is_open(datetime(2026, 1, 21, 9, 0, tzinfo=UTC))  # Wednesday is left out: closed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c.update(timezone="Europe/Berln"),
            "calendars[0].timezone (calendar 'office-de'): unknown time zone 'Europe/Berln' "
            "(did you mean 'Europe/Berlin'?)",
        ),
        (lambda c: c["hours"].update(mon="8-18"), "calendars[0].hours.mon (calendar 'office-de'): bad range '8-18'"),
        (
            lambda c: c["hours"].update(mon="08:00-13:00,12:00-17:00"),
            "calendars[0].hours.mon (calendar 'office-de'): range '12:00-17:00' overlaps",
        ),
        (
            lambda c: c["hours"].update(fri="18:00-08:00"),
            "calendars[0].hours.fri (calendar 'office-de'): range '18:00-08:00' does not end after it starts",
        ),
        (
            lambda c: c["hours"].update(monday="08:00-18:00"),
            "calendars[0].hours.monday (calendar 'office-de'): key: Input should be 'mon'",
        ),
        (
            lambda c: c.update(hours={}),
            "calendars[0].hours (calendar 'office-de'): no opening hours on any day",
        ),
        (
            lambda c: c["holidays"].update(country="XX"),
            "calendars[0].holidays.country (calendar 'office-de'): unknown country code 'XX'",
        ),
        (
            lambda c: c["holidays"].update(subdiv="ZZ"),
            "calendars[0].holidays.subdiv (calendar 'office-de'): unknown subdivision 'ZZ' of DE (known: BB, BE",
        ),
        (
            lambda c: c.update(holidyas=c.pop("holidays")),
            "calendars[0] (calendar 'office-de'): unknown key 'holidyas' (did you mean 'holidays'?",
        ),
        (
            lambda c: c.update(holidays=None),
            "calendars[0] (calendar 'office-de'): holidays: null is not allowed",
        ),
        (
            lambda c: c.update(closed=["2026-02-30"]),
            "calendars[0].closed[0] (calendar 'office-de'): Input should be a valid date",
        ),
        (
            lambda c: c.update(business_day="25h"),
            "calendars[0].business_day (calendar 'office-de'): a business day is at most 24h",
        ),
        (
            lambda c: c.update(name="24x7"),
            "calendars[0].name (calendar '24x7'): '24x7' is built in",
        ),
    ],
)
def test_bad_input_names_the_calendar_and_the_field(
    tmp_path: Path, change: Callable[[Doc], None], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_calendars(write(tmp_path, with_office(change)))
    assert str(caught.value).startswith(f"{tmp_path / 'calendars.yaml'}: ")
    assert message in str(caught.value)


def test_a_name_used_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"calendars\[1\]\.name \(calendar 'office-de'\): calendar 'office-de' is"):
        load_calendars(write(tmp_path, {"calendars": [OFFICE, OFFICE]}))


def test_yaml_errors_and_empty_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "calendars.yaml").write_text("calendars:\n  - name: a\n    name: b\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_calendars(tmp_path)
    (tmp_path / "calendars.yaml").write_text("")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_calendars(tmp_path)


# ---- where calendars are used --------------------------------------------------------------------------------


def test_a_rule_sla_on_a_business_calendar_counts_business_days() -> None:
    calendars = load_calendars(SEED)
    sla = {"duration": "2d", "calendar": "office-de"}
    doc = {"rules": [{"id": "d", "default": True, "set": {"sla": sla}}]}
    ruleset = parse_ruleset(doc, known_calendars=calendars)
    assert ruleset.default.updates == {"sla_seconds": 2 * 8 * 3600, "sla_calendar": "office-de"}
    sla.update(duration="1d4h", calendar="24x7")
    assert parse_ruleset(doc, known_calendars=calendars).default.updates["sla_seconds"] == 28 * 3600
    sla.update(calendar="office-fr")
    with pytest.raises(
        RuleSetError, match=r"set\.sla\.calendar: unknown calendar 'office-fr' \(known: 24x7, office-de"
    ):
        parse_ruleset(doc, known_calendars=calendars)


def copy_seed(tmp_path: Path, sla: str) -> Path:
    for name in ("sources.yaml", "worktypes.yaml", "queues.yaml", "calendars.yaml"):
        shutil.copy(SEED / name, tmp_path / name)
    worktypes = tmp_path / "worktypes.yaml"
    worktypes.write_text(worktypes.read_text().replace("sla: {duration: 2d}", sla, 1))
    return tmp_path


def test_the_catalog_holds_the_calendars_and_work_type_slas_count_on_them(tmp_path: Path) -> None:
    catalog = load_catalog(copy_seed(tmp_path, "sla: {duration: 2d, calendar: office-de}"))
    assert set(catalog.calendars) == {"24x7", "office-de", "office-us", "support-uk"}
    base = catalog.worktypes["claim"].base("v1")
    assert (base.sla_seconds, base.sla_calendar) == (2 * 8 * 3600, "office-de")
    assert load_catalog(SEED).worktypes["claim"].base("v1").sla_seconds == 2 * 86_400  # 24x7


def test_a_work_type_sla_on_an_unknown_calendar_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"worktypes\.yaml: .*sla: Value error, unknown calendar 'office-fr'"):
        load_catalog(copy_seed(tmp_path, "sla: {duration: 2d, calendar: office-fr}"))
