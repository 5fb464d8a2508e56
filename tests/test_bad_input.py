"""Bad input gets a clear message and the contract's exit code, never a
traceback: 2 usage, 3 not found, 4 invalid data. Some run as real
processes, where a traceback would really reach the technician's screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import (act, build_desk, case_file, copy_desk, git, isolated_env, load_case,
                      new_case, run, run_process, snapshot)

SCANDI = "æøåÆØÅäöÄÖéü"
CROCKFORD_NOW = "2026-11-22T09:34:09+01:00"  # case ids made then start with 6FDJ01


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, str]:
    """conftest's desk with one case that has a reporter and a multi-line
    description; copied for each test."""
    with isolated_env(tmp_path_factory.mktemp("bad-home")):
        root = build_desk(tmp_path_factory.mktemp("bad") / "desk")
        case_id = new_case(root, "--reporter", "Ola Nordmann <ola@bergen.kommune.no>",
                           "--description", "Linje en\nLinje to")
        assert act(root, "log", case_id, "Ringte brukeren").exit_code == 0
    return root, case_id


@pytest.fixture
def desk_case(tmp_path, template) -> tuple[Path, str]:
    """A copy of ``template``, and its case's id."""
    return copy_desk(template[0], tmp_path), template[1]


@pytest.fixture
def desk(desk_case) -> Path:
    """A copy of ``template``."""
    return desk_case[0]


# ---------------------------------------------------------------- helpers

def no_traceback(output: str) -> None:
    assert "Traceback" not in output
    assert "internal error" not in output


def fails(repo: Path, code: int, *args: str, agent: str | None = "kari",
          input: str | None = None, env: dict[str, str] | None = None):
    """Run a command that must fail with ``code`` and change nothing."""
    before = snapshot(repo)
    acting = ["--as", agent] if agent else []
    result = run("--repo", str(repo), *acting, *args, input=input, env=env)
    assert result.exit_code == code, result.output
    no_traceback(result.output)
    assert result.stdout == ""
    assert result.stderr.strip()
    assert snapshot(repo) == before
    return result


def rel(repo: Path, case_id: str) -> str:
    return case_file(repo, case_id).relative_to(repo).as_posix()


# ---------------------------------------------------------------- case ids

def one_char_off(case_id: str) -> str:
    last = "Z" if case_id[-1] != "Z" else "Y"
    return case_id[:-1] + last


def test_unknown_case_id_suggests_the_closest(desk_case):
    desk, case_id = desk_case
    typo = one_char_off(case_id)
    result = fails(desk, 3, "show", typo)
    assert f"no case with id {typo}" in result.stderr
    assert f"did you mean {case_id}?" in result.stderr
    result = fails(desk, 3, "log", typo, "Hei")
    assert f"did you mean {case_id}?" in result.stderr


def test_unknown_case_id_far_from_any(desk):
    result = fails(desk, 3, "show", "ZZZZZZZZZZ")
    assert "no case with id ZZZZZZZZZZ" in result.stderr
    assert "did you mean" not in result.stderr
    assert "casectl list --all" in result.stderr


def test_unknown_case_id_in_a_real_process(desk_case):
    desk, case_id = desk_case
    typo = one_char_off(case_id)
    done = run_process("--repo", str(desk), "--as", "kari", "close", typo, "--solution", "x")
    assert done.returncode == 3
    no_traceback(done.stderr)
    assert f"did you mean {case_id}?" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("typed", [str.lower, lambda i: f"{i[:5]}-{i[5:]}".lower(),
                                   lambda i: f" {i[:3]}-{i[3:6]}-{i[6:]} "],
                         ids=["lower", "hyphenated", "grouped"])
def test_case_id_input_is_forgiving(desk_case, typed):
    desk, case_id = desk_case
    result = act(desk, "show", typed(case_id), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == case_id
    result = act(desk, "log", typed(case_id), "Via en skrevet id")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id
    assert load_case(desk, case_id)["log"][-1]["data"]["text"] == "Via en skrevet id"


def test_o_i_and_l_read_as_zero_and_one(desk, monkeypatch):
    monkeypatch.setenv("CASECTL_NOW", CROCKFORD_NOW)
    case_id = new_case(desk)
    assert case_id.startswith("6FDJ01")
    monkeypatch.delenv("CASECTL_NOW")
    for spoken in ("6FDJOI", "6fdjol", "6FDJoL"):
        typed = spoken + case_id[6:]
        result = act(desk, "show", typed, "--json")
        assert result.exit_code == 0, (typed, result.output)
        assert json.loads(result.stdout)["id"] == case_id


# Letters and digits of the alphabet, whatever their number, are an id or
# its prefix (tests/test_reading.py): only other text is not an id at all.
@pytest.mark.parametrize("typed", ["../../etc/passwd", "cases/2026/11/X.yaml",
                                   "/etc/passwd", "..", "6FCW/0B7T7", "", "6FCWA0B7T*",
                                   "6FCW?", "ÆØÅÆØÅÆØÅÆ", "6FCWA0B7TU"])
def test_an_id_that_is_not_an_id_is_a_usage_error(desk, typed):
    for command in (("show", typed), ("log", typed, "Hei"), ("history", typed)):
        result = fails(desk, 2, *command)
        assert "is not a case id" in result.stderr


def test_a_path_as_id_in_a_real_process(desk):
    done = run_process("--repo", str(desk), "show", "../../etc/passwd")
    assert done.returncode == 2
    no_traceback(done.stderr)
    assert "is not a case id" in done.stderr
    assert "root:" not in done.stdout


# ---------------------------------------------------------------- not a case repository

def test_not_a_case_repository_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list")
    assert result.exit_code == 3, result.output
    no_traceback(result.output)
    assert "not a case repository" in result.stderr
    assert "casectl init" in result.stderr


def test_not_a_case_repository_in_a_real_process(tmp_path):
    done = run_process("--as", "kari", "new", "--subject", "Hei", cwd=tmp_path)
    assert done.returncode == 3
    no_traceback(done.stderr)
    assert "casectl init" in done.stderr


def test_repo_option_pointing_nowhere(tmp_path):
    result = run("--repo", str(tmp_path / "finnes-ikke"), "show", "6FCWA0B7T7")
    assert result.exit_code == 3, result.output
    no_traceback(result.output)
    assert "casectl init" in result.stderr
    assert "finnes-ikke" in result.stderr


def test_repo_option_pointing_at_a_plain_git_repository(tmp_path):
    git(tmp_path, "init", "-q")
    result = run("--repo", str(tmp_path), "list")
    assert result.exit_code == 3, result.output
    assert "casectl init" in result.stderr


def test_casectl_repo_pointing_nowhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", env={"CASECTL_REPO": str(tmp_path / "borte")})
    assert result.exit_code == 3, result.output
    no_traceback(result.output)
    assert "casectl init" in result.stderr
    assert "borte" in result.stderr


def test_the_repository_is_found_from_a_subdirectory(desk_case, monkeypatch):
    desk, case_id = desk_case
    monkeypatch.chdir(desk / "cases")
    result = run("show", case_id, "--json")
    assert result.exit_code == 0, result.output
    done = run_process("--as", "kari", "list", "--json", cwd=desk / "schemas")
    assert done.returncode == 0, done.stderr
    assert [row["id"] for row in json.loads(done.stdout)] == [case_id]
    result = run("list", env={"CASECTL_REPO": str(desk)})
    assert result.exit_code == 0 and case_id in result.stdout


# ---------------------------------------------------------------- case files broken by hand

def break_file(repo: Path, case_id: str, edit) -> str:
    path = case_file(repo, case_id)
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return rel(repo, case_id)


def check_invalid(repo: Path, case_id: str, label: str) -> list:
    """show, a changing command and history all stop with exit 4 naming the file."""
    results = []
    for command in (("show", case_id), ("log", case_id, "Hei"), ("close", case_id,
                                                                 "--solution", "x"),
                    ("history", case_id)):
        result = fails(repo, 4, *command)
        assert label in result.stderr
        results.append(result)
    return results


def test_invalid_yaml_names_file_and_line(desk_case):
    desk, case_id = desk_case
    lines = case_file(desk, case_id).read_text(encoding="utf-8").splitlines()
    line_no = lines.index("status: new") + 1
    label = break_file(desk, case_id, lambda t: t.replace("status: new\n",
                                                          "status: new: oops\n"))
    for result in check_invalid(desk, case_id, label):
        assert f"{label}:{line_no}:" in result.stderr
        assert "YAML" in result.stderr


def test_unclosed_quote_names_the_file(desk_case):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: t.replace("subject: DIPS starter ikke",
                                                          "subject: 'DIPS starter ikke"))
    result = fails(desk, 4, "show", case_id)
    assert f"{label}:" in result.stderr and "YAML" in result.stderr


def test_a_list_instead_of_a_mapping(desk_case):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: "- id: x\n- status: new\n")
    for result in check_invalid(desk, case_id, label):
        assert "mapping" in result.stderr


def test_an_empty_file(desk_case):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: "")
    check_invalid(desk, case_id, label)


@pytest.mark.parametrize("old, new, field", [
    ("priority: medium", "priority: 5", "priority"),
    ("status: new", "status: [new]", "status"),
    ("notify: false", "notify: 'ja'", "notify"),
    ("assignee: kari", "assignee: {name: kari}", "assignee"),
    ("  kind: worklog", "  kind: telefonsamtale", "log"),
])
def test_wrong_types_name_the_field(desk_case, old, new, field):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: t.replace(old, new, 1))
    for result in check_invalid(desk, case_id, label):
        assert f"{label}: {field}" in result.stderr


@pytest.mark.parametrize("old, new, field", [
    ("priority: medium", "priority: critical", "priority"),
    ("status: new", "status: closed", "status"),
    ("assignee: kari", "assignee: per", "assignee"),
    ("subject: DIPS starter ikke", "subject: Noe annet", "subject"),
])
def test_a_header_contradicting_the_log(desk_case, old, new, field):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: t.replace(old, new, 1))
    for result in check_invalid(desk, case_id, label):
        assert f"{label}: {field}" in result.stderr
        assert "replay" in result.stderr


def test_an_unsafe_tag_is_refused_and_never_runs(desk_case, tmp_path):
    desk, case_id = desk_case
    marker = tmp_path / "hacked"
    payload = f'!!python/object/apply:os.system ["echo hacked > {marker}"]'
    label = break_file(desk, case_id, lambda t: t.replace("subject: DIPS starter ikke",
                                                          f"subject: {payload}"))
    for result in check_invalid(desk, case_id, label):
        assert "tag" in result.stderr
    done = run_process("--repo", str(desk), "--as", "kari", "show", case_id)
    assert done.returncode == 4
    no_traceback(done.stderr)
    assert label in done.stderr
    assert not marker.exists()


def test_an_unsafe_tag_in_a_committed_file_never_runs(desk_case, tmp_path):
    """list and search read committed files through the index."""
    desk, case_id = desk_case
    marker = tmp_path / "hacked"
    payload = f'!!python/object/apply:os.system ["echo hacked > {marker}"]'
    break_file(desk, case_id, lambda t: t.replace("subject: DIPS starter ikke",
                                                  f"subject: {payload}"))
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "evil")
    for command in (("list", "--all"), ("search", "DIPS")):
        result = act(desk, *command)
        no_traceback(result.output)
        assert result.exit_code == 0, result.output
    assert not marker.exists()


def test_not_utf8(desk_case):
    desk, case_id = desk_case
    path = case_file(desk, case_id)
    path.write_bytes(path.read_bytes().replace(b"DIPS", b"D\xe6PS"))
    result = fails(desk, 4, "show", case_id)
    assert rel(desk, case_id) in result.stderr
    assert "UTF-8" in result.stderr


def test_a_broken_committed_file_is_skipped_with_a_warning(desk_case):
    desk, case_id = desk_case
    other = new_case(desk, subject="Skrivar på lab")
    break_file(desk, case_id, lambda t: t.replace("status: new\n", "status: new: x\n"))
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "broken")
    result = act(desk, "list", "--json")
    assert result.exit_code == 0, result.output
    no_traceback(result.output)
    assert [row["id"] for row in json.loads(result.stdout)] == [other]
    assert "casectl validate" in result.stderr
    result = act(desk, "search", "Skrivar", "--json")
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)] == [other]


def test_broken_file_in_a_real_process(desk_case):
    desk, case_id = desk_case
    label = break_file(desk, case_id, lambda t: t.replace("priority: medium", "priority: 5", 1))
    done = run_process("--repo", str(desk), "--as", "kari", "priority", case_id, "high")
    assert done.returncode == 4
    no_traceback(done.stderr)
    assert f"{label}: priority" in done.stderr


# ---------------------------------------------------------------- unknown choices

def test_unknown_priority_lists_the_choices(desk_case):
    desk, case_id = desk_case
    for command in (("new", "--subject", "x", "--priority", "urgent"),
                    ("priority", case_id, "urgent"),
                    ("list", "--priority", "kritisk")):
        result = fails(desk, 2, *command)
        for level in ("critical", "high", "medium", "low"):
            assert level in result.stderr


def test_unknown_status_lists_the_choices(desk):
    result = fails(desk, 2, "list", "--status", "pending")
    for status in ("new", "started", "waiting", "solved", "closed", "rejected"):
        assert status in result.stderr


def test_unknown_type_lists_the_choices(desk):
    for command in (("new", "--subject", "x", "--type", "problem"),
                    ("list", "--type", "problem")):
        result = fails(desk, 2, *command)
        for kind in ("incident", "request", "order", "change"):
            assert kind in result.stderr


def test_unknown_format_and_sort(desk_case):
    desk, case_id = desk_case
    result = fails(desk, 2, "show", case_id, "--format", "xml")
    assert "csv" in result.stderr
    result = fails(desk, 2, "list", "--sort", "colour")
    assert "priority" in result.stderr
    fails(desk, 2, "list", "--limit", "0")
    fails(desk, 2, "list", "--limit", "mange")


def test_unknown_category_when_categories_are_listed(desk):
    path = desk / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["categories"] = ["nettverk", "skrivar", "EPJ"]
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "cat")
    result = fails(desk, 2, "new", "--subject", "x", "--category", "printer")
    assert "unknown category 'printer'" in result.stderr
    assert "nettverk, skrivar, EPJ" in result.stderr


# ---------------------------------------------------------------- empty and huge text

@pytest.mark.parametrize("text", ["", "   ", "\n", " \t \n "])
def test_empty_log_text(desk_case, text):
    desk, case_id = desk_case
    result = fails(desk, 2, "log", case_id, text)
    assert "empty" in result.stderr


@pytest.mark.parametrize("stdin", ["", "\n\n", "   \n"])
def test_empty_log_text_from_stdin(desk_case, stdin):
    desk, case_id = desk_case
    result = fails(desk, 2, "log", case_id, "-", input=stdin)
    assert "empty" in result.stderr


def test_empty_subject(desk):
    for subject in ("", "   "):
        result = fails(desk, 2, "new", "--subject", subject)
        assert "subject" in result.stderr


def test_missing_subject(desk):
    result = fails(desk, 2, "new")
    assert "--subject" in result.stderr


def test_empty_search(desk):
    for text in ("", "  "):
        fails(desk, 2, "search", text)
    fails(desk, 2, "search", "-", input="")


def test_huge_text_is_refused(desk_case):
    desk, case_id = desk_case
    result = fails(desk, 2, "log", case_id, "x" * 100_001)
    assert "100,000" in result.stderr
    fails(desk, 2, "new", "--subject", "Stor", "--description", "y" * 150_000)
    fails(desk, 2, "close", case_id, "--solution", "z" * 100_001)
    result = fails(desk, 2, "new", "--subject", "s" * 301)
    assert "300" in result.stderr


def test_huge_text_from_stdin_in_a_real_process(desk_case):
    desk, case_id = desk_case
    before = snapshot(desk)
    done = run_process("--repo", str(desk), "--as", "kari", "log", case_id, "-",
                       input="ø" * 150_000)
    assert done.returncode == 2
    no_traceback(done.stderr)
    assert "limit" in done.stderr
    assert snapshot(desk) == before


def test_long_text_under_the_limit_works(desk_case):
    desk, case_id = desk_case
    text = ("Logg fra serveren: æøå " * 5_000)[:99_000]
    result = act(desk, "log", case_id, "-", input=text)
    assert result.exit_code == 0, result.output
    assert load_case(desk, case_id)["log"][-1]["data"]["text"] == text.strip()
    result = act(desk, "log", case_id, "k" * 99_000)
    assert result.exit_code == 0, result.output
    assert load_case(desk, case_id)["log"][-1]["data"]["text"] == "k" * 99_000


# ---------------------------------------------------------------- Scandinavian text

def test_scandinavian_characters_round_trip(desk):
    subject = f"Skrivar på Ærøskøbing sjukhus virkar ikkje {SCANDI}"
    description = "Tjänsten svarar inte – über café i Malmö"
    log_text = f"Ringt Jørgen i Bærum: {SCANDI} ÆØÅ æøå ÄÖ äö é ü"
    result = act(desk, "new", "--subject", subject, "--description", description,
                 "--reporter", "Åsa Öberg <asa.oberg@region.example.se>",
                 "--org", "Region Skåne", "--field", "kommune=Tromsø", agent="mette")
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    assert act(desk, "log", case_id, log_text, agent="mette").exit_code == 0

    raw = case_file(desk, case_id).read_text(encoding="utf-8")
    assert subject in raw and log_text in raw and "Åsa Öberg" in raw  # not \\u escapes
    case = load_case(desk, case_id)
    assert case["subject"] == subject
    assert case["description"] == description
    assert case["reporter"]["name"] == "Åsa Öberg"
    assert case["reporter"]["org"] == "Region Skåne"
    assert case["fields"] == {"kommune": "Tromsø"}
    assert case["log"][-1]["data"]["text"] == log_text

    table = act(desk, "show", case_id).stdout
    assert subject in table and log_text in table and "Åsa Öberg" in table
    as_json = act(desk, "show", case_id, "--json").stdout
    assert SCANDI in as_json  # not \\u00e6 escapes
    assert json.loads(as_json) == case
    assert yaml.safe_load(act(desk, "show", case_id, "--format", "yaml").stdout) == case
    listed = json.loads(act(desk, "list", "--json").stdout)
    assert [row["subject"] for row in listed if row["id"] == case_id] == [subject]
    assert "Åsa Öberg" in act(desk, "list", "--format", "csv").stdout

    for word in ("Ærøskøbing", "ærøskøbing", "ÆRØSKØBING", "Jørgen", "Bærum", "über",
                 "café", "Malmö", "Tromsø", SCANDI):
        found = json.loads(act(desk, "search", word, "--json").stdout)
        assert [row["id"] for row in found] == [case_id], word

    subjects = git(desk, "log", "--format=%s", "-2").splitlines()
    assert subjects == [f"{case_id} log: {subject}", f"{case_id} new: {subject}"]
    assert log_text in git(desk, "log", "-1", "--format=%B")
    assert git(desk, "log", "-1", "--format=%an").strip() == "Mette Jørgensen"
    history = json.loads(act(desk, "history", case_id, "--json").stdout)
    assert history[-1]["text"] == f"worklog: {log_text}"
    assert history[-1]["author"] == "Mette Jørgensen"


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_scandinavian_characters_in_a_real_process(desk, locale):
    subject = f"Tjänst nere på Ålesund sjukehus {SCANDI}"
    env = {"LC_ALL": locale, "LANG": locale}
    done = run_process("--repo", str(desk), "--as", "mette", "new", "--subject", subject,
                       "--description", "-", input=f"Bærum {SCANDI}\n", env=env)
    assert done.returncode == 0, done.stderr
    case_id = done.stdout.strip()
    done = run_process("--repo", str(desk), "--as", "mette", "log", case_id, f"Ærø {SCANDI}",
                       env=env)
    assert done.returncode == 0, done.stderr
    case = load_case(desk, case_id)
    assert case["subject"] == subject
    assert case["description"] == f"Bærum {SCANDI}"
    assert case["log"][-1]["data"]["text"] == f"Ærø {SCANDI}"
    done = run_process("--repo", str(desk), "show", case_id, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["subject"] == subject
    done = run_process("--repo", str(desk), "search", "ålesund", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [row["id"] for row in json.loads(done.stdout)] == [case_id]
    assert git(desk, "log", "-1", "--format=%s").strip() == f"{case_id} log: {subject}"


# ---------------------------------------------------------------- casectl.yaml broken by hand

@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace("desk:\n", "desk: [\n", 1), None),
    (lambda t: "- bare en liste\n", None),
    (lambda t: t.replace("categories: []", "categories: 5"), "categories"),
    (lambda t: t.replace("  kari:\n", "  Kari Nordmann:\n", 1), "agents"),
    (lambda t: t.replace("  - nettverk\n", "  - finnes-ikke\n", 1), "agents.per"),
], ids=["yaml", "list", "categories-type", "agent-id", "unknown-team"])
def test_a_broken_casectl_yaml(desk_case, edit, field):
    desk, case_id = desk_case
    path = desk / "casectl.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    for command in (("show", case_id), ("list",), ("new", "--subject", "x"),
                    ("log", case_id, "Hei"), ("team", "list")):
        result = fails(desk, 4, *command)
        assert "casectl.yaml" in result.stderr
        if field:
            assert f"casectl.yaml: {field}" in result.stderr
    done = run_process("--repo", str(desk), "list")
    assert done.returncode == 4
    no_traceback(done.stderr)
    assert "casectl.yaml" in done.stderr


# ---------------------------------------------------------------- unknown agents and teams

def test_unknown_agent(desk_case):
    desk, case_id = desk_case
    for command in (("new", "--subject", "x", "--assignee", "nobody"),
                    ("assign", case_id, "--to", "nobody"),
                    ("handover", case_id, "--to", "nobody", "--note", "til nobody")):
        result = fails(desk, 3, *command)
        assert "'nobody'" in result.stderr
        assert "kari" in result.stderr  # the hint names who there is


def test_unknown_agent_in_list_assignee(desk):
    result = fails(desk, 3, "list", "--assignee", "nobody")
    assert "'nobody'" in result.stderr


def test_unknown_team_in_list(desk):
    result = fails(desk, 3, "list", "--team", "nowhere")
    assert "no team 'nowhere'" in result.stderr


def test_unknown_team(desk_case):
    desk, case_id = desk_case
    for command in (("new", "--subject", "x", "--team", "nowhere"),
                    ("assign", case_id, "--team", "nowhere"),
                    ("agent", "add", "ny", "--name", "Ny", "--email", "ny@example.no",
                     "--team", "nowhere")):
        result = fails(desk, 3, *command)
        assert "no team 'nowhere'" in result.stderr
        assert "nettverk" in result.stderr


def test_ids_that_cannot_be_agent_or_team_ids(desk_case):
    desk, case_id = desk_case
    fails(desk, 2, "team", "add", "Nett Verk")
    fails(desk, 2, "agent", "add", "Ola Nordmann", "--name", "Ola", "--email", "o@x.no")
    fails(desk, 2, "agent", "add", "ola", "--name", "Ola", "--email", "ikke-en-adresse")
    result = fails(desk, 2, "log", case_id, "Hei", agent="Kari Nordmann")
    assert "not valid" in result.stderr


# ---------------------------------------------------------------- malformed options

@pytest.mark.parametrize("field", ["epj", "=12345", "EPJ nummer=1", "", "æøå=1"])
def test_field_without_key_value(desk, field):
    result = fails(desk, 2, "new", "--subject", "x", "--field", field)
    assert "KEY=VALUE" in result.stderr


@pytest.mark.parametrize("option", [
    ("--field", "epj=" + "9" * 2001), ("--category", "c" * 101), ("--phone", "1" * 301),
    ("--org", "Kommune " * 40), ("--reporter", "N" * 301 + " <n@example.no>"),
], ids=["field", "category", "phone", "org", "reporter-name"])
def test_values_longer_than_the_schema_allows_are_refused_up_front(desk, option):
    """Accepting them would commit a case file that no later command can load."""
    result = fails(desk, 2, "new", "--subject", "For lang verdi", *option)
    assert option[0].lstrip("-") in result.stderr


def test_nul_character_in_text(desk_case):
    desk, case_id = desk_case
    result = fails(desk, 2, "log", case_id, "a\x00b")
    assert "NUL" in result.stderr


def test_reporter_that_cannot_be_read(desk):
    result = fails(desk, 2, "new", "--subject", "x", "--reporter", "Ola <ikke en adresse")
    assert "reporter" in result.stderr


def test_internal_with_email(desk_case):
    desk, case_id = desk_case
    result = fails(desk, 2, "log", case_id, "Hei", "--internal", "--email")
    assert "--internal" in result.stderr and "--email" in result.stderr


@pytest.mark.parametrize("now", ["garbage", "2026-11-22T10:00:00", "2026-13-01T10:00:00+01:00",
                                 "i morgen"])
def test_a_bad_casectl_now(desk_case, now):
    desk, case_id = desk_case
    for command in (("new", "--subject", "x"), ("log", case_id, "Hei"), ("start", case_id)):
        result = fails(desk, 2, *command, env={"CASECTL_NOW": now})
        assert "CASECTL_NOW" in result.stderr


def test_a_bad_casectl_now_in_a_real_process(desk_case):
    desk, case_id = desk_case
    done = run_process("--repo", str(desk), "--as", "kari", "log", case_id, "Hei",
                       env={"CASECTL_NOW": "igår"})
    assert done.returncode == 2
    no_traceback(done.stderr)
    assert "CASECTL_NOW" in done.stderr


def test_unknown_time_zone_at_init(tmp_path):
    result = run("init", str(tmp_path / "desk"), "--timezone", "Europe/Bergen")
    assert result.exit_code == 2, result.output
    no_traceback(result.output)
    assert "Europe/Oslo" in result.stderr
    assert not (tmp_path / "desk" / "casectl.yaml").exists()


def test_unknown_command_and_option(desk):
    result = fails(desk, 2, "lukk")
    assert "No such command" in result.stderr
    result = fails(desk, 2, "new", "--subjekt", "x")
    assert "--subjekt" in result.stderr
