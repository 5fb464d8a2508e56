"""`casectl validate` in CI: --changed-since REV (only what a range of
commits added or changed, plus casectl.yaml), --format github (workflow
commands) and --format junit (a JUnit XML report), on real repositories."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import act, copy_desk, git, head, init_desk, isolated_env, new_case, run

from casectl import render, yamlio

NOW = "2026-11-22T09:30:00+01:00"
ANNOTATION = re.compile(r"^::error (?P<props>[^:]*)::(?P<message>.*)$")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A desk with three valid cases made by the command line; built once."""
    with isolated_env(tmp_path_factory.mktemp("template-home")) as mp:
        desk = init_desk(tmp_path_factory.mktemp("template") / "desk")
        mp.setenv("CASECTL_NOW", NOW)
        for subject in ("DIPS starter ikke", "Skrivaren fungerar inte", "VPN nede"):
            new_case(desk, subject=subject)
    return desk


@pytest.fixture
def repo(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASECTL_NOW", NOW)
    return copy_desk(template, tmp_path)


def case_files(repo: Path) -> list[Path]:
    return sorted((repo / "cases").glob("*/*/*.yaml"))


def label(repo: Path, path: Path) -> str:
    return path.relative_to(repo).as_posix()


def hand_commit(repo: Path, message: str) -> str:
    """Commit every change in the work tree as a person would with git."""
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Hand", "-c", "user.email=hand@example.no", "commit", "-q",
        "-m", message)
    return head(repo)


def break_status(path: Path) -> None:
    """A hand edit that contradicts the log: the header says closed."""
    text = path.read_text(encoding="utf-8")
    assert "\nstatus: new\n" in text
    path.write_text(text.replace("\nstatus: new\n", "\nstatus: closed\n"), encoding="utf-8")


def validate_json(repo: Path, *args: str) -> tuple[int, dict]:
    result = run("--repo", str(repo), "validate", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


# ---------------------------------------------------------------- --changed-since

def test_a_clean_range_checks_only_its_case_files_and_the_config(repo: Path) -> None:
    before = head(repo)
    added = new_case(repo, subject="Ny sak i pushen")
    assert act(repo, "log", added, "Ringte brukar").exit_code == 0
    code, report = validate_json(repo, "--changed-since", before)
    assert code == 0, report
    # casectl.yaml and the one case file the range touched; not the three older ones
    assert report["checked"] == 2
    assert report["valid"] is True
    code, full = validate_json(repo)
    assert code == 0 and full["checked"] == 5


def test_a_broken_case_file_in_the_range_fails_with_exit_4(repo: Path) -> None:
    before = head(repo)
    broken = case_files(repo)[1]
    break_status(broken)
    hand_commit(repo, "closed by hand")
    code, report = validate_json(repo, "--changed-since", before)
    assert code == 4
    assert report["checked"] == 2
    assert {p["file"] for p in report["problems"]} == {label(repo, broken)}
    assert any(p["field"] == "status" for p in report["problems"])


def test_files_outside_the_range_are_not_read(repo: Path) -> None:
    # A file broken (even unparsable) before REV is not this range's business:
    # --changed-since must not even read it.
    old = case_files(repo)[0]
    old.write_text("id: [unclosed\n", encoding="utf-8")
    since = hand_commit(repo, "broken before the range")
    new_case(repo, subject="Etter brekket")
    code, report = validate_json(repo, "--changed-since", since)
    assert code == 0, report
    assert report["checked"] == 2
    # ...while the whole repository does report it
    code, full = validate_json(repo)
    assert code == 4 and {p["file"] for p in full["problems"]} == {label(repo, old)}


def test_deleted_case_files_are_left_to_audit(repo: Path) -> None:
    before = head(repo)
    case_files(repo)[0].unlink()
    hand_commit(repo, "deleted a case")
    code, report = validate_json(repo, "--changed-since", before)
    assert code == 0
    assert report["checked"] == 1  # casectl.yaml, always


def test_the_config_is_always_checked(repo: Path) -> None:
    before = head(repo)
    config = repo / "casectl.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "nonsense: true\n",
                      encoding="utf-8")
    hand_commit(repo, "config by hand")
    code, report = validate_json(repo, "--changed-since", before)
    assert code == 4
    assert [p["file"] for p in report["problems"]] == ["casectl.yaml"]
    # and when nothing changed at all, it is still checked (and found broken)
    code, report = validate_json(repo, "--changed-since", "HEAD")
    assert code == 4 and report["checked"] == 1


def test_changed_schemas_mean_every_case_file_is_checked(repo: Path) -> None:
    before = head(repo)
    schema_file = repo / "schemas" / "case.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["subject"] = {"type": "string", "maxLength": 5}  # all are longer
    schema_file.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    hand_commit(repo, "stricter schema")
    result = run("--repo", str(repo), "validate", "--changed-since", before)
    assert result.exit_code == 4
    assert "the schemas changed since" in result.stderr
    assert "4 file(s) checked" in result.stderr
    assert len({line.split(":")[0] for line in result.stdout.splitlines()}) == 3


def test_a_rename_is_checked_under_its_new_name(repo: Path) -> None:
    before = head(repo)
    old = case_files(repo)[0]
    moved = old.parent.parent / "01" / old.name  # the wrong month's folder
    moved.parent.mkdir()
    git(repo, "mv", label(repo, old), label(repo, moved))
    hand_commit(repo, "moved a case")
    code, report = validate_json(repo, "--changed-since", before)
    assert code == 4
    assert {p["file"] for p in report["problems"]} == {label(repo, moved)}


@pytest.mark.parametrize("rev", ["nope", "0" * 40, "--all", "HEAD~5", "HEAD:casectl.yaml"])
def test_a_revision_that_names_no_commit_is_a_usage_error(repo: Path, rev: str) -> None:
    result = run("--repo", str(repo), "validate", f"--changed-since={rev}")
    assert result.exit_code == 2, result.output
    assert f"--changed-since {rev}: no such commit" in result.stderr
    assert "hint:" in result.stderr
    if rev == "0" * 40:
        assert "new branch" in result.stderr and "'casectl validate'" in result.stderr
    assert "Traceback" not in result.output


def test_paths_and_changed_since_do_not_mix(repo: Path) -> None:
    result = run("--repo", str(repo), "validate", "--changed-since", "HEAD",
                 label(repo, case_files(repo)[0]))
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_changed_since_needs_a_case_repository(tmp_path: Path) -> None:
    result = run("--repo", str(tmp_path), "validate", "--changed-since", "HEAD")
    assert result.exit_code == 3
    assert "not a case repository" in result.stderr


def test_changed_since_takes_branch_names_and_expressions(repo: Path) -> None:
    git(repo, "branch", "base")
    broken = case_files(repo)[2]
    break_status(broken)
    hand_commit(repo, "one")
    new_case(repo, subject="To")
    for rev in ("base", "HEAD~2", "main~2"):
        code, report = validate_json(repo, "--changed-since", rev)
        assert code == 4 and report["checked"] == 3, rev


# ---------------------------------------------------------------- --format github

def parse_annotation(line: str) -> dict[str, str]:
    match = ANNOTATION.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = dict(item.split("=", 1) for item in match["props"].split(","))
    return {**props, "message": match["message"]}


def test_github_annotations_point_at_the_file_and_line(repo: Path) -> None:
    broken = case_files(repo)[0]
    break_status(broken)
    result = run("--repo", str(repo), "validate", "--format", "github")
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    assert lines, result.output
    annotations = [parse_annotation(line) for line in lines]
    status_line = broken.read_text(encoding="utf-8").splitlines().index("status: closed") + 1
    by_field = {a["message"].split(":")[0]: a for a in annotations}
    assert by_field["status"]["file"] == label(repo, broken)
    assert by_field["status"]["line"] == str(status_line)
    assert by_field["status"]["title"] == "casectl validate"
    assert "header says 'closed'" in by_field["status"]["message"]
    assert "problem(s) in 1 file(s)" in result.stderr


def test_github_format_on_a_clean_desk_prints_no_command(repo: Path) -> None:
    result = run("--repo", str(repo), "validate", "--format", "github")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "all valid" in result.stderr


def test_github_a_yaml_error_keeps_its_line(repo: Path) -> None:
    broken = case_files(repo)[0]
    broken.write_text("id: x\nlog: [\n", encoding="utf-8")
    result = run("--repo", str(repo), "validate", "--format", "github")
    assert result.exit_code == 4
    (annotation,) = [parse_annotation(line) for line in result.stdout.splitlines()]
    assert annotation["file"] == label(repo, broken) and annotation["line"].isdigit()


def test_github_escaping_follows_the_runner() -> None:
    problems = [{"file": "cases/a,b:c%.yaml", "line": 3, "field": "subject",
                 "message": "100% wrong\r\nsecond line"},
                {"file": "casectl.yaml", "line": None, "field": "(file)", "message": "x"}]
    first, second = render.github_annotations(problems, "casectl validate").split("\n")
    assert first == ("::error file=cases/a%2Cb%3Ac%25.yaml,line=3,title=casectl validate::"
                     "subject: 100%25 wrong%0D%0Asecond line")
    assert second == "::error file=casectl.yaml,title=casectl validate::(file): x"
    # the title is a property too
    assert "title=a%3Ab%2Cc::" in render.github_annotations(problems[1:], "a:b,c")


# ---------------------------------------------------------------- --format junit

def test_junit_has_one_testcase_per_file_and_a_failure_per_invalid_file(repo: Path) -> None:
    broken = case_files(repo)[1]
    break_status(broken)
    result = run("--repo", str(repo), "validate", "--format", "junit")
    assert result.exit_code == 4
    root = ET.fromstring(result.stdout.encode("utf-8"))
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(
        ["casectl.yaml", *(label(repo, p) for p in case_files(repo))])
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == [label(repo, broken)]
    failure = failed[0].find("failure")
    assert "status" in failure.get("message")
    line = broken.read_text(encoding="utf-8").splitlines().index("status: closed") + 1
    assert f"{label(repo, broken)}:{line}: status: header says 'closed'" in failure.text
    # a CI job's log (the report went to a file) says the same
    assert f"{label(repo, broken)}:{line}: status: header says 'closed'" in result.stderr
    assert "file(s) checked" in result.stderr


def test_junit_with_changed_since_lists_only_the_range(repo: Path) -> None:
    before = head(repo)
    added = new_case(repo, subject="I pushen")
    result = run("--repo", str(repo), "validate", "--changed-since", before, "--format", "junit")
    assert result.exit_code == 0
    suite = ET.fromstring(result.stdout.encode("utf-8")).find("testsuite")
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names[0] == "casectl.yaml" and len(names) == 2 and names[1].endswith(f"{added}.yaml")
    assert suite.get("failures") == "0"


def test_junit_survives_control_characters() -> None:
    text = render.junit(["a.yaml"], [{"file": "a.yaml", "line": None, "field": "subject",
                                      "message": "bad \x01 byte & <tag>"}], "casectl validate")
    failure = ET.fromstring(text.encode("utf-8")).find("testsuite/testcase/failure")
    assert "\ufffd byte & <tag>" in failure.text


def test_the_other_formats_still_work(repo: Path) -> None:
    break_status(case_files(repo)[0])
    for fmt in ("table", "json", "yaml", "csv"):
        result = run("--repo", str(repo), "validate", "--format", fmt)
        assert result.exit_code == 4, fmt
        assert "status" in result.stdout, fmt
    assert run("--repo", str(repo), "validate", "--format", "xml").exit_code == 2


# ---------------------------------------------------------------- lines of fields

@pytest.mark.parametrize("field, line", [
    ("status", 2), ("log[1].data.text", 8), ("log[1]", 6), ("log[5].data", 4),
    ("fields.epj.nr", 10), ("fields.missing", 9), ("(file)", None), ("nothere", None)])
def test_line_of_a_field(field: str, line: int | None) -> None:
    text = ("id: X\nstatus: new\nsubject: s\nlog:\n- kind: created\n- kind: log\n  data:\n"
            "    text: hei\nfields:\n  epj.nr: '1'\n")
    assert yamlio.line_of(text, field) == line


def test_line_of_unparsable_text_is_none() -> None:
    assert yamlio.line_of("a: [", "a") is None
