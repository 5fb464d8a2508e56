"""`casectl validate`: the whole repository, explicit files and folders
(also outside any case repository), one line per problem, exit codes, JSON
output; the schemas themselves; the project's example cases; many files."""

from __future__ import annotations

import concurrent.futures
import copy
import json
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import act, copy_desk, isolated_env, new_case, run, run_process

import casectl
from casectl import ids, model, schema, yamlio
from casectl.app import validation

PROJECT = Path(__file__).resolve().parent.parent
NOW = "2026-11-22T09:30:00+01:00"
LINE = re.compile(r"^(?P<file>[^:]+?)(?::(?P<line>\d+))?: (?P<field>[^ :]+): (?P<message>.+)$")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk with two valid cases made by the command line (the cases at
    CASECTL_NOW=NOW); built once, copied for each test."""
    with isolated_env(tmp_path_factory.mktemp("template-home")) as mp:
        desk = tmp_path_factory.mktemp("template") / "desk"
        assert run("init", str(desk), "--desk", "Testdesk").exit_code == 0
        assert run("--repo", str(desk), "agent", "add", "kari", "--name", "Kari Nordmann",
                   "--email", "kari@helse.example.no").exit_code == 0
        assert run("--repo", str(desk), "--as", "kari", "team", "add", "servicedesk"
                   ).exit_code == 0
        mp.setenv("CASECTL_NOW", NOW)
        first = new_case(desk, "--reporter", "Ola Nordmann <ola@bergen.kommune.example>")
        assert act(desk, "log", first, "Ringte brukar, ingen svar").exit_code == 0
        second = new_case(desk, subject="Skrivaren fungerar inte")
        assert act(desk, "start", second).exit_code == 0
    return desk


@pytest.fixture
def repo(tmp_path: Path, template: Path) -> Path:
    """A copy of ``template``."""
    return copy_desk(template, tmp_path)


def validate(repo: Path | None, *paths: str, fmt: str | None = None):
    args = ["--repo", str(repo)] if repo else []
    args += ["validate", *paths]
    if fmt:
        args += ["--format", fmt]
    return run(*args)


def problem_lines(result) -> list[dict]:
    """The problem lines of a table report, each parsed as file[:line]: field: message."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        match = LINE.match(line)
        assert match, f"not a 'file: field: message' line: {line!r}"
        parsed.append(match.groupdict())
    return parsed


def only_case(repo: Path) -> tuple[Path, dict]:
    """The fixture's first case: created, then one work log entry."""
    for path in sorted((repo / "cases").glob("*/*/*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc["subject"] == "DIPS starter ikke":
            return path, doc
    raise AssertionError("the fixture's case is missing")


def rel(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def write_doc(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yamlio.dump(doc), encoding="utf-8")


def built_case(*later: tuple[str, dict], when: datetime | None = None) -> dict:
    """A case document made from a log, header == replay(log)."""
    moment = when or datetime(2026, 11, 22, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    case_id = ids.new_case_id(moment)
    log = [model.make_event(ids.new_event_id(moment), moment.isoformat(), "kari", "created",
                            {"subject": "Får ikke logget på", "type": "incident",
                             "priority": "medium"})]
    for step, (kind, data) in enumerate(later, start=1):
        at = moment + timedelta(minutes=step)
        log.append(model.make_event(ids.new_event_id(at), at.isoformat(), "kari", kind, data))
    return model.with_header(case_id, log)


def place(repo: Path, doc: dict) -> Path:
    created = ids.case_id_time(doc["id"])
    path = repo / "cases" / f"{created.year:04d}" / f"{created.month:02d}" / f"{doc['id']}.yaml"
    write_doc(path, doc)
    return path


# ------------------------------------------------------------------ valid

def test_valid_repository_exits_0(repo):
    result = validate(repo)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 file(s) checked: all valid"  # casectl.yaml + 2 cases


def test_valid_explicit_files_and_folders(repo):
    files = sorted((repo / "cases").glob("*/*/*.yaml"))
    assert len(files) == 2
    result = validate(repo, str(files[0]), str(files[1]))
    assert result.exit_code == 0, result.output
    assert "2 file(s) checked: all valid" in result.stdout
    result = validate(repo, str(repo / "cases"))
    assert result.exit_code == 0, result.output
    assert "2 file(s) checked: all valid" in result.stdout


def test_explicit_paths_outside_any_case_repository(repo, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere" / "export"
    single = tmp_path / "elsewhere" / "single"
    outside.mkdir(parents=True)
    single.mkdir()
    one, _ = only_case(repo)
    other = next(p for p in (repo / "cases").glob("*/*/*.yaml") if p != one)
    one = Path(shutil.copy(one, outside / one.name))
    other = Path(shutil.copy(other, single / other.name))
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = validate(None, "export", f"single/{other.name}")
    assert result.exit_code == 0, result.output
    assert "2 file(s) checked: all valid" in result.stdout
    text = one.read_text(encoding="utf-8")
    one.write_text(text.replace("priority: medium\n", "priority: urgent\n", 1), encoding="utf-8")
    result = validate(None, "export", f"single/{other.name}")
    assert result.exit_code == 4, result.output
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(f"export/{one.name}", "priority")]
    # As a real process too, from a directory that is no case repository.
    done = run_process("validate", str(outside), cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    assert f"{one.name}: priority: " in done.stdout


def test_missing_path_is_not_found(repo):
    result = validate(repo, str(repo / "cases" / "2026" / "13"))
    assert result.exit_code == 3
    assert "no such file or directory" in result.stderr


def test_without_paths_outside_a_repository_is_not_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = validate(None)
    assert result.exit_code == 3


# ------------------------------------------------------------------ the rules

def test_header_contradicting_the_log(repo):
    path, doc = only_case(repo)
    text = path.read_text(encoding="utf-8")
    assert "\nstatus: new\n" in text
    path.write_text(text.replace("\nstatus: new\n", "\nstatus: started\n", 1), encoding="utf-8")
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert len(problems) == 1, result.stdout
    assert problems[0]["file"] == rel(repo, path)
    assert problems[0]["field"] == "status"
    assert "'started'" in problems[0]["message"] and "'new'" in problems[0]["message"]
    assert "1 problem(s) in 1 file(s)" in result.stderr


def test_file_name_not_matching_the_id(repo):
    path, doc = only_case(repo)
    other = doc["id"][:6] + ("AAAA" if doc["id"][6:] != "AAAA" else "BBBB")
    moved = path.with_name(f"{other}.yaml")
    path.rename(moved)
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, moved), "id")]
    assert f"named {other}.yaml" in problems[0]["message"]
    assert doc["id"] in problems[0]["message"]


def test_file_in_the_wrong_month_folder(repo):
    path, doc = only_case(repo)
    wrong = repo / "cases" / "2025" / "01" / path.name
    wrong.parent.mkdir(parents=True)
    path.rename(wrong)
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, wrong), "id")]
    created = ids.case_id_time(doc["id"])
    assert f"cases/{created.year:04d}/{created.month:02d}/" in problems[0]["message"]
    assert "cases/2025/01/" in problems[0]["message"]


def test_the_same_case_id_in_two_files(repo, tmp_path):
    path, doc = only_case(repo)
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    duplicate = copy_dir / path.name
    shutil.copy(path, duplicate)
    result = validate(repo, str(path), str(duplicate))
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert len(problems) == 1, result.stdout
    assert problems[0]["field"] == "id"
    assert problems[0]["file"] == duplicate.as_posix()
    assert doc["id"] in problems[0]["message"]
    assert rel(repo, path) in problems[0]["message"]


def test_duplicate_event_ids(repo):
    path, doc = only_case(repo)
    assert len(doc["log"]) == 2
    doc["log"][1]["id"] = doc["log"][0]["id"]
    # Keep the header what replay makes of the log, so only the id rule speaks.
    doc.update(model.replay(doc["id"], doc["log"]))
    write_doc(path, doc)
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, path), "log[1].id")]
    assert doc["log"][0]["id"] in problems[0]["message"]
    assert "log[0]" in problems[0]["message"]


def test_closed_case_without_solution(repo):
    doc = built_case(("closed", {"confirmed": True}))
    assert doc["status"] == "closed" and doc["solution"] is None
    assert model.header_differences(doc, model.replay(doc["id"], doc["log"])) == []
    path = place(repo, doc)
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, path), "solution")]
    assert "closed case must have a solution" in problems[0]["message"]
    # And a closed case with a solution is fine.
    path.unlink()
    place(repo, built_case(("closed", {"confirmed": True, "solution": "Nytt passord"})))
    assert validate(repo).exit_code == 0


def test_rejected_case_without_reason(repo):
    doc = built_case(("rejected", {"reason": "Dublett av annen sak"}))
    doc["rejection"] = None  # a hand edit: the header loses the reason
    path = place(repo, doc)
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert {(p["file"], p["field"]) for p in problems} == {(rel(repo, path), "rejection")}
    assert any("rejected case must have a reason" in p["message"] for p in problems)
    # The rule on its own, straight from the checker.
    direct = schema.semantic_problems(doc, "x.yaml", None, None)
    assert schema.Problem("x.yaml", "rejection", "a rejected case must have a reason") in direct


# The messages are in words: no Python reprs, no regular expressions.
SCHEMA_BREAKS = {
    "wrong type": (lambda d: d.update(notify="yes"), "notify",
                   "field notify must be true or false, not 'yes'"),
    "wrong type in an event": (lambda d: d["log"][0].update(public=1), "log[0].public",
                               "field log[0].public must be true or false, not 1"),
    "unknown key": (lambda d: d.update(hastegrad="høy"), "(file)",
                    "unknown field hastegrad; remove it"),
    "timestamp without offset": (lambda d: d.update(created="2026-11-22T09:30:00"), "created",
                                 "must be a timestamp with its UTC offset, e.g. "
                                 "'2026-11-03T09:15:00+01:00', not '2026-11-22T09:30:00'"),
    "event timestamp without offset": (lambda d: d["log"][1].update(at="2026-11-22 09:31"),
                                       "log[1].at", "must be a timestamp with its UTC offset"),
    "unknown event kind": (lambda d: d["log"][1].update(kind="escalated"), "log[1].kind",
                           "field log[1].kind must be one of created, assigned, "),
    "bad priority": (lambda d: d.update(priority="urgent"), "priority",
                     "field priority must be one of critical, high, medium, low, not 'urgent'"),
    "event data of the wrong shape": (lambda d: d["log"][1]["data"].update(text=""),
                                      "log[1].data.text", "field log[1].data.text must not be "
                                      "empty"),
}


@pytest.mark.parametrize("name", list(SCHEMA_BREAKS))
def test_schema_violations(repo, name):
    path, doc = only_case(repo)
    assert doc["log"][1]["kind"] == "worklog"
    breaks, field, message = SCHEMA_BREAKS[name]
    breaks(doc)
    write_doc(path, doc)
    result = validate(repo)
    assert result.exit_code == 4, result.output
    problems = problem_lines(result)
    assert {(p["file"], p["field"]) for p in problems} == {(rel(repo, path), field)}, \
        result.stdout
    assert any(message in p["message"] for p in problems), result.stdout


def test_timestamp_with_a_trailing_newline_is_invalid(repo):
    """Python's `$` matches before a final newline; JSON Schema's does not."""
    path, doc = only_case(repo)
    doc["log"][1]["at"] += "\n"
    write_doc(path, doc)
    result = validate(repo)
    assert result.exit_code == 4, result.output
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, path), "log[1].at")]


def test_invalid_yaml_names_the_line(repo):
    path, _ = only_case(repo)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[7].startswith("team:")
    lines[7] = "team: servicedesk: nettverk\n"  # line 8
    path.write_text("".join(lines), encoding="utf-8")
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert len(problems) == 1, result.stdout
    assert problems[0]["file"] == rel(repo, path)
    assert problems[0]["line"] == "8"
    assert problems[0]["field"] == "(file)"
    assert "not valid YAML" in problems[0]["message"]
    assert "Traceback" not in result.output


def test_not_utf8_is_reported(repo):
    path, _ = only_case(repo)
    path.write_bytes(path.read_bytes() + b"# \xe6\xf8\xe5\n")
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [(p["file"], p["field"]) for p in problems] == [(rel(repo, path), "(file)")]
    assert "UTF-8" in problems[0]["message"]


def test_unsafe_yaml_tag_is_refused_and_never_run(repo, tmp_path):
    path, _ = only_case(repo)
    marker = tmp_path / "pwned"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("subject:")
    lines[1] = f"subject: !!python/object/apply:os.system ['touch {marker}']\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = validate(repo)
    assert result.exit_code == 4
    assert not marker.exists()
    problems = problem_lines(result)
    assert len(problems) == 1
    assert problems[0]["line"] == "2"
    assert "tag not allowed" in problems[0]["message"]


def test_several_problems_one_line_each(repo):
    files = sorted((repo / "cases").glob("*/*/*.yaml"))
    first = yaml.safe_load(files[0].read_text(encoding="utf-8"))
    first.update(notify="yes", hastegrad="høy")
    write_doc(files[0], first)
    files[1].write_text("subject: [\n", encoding="utf-8")
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert sorted((p["file"], p["field"]) for p in problems) == sorted([
        (rel(repo, files[0]), "(file)"), (rel(repo, files[0]), "notify"),
        (rel(repo, files[1]), "(file)")])
    assert "3 problem(s) in 2 file(s)" in result.stderr


def test_json_format(repo):
    result = validate(repo, fmt="json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["checked"] == 3
    assert report["problems"] == []
    path, doc = only_case(repo)
    path.write_text(path.read_text(encoding="utf-8").replace("\nstatus: new\n",
                                                             "\nstatus: closed\n"),
                    encoding="utf-8")
    result = validate(repo, fmt="json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["checked"] == 3
    assert report["invalid_files"] == 1
    fields = {(p["file"], p["field"]) for p in report["problems"]}
    assert (rel(repo, path), "status") in fields
    for problem in report["problems"]:
        assert {"file", "field", "message"} <= set(problem)
        assert problem["message"]
    assert run("--repo", str(repo), "validate", "--json").stdout == result.stdout


def test_broken_casectl_yaml_is_reported(repo):
    config = repo / "casectl.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "teams: [\n", encoding="utf-8")
    result = validate(repo)
    assert result.exit_code == 4
    problems = problem_lines(result)
    assert [p["file"] for p in problems] == ["casectl.yaml"]
    assert "YAML" in problems[0]["message"]
    assert "Traceback" not in result.output


def test_casectl_yaml_against_its_schema(repo):
    config = repo / "casectl.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["teams"]["servicedesk"]["colour"] = "blå"
    config.write_text(yamlio.dump(data), encoding="utf-8")
    result = validate(repo, fmt="json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert [p["file"] for p in report["problems"]] == ["casectl.yaml"]
    assert "colour" in report["problems"][0]["message"]


# ------------------------------------------------------------------ the schemas

SCHEMAS = [PROJECT / "schemas" / name for name in schema.SCHEMA_FILES]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schemas_are_valid_2020_12(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


def test_packaged_schemas_are_the_top_level_ones(empty_repo):
    assert schema.PACKAGED_SCHEMAS == Path(casectl.__file__).resolve().parent / "schemas"
    for name in schema.SCHEMA_FILES:
        top = (PROJECT / "schemas" / name).read_bytes()
        assert (schema.PACKAGED_SCHEMAS / name).read_bytes() == top, name
        assert (empty_repo / "schemas" / name).read_bytes() == top, "init copies the schemas"


def _valid_case() -> dict:
    return built_case(
        ("assigned", {"team": "nettverk", "note": "Nettverk eier svitsjen"}),
        ("taken", {"assignee": "per", "previous": None, "team": "nettverk"}),
        ("handed_over", {"to": "mette", "note": "Over til klinisk", "assignee": "mette"}),
        ("status_changed", {"status": "started"}),
        ("worklog", {"text": "Byttet patchkabel\ni rack 4"}),
        ("note", {"text": "Intern: ring Per"}),
        ("email", {"text": "Hej! Det virker nu.", "to": "ola@example.dk"}),
        ("priority_set", {"priority": "high", "previous": "medium", "reason": "Flere rammet"}),
        ("solved", {"solution": "Ny kabel"}),
        ("reopened", {"reason": "Feilen kom tilbake"}),
        ("rejected", {"reason": "Dublett"}),
    )


def _mutations() -> dict[str, dict]:
    def changed(change) -> dict:
        doc = copy.deepcopy(_valid_case())
        change(doc)
        return doc
    return {
        "valid": _valid_case(),
        "valid Z timestamp": changed(lambda d: d.update(updated="2026-11-22T08:12:00.5Z")),
        "valid reporter": changed(lambda d: d.update(reporter={"name": "Åse", "email": None})),
        "valid fields": changed(lambda d: d.update(fields={"epj": "123", "kommune": "Bø"})),
        "missing key": changed(lambda d: d.pop("tasks")),
        "extra key": changed(lambda d: d.update(extra=1)),
        "id lower case": changed(lambda d: d.update(id=d["id"].lower())),
        "id with U": changed(lambda d: d.update(id="06K3ZQ9TXU")),
        "subject blank": changed(lambda d: d.update(subject="   ")),
        "subject too long": changed(lambda d: d.update(subject="x" * 301)),
        "status unknown": changed(lambda d: d.update(status="pending")),
        "type unknown": changed(lambda d: d.update(type="problem")),
        "team not a slug": changed(lambda d: d.update(team="Nettverk")),
        "notify a string": changed(lambda d: d.update(notify="false")),
        "notify an int": changed(lambda d: d.update(notify=0)),
        "field key bad": changed(lambda d: d.update(fields={"EPJ": "1"})),
        "field value int": changed(lambda d: d.update(fields={"epj": 1})),
        "reporter extra": changed(lambda d: d.update(reporter={"name": "x", "tlf": "1"})),
        "timestamp no offset": changed(lambda d: d.update(created="2026-11-22T09:00:00")),
        "timestamp space": changed(lambda d: d.update(created="2026-11-22 09:00:00+01:00")),
        "log empty": changed(lambda d: d.update(log=[])),
        "event id short": changed(lambda d: d["log"][0].update(id="ABC")),
        "event by not a slug": changed(lambda d: d["log"][0].update(by="Kari N")),
        "event kind unknown": changed(lambda d: d["log"][1].update(kind="escalated")),
        "event extra key": changed(lambda d: d["log"][1].update(seen=True)),
        "created without subject": changed(lambda d: d["log"][0]["data"].pop("subject")),
        "assigned empty": changed(lambda d: d["log"][1].update(data={})),
        "taken without assignee": changed(lambda d: d["log"][2]["data"].pop("assignee")),
        "handed_over without note": changed(lambda d: d["log"][3]["data"].pop("note")),
        "status_changed to closed": changed(lambda d: d["log"][4]["data"].update(
            status="closed")),
        "worklog blank": changed(lambda d: d["log"][5]["data"].update(text="\n \t")),
        "email without to": changed(lambda d: d["log"][7]["data"].pop("to")),
        "priority_set bad": changed(lambda d: d["log"][8]["data"].update(priority="p1")),
        "solved extra": changed(lambda d: d["log"][9]["data"].update(by="x")),
        "reopened without reason": changed(lambda d: d["log"][10].update(data={})),
        "rejected reason int": changed(lambda d: d["log"][11]["data"].update(reason=5)),
        "not a mapping": ["a", "list"],
    }


def test_fast_validator_agrees_with_jsonschema(tmp_path):
    case_schema = json.loads((PROJECT / "schemas" / schema.CASE_SCHEMA).read_text())
    reference = jsonschema.Draft202012Validator(case_schema)
    fast = schema.Validator(case_schema, tmp_path)
    cached = schema.Validator(case_schema, tmp_path)  # the second one loads the cache
    assert list(tmp_path.glob("validator-*.bin")), "the compiled validator is cached"
    for name, doc in _mutations().items():
        expected = reference.is_valid(doc)
        assert expected == name.startswith("valid"), name
        for validator in (fast, cached):
            problems = validator.problems(doc, "case.yaml")
            assert (not problems) == expected, (name, problems)
            assert all(p.file == "case.yaml" and p.message for p in problems)


def test_fast_config_validator_agrees_with_jsonschema(tmp_path):
    config_schema = json.loads((PROJECT / "schemas" / schema.CONFIG_SCHEMA).read_text())
    reference = jsonschema.Draft202012Validator(config_schema)
    fast = schema.Validator(config_schema, tmp_path)
    base = {"desk": {"name": "Helse Vest IKT", "timezone": "Europe/Oslo"},
            "teams": {"servicedesk": {"name": "Servicedesk", "email": None}},
            "agents": {"kari": {"name": "Kari", "email": "kari@example.no",
                                "teams": ["servicedesk"], "roles": ["handler"]}},
            "categories": []}
    docs = {"valid": base}
    for name, change in {
        "no desk": lambda d: d.pop("desk"),
        "desk without name": lambda d: d["desk"].pop("name"),
        "team id upper": lambda d: d["teams"].update({"Nett": {"name": "x"}}),
        "team without name": lambda d: d["teams"]["servicedesk"].pop("name"),
        "agent extra": lambda d: d["agents"]["kari"].update(phone="1"),
        "unknown top key": lambda d: d.update(sla=5),
        "teams a list": lambda d: d.update(teams=[]),
    }.items():
        doc = copy.deepcopy(base)
        change(doc)
        docs[name] = doc
    for name, doc in docs.items():
        expected = reference.is_valid(doc)
        assert expected == (name == "valid"), (name, list(reference.iter_errors(doc)))
        assert (not fast.problems(doc, "casectl.yaml")) == expected, name


# ------------------------------------------------------------------ the project's examples

NORWEGIAN = {"ikkje", "bruker", "brukeren", "saken", "sykehus", "etter", "feil", "hei", "nå",
             "kommune", "fungerer", "tilgang"}
SWEDISH = {"inte", "och", "är", "ärendet", "användaren", "användare", "sjukhus", "fungerar",
           "hälsningar", "vårdcentral", "region"}
DANISH = {"sagen", "bruger", "brugeren", "sygehus", "fejl", "virker", "kører", "også", "venlig",
          "borger", "borgeren", "læge"}


def test_the_project_example_cases_validate():
    """May fail until the example cases (tools/make_examples.py) are in cases/."""
    files = sorted((PROJECT / "cases").rglob("*.yaml"))
    assert len(files) >= 12, f"expected at least 12 example cases, found {len(files)}"
    done = run_process("validate", str(PROJECT / "cases"), cwd=PROJECT / "cases")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(files)} file(s) checked: all valid" in done.stdout
    docs = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    assert {d["type"] for d in docs} == set(model.TYPES)
    assert {d["status"] for d in docs} == set(model.STATUSES)
    words = set()
    for doc in docs:
        text = " ".join([doc["subject"], doc.get("description") or ""] +
                        [model.event_text(e) for e in doc["log"]])
        words |= set(re.findall(r"\w+", text.lower()))
    for language, markers in (("Norwegian", NORWEGIAN), ("Swedish", SWEDISH),
                              ("Danish", DANISH)):
        found = markers & words
        assert len(found) >= 3, f"too little {language} text in the examples: {found}"
    letters = "".join(sorted(set("".join(words)) & set("æøåäö")))
    assert letters == "äåæöø", letters


# ------------------------------------------------------------------ many files

def test_many_files_use_the_parallel_path(repo, monkeypatch):
    path, doc = only_case(repo)
    template = path.read_text(encoding="utf-8")
    start = ids.case_id_time(doc["id"])
    count = 2_500
    made = []
    for n in range(count):
        moment = start + timedelta(seconds=n + 1, days=40)  # cases/2027/01
        case_id = ids.new_case_id(moment)
        target = repo / "cases" / f"{moment.year:04d}" / f"{moment.month:02d}" / f"{case_id}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.replace(f"id: {doc['id']}\n", f"id: {case_id}\n", 1),
                          encoding="utf-8")
        made.append(target)
    bad = made[1_777]
    bad.write_text(bad.read_text(encoding="utf-8").replace("\nstatus: new\n",
                                                           "\nstatus: solved\n"),
                   encoding="utf-8")
    pools = []

    class CountingPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountingPool)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    started = time.monotonic()
    result = validate(repo, fmt="json")
    elapsed = time.monotonic() - started
    assert pools, "2,500 files should be checked by a process pool"
    report = json.loads(result.stdout)
    assert result.exit_code == 4
    assert report["checked"] == count + 2 + 1
    assert [(p["file"], p["field"]) for p in report["problems"]] == [(rel(repo, bad), "status")]
    assert elapsed < 20
    # The serial path finds the same.
    monkeypatch.setattr(validation, "PARALLEL_FROM", 10 ** 9)
    pools.clear()
    serial = json.loads(validate(repo, fmt="json").stdout)
    assert not pools
    assert serial == report
