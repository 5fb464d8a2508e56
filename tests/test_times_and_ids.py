"""Times and ids through the real command line: ids for any creation time
from 1990 to 2999, a clear refusal outside that range, cases with the
legacy 10-character ids still working, and lists sorted by instant rather
than by the text of a timestamp."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from casectl import ids, model, yamlio
from helpers import (act, build_desk, case_file, commit_count, copy_desk, git, isolated_env,
                      load_case, new_case)

RANGE = "1990-01-01 to 2999-12-31"
LEGACY_EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with isolated_env(tmp_path_factory.mktemp("template-home")):
        return build_desk(tmp_path_factory.mktemp("template") / "desk")


@pytest.fixture
def desk(tmp_path: Path, desk_template: Path) -> Path:
    return copy_desk(desk_template, tmp_path)


def list_ids(desk: Path, *args: str) -> list[str]:
    result = act(desk, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


# ---------------------------------------------------------------- the range

@pytest.mark.parametrize("now", ["1990-01-01T00:00:00+00:00", "1990-06-15T12:00:00+02:00",
                                 "2019-01-01T00:00:00+01:00", "2019-06-15T12:00:00+02:00",
                                 "2099-06-15T12:00:00+02:00", "2199-06-15T12:00:00+02:00",
                                 "2999-12-31T23:59:58+00:00", "2026-11-22T09:30:00+01:00",
                                 "2054-01-09T00:00:00+00:00", "2054-06-15T12:00:00+02:00"])
def test_new_case_at_any_time_in_the_range(desk, monkeypatch, now):
    moment = datetime.fromisoformat(now)
    monkeypatch.setenv("CASECTL_NOW", now)
    case_id = new_case(desk, subject="Migrert sak")
    # The short form while it fits (2020 to 2054-01-09), the long one outside.
    short = ids.LEGACY_EPOCH <= moment < ids.LEGACY_CASE_END
    assert len(case_id) == (10 if short else 11) and ids.is_case_id(case_id)
    assert ids.case_id_time(case_id) == moment
    # Sharded by the UTC month of creation, as the id says.
    utc = moment.astimezone(timezone.utc)
    assert case_file(desk, case_id).relative_to(desk).as_posix() == \
        f"cases/{utc.year:04d}/{utc.month:02d}/{case_id}.yaml"
    # git dates its commit at the case's time, also after 2099.
    assert git(desk, "log", "-1", "--format=%at %ct").split() == [
        str(int(moment.timestamp()))] * 2

    logged = act(desk, "log", case_id.lower(), "Ringte brukar")
    assert logged.exit_code == 0, logged.output
    case = load_case(desk, case_id)
    assert datetime.fromisoformat(case["created"]) == moment
    # Event ids likewise, by their own span (to 2054-11-03).
    short_events = ids.LEGACY_EPOCH <= moment < ids.LEGACY_EVENT_END - timedelta(seconds=1)
    assert [len(event["id"]) for event in case["log"]] == [12 if short_events else 13] * 2

    shown = act(desk, "show", case_id)
    assert shown.exit_code == 0, shown.output
    assert case_id in shown.stdout and "Ringte brukar" in shown.stdout
    history = act(desk, "history", case_id, "--json")
    assert history.exit_code == 0, history.output
    assert [row["kind"] for row in json.loads(history.stdout)] == ["created", "worklog"]
    assert case_id in list_ids(desk, "--all")
    validated = act(desk, "validate")
    assert validated.exit_code == 0, validated.output


@pytest.mark.parametrize("now", ["1989-12-31T23:59:59+00:00", "1990-01-01T00:30:00+01:00",
                                 "1989-06-15T12:00:00+02:00", "3000-01-01T00:00:00+00:00",
                                 "3000-06-15T12:00:00+02:00", "0001-01-01T00:00:00+01:00",
                                 "9999-12-31T23:30:00-01:00"])
def test_new_case_outside_the_range_is_a_usage_error(desk, monkeypatch, now):
    before = commit_count(desk)
    monkeypatch.setenv("CASECTL_NOW", now)
    result = act(desk, "new", "--subject", "For tidlig eller for sent")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert f"CASECTL_NOW={now}" in result.stderr and RANGE in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert commit_count(desk) == before
    assert not list((desk / "cases").rglob("*.yaml"))


def test_no_event_outside_the_range(desk, monkeypatch):
    monkeypatch.setenv("CASECTL_NOW", "2026-11-22T09:30:00+01:00")
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    text = path.read_text(encoding="utf-8")
    monkeypatch.setenv("CASECTL_NOW", "3001-01-01T09:30:00+01:00")
    result = act(desk, "log", case_id, "Fra framtida")
    assert result.exit_code == 2, result.output
    assert RANGE in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_a_typed_id_longer_than_any_id_is_not_found(desk):
    """Ids of either length are typed in full or as a prefix; 12 characters
    can be neither."""
    result = act(desk, "show", "12P864R5J5SX")
    assert result.exit_code == 3
    assert "no case with id 12P864R5J5SX" in result.stderr


# ---------------------------------------------------------------- legacy ids

def _legacy_encode(number: int, width: int) -> str:
    """The 2020-epoch encoding that issued the 10- and 12-character ids."""
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(ids.ALPHABET[digit])
    assert number == 0
    return "".join(reversed(chars))


@pytest.fixture
def legacy(desk: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A desk holding a case in the legacy form: a 10-character case id and
    12-character event ids counted from 2020, as casectl wrote them before
    the 1990 epoch, committed by hand."""
    monkeypatch.setenv("CASECTL_NOW", "2026-03-10T10:00:00+01:00")
    made = new_case(desk, subject="Skrivar på avd. 4 skriv ikkje ut")
    assert act(desk, "log", made, "Starta skrivaren på nytt").exit_code == 0
    doc = load_case(desk, made)
    seconds = int((ids.case_id_time(made) - LEGACY_EPOCH).total_seconds())
    case_id = _legacy_encode(seconds, 6) + "KX7Q"
    log = []
    for position, event in enumerate(doc["log"]):
        at = datetime.fromisoformat(event["at"])
        millis = round((at - LEGACY_EPOCH).total_seconds() * 1000)
        log.append({**event, "id": _legacy_encode(millis, 8) + f"R{position:03d}"})
    case = model.with_header(case_id, log)
    git(desk, "rm", "-q", case_file(desk, made).relative_to(desk).as_posix())
    path = desk / "cases" / "2026" / "03" / f"{case_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yamlio.dump(case), encoding="utf-8")
    git(desk, "add", path.relative_to(desk).as_posix())
    git(desk, "-c", "user.name=Kari", "-c", "user.email=kari@helse.example.no", "commit",
        "-q", "-m", f"{case_id} import: legacy case")
    return desk, case_id


def test_legacy_case_ids_keep_working(legacy, monkeypatch):
    desk, case_id = legacy
    assert len(case_id) == 10
    old_log = load_case(desk, case_id)["log"]
    assert [len(event["id"]) for event in old_log] == [12, 12]

    shown = act(desk, "show", case_id.lower().replace("0", "o"))
    assert shown.exit_code == 0, shown.output
    assert case_id in shown.stdout
    assert case_id in list_ids(desk, "--all")
    assert act(desk, "validate").exit_code == 0

    # An action appends an event beside the old ones; the file stays where
    # the short id puts it.
    monkeypatch.setenv("CASECTL_NOW", "2026-03-10T11:00:00+01:00")
    logged = act(desk, "log", case_id, "Skrivaren er bytta")
    assert logged.exit_code == 0, logged.output
    assert logged.stdout == case_id + "\n"
    case = load_case(desk, case_file(desk, case_id).stem)
    assert case_file(desk, case_id) == desk / "cases" / "2026" / "03" / f"{case_id}.yaml"
    assert case["log"][:2] == old_log
    assert len(case["log"][2]["id"]) == 12  # 2026: the short form
    history = act(desk, "history", case_id, "--json")
    assert history.exit_code == 0, history.output
    assert [row["kind"] for row in json.loads(history.stdout)] == \
        ["created", "worklog", "worklog"]
    validated = act(desk, "validate")
    assert validated.exit_code == 0, validated.output

    # Short and long forms side by side: listed by creation time.
    monkeypatch.setenv("CASECTL_NOW", "2019-03-10T09:00:00+01:00")
    earlier = new_case(desk, subject="Migrert frå det gamle systemet")
    assert len(earlier) == 11
    assert list_ids(desk, "--all", "--sort", "created") == [earlier, case_id]


# ---------------------------------------------------------------- sorting by instant

def test_list_sorts_by_instant_across_the_october_clock_change(desk, monkeypatch):
    """Europe/Oslo leaves summer time at 03:00+02:00 = 02:00+01:00 on
    2026-10-25: the hour 02:00-03:00 comes twice, and the text of a later
    time can sort before an earlier one."""
    made = {}
    for name, now in (("a", "2026-10-25T02:30:00+02:00"), ("b", "2026-10-25T02:40:00+02:00"),
                      ("c", "2026-10-25T02:20:00+01:00")):
        monkeypatch.setenv("CASECTL_NOW", now)
        made[name] = new_case(desk, subject=f"Sak {name}")
        assert load_case(desk, made[name])["created"] == now  # the desk's zone: Oslo
    monkeypatch.setenv("CASECTL_NOW", "2026-10-25T02:50:00+01:00")
    assert act(desk, "log", made["a"], "Sist endra").exit_code == 0
    a, b, c = made["a"], made["b"], made["c"]
    assert list_ids(desk, "--all", "--sort", "created") == [a, b, c]
    assert list_ids(desk, "--all", "--sort", "updated") == [a, c, b]
    assert list_ids(desk) == [a, b, c]  # open cases, by priority then creation
