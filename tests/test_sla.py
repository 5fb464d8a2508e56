"""Service levels and SLA clocks through the command line, with a frozen
clock (CASECTL_NOW) and real repositories: issue 6, item 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import act, case_file, git, load_yaml, new_case, run

PHONE = ("--phone", "+47 912 34 567")


def at(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    monkeypatch.setenv("CASECTL_NOW", when)


def sla(desk: Path, case_id: str) -> dict[str, Any]:
    result = act(desk, "sla", case_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def edit_config(desk: Path, change: Any, message: str = "casectl.yaml by hand") -> None:
    """Change casectl.yaml as an admin would by hand, and commit it."""
    path = desk / "casectl.yaml"
    data = load_yaml(path)
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    git(desk, "add", "casectl.yaml")
    git(desk, "-c", "user.name=Admin", "-c", "user.email=admin@example.no", "commit", "-q",
        "-m", message)


# ---------------------------------------------------------------- the cases

def test_friday_14_with_two_working_days_is_due_tuesday_14(desk, monkeypatch):
    at(monkeypatch, "2026-11-27T14:00:00+01:00")  # a Friday
    case_id = new_case(desk, "--start")
    report = sla(desk, case_id)
    assert report["level"] == "bronze" and report["priority"] == "medium"
    assert report["reaction"] == {"target_minutes": None, "due": None,
                                  "done": "2026-11-27T14:00:00.001+01:00", "breached": None,
                                  "remaining_minutes": None}
    assert report["resolution"] == {"target_minutes": 780, "due": "2026-12-01T14:00:00+01:00",
                                    "done": None, "breached": False, "remaining_minutes": 780,
                                    "paused_minutes": 0}
    at(monkeypatch, "2026-11-30T15:00:00+01:00")  # Monday closing time: 450 minutes used
    assert sla(desk, case_id)["resolution"]["remaining_minutes"] == 330
    at(monkeypatch, "2026-12-01T14:30:00+01:00")
    late = sla(desk, case_id)["resolution"]
    assert late["breached"] is True and late["remaining_minutes"] == -30


def test_norwegian_christmas_is_skipped(desk, monkeypatch):
    # 23 Dec 14:00-15:00 (60) and Christmas Eve (a working day: 390); the
    # 25th is a Friday holiday, then the weekend; Monday 28th 08:30 + 330.
    at(monkeypatch, "2026-12-23T14:00:00+01:00")
    case_id = new_case(desk)
    assert sla(desk, case_id)["resolution"]["due"] == "2026-12-28T14:00:00+01:00"


def test_norwegian_easter_2027_is_skipped(desk, monkeypatch):
    # Wednesday 24 March 14:00; Maundy Thursday 25th to Easter Monday 29th
    # are closed (and summer time starts on the 28th).
    at(monkeypatch, "2027-03-24T14:00:00+01:00")
    case_id = new_case(desk)
    assert sla(desk, case_id)["resolution"]["due"] == "2027-03-31T14:00:00+02:00"


def test_a_daylight_saving_change_inside_the_window(desk, monkeypatch):
    at(monkeypatch, "2026-03-27T14:00:00+01:00")  # clocks go forward on Sunday the 29th
    case_id = new_case(desk)
    assert sla(desk, case_id)["resolution"]["due"] == "2026-03-31T14:00:00+02:00"
    at(monkeypatch, "2026-10-23T14:00:00+02:00")  # and back on Sunday 25 October
    autumn = new_case(desk)
    assert sla(desk, autumn)["resolution"]["due"] == "2026-10-27T14:00:00+01:00"


def test_waiting_across_a_night_and_a_weekend_pauses_resolution(desk, monkeypatch):
    at(monkeypatch, "2026-11-26T09:00:00+01:00")  # Thursday
    case_id = new_case(desk, "--start")
    at(monkeypatch, "2026-11-26T14:00:00+01:00")  # 300 minutes used
    ok(act(desk, "wait", case_id, "--reason", "Venter på svar fra innmelder"))
    at(monkeypatch, "2026-11-28T12:00:00+01:00")  # Saturday, still waiting
    paused = sla(desk, case_id)["resolution"]
    assert paused["remaining_minutes"] == 480
    assert paused["paused_minutes"] == 60 + 390  # Thursday's last hour, all of Friday
    assert paused["breached"] is False
    listed = json.loads(ok(act(desk, "list", "--json")).stdout)
    assert listed[0]["due"] is None  # no deadline runs while waiting
    at(monkeypatch, "2026-11-30T10:00:00+01:00")  # Monday: the reporter answered
    ok(act(desk, "start", case_id))
    resumed = sla(desk, case_id)["resolution"]
    assert resumed["paused_minutes"] == 60 + 390 + 90
    # 480 left from Monday 10:00: 300 on Monday, then Tuesday 08:30 + 180.
    assert resumed["due"] == "2026-12-01T11:30:00+01:00"
    listed = json.loads(ok(act(desk, "list", "--json")).stdout)
    assert listed[0]["due"] == "2026-12-01T11:30:00+01:00"


def test_24x7_levels(desk, monkeypatch):
    at(monkeypatch, "2026-11-28T10:00:00+01:00")  # a Saturday
    critical = new_case(desk, "--sla", "gold", "--priority", "critical", *PHONE)
    report = sla(desk, critical)
    assert report["level"] == "gold"
    assert report["reaction"]["due"] == "2026-11-28T10:10:00+01:00"
    assert report["resolution"]["due"] == "2026-11-28T14:00:00+01:00"
    medium = new_case(desk, "--sla", "PLATINUM")
    # Two working days are 780 business minutes: 13 hours around the clock.
    assert sla(desk, medium)["resolution"]["due"] == "2026-11-28T23:00:00+01:00"
    bronze = new_case(desk, "--priority", "critical", *PHONE)
    assert sla(desk, bronze)["reaction"]["due"] == "2026-11-30T08:40:00+01:00"
    # A 24x7 day with the spring change is 23 hours long.
    at(monkeypatch, "2026-03-28T12:00:00+01:00")
    spring = new_case(desk, "--sla", "gold", "--priority", "low")
    assert sla(desk, spring)["resolution"]["due"] == "2026-03-29T21:30:00+02:00"


def test_a_target_longer_than_thirty_days(desk, monkeypatch):
    edit_config(desk, lambda data: data.update(
        sla={"targets": {"low": {"reaction": None, "resolution": "60d"}}}))
    at(monkeypatch, "2026-11-02T08:30:00+01:00")  # a Monday
    case_id = new_case(desk, "--priority", "low")
    report = sla(desk, case_id)["resolution"]
    assert report["target_minutes"] == 60 * 390
    # Twelve weeks, plus the holidays on Friday 25 December and Friday 1 January.
    assert report["due"] == "2027-01-26T15:00:00+01:00"


def test_a_priority_change_retargets_from_arrival(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")  # Monday
    case_id = new_case(desk, "--start")
    # medium: Monday 360, Tuesday 390, Wednesday 08:30 + 30.
    assert sla(desk, case_id)["resolution"]["due"] == "2026-12-02T09:00:00+01:00"
    at(monkeypatch, "2026-11-30T11:00:00+01:00")
    ok(act(desk, "priority", case_id, "high", "--reason", "Hele avdelingen rammet"))
    report = sla(desk, case_id)
    assert report["priority"] == "high"
    # high: 8 hours counted from arrival, Monday 09:00: 360 today, 120 tomorrow.
    assert report["resolution"]["target_minutes"] == 480
    assert report["resolution"]["due"] == "2026-12-01T10:30:00+01:00"
    # The reaction was done (started at once) under medium, which has no
    # reaction target: a later change does not judge it again.
    assert report["reaction"]["target_minutes"] is None


def test_a_holiday_added_later_does_not_change_a_closed_case(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")  # Monday
    case_id = new_case(desk, "--start")
    at(monkeypatch, "2026-12-02T12:00:00+01:00")  # 360 + 390 + 210 = 960 > 780
    ok(act(desk, "close", case_id, "--solution", "Byttet skrivar"))
    before = sla(desk, case_id)
    assert before["resolution"]["breached"] is True
    assert before["resolution"]["remaining_minutes"] == -180
    assert before["resolution"]["done"] == "2026-12-02T12:00:00+01:00"
    # The desk declares Tuesday 1 December closed, after the fact.
    edit_config(desk, lambda data: data.update(calendar={"country": "NO",
                                                          "closed": ["2026-12-01"]}))
    assert sla(desk, case_id) == before
    assert ok(act(desk, "validate")).exit_code == 0
    # A case arriving now is judged by the new calendar.
    at(monkeypatch, "2026-11-30T09:05:00+01:00")
    later = new_case(desk)
    # Monday 355, Tuesday closed, Wednesday 390, Thursday 08:30 + 35.
    assert sla(desk, later)["resolution"]["due"] == "2026-12-03T09:05:00+01:00"


def test_a_missing_config_blob_falls_back_to_the_current_config_and_says_so(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    doc["log"][0]["data"]["config"] = "0" * 40
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    git(desk, "-c", "user.name=A", "-c", "user.email=a@example.no", "commit", "-qam", "hand")
    result = ok(act(desk, "sla", case_id, "--json"))
    assert "not in this repository" in result.stderr
    assert json.loads(result.stdout)["resolution"]["due"] == "2026-12-02T09:00:00+01:00"


# ---------------------------------------------------------------- reaction

def test_reaction_ends_with_an_agents_reporter_visible_entry(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    quick = new_case(desk, "--priority", "high")
    slow = new_case(desk, "--priority", "high", "--reporter", "Ola <ola@example.no>")
    noted = new_case(desk, "--priority", "high")
    at(monkeypatch, "2026-11-30T09:20:00+01:00")
    ok(act(desk, "log", quick, "Vi ser på saken"))
    ok(act(desk, "log", noted, "Intern: sjekk DIPS-loggen", "--internal"))
    at(monkeypatch, "2026-11-30T09:45:00+01:00")
    ok(act(desk, "log", slow, "Vi ser på saken", "--email"))
    assert sla(desk, quick)["reaction"] == {
        "target_minutes": 30, "due": "2026-11-30T09:30:00+01:00",
        "done": "2026-11-30T09:20:00+01:00", "breached": False, "remaining_minutes": 10}
    late = sla(desk, slow)["reaction"]
    assert late["breached"] is True and late["remaining_minutes"] == -15
    # An internal note is no reaction: the clock still runs.
    still = sla(desk, noted)["reaction"]
    assert still["done"] is None and still["breached"] is True


def test_resolution_from_start(desk, monkeypatch):
    edit_config(desk, lambda data: data.update(sla={"resolution_from": "start"}))
    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    case_id = new_case(desk)
    at(monkeypatch, "2026-11-30T13:00:00+01:00")
    assert sla(desk, case_id)["resolution"]["remaining_minutes"] == 780
    ok(act(desk, "start", case_id))
    # 780 from Monday 13:00: 120 today, 390 Tuesday, 270 Wednesday.
    assert sla(desk, case_id)["resolution"]["due"] == "2026-12-02T13:00:00+01:00"


# ---------------------------------------------------------------- lists and checks

def test_list_breached_at_risk_sort_due_and_sla_check(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")  # Monday
    medium = new_case(desk, subject="Skrivar")  # due Wednesday 09:00
    high = new_case(desk, "--priority", "high", subject="Nettverk")  # due Tuesday 10:30
    waiting = new_case(desk, "--priority", "low", subject="Bestilling")
    ok(act(desk, "wait", waiting))
    assert ok(act(desk, "sla", "--check")).exit_code == 0
    order = [row["id"] for row in json.loads(ok(act(desk, "list", "--sort", "due",
                                                     "--json")).stdout)]
    assert order == [high, medium, waiting]
    # Monday 09:40: the high case's 30-minute reaction target has passed.
    at(monkeypatch, "2026-11-30T09:40:00+01:00")
    breached = json.loads(ok(act(desk, "list", "--breached", "--json")).stdout)
    assert [row["id"] for row in breached] == [high]
    assert act(desk, "sla", "--check").exit_code == 1
    ok(act(desk, "log", high, "Vi ser på saken"))  # late, and the breach stays
    assert act(desk, "sla", "--check").exit_code == 1
    # Tuesday 14:00: medium has 90 of 780 minutes left (< 20%): at risk.
    at(monkeypatch, "2026-12-01T14:00:00+01:00")
    risky = json.loads(ok(act(desk, "list", "--at-risk", "--json")).stdout)
    assert [row["id"] for row in risky] == [medium]
    overview = ok(act(desk, "sla", "--format", "json"))
    states = {row["id"]: row["state"] for row in json.loads(overview.stdout)}
    assert states == {high: "breached", medium: "at risk"}
    table = ok(act(desk, "list")).stdout.splitlines()
    assert table[0].split()[7] == "due"
    dues = {line.split()[0]: line.split()[7] for line in table[2:]}
    assert dues[medium] == "19h"  # wall-clock time to Wednesday 09:00
    # Closing the breached case: no open case is breached any more.
    ok(act(desk, "close", high, "--solution", "Byttet kabel", "--confirmed"))
    assert act(desk, "sla", "--check").exit_code == 0
    assert json.loads(ok(act(desk, "list", "--breached", "--all", "--json")).stdout)[0]["id"] \
        == high


def test_sla_table_for_people(desk, monkeypatch):
    at(monkeypatch, "2026-11-27T14:00:00+01:00")
    case_id = new_case(desk, "--priority", "high")
    out = ok(act(desk, "sla", case_id)).stdout
    assert f"{case_id}  level bronze  priority high" in out
    assert "reaction    30m     2026-11-27 14:30" in out
    assert ok(act(desk, "sla")).stdout.strip() == "no open case is breached or at risk"


# ---------------------------------------------------------------- levels and organisations

def test_org_add_list_and_the_level_a_case_gets(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    assert ok(act(desk, "org", "add", "Bergen kommune", "--sla", "gold",
                  agent="admin")).stdout.strip() == "Bergen kommune"
    ok(act(desk, "org", "add", "Helse Vest", "--sla", "platinum", agent="admin"))
    assert json.loads(ok(act(desk, "org", "list", "--json")).stdout) == [
        {"org": "Bergen kommune", "sla": "gold"}, {"org": "Helse Vest", "sla": "platinum"}]
    assert load_yaml(desk / "casectl.yaml")["orgs"]["Bergen kommune"] == {"sla": "gold"}
    from_org = new_case(desk, "--org", "bergen KOMMUNE")
    chosen = new_case(desk, "--org", "Bergen kommune", "--sla", "silver")
    other = new_case(desk, "--org", "Oslo kommune")
    assert [sla(desk, c)["level"] for c in (from_org, chosen, other)] == \
        ["gold", "silver", "bronze"]
    doc = load_yaml(case_file(desk, from_org))
    assert doc["sla"] == "gold"
    assert "priority medium  type incident  sla gold" in ok(act(desk, "show", from_org)).stdout
    created = doc["log"][0]["data"]
    assert created["sla"] == "gold"
    assert created["config"] == git(desk, "rev-parse", "HEAD~3:casectl.yaml").strip()
    dup = act(desk, "org", "add", "bergen kommune", "--sla", "gold", agent="admin")
    assert dup.exit_code == 1 and "org set" in dup.stderr
    ok(act(desk, "org", "set", "BERGEN KOMMUNE", "--sla", "silver", agent="admin"))
    assert sla(desk, from_org)["level"] == "gold"  # registered cases keep theirs
    assert act(desk, "org", "set", "Nowhere", "--sla", "gold").exit_code == 3


def test_bad_input(desk, tmp_path):
    unknown = act(desk, "new", "--subject", "x", "--sla", "tin")
    assert unknown.exit_code == 2 and "unknown SLA level 'tin'" in unknown.stderr
    assert "platinum, gold, silver, bronze" in unknown.stderr
    assert act(desk, "org", "add", "X", "--sla", "tin").exit_code == 2
    country = run("init", str(tmp_path / "fi"), "--country", "FI")
    assert country.exit_code == 2 and "NO (Norway), SE (Sweden) or DK (Denmark)" in \
        country.stderr
    assert not (tmp_path / "fi").exists()
    assert act(desk, "sla", "--check", "ABCD").exit_code == 2
    assert act(desk, "sla", "ZZZZZZZZZZ").exit_code == 3
    # A bad duration in casectl.yaml is named, with how to write one.
    edit_config(desk, lambda data: data.update(
        sla={"targets": {"high": {"resolution": "8 hours"}}}))
    result = act(desk, "validate")
    assert result.exit_code == 4
    assert "sla.targets.high.resolution" in result.output
    assert "10m, 4h, 1h30m or 2d" in result.output
    assert act(desk, "list").exit_code == 4


def test_init_country_writes_the_calendar_and_levels(tmp_path, monkeypatch):
    root = tmp_path / "dk"
    ok(run("init", str(root), "--country", "dk", "--timezone", "Europe/Copenhagen"))
    data = load_yaml(root / "casectl.yaml")
    assert data["calendar"]["country"] == "DK"
    assert data["calendar"]["hours"]["mon"] == "08:30-15:00"
    assert data["sla"]["targets"]["medium"] == {"reaction": None, "resolution": "2d"}
    assert ok(run("--repo", str(root), "validate")).exit_code == 0
    # Denmark keeps Maundy Thursday; a case on Wednesday 24 March 2027 at 14:00.
    monkeypatch.setenv("CASECTL_AGENT", "kari")
    at(monkeypatch, "2027-03-24T14:00:00+01:00")
    case_id = ok(run("--repo", str(root), "new", "--subject", "Printer")).stdout.strip()
    report = json.loads(ok(run("--repo", str(root), "sla", case_id, "--json")).stdout)
    assert report["resolution"]["due"] == "2027-03-31T14:00:00+02:00"


def test_sweden_counts_no_sundays_and_no_maundy_thursday(tmp_path, monkeypatch):
    root = tmp_path / "se"
    ok(run("init", str(root), "--country", "SE", "--timezone", "Europe/Stockholm"))
    edit_config(root, lambda data: data["calendar"]["hours"].update(sun="10:00-14:00"))
    monkeypatch.setenv("CASECTL_AGENT", "kari")
    at(monkeypatch, "2027-03-24T14:00:00+01:00")  # Wednesday before Easter
    case_id = ok(run("--repo", str(root), "new", "--subject", "Skrivare")).stdout.strip()
    # Wed 60, Maundy Thursday (a working day in Sweden) 390, Good Friday
    # closed, Saturday closed, Easter Sunday closed (a holiday, though the
    # desk works Sundays), Easter Monday closed, Tuesday 08:30 + 330.
    report = json.loads(ok(run("--repo", str(root), "sla", case_id, "--json")).stdout)
    assert report["resolution"]["due"] == "2027-03-30T14:00:00+02:00"
    # An ordinary Sunday is open: Friday 14:00 + 60 + Sunday 240 + Monday 480 - ...
    at(monkeypatch, "2027-04-09T14:00:00+02:00")
    other = ok(run("--repo", str(root), "new", "--subject", "Skjerm")).stdout.strip()
    report = json.loads(ok(run("--repo", str(root), "sla", other, "--json")).stdout)
    # Friday 60, Sunday 240, Monday 390 (690), Tuesday 08:30 + 90.
    assert report["resolution"]["due"] == "2027-04-13T10:00:00+02:00"


def test_the_readme_worked_example(desk, monkeypatch):
    """The README's worked example, field for field."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ casectl sla 6FV7EG96VK --json\n", 1)[1].split("    $ ", 1)[0]
    expected = json.loads("\n".join(line[4:] for line in shown.splitlines()))
    ok(act(desk, "org", "add", "Bergen kommune", "--sla", "silver", agent="admin"))
    at(monkeypatch, "2026-11-27T14:00:00+01:00")
    case_id = new_case(desk, "--reporter", "Ola Nordmann <ola@bergen.kommune.no>", "--org",
                       "Bergen kommune", "--priority", "high")
    for when, args in (("2026-11-27T14:20:00+01:00", ("log", case_id, "Vi ser på saken")),
                       ("2026-11-27T14:25:00+01:00", ("start", case_id)),
                       ("2026-11-30T10:00:00+01:00", ("wait", case_id)),
                       ("2026-11-30T13:00:00+01:00", ("start", case_id))):
        at(monkeypatch, when)
        ok(act(desk, *args))
    at(monkeypatch, "2026-12-01T09:00:00+01:00")
    assert sla(desk, case_id) == {**expected, "id": case_id}


def test_solved_to_reopened_does_not_count(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")  # Monday
    case_id = new_case(desk, "--start")
    at(monkeypatch, "2026-11-30T10:00:00+01:00")  # 60 used
    ok(act(desk, "close", case_id, "--solution", "Startet tjenesten på nytt"))
    solved = sla(desk, case_id)["resolution"]
    assert solved["done"] == "2026-11-30T10:00:00+01:00"
    assert solved["remaining_minutes"] == 720 and solved["breached"] is False
    at(monkeypatch, "2026-12-02T10:00:00+01:00")  # Wednesday: it failed again
    ok(act(desk, "reopen", case_id, "--reason", "Feilen kom tilbake"))
    reopened = sla(desk, case_id)["resolution"]
    assert reopened["done"] is None and reopened["remaining_minutes"] == 720
    # 720 from Wednesday 10:00: 300 today, 390 Thursday, Friday 08:30 + 30.
    assert reopened["due"] == "2026-12-04T09:00:00+01:00"


def test_a_level_with_hours_of_its_own(desk, monkeypatch):
    edit_config(desk, lambda data: data.update(sla={
        "default": "extended",
        "levels": {"extended": {"hours": {d: "07:00-19:00" for d in
                                          ("mon", "tue", "wed", "thu", "fri", "sat")}},
                   "gold": {"hours": "24x7"}}}))
    at(monkeypatch, "2026-12-24T18:00:00+01:00")  # Christmas Eve, a Thursday
    case_id = new_case(desk, "--priority", "high")
    report = sla(desk, case_id)
    assert report["level"] == "extended"
    # 18:00-19:00 (60); the 25th is a holiday, the 26th a holiday (Saturday),
    # Sunday closed; Monday 28th 07:00 + 420.
    assert report["resolution"]["due"] == "2026-12-28T14:00:00+01:00"
    assert act(desk, "new", "--subject", "x", "--sla", "bronze").exit_code == 2


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.update(calendar={"country": "FI"}), "calendar.country", "NO, SE, DK"),
    (lambda d: d.update(calendar={"hours": {"mon": "15:00-08:30"}}), "calendar.hours",
     "ends before it starts"),
    (lambda d: d.update(calendar={"hours": {"mon": "8-15"}}), "calendar.hours",
     "mon: '8-15' is not a time span; write it like 08:30-15:00"),
    (lambda d: d.update(sla={"levels": {"bronze": {"hours": "24/7"}}}),
     "sla.levels.bronze.hours", "write 24x7, business"),
    (lambda d: d.update(calendar={"hours": {"mon": None}}), "calendar.hours",
     "no weekday has working hours"),
    (lambda d: d.update(calendar={"closed": ["2026-02-30"]}), "calendar.closed[0]",
     "is not a date"),
    (lambda d: d.update(sla={"default": "tin"}), "sla.default", "not one of the levels"),
    (lambda d: d.update(orgs={"Bergen kommune": {"sla": "tin"}}), "orgs.Bergen kommune.sla",
     "not one of the levels"),
    (lambda d: d.update(sla={"resolution_from": "now"}), "sla.resolution_from",
     "arrival, start"),
])
def test_validate_names_what_is_wrong_in_the_sla_sections(desk, change, field, words):
    edit_config(desk, change)
    result = act(desk, "validate")
    assert result.exit_code == 4, result.output
    assert field in result.output and words in result.output, result.output


def test_hand_written_dates_and_norway_need_no_quotes(desk, monkeypatch):
    path = desk / "casectl.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "calendar:\n  country: NO\n"
                    "  closed: [2026-12-01]\n", encoding="utf-8")
    git(desk, "-c", "user.name=A", "-c", "user.email=a@example.no", "commit", "-qam", "cal")
    assert ok(act(desk, "validate")).exit_code == 0
    at(monkeypatch, "2026-11-30T14:00:00+01:00")
    case_id = new_case(desk)
    # Monday 60, Tuesday closed, Wednesday 390, Thursday 08:30 + 330.
    assert sla(desk, case_id)["resolution"]["due"] == "2026-12-03T14:00:00+01:00"


def test_cases_from_before_follow_the_current_calendar_in_lists_too(desk, monkeypatch):
    """A case written before casectl recorded a config blob (nor a level) is
    judged under the current casectl.yaml, and the query index computes it
    again when the calendar changes; a case with its blob is not."""
    at(monkeypatch, "2026-11-30T09:00:00+01:00")  # Monday
    old, pinned = new_case(desk), new_case(desk)
    path = case_file(desk, old)
    doc = load_yaml(path)
    del doc["sla"], doc["log"][0]["data"]["sla"], doc["log"][0]["data"]["config"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    git(desk, "-c", "user.name=A", "-c", "user.email=a@example.no", "commit", "-qam",
        "a case as casectl 0.2 wrote it")
    assert ok(act(desk, "validate")).exit_code == 0

    def dues() -> dict[str, str]:
        rows = json.loads(ok(act(desk, "list", "--json")).stdout)
        return {row["id"]: (row["sla"], row["due"]) for row in rows}
    assert dues() == {old: ("bronze", "2026-12-02T09:00:00+01:00"),
                      pinned: ("bronze", "2026-12-02T09:00:00+01:00")}
    edit_config(desk, lambda data: data.update(calendar={"closed": ["2026-12-01"]}))
    assert dues() == {old: ("bronze", "2026-12-03T09:00:00+01:00"),
                      pinned: ("bronze", "2026-12-02T09:00:00+01:00")}
    assert sla(desk, old)["resolution"]["due"] == "2026-12-03T09:00:00+01:00"


def test_list_and_actions_do_not_import_the_holidays_package(desk, monkeypatch):
    """`import holidays` costs ~200 ms: once its dates are cached under
    .git/casectl, neither `list` (even right after an action, when the index
    catches up) nor `sla ID` imports it."""
    import subprocess
    import sys

    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    case_id = new_case(desk)
    ok(act(desk, "list"))  # fills the caches
    assert (desk / ".git" / "casectl" / "holidays.json").is_file()
    probe = ("import sys\nfrom casectl.cli import cli\n"
             "try:\n    cli(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "print('imported' if 'holidays' in sys.modules else 'not imported')\n")
    for args in (("new", "--subject", "Skjerm"), ("list",), ("sla", case_id)):
        done = subprocess.run([sys.executable, "-c", probe, "--repo", str(desk), "--as", "kari",
                               *args], capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == "not imported", (args, done.stderr)


def test_sla_formats(desk, monkeypatch):
    at(monkeypatch, "2026-11-30T09:00:00+01:00")
    case_id = new_case(desk, "--priority", "high")
    as_yaml = yaml.safe_load(ok(act(desk, "sla", case_id, "--format", "yaml")).stdout)
    assert as_yaml == sla(desk, case_id)
    lines = ok(act(desk, "sla", case_id, "--format", "csv")).stdout.splitlines()
    assert lines[0] == ("id,level,priority,clock,target_minutes,due,done,breached,"
                        "remaining_minutes,paused_minutes")
    assert lines[1].startswith(f"{case_id},bronze,high,reaction,30,2026-11-30T09:30:00+01:00")


def test_the_casectl_yaml_a_case_is_judged_under_is_always_in_git(desk):
    """Normally HEAD's casectl.yaml (no git process to pin it); a hand edit
    not committed yet is stored as a blob, so the id in the case names one."""
    committed = new_case(desk)
    created = load_yaml(case_file(desk, committed))["log"][0]["data"]
    assert created["config"] == git(desk, "rev-parse", "HEAD~1:casectl.yaml").strip()
    config = desk / "casectl.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "calendar:\n  closed: [2027-03-24]\n",
                      encoding="utf-8")
    edited = new_case(desk)
    blob = load_yaml(case_file(desk, edited))["log"][0]["data"]["config"]
    assert blob != created["config"]
    assert git(desk, "cat-file", "-t", blob).strip() == "blob"
    assert git(desk, "cat-file", "blob", blob) == config.read_text(encoding="utf-8")
    assert "casectl.yaml" in git(desk, "status", "--porcelain")  # the edit stays the user's


def test_edit_sla_relevels_a_case_as_if_it_had_arrived_with_it(desk, monkeypatch):
    """A case registered under the wrong level (its organisation not given)
    is corrected with edit --sla: one edited event, and its clocks follow
    the new level's hours from arrival, in `sla` and in the query index."""
    at(monkeypatch, "2026-11-27T14:00:00+01:00")  # a Friday, 1 h before closing
    case_id = new_case(desk, "--priority", "high")
    assert sla(desk, case_id)["level"] == "bronze"
    # bronze: 8 working hours = 1 h on Friday, 6.5 h on Monday, 30 min on Tuesday
    assert sla(desk, case_id)["resolution"]["due"] == "2026-12-01T09:00:00+01:00"
    at(monkeypatch, "2026-11-27T14:30:00+01:00")
    ok(act(desk, "edit", case_id, "--sla", "gold", "--reason", "Helse Vest har gull"))
    clocks = sla(desk, case_id)
    assert clocks["level"] == "gold"  # 24x7: 8 hours from arrival
    assert clocks["resolution"]["due"] == "2026-11-27T22:00:00+01:00"
    edited = load_yaml(case_file(desk, case_id))["log"][-1]
    assert edited["kind"] == "edited" and edited["public"] is False
    assert edited["data"]["changes"] == {"sla": {"old": "bronze", "new": "gold"}}
    assert "Action: edit" in git(desk, "log", "-1", "--format=%B")
    at(monkeypatch, "2026-11-27T23:00:00+01:00")  # breached under gold, not under bronze
    listed = json.loads(ok(act(desk, "list", "--breached", "--json")).stdout)
    assert [row["id"] for row in listed] == [case_id]
    again = act(desk, "edit", case_id, "--sla", "GOLD")
    assert again.exit_code == 1 and "edit-changes-something" in again.stderr
    unknown = act(desk, "edit", case_id, "--sla", "tin")
    assert unknown.exit_code == 2 and "unknown SLA level 'tin'" in unknown.stderr
    assert act(desk, "validate").exit_code == 0
