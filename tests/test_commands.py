"""Every command through the real command line, against real temporary git
repositories: the case file (loaded as YAML) and `git log` are the truth.

Each changing command is checked for: the id on stdout, exactly one commit
added, the commit subject `<ID> <action>: <subject>`, the Case/Action/Agent
trailers, the author (the acting agent as casectl.yaml lists them), only the
case file in the commit, a clean working tree, and header == replay(log).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import casectl
from casectl import model
from helpers import (AGENTS, TEAMS, act, build_desk, case_file, commit_count, copy_desk, git,
                      grant, head, isolated_env, load_case, new_case, run, run_process)

# The ids casectl issues: 11 / 13 characters. The legacy 10 / 12 of older
# cases are read everywhere ids are (tests/test_times_and_ids.py).
ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10,11}$")
EVENT_ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{12,13}$")
PACKAGE_SCHEMAS = Path(casectl.__file__).resolve().parent / "schemas"
LIST_FIELDS = ["id", "status", "priority", "type", "category", "team", "assignee", "subject",
               "reporter", "created", "updated", "sla", "due"]
LIST_FIELDS += ["unread"]  # list's own, after the index's fields (tests/test_unread.py)
LIST_FIELDS += ["protected"]  # protected identity (tests/test_protected.py)
# --format json/yaml: and the files an event lists, as recorded (null when none).
HISTORY_FIELDS = ["at", "kind", "by", "text", "commit", "author", "action", "event",
                  "attachments", "original"]
NOW = "2026-11-22T09:30:00+01:00"


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """conftest's desk, built once per module in the same isolated
    environment; each test gets its own copy of the repository, .git and all."""
    with isolated_env(tmp_path_factory.mktemp("template-home")):
        return build_desk(tmp_path_factory.mktemp("template") / "desk")


@pytest.fixture
def desk(tmp_path: Path, desk_template: Path) -> Path:
    """A copy of ``desk_template``."""
    return copy_desk(desk_template, tmp_path)


# ---------------------------------------------------------------- helpers

def trailers(repo: Path, rev: str = "HEAD") -> dict[str, list[str]]:
    out = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def commit_info(repo: Path, rev: str = "HEAD") -> dict[str, str]:
    out = git(repo, "log", "-1", "--format=%H%x1f%s%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%aI%x1f%B",
              rev)
    sha, subject, an, ae, cn, ce, date, body = out.split("\x1f")
    return {"sha": sha, "subject": subject, "author_name": an, "author_email": ae,
            "committer_name": cn, "committer_email": ce, "date": date, "body": body}


def changed_files(repo: Path, rev: str = "HEAD") -> list[str]:
    out = git(repo, "show", "--name-only", "--format=", rev)
    return [line for line in out.splitlines() if line.strip()]


def relpath(repo: Path, case_id: str) -> str:
    return case_file(repo, case_id).relative_to(repo).as_posix()


def check_replay(case: dict[str, Any]) -> None:
    """The stored header is what replaying the log gives, key by key, in order."""
    assert list(case) == [*model.HEADER_KEYS, "log"]
    replayed = model.replay(case["id"], case["log"])
    assert {key: case[key] for key in model.HEADER_KEYS} == replayed


def check_commit(repo: Path, before: int, case: dict[str, Any], action: str,
                 agent: str = "kari") -> dict[str, str]:
    """Exactly one commit was added, and it is the action's commit."""
    assert commit_count(repo) == before + 1
    info = commit_info(repo)
    assert info["subject"] == f"{case['id']} {action}: {case['subject']}"
    assert trailers(repo) == {"Case": [case["id"]], "Action": [action], "Agent": [agent]}
    name, email = AGENTS[agent][:2]
    assert (info["author_name"], info["author_email"]) == (name, email)
    assert (info["committer_name"], info["committer_email"]) == (name, email)
    assert changed_files(repo) == [relpath(repo, case["id"])]
    assert git(repo, "status", "--porcelain") == ""
    return info


def change(repo: Path, action: str, *args: str, agent: str = "kari",
           input: str | None = None) -> dict[str, Any]:
    """Run a changing command on the case named by args[1]; check what every
    changing command must do; return the case file as it is afterwards."""
    case_id = args[1]
    before = commit_count(repo)
    old_log = load_case(repo, case_id)["log"]
    result = act(repo, *args, agent=agent, input=input)
    assert result.exit_code == 0, result.output
    assert result.stdout == case_id + "\n"
    case = load_case(repo, case_id)
    # The log only grows: every earlier event is still there, unchanged, first.
    assert case["log"][:len(old_log)] == old_log
    assert len(case["log"]) > len(old_log)
    for event in case["log"][len(old_log):]:
        assert event["by"] == agent
        assert EVENT_ID_RE.match(event["id"])
        assert event["public"] == model.EVENT_KINDS[event["kind"]]
    check_commit(repo, before, case, action, agent)
    check_replay(case)
    return case


def added(case: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
    return case["log"][-count:]


def set_categories(repo: Path, categories: list[str]) -> None:
    """Edit casectl.yaml by hand, as an admin would, and commit it."""
    path = repo / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["categories"] = categories
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    git(repo, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no",
        "commit", "-q", "-am", "Categories")


# ---------------------------------------------------------------- init

def test_init_lays_out_a_case_repository(tmp_path):
    root = tmp_path / "helse-vest"
    result = run("init", str(root), "--desk", "Helse Vest IKT")
    assert result.exit_code == 0, result.output
    assert str(root) in result.stdout

    config = yaml.safe_load((root / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["desk"] == {"name": "Helse Vest IKT", "timezone": "Europe/Oslo"}
    assert config["teams"] == {}
    assert config["agents"] == {}

    packaged = sorted(p.name for p in PACKAGE_SCHEMAS.glob("*.json"))
    assert packaged == ["case.schema.json", "config.schema.json"]
    assert sorted(p.name for p in (root / "schemas").iterdir()) == packaged
    for name in packaged:
        assert (root / "schemas" / name).read_bytes() == (PACKAGE_SCHEMAS / name).read_bytes()
    assert (root / "cases").is_dir()
    assert "cases/**/*.yaml merge=casectl" in (root / ".gitattributes").read_text().splitlines()

    assert commit_count(root) == 1
    assert git(root, "status", "--porcelain") == ""
    tracked = set(git(root, "ls-files").splitlines())
    assert {"casectl.yaml", ".gitattributes", "schemas/case.schema.json",
            "schemas/config.schema.json"} <= tracked
    info = commit_info(root)
    assert info["subject"] == "casectl init: Helse Vest IKT"
    assert trailers(root)["Action"] == ["init"]
    assert info["author_name"] and "@" in info["author_email"]


def test_init_commits_with_no_git_identity_at_all(tmp_path):
    """A fresh machine: empty global git config, no user.name/user.email,
    as a real process run from inside the new directory."""
    root = tmp_path / "desk"
    root.mkdir()
    no_identity = subprocess.run(["git", "config", "--get", "user.email"], cwd=root,
                                 capture_output=True)
    assert no_identity.returncode == 1  # git itself has no identity to offer
    done = run_process("init", "--timezone", "Europe/Stockholm", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert commit_count(root) == 1
    config = yaml.safe_load((root / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["desk"] == {"name": "desk", "timezone": "Europe/Stockholm"}
    info = commit_info(root)
    assert info["subject"] == "casectl init: desk"
    assert info["author_name"] and info["author_email"]

    # ... and the one person working alone can register a case right away.
    done = run_process("new", "--subject", "Skrivar i 3. etasje", cwd=root)
    assert done.returncode == 0, done.stderr
    case_id = done.stdout.strip()
    assert ID_RE.match(case_id)
    assert commit_count(root) == 2
    assert commit_info(root)["subject"] == f"{case_id} new: Skrivar i 3. etasje"


def test_init_inside_an_existing_git_repository_adds_one_commit(tmp_path):
    root = tmp_path / "existing"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README").write_text("desk\n")
    git(root, "add", "README")
    git(root, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qm", "first")
    result = run("init", str(root), "--existing")
    assert result.exit_code == 0, result.output
    assert commit_count(root) == 2
    assert (root / "README").read_text() == "desk\n"
    assert "casectl.yaml" in changed_files(root)


# ---------------------------------------------------------------- teams and agents

def test_team_add_writes_config_and_commits(desk):
    before = commit_count(desk)
    result = act(desk, "team", "add", "e-helse", "--name", "E-helse Vest",
                 "--email", "ehelse@helse.example.no", agent="admin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "e-helse\n"
    config = yaml.safe_load((desk / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["teams"]["e-helse"] == {"name": "E-helse Vest",
                                          "email": "ehelse@helse.example.no"}
    assert set(config["teams"]) == {*TEAMS, "e-helse"}
    assert commit_count(desk) == before + 1
    info = commit_info(desk)
    assert info["subject"] == "casectl team-add: e-helse"
    assert trailers(desk) == {"Action": ["team-add"], "Agent": ["admin"]}
    assert (info["author_name"], info["author_email"]) == AGENTS["admin"][:2]
    assert changed_files(desk) == ["casectl.yaml"]
    assert git(desk, "status", "--porcelain") == ""


def test_team_add_name_defaults_to_id(empty_repo):
    result = run("--repo", str(empty_repo), "team", "add", "k-ikt")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((empty_repo / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["teams"]["k-ikt"]["name"] == "k-ikt"
    assert commit_count(empty_repo) == 2


def test_team_list_in_every_format(desk):
    table = act(desk, "team", "list")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "email", "triage", "questions"]
    assert any(line.split()[:2] == ["nettverk", "Nettverk"] for line in lines)
    assert "Kliniske applikasjoner" in table.stdout

    data = json.loads(act(desk, "team", "list", "--json").stdout)
    assert [row["id"] for row in data] == sorted(TEAMS)
    assert {row["id"]: row["name"] for row in data} == TEAMS
    assert json.loads(act(desk, "team", "list", "--format", "json").stdout) == data
    assert yaml.safe_load(act(desk, "team", "list", "--format", "yaml").stdout) == data
    rows = list(csv.DictReader(io.StringIO(act(desk, "team", "list", "--format",
                                               "csv").stdout)))
    assert [row["id"] for row in rows] == sorted(TEAMS)
    assert rows[0].keys() == {"id", "name", "email", "triage", "questions"}


def test_agent_add_writes_config_and_commits(desk):
    before = commit_count(desk)
    result = act(desk, "agent", "add", "ola", "--name", "Ola Ødegård",
                 "--email", "ola@helse.example.no", "--team", "nettverk",
                 "--team", "servicedesk", "--role", "handler", "--role", "auditor",
                 agent="admin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ola\n"
    config = yaml.safe_load((desk / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["agents"]["ola"] == {"name": "Ola Ødegård", "email": "ola@helse.example.no",
                                       "teams": ["nettverk", "servicedesk"],
                                       "roles": ["handler", "auditor"]}
    assert commit_count(desk) == before + 1
    info = commit_info(desk)
    assert info["subject"] == "casectl agent-add: ola"
    assert trailers(desk) == {"Action": ["agent-add"], "Agent": ["admin"]}
    assert (info["author_name"], info["author_email"]) == ("Åse Admin", "ase@helse.example.no")
    assert changed_files(desk) == ["casectl.yaml"]

    # The new agent can act at once, and is the author of what they do.
    case_id = new_case(desk, agent="ola")
    assert load_case(desk, case_id)["team"] == "nettverk"
    assert commit_info(desk)["author_name"] == "Ola Ødegård"


def test_agent_list_in_every_format(desk):
    data = json.loads(act(desk, "agent", "list", "--json").stdout)
    assert [row["id"] for row in data] == sorted(AGENTS)
    by_id = {row["id"]: row for row in data}
    assert by_id["kari"] == {"id": "kari", "name": "Kari Nordmann",
                             "email": "kari@helse.example.no", "teams": ["servicedesk"],
                             "roles": ["receiver", "handler"], "active": True}
    assert by_id["admin"]["teams"] == []
    assert by_id["admin"]["roles"] == ["admin", "permission-admin"]
    rows = list(csv.DictReader(io.StringIO(act(desk, "agent", "list", "--format",
                                               "csv").stdout)))
    assert [row["id"] for row in rows] == sorted(AGENTS)
    assert list(rows[0]) == ["id", "name", "email", "teams", "roles", "active"]
    assert {row["id"]: row["email"] for row in rows}["mette"] == "mette@region.example.dk"
    table = act(desk, "agent", "list").stdout
    assert "Mette Jørgensen" in table and "per@helse.example.no" in table
    assert yaml.safe_load(act(desk, "agent", "list", "--format", "yaml").stdout) == data


def test_first_agent_is_added_by_the_person_working_alone(empty_repo):
    run("--repo", str(empty_repo), "team", "add", "servicedesk")
    result = run("--repo", str(empty_repo), "agent", "add", "kari", "--name", "Kari Nordmann",
                 "--email", "kari@helse.example.no", "--team", "servicedesk")
    assert result.exit_code == 0, result.output
    assert commit_count(empty_repo) == 3
    assert trailers(empty_repo)["Action"] == ["agent-add"]
    # From now on kari is somebody; acting as her is authored by her.
    case_id = new_case(empty_repo)
    assert commit_info(empty_repo)["author_email"] == "kari@helse.example.no"
    assert load_case(empty_repo, case_id)["team"] == "servicedesk"


# ---------------------------------------------------------------- new

def test_new_prints_only_the_id_and_commits_the_case(desk, monkeypatch):
    monkeypatch.setenv("CASECTL_NOW", NOW)
    before = commit_count(desk)
    result = act(desk, "new", "--subject", "DIPS Arena: ingen tilgang")
    assert result.exit_code == 0, result.output
    assert ID_RE.match(result.stdout.rstrip("\n"))
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""
    case_id = result.stdout.strip()
    path = desk / "cases" / "2026" / "11" / f"{case_id}.yaml"
    assert path.is_file()
    case = load_case(desk, case_id)
    assert case["id"] == case_id
    assert case["created"] == case["updated"] == NOW
    info = check_commit(desk, before, case, "new")
    assert info["date"] == NOW
    check_replay(case)


def test_new_defaults(desk):
    case_id = new_case(desk, subject="Passord utløpt")
    case = load_case(desk, case_id)
    assert case["subject"] == "Passord utløpt"
    assert case["status"] == "new"
    assert case["priority"] == "medium"
    assert case["type"] == "incident"
    assert case["assignee"] == "kari"
    assert case["team"] == "servicedesk"
    assert case["description"] is None
    assert case["category"] is None
    assert case["reporter"] is None
    assert case["notify"] is False
    assert case["fields"] == {}
    assert case["tasks"] == []
    assert case["solution"] is None and case["rejection"] is None
    assert case["started"] is None and case["solved"] is None and case["closed"] is None
    assert [e["kind"] for e in case["log"]] == ["created"]
    event = case["log"][0]
    assert event["by"] == "kari" and event["public"] is True
    assert event["at"] == case["created"]
    assert event["data"]["subject"] == "Passord utløpt"
    check_replay(case)


@pytest.mark.parametrize("agent, team", [("per", "nettverk"), ("mette", "klinisk-app"),
                                         ("admin", None)])
def test_new_default_team_is_the_registering_agents_home_team(desk, agent, team):
    if agent == "admin":  # an admin registers cases only as a receiver or handler too
        grant(desk, "admin", "handler")
    case_id = new_case(desk, agent=agent)
    case = load_case(desk, case_id)
    assert (case["assignee"], case["team"]) == (agent, team)
    assert trailers(desk)["Agent"] == [agent]
    assert commit_info(desk)["author_email"] == AGENTS[agent][1]


def test_new_with_every_option(desk):
    before = commit_count(desk)
    result = act(desk, "new", "--subject", "Nettverk nede på lab",
                 "--description", "Ingen PC-er på laboratoriet får kontakt.",
                 "--type", "request", "--category", "nettverk/switch",
                 "--reporter", "Ola Nordmann <ola@bergen.kommune.no>",
                 "--phone", "+47 912 34 567", "--org", "Bergen kommune",
                 "--priority", "high", "--team", "nettverk", "--assignee", "per",
                 "--field", "epj=EPJ-2231", "--field", "kommune=Bergen",
                 "--field", "Socket = 4-12 ", "--notify", "--start")
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    assert ID_RE.match(case_id)
    case = load_case(desk, case_id)
    assert case["subject"] == "Nettverk nede på lab"
    assert case["description"] == "Ingen PC-er på laboratoriet får kontakt."
    assert case["type"] == "request"
    assert case["category"] == "nettverk/switch"
    assert case["reporter"] == {"name": "Ola Nordmann", "email": "ola@bergen.kommune.no",
                                "phone": "+47 912 34 567", "org": "Bergen kommune"}
    assert case["priority"] == "high"
    assert case["team"] == "nettverk"
    assert case["assignee"] == "per"
    assert case["fields"] == {"epj": "EPJ-2231", "kommune": "Bergen", "socket": "4-12"}
    assert case["notify"] is True
    assert case["status"] == "started"
    assert [e["kind"] for e in case["log"]] == ["created", "status_changed"]
    assert case["log"][1]["data"] == {"status": "started"}
    assert case["started"] == case["log"][1]["at"]
    assert case["started"] > case["created"]
    # Registering and starting at once is one action: one commit.
    check_commit(desk, before, case, "new")
    check_replay(case)


def test_new_description_from_stdin(desk):
    text = "Linje 1: DIPS henger\nLinje 2: gjelder hele avdelingen\n\n"
    result = act(desk, "new", "--subject", "DIPS henger", "--description", "-", input=text)
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    case = load_case(desk, case_id)
    assert case["description"] == "Linje 1: DIPS henger\nLinje 2: gjelder hele avdelingen"
    # Multi-line text is kept as a literal block: one line of text, one line of file.
    raw = case_file(desk, case_id).read_text(encoding="utf-8")
    assert "description: |-\n  Linje 1: DIPS henger\n  Linje 2: gjelder hele avdelingen\n" in raw


@pytest.mark.parametrize("given, expected", [
    ("Ola Nordmann <ola@bergen.kommune.no>", {"name": "Ola Nordmann",
                                              "email": "ola@bergen.kommune.no"}),
    ("ola@bergen.kommune.no", {"name": None, "email": "ola@bergen.kommune.no"}),
    ("Ola Nordmann", {"name": "Ola Nordmann", "email": None}),
])
def test_new_reporter_forms(desk, given, expected):
    case_id = new_case(desk, "--reporter", given)
    assert load_case(desk, case_id)["reporter"] == {**expected, "phone": None, "org": None}


def test_new_phone_and_org_without_reporter_name(desk):
    case_id = new_case(desk, "--phone", "+46 70 123 45 67", "--org", "Region Stockholm")
    assert load_case(desk, case_id)["reporter"] == {"name": None, "email": None,
                                                    "phone": "+46 70 123 45 67",
                                                    "org": "Region Stockholm"}


def test_new_assignee_from_another_team_brings_their_team(desk):
    case_id = new_case(desk, "--assignee", "mette")
    case = load_case(desk, case_id)
    assert (case["assignee"], case["team"]) == ("mette", "klinisk-app")
    assert trailers(desk)["Agent"] == ["kari"]  # kari registered it


def test_new_category_from_the_configured_list(desk):
    set_categories(desk, ["nettverk", "skrivar", "EPJ"])
    case_id = new_case(desk, "--category", "skrivar")
    assert load_case(desk, case_id)["category"] == "skrivar"


def test_new_type_and_priority_are_case_insensitive(desk):
    case_id = new_case(desk, "--type", "ORDER", "--priority", "Low")
    case = load_case(desk, case_id)
    assert (case["type"], case["priority"]) == ("order", "low")


def test_new_json_prints_the_whole_case(desk):
    result = act(desk, "new", "--subject", "Ny bruker", "--json", "--reporter",
                 "Siv <siv@example.se>")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == load_case(desk, printed["id"])
    assert printed["reporter"]["email"] == "siv@example.se"
    assert printed["log"][0]["kind"] == "created"


# ---------------------------------------------------------------- show

@pytest.fixture
def rich_case(desk) -> str:
    case_id = new_case(desk, "--reporter", "Ola Nordmann <ola@bergen.kommune.no>",
                       "--phone", "+47 912 34 567", "--org", "Bergen kommune",
                       "--description", "Får ikke logget inn i DIPS Arena.",
                       "--field", "epj=EPJ-2231", "--category", "epj",
                       subject="DIPS Arena: ingen tilgang")
    assert act(desk, "log", case_id, "Ringte brukeren").exit_code == 0
    assert act(desk, "log", case_id, "Sjekk AD-gruppen", "--internal").exit_code == 0
    assert act(desk, "close", case_id, "--solution", "Lagt til i AD-gruppen").exit_code == 0
    return case_id


def test_show_table(desk, rich_case):
    result = act(desk, "show", rich_case)
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == f"{rich_case}  DIPS Arena: ingen tilgang"
    assert "status solved" in out and "priority medium" in out and "type incident" in out
    assert "category epj" in out
    assert "team servicedesk" in out and "assignee kari" in out
    assert "Ola Nordmann <ola@bergen.kommune.no> +47 912 34 567 (Bergen kommune)" in out
    assert "epj: EPJ-2231" in out
    assert "Description:" in out and "Får ikke logget inn i DIPS Arena." in out
    assert "Solution:" in out and "Lagt til i AD-gruppen" in out
    assert "Log:" in out
    assert "worklog: Ringte brukeren" in out
    note_line = next(i for i, line in enumerate(lines) if "Sjekk AD-gruppen" in line)
    assert "[internal]" in lines[note_line - 1]


def test_show_json_yaml_and_csv(desk, rich_case):
    stored = load_case(desk, rich_case)
    as_json = act(desk, "show", rich_case, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == stored
    assert act(desk, "show", rich_case, "--format", "json").stdout == as_json.stdout
    assert act(desk, "show", rich_case, "--format", "JSON").stdout == as_json.stdout
    assert yaml.safe_load(act(desk, "show", rich_case, "--format", "yaml").stdout) == stored
    table = act(desk, "show", rich_case, "--format", "table").stdout
    assert table == act(desk, "show", rich_case).stdout

    rows = list(csv.DictReader(io.StringIO(act(desk, "show", rich_case, "--format",
                                               "csv").stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == rich_case
    assert row["status"] == "solved"
    assert row["subject"] == "DIPS Arena: ingen tilgang"
    assert row["reporter_email"] == "ola@bergen.kommune.no"
    assert row["reporter_phone"] == "+47 912 34 567"
    assert row["field_epj"] == "EPJ-2231"
    assert row["solution"] == "Lagt til i AD-gruppen"
    assert "log" not in row


# ---------------------------------------------------------------- list

@pytest.fixture(scope="module")
def listed(tmp_path_factory, desk_template) -> tuple[Path, dict[str, str]]:
    """Six cases with known attributes, created a minute apart; the list
    tests only read, so they share it."""
    with isolated_env(tmp_path_factory.mktemp("list-home")) as mp:
        desk = copy_desk(desk_template, tmp_path_factory.mktemp("list"))
        made: dict[str, str] = {}

        def at(minute: int) -> None:
            mp.setenv("CASECTL_NOW", f"2026-11-23T10:{minute:02d}:00+01:00")

        at(0)
        made["low"] = new_case(desk, "--priority", "low", "--category", "skrivar",
                               subject="Skrivar på 4. etasje skriver ikke")
        at(1)
        made["critical"] = new_case(desk, "--priority", "critical", "--type", "request",
                                    "--phone", "+47 912 34 567",
                                    agent="per", subject="Kjernenett nede")
        at(2)
        made["closed"] = new_case(desk, "--priority", "high", "--type", "order",
                                  subject="Ny PC til legekontoret")
        assert act(desk, "close", made["closed"], "--solution", "Levert", "--confirmed"
                   ).exit_code == 0
        at(3)
        made["rejected"] = new_case(desk, "--type", "change", agent="ingrid",
                                    subject="Ønsker mørk modus i EPJ")
        assert act(desk, "reject", made["rejected"], "--reason", "Hører under leverandøren",
                   agent="ingrid").exit_code == 0
        at(4)
        made["waiting"] = new_case(desk, subject="Tilgang til Min Sykehuspartner")
        assert act(desk, "wait", made["waiting"], "--reason", "Venter på leder").exit_code == 0
        at(5)
        made["solved"] = new_case(desk, "--priority", "high", subject="Outlook krasjer")
        assert act(desk, "close", made["solved"], "--solution", "Reparert Office"
                   ).exit_code == 0
    return desk, made


def list_ids(desk: Path, *args: str, agent: str = "kari") -> list[str]:
    result = act(desk, "list", "--json", *args, agent=agent)
    assert "warning" not in result.stderr
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_list_shows_open_cases_by_default_most_urgent_first(listed):
    desk, many = listed
    assert list_ids(desk) == [many["critical"], many["solved"], many["waiting"], many["low"]]
    assert list_ids(desk, "--open") == list_ids(desk)


def test_list_closed_and_all(listed):
    desk, many = listed
    assert list_ids(desk, "--closed") == [many["closed"], many["rejected"]]
    assert set(list_ids(desk, "--all")) == set(many.values())
    assert len(list_ids(desk, "--all")) == 6


def test_list_status_repeated_overrides_scope(listed):
    desk, many = listed
    assert set(list_ids(desk, "--status", "waiting", "--status", "solved")) == \
        {many["waiting"], many["solved"]}
    assert list_ids(desk, "--status", "closed") == [many["closed"]]
    assert list_ids(desk, "--status", "rejected", "--open") == [many["rejected"]]
    assert list_ids(desk, "--status", "new") == [many["critical"], many["low"]]
    assert list_ids(desk, "--status", "started") == []


def test_list_filters(listed):
    desk, many = listed
    assert list_ids(desk, "--team", "nettverk") == [many["critical"]]
    assert list_ids(desk, "--assignee", "me", agent="per") == [many["critical"]]
    assert list_ids(desk, "--assignee", "me", agent="mette") == []
    assert list_ids(desk, "--assignee", "kari") == [many["solved"], many["waiting"], many["low"]]
    assert list_ids(desk, "--assignee", "ingrid", "--all") == [many["rejected"]]
    assert list_ids(desk, "--priority", "high", "--priority", "critical", "--all") == \
        [many["critical"], many["closed"], many["solved"]]
    assert list_ids(desk, "--priority", "low") == [many["low"]]
    assert list_ids(desk, "--type", "request") == [many["critical"]]
    assert list_ids(desk, "--type", "change", "--type", "order", "--all") == \
        [many["closed"], many["rejected"]]
    assert list_ids(desk, "--category", "skrivar") == [many["low"]]
    assert list_ids(desk, "--team", "servicedesk", "--priority", "high") == [many["solved"]]


def test_list_sort_and_limit(listed):
    desk, many = listed
    by_created = [many[k] for k in ("low", "critical", "closed", "rejected", "waiting",
                                    "solved")]
    assert list_ids(desk, "--all", "--sort", "created") == by_created
    assert list_ids(desk, "--all", "--sort", "id") == sorted(many.values())
    assert list_ids(desk, "--all", "--sort", "updated") == by_created[::-1]
    subjects = act(desk, "list", "--all", "--sort", "subject", "--json").stdout
    names = [row["subject"] for row in json.loads(subjects)]
    assert names == sorted(names, key=str.casefold)
    statuses = [row["status"] for row in json.loads(
        act(desk, "list", "--all", "--sort", "status", "--json").stdout)]
    assert statuses == sorted(statuses)
    assert list_ids(desk, "--limit", "2") == [many["critical"], many["solved"]]
    assert list_ids(desk, "--all", "--sort", "created", "--limit", "1") == [many["low"]]


def test_list_formats(listed):
    desk, many = listed
    data = json.loads(act(desk, "list", "--format", "json").stdout)
    assert [list(row) for row in data] == [LIST_FIELDS] * 4
    first = data[0]
    assert first["id"] == many["critical"]
    assert (first["status"], first["priority"], first["type"], first["team"],
            first["assignee"]) == ("new", "critical", "request", "nettverk", "per")
    assert first["subject"] == "Kjernenett nede"
    assert first["created"] == "2026-11-23T10:01:00+01:00"

    raw_csv = act(desk, "list", "--format", "csv").stdout
    reader = csv.DictReader(io.StringIO(raw_csv))
    assert reader.fieldnames == LIST_FIELDS
    rows = list(reader)
    assert [row["id"] for row in rows] == [row["id"] for row in data]
    assert rows[0]["subject"] == "Kjernenett nede"
    assert rows[-1]["category"] == "skrivar"
    assert rows[0]["category"] == ""  # None is an empty cell

    assert yaml.safe_load(act(desk, "list", "--format", "yaml").stdout) == data

    table = act(desk, "list").stdout.splitlines()
    assert table[0].split() == ["id", "status", "priority", "type", "team", "assignee",
                                "updated", "due", "subject"]
    assert table[2].split()[:6] == [many["critical"], "new", "critical", "request",
                                    "nettverk", "per"]
    assert len(table) == 2 + 4


def test_list_csv_quotes_commas_and_quotes(desk):
    subject = 'Skrivar "HP 4", 3. etasje; ærlig talt'
    case_id = new_case(desk, "--reporter", '"Nordmann, Ola" <ola@example.no>', subject=subject)
    rows = list(csv.DictReader(io.StringIO(act(desk, "list", "--format", "csv").stdout)))
    assert [(row["id"], row["subject"]) for row in rows] == [(case_id, subject)]
    assert rows[0]["reporter"] == "Nordmann, Ola"


def test_list_nothing_found(desk):
    assert act(desk, "list").stdout.strip() == \
        "no open cases; 'casectl list --all' shows closed ones too"
    assert json.loads(act(desk, "list", "--json").stdout) == []
    assert act(desk, "list", "--format", "csv").stdout.strip() == ",".join(LIST_FIELDS)


# ---------------------------------------------------------------- assign, take, handover

def test_assign_to_agent_of_another_team_moves_team(desk):
    case_id = new_case(desk)
    case = change(desk, "assign", "assign", case_id, "--to", "per")
    assert (case["assignee"], case["team"]) == ("per", "nettverk")
    event = added(case)[0]
    assert event["kind"] == "assigned" and event["public"] is False
    assert event["data"] == {"assignee": "per", "team": "nettverk"}


def test_assign_to_agent_of_same_team_keeps_team(desk):
    case_id = new_case(desk)
    case = change(desk, "assign", "assign", case_id, "--to", "ingrid")
    assert (case["assignee"], case["team"]) == ("ingrid", "servicedesk")
    assert added(case)[0]["data"] == {"assignee": "ingrid"}


def test_assign_to_team_puts_it_in_the_teams_queue(desk):
    case_id = new_case(desk)
    case = change(desk, "assign", "assign", case_id, "--team", "klinisk-app")
    assert (case["assignee"], case["team"]) == (None, "klinisk-app")
    assert added(case)[0]["data"] == {"team": "klinisk-app", "assignee": None}


def test_assign_to_agent_and_team_with_note(desk):
    case_id = new_case(desk)
    case = change(desk, "assign", "assign", case_id, "--to", "mette", "--team", "klinisk-app",
                  "--note", "Mette kjenner DIPS-oppsettet")
    assert (case["assignee"], case["team"]) == ("mette", "klinisk-app")
    assert added(case)[0]["data"] == {"team": "klinisk-app", "assignee": "mette",
                                      "note": "Mette kjenner DIPS-oppsettet"}
    assert "Mette kjenner DIPS-oppsettet" in commit_info(desk)["body"]


def test_take_over_a_case(desk):
    case_id = new_case(desk)
    case = change(desk, "take", "take", case_id, agent="ingrid")
    assert (case["assignee"], case["team"]) == ("ingrid", "servicedesk")
    event = added(case)[0]
    assert event["kind"] == "taken" and event["by"] == "ingrid"
    assert event["data"] == {"assignee": "ingrid", "previous": "kari"}
    assert commit_info(desk)["author_name"] == "Ingrid Solberg"


def test_take_by_an_agent_of_another_team_brings_the_case_to_their_team(desk):
    grant(desk, "per", "receiver")  # a handler takes only the cases of their own team
    case_id = new_case(desk)
    case = change(desk, "take", "take", case_id, agent="per")
    assert (case["assignee"], case["team"]) == ("per", "nettverk")
    assert added(case)[0]["data"] == {"assignee": "per", "previous": "kari",
                                      "team": "nettverk"}


def test_take_with_note(desk):
    case_id = new_case(desk)
    case = change(desk, "take", "take", case_id, "--note", "Kveldsvakt tar over",
                  agent="ingrid")
    assert added(case)[0]["data"]["note"] == "Kveldsvakt tar over"


def test_handover_to_an_agent(desk):
    case_id = new_case(desk, "--priority", "high")
    case = change(desk, "handover", "handover", case_id, "--to", "per",
                  "--note", "Ringt Per: switch i bygg 4 må byttes")
    assert (case["assignee"], case["team"]) == ("per", "nettverk")
    event = added(case)[0]
    # a handover is noted where the reporter can see it
    assert event["kind"] == "handed_over" and event["public"] is True
    assert event["data"] == {"to": "per", "note": "Ringt Per: switch i bygg 4 må byttes",
                             "assignee": "per", "team": "nettverk"}
    assert "switch i bygg 4" in commit_info(desk)["body"]


def test_handover_to_a_team_naming_the_receiver(desk):
    case_id = new_case(desk, "--priority", "critical", "--phone", "+47 912 34 567")
    case = change(desk, "handover", "handover", case_id, "--to", "klinisk-app",
                  "--note", "Overdraget til Mette Jørgensen: lab-systemet nede")
    assert (case["assignee"], case["team"]) == (None, "klinisk-app")
    assert added(case)[0]["data"] == {"to": "klinisk-app",
                                      "note": "Overdraget til Mette Jørgensen: lab-systemet nede",
                                      "team": "klinisk-app", "assignee": None}


def test_handover_note_from_stdin(desk):
    case_id = new_case(desk)
    case = change(desk, "handover", "handover", case_id, "--to", "nettverk", "--note", "-",
                  input="Gitt til per på telefon\n")
    assert added(case)[0]["data"]["note"] == "Gitt til per på telefon"


# ---------------------------------------------------------------- log

def test_log_work_entry_is_public(desk):
    case_id = new_case(desk)
    case = change(desk, "log", "log", case_id, "Ringte brukeren, avtalt fjernstyring kl 14")
    event = added(case)[0]
    assert event["kind"] == "worklog" and event["public"] is True
    assert event["data"] == {"text": "Ringte brukeren, avtalt fjernstyring kl 14"}
    assert case["updated"] == event["at"]
    assert "Ringte brukeren, avtalt fjernstyring kl 14" in commit_info(desk)["body"]


def test_log_internal_note_is_not_public(desk):
    case_id = new_case(desk)
    case = change(desk, "note", "log", case_id, "Brukeren er skyddad identitet", "--internal")
    event = added(case)[0]
    assert event["kind"] == "note" and event["public"] is False
    assert event["data"] == {"text": "Brukeren er skyddad identitet"}


def test_log_email_entry_goes_to_the_reporter(desk):
    case_id = new_case(desk, "--reporter", "Ola Nordmann <ola@bergen.kommune.no>")
    case = change(desk, "email", "log", case_id, "Kan du prøve å logge inn nå?", "--email")
    event = added(case)[0]
    assert event["kind"] == "email" and event["public"] is True
    assert event["data"] == {"text": "Kan du prøve å logge inn nå?",
                             "to": "ola@bergen.kommune.no"}


def test_log_text_from_stdin(desk):
    case_id = new_case(desk)
    case = change(desk, "log", "log", case_id, "-",
                  input="Første linje\r\nAndre linje\r\n")
    assert added(case)[0]["data"] == {"text": "Første linje\nAndre linje"}


def test_log_json_prints_the_whole_case(desk):
    case_id = new_case(desk)
    result = act(desk, "log", case_id, "Startet feilsøking", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == load_case(desk, case_id)
    assert printed["log"][-1]["data"] == {"text": "Startet feilsøking"}


def test_one_log_action_only_appends_lines_and_touches_updated(desk):
    case_id = new_case(desk, "--reporter", "Ola <ola@example.no>", "--description",
                       "Linje en\nLinje to")
    act(desk, "log", case_id, "Første oppføring")
    rel = relpath(desk, case_id)
    old = git(desk, "show", f"HEAD:{rel}").splitlines()
    assert act(desk, "log", case_id, "Andre oppføring\nmed to linjer").exit_code == 0
    new = git(desk, "show", f"HEAD:{rel}").splitlines()
    case = load_case(desk, case_id)

    changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    updated_at = old.index(next(line for line in old if line.startswith("updated: ")))
    assert changed == [updated_at]
    assert new[updated_at] == f"updated: '{case['updated']}'"
    assert len(new) > len(old)
    tail = "\n".join(new[len(old):])
    assert "kind: worklog" in tail and "Andre oppføring" in tail
    # git agrees: one line removed (the old updated:), the rest added.
    numstat = git(desk, "diff", "--numstat", "HEAD~1", "HEAD", "--", rel).split()
    assert numstat[:2] == [str(len(new) - len(old) + 1), "1"]


def test_an_action_commits_only_its_case_file(desk):
    """Someone's unstaged edit and untracked files stay out of the commit."""
    case_id = new_case(desk)
    with open(desk / "casectl.yaml", "a", encoding="utf-8") as handle:
        handle.write("# lokal kommentar\n")
    (desk / "notater.txt").write_text("mine notater\n", encoding="utf-8")
    before = commit_count(desk)
    result = act(desk, "log", case_id, "Ringte")
    assert result.exit_code == 0, result.output
    assert commit_count(desk) == before + 1
    assert changed_files(desk) == [relpath(desk, case_id)]
    assert sorted(git(desk, "status", "--porcelain").splitlines()) == [" M casectl.yaml",
                                                                      "?? notater.txt"]
    assert git(desk, "show", "HEAD:casectl.yaml").count("# lokal kommentar") == 0


# ---------------------------------------------------------------- priority and status

def test_priority_with_reason(desk):
    case_id = new_case(desk)
    case = change(desk, "priority", "priority", case_id, "high", "--reason",
                  "Hele avdelingen rammet")
    assert case["priority"] == "high"
    event = added(case)[0]
    assert event["kind"] == "priority_set" and event["public"] is False
    assert event["data"] == {"priority": "high", "previous": "medium",
                             "reason": "Hele avdelingen rammet"}


def test_priority_without_reason_and_in_capitals(desk):
    case_id = new_case(desk)
    case = change(desk, "priority", "priority", case_id, "LOW")
    assert case["priority"] == "low"
    assert added(case)[0]["data"] == {"priority": "low", "previous": "medium"}


def test_start_sets_status_and_started_time(desk):
    case_id = new_case(desk)
    case = change(desk, "start", "start", case_id)
    assert case["status"] == "started"
    event = added(case)[0]
    assert event["kind"] == "status_changed" and event["data"] == {"status": "started"}
    assert case["started"] == event["at"]


def test_wait_and_start_again(desk):
    case_id = new_case(desk, "--start")
    first_start = load_case(desk, case_id)["started"]
    case = change(desk, "wait", "wait", case_id, "--reason", "Motfråga: vilket rum?")
    assert case["status"] == "waiting"
    assert added(case)[0]["data"] == {"status": "waiting", "reason": "Motfråga: vilket rum?"}
    case = change(desk, "start", "start", case_id, "--note", "Svar mottatt")
    assert case["status"] == "started"
    assert added(case)[0]["data"] == {"status": "started", "reason": "Svar mottatt"}
    assert case["started"] == first_start


def test_wait_from_new(desk):
    case_id = new_case(desk)
    assert change(desk, "wait", "wait", case_id)["status"] == "waiting"


# ---------------------------------------------------------------- close, reject, reopen

def test_close_without_confirmation_solves(desk):
    case_id = new_case(desk, "--start")
    case = change(desk, "solve", "close", case_id, "--solution", "Nullstilt passord")
    assert case["status"] == "solved"
    assert case["solution"] == "Nullstilt passord"
    event = added(case)[0]
    assert event["kind"] == "solved" and event["data"] == {"solution": "Nullstilt passord"}
    assert case["solved"] == event["at"]
    assert case["closed"] is None


def test_close_confirmed_closes(desk):
    case_id = new_case(desk, "--start")
    case = change(desk, "close", "close", case_id, "--solution", "Byttet nettverkskabel",
                  "--confirmed")
    assert case["status"] == "closed"
    assert case["solution"] == "Byttet nettverkskabel"
    event = added(case)[0]
    assert event["kind"] == "closed"
    assert event["data"] == {"solution": "Byttet nettverkskabel", "confirmed": True}
    assert case["closed"] == case["solved"] == event["at"]
    assert "Byttet nettverkskabel" in commit_info(desk)["body"]


def test_close_confirmed_alone_on_a_solved_case(desk):
    case_id = new_case(desk, "--start")
    solved = change(desk, "solve", "close", case_id, "--solution", "Ny driver installert")
    case = change(desk, "close", "close", case_id, "--confirmed")
    assert case["status"] == "closed"
    assert case["solution"] == "Ny driver installert"
    assert added(case)[0]["data"] == {"confirmed": True}
    assert case["solved"] == solved["solved"]
    assert case["closed"] == case["log"][-1]["at"]


def test_close_solution_from_stdin(desk):
    case_id = new_case(desk)
    case = change(desk, "solve", "close", case_id, "--solution", "-",
                  input="Steg 1: omstart\nSteg 2: ny profil\n")
    assert case["solution"] == "Steg 1: omstart\nSteg 2: ny profil"


def test_reject_with_reason(desk):
    case_id = new_case(desk)
    case = change(desk, "reject", "reject", case_id, "--reason",
                  "Afvist: hører under regionens leverandør")
    assert case["status"] == "rejected"
    assert case["rejection"] == "Afvist: hører under regionens leverandør"
    event = added(case)[0]
    assert event["kind"] == "rejected"
    assert event["data"] == {"reason": "Afvist: hører under regionens leverandør"}
    assert case["closed"] == event["at"]


@pytest.mark.parametrize("finish", [
    ("solve", "close", "--solution", "Fikset"),
    ("close", "close", "--solution", "Fikset", "--confirmed"),
    ("reject", "reject", "--reason", "Duplikat"),
])
def test_reopen(desk, finish):
    case_id = new_case(desk, "--start")
    action, command, *rest = finish
    change(desk, action, command, case_id, *rest)
    case = change(desk, "reopen", "reopen", case_id, "--reason", "Feilen kom tilbake")
    assert case["status"] == "started"
    assert case["solution"] is None and case["rejection"] is None
    assert case["solved"] is None and case["closed"] is None
    assert case["started"] is not None
    event = added(case)[0]
    assert event["kind"] == "reopened" and event["data"] == {"reason": "Feilen kom tilbake"}
    # and it can be worked on again
    assert change(desk, "log", "log", case_id, "Ser på det igjen")["status"] == "started"


def test_a_whole_life_keeps_header_equal_to_replay(desk):
    case_id = new_case(desk, "--reporter", "Ola <ola@example.no>", "--phone", "+47 912 34 567")
    steps = [
        ("start", "start", case_id),
        ("log", "log", case_id, "Ringte"),
        ("priority", "priority", case_id, "critical"),
        ("handover", "handover", case_id, "--to", "per", "--note", "Per tar den"),
        ("wait", "wait", case_id),
        ("start", "start", case_id),
        ("email", "log", case_id, "Prøv nå", "--email"),
        ("solve", "close", case_id, "--solution", "Byttet port"),
        ("reopen", "reopen", case_id, "--reason", "Ikke fikset"),
        ("close", "close", case_id, "--solution", "Byttet switch", "--confirmed"),
    ]
    agent = "kari"
    for action, *args in steps:
        case = change(desk, action, *args, agent=agent)
        if action == "handover":
            agent = "per"  # the case is his to work from here
    assert case["status"] == "closed" and case["priority"] == "critical"
    assert case["assignee"] == "per"
    subjects = git(desk, "log", "--format=%s", "--", relpath(desk, case_id)).splitlines()
    assert [s.split()[1].rstrip(":") for s in subjects] == \
        [a for a, *_ in reversed(steps)] + ["new"]
    assert git(desk, "log", "--format=%H", "--grep", f"Case: {case_id}").count("\n") == \
        len(steps) + 1


# ---------------------------------------------------------------- history

def history_rows(desk: Path, case_id: str) -> list[dict[str, Any]]:
    result = act(desk, "history", case_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_history_matches_events_to_their_commits(desk):
    grant(desk, "ingrid", "receiver")
    case_id = new_case(desk, "--start")
    act(desk, "log", case_id, "Ringte brukeren")
    act(desk, "assign", case_id, "--to", "per", agent="ingrid")
    act(desk, "close", case_id, "--solution", "Fikset", agent="per")
    case = load_case(desk, case_id)
    rows = history_rows(desk, case_id)
    assert [list(row) for row in rows] == [HISTORY_FIELDS] * len(rows)
    assert [row["event"] for row in rows] == [event["id"] for event in case["log"]]
    assert [row["kind"] for row in rows] == ["created", "status_changed", "worklog",
                                            "assigned", "solved"]
    assert [row["action"] for row in rows] == ["new", "new", "log", "assign", "solve"]
    assert [row["by"] for row in rows] == ["kari", "kari", "kari", "ingrid", "per"]
    assert [row["author"] for row in rows] == ["Kari Nordmann"] * 3 + ["Ingrid Solberg",
                                                                      "Per Hansen"]
    assert [row["at"] for row in rows] == [event["at"] for event in case["log"]]
    commits = git(desk, "log", "--reverse", "--format=%H %(trailers:key=Action,valueonly)",
                  "--", relpath(desk, case_id)).split()
    shas = commits[0::2]
    assert [row["commit"] for row in rows] == [shas[0][:10], shas[0][:10], shas[1][:10],
                                               shas[2][:10], shas[3][:10]]
    assert rows[2]["text"] == "worklog: Ringte brukeren"


def test_history_shows_a_hand_edited_commit_without_an_event(desk):
    case_id = new_case(desk)
    act(desk, "log", case_id, "Første")
    path = case_file(desk, case_id)
    path.write_text(path.read_text(encoding="utf-8") + "# kontrollert av revisor\n",
                    encoding="utf-8")
    git(desk, "-c", "user.name=Revisor Rask", "-c", "user.email=revisor@example.no",
        "commit", "-qam", "Hand edit: comment")
    sha = head(desk)
    act(desk, "log", case_id, "Etterpå")
    rows = history_rows(desk, case_id)
    assert [row["kind"] for row in rows] == ["created", "worklog", None, "worklog"]
    hand = rows[2]
    assert hand["event"] is None and hand["by"] is None
    assert hand["commit"] == sha[:10]
    assert hand["author"] == "Revisor Rask"
    assert hand["action"] == "Hand edit: comment"
    assert "without adding an event" in hand["text"]
    assert rows[3]["action"] == "log"


def test_history_formats(desk):
    case_id = new_case(desk)
    act(desk, "log", case_id, "Ringte, ingen svar")
    table = act(desk, "history", case_id)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["at", "by", "kind", "text", "commit", "action"]
    assert "worklog: Ringte, ingen svar" in table.stdout
    rows = list(csv.DictReader(io.StringIO(act(desk, "history", case_id, "--format",
                                               "csv").stdout)))
    assert [row["kind"] for row in rows] == ["created", "worklog"]
    assert list(rows[0]) == HISTORY_FIELDS[:-2]  # csv: the listed files are not cells
    assert rows[1]["text"] == "worklog: Ringte, ingen svar"
    assert yaml.safe_load(act(desk, "history", case_id, "--format", "yaml").stdout) == \
        history_rows(desk, case_id)


# ---------------------------------------------------------------- search

@pytest.fixture(scope="module")
def searched(tmp_path_factory, desk_template) -> tuple[Path, dict[str, str]]:
    """Cases with words in each part; the search tests only read."""
    with isolated_env(tmp_path_factory.mktemp("search-home")):
        desk = copy_desk(desk_template, tmp_path_factory.mktemp("search"))
        made = {
            "subject": new_case(desk, subject="Skrivar på avdeling 5 skriv ikkje ut"),
            "description": new_case(desk, "--description", "E-tjänst för provsvar svarar inte",
                                    subject="Problem med 1177"),
            "log": new_case(desk, subject="Treg PC"),
            "solution": new_case(desk, subject="Outlook henger"),
            "rejected": new_case(desk, subject="Ønske om ny mus"),
        }
        assert act(desk, "log", made["log"], "Byttet nettverkskabel i kontakt 4-12"
                   ).exit_code == 0
        assert act(desk, "close", made["solution"], "--solution",
                   "Reparerte Office-installasjonen", "--confirmed").exit_code == 0
        assert act(desk, "reject", made["rejected"], "--reason",
                   "Afvist: bestilles i nettbutikken").exit_code == 0
    return desk, made


def search_ids(desk: Path, *args: str) -> list[str]:
    result = act(desk, "search", *args, "--json")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_search_finds_text_in_every_part_of_a_case(searched):
    desk, searchable = searched
    assert search_ids(desk, "skrivar") == [searchable["subject"]]
    assert search_ids(desk, "tjänst") == [searchable["description"]]
    assert search_ids(desk, "nettverkskabel") == [searchable["log"]]
    assert search_ids(desk, "Office-installasjonen") == [searchable["solution"]]
    assert search_ids(desk, "afvist") == [searchable["rejected"]]
    assert search_ids(desk, "finnes-ikke-noe-sted") == []


def test_search_finds_closed_and_rejected_cases(searched):
    desk, searchable = searched
    assert search_ids(desk, "Reparerte") == [searchable["solution"]]
    assert load_case(desk, searchable["solution"])["status"] == "closed"
    assert search_ids(desk, "nettbutikken") == [searchable["rejected"]]


def test_search_is_case_insensitive_also_for_scandinavian_letters(searched):
    desk, searchable = searched
    assert search_ids(desk, "SKRIVAR") == [searchable["subject"]]
    assert search_ids(desk, "TJÄNST") == [searchable["description"]]
    assert search_ids(desk, "ØNSKE") == [searchable["rejected"]]


def test_search_words_must_all_match(searched):
    desk, searchable = searched
    assert search_ids(desk, "skrivar avdeling") == [searchable["subject"]]
    assert search_ids(desk, "skrivar nettverkskabel") == []


def test_search_output_formats(searched):
    desk, searchable = searched
    result = act(desk, "search", "skrivar")
    assert result.exit_code == 0, result.output
    assert searchable["subject"] in result.stdout
    assert "[Skrivar]" in result.stdout  # the match is marked
    rows = list(csv.DictReader(io.StringIO(act(desk, "search", "skrivar", "--format",
                                               "csv").stdout)))
    assert [row["id"] for row in rows] == [searchable["subject"]]
    assert rows[0]["subject"] == "Skrivar på avdeling 5 skriv ikkje ut"
    from_stdin = act(desk, "search", "-", "--json", input="nettverkskabel\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert [row["id"] for row in json.loads(from_stdin.stdout)] == [searchable["log"]]


@pytest.mark.parametrize("query", [
    '"skrivar', 'skrivar"', '"skrivar"', "skriv*", "*", "-skrivar", "skrivar -ut",
    "skrivar AND", "AND", "skrivar OR NOT tjänst", "NEAR(skrivar", "subject:skrivar",
    "^skrivar", "(skrivar", "skrivar)", "'", "{skrivar}", "a+b", "skrivar:*", ":", "\\",
    "--", "*skrivar*", "\"\"", "skrivar NOT", "NOT", "OR", "AND OR NOT",
])
def test_search_syntax_characters_do_not_crash(searched, query):
    desk, _ = searched
    result = act(desk, "search", "--json", "--", query)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)


def test_search_syntax_characters_are_plain_text(searched):
    desk, searchable = searched
    assert search_ids(desk, '"skrivar"') == [searchable["subject"]]
    assert search_ids(desk, "skrivar AND") == []  # AND is a word, not an operator
    assert search_ids(desk, "subject:skrivar") == []  # no column filters either
    assert search_ids(desk, "skriv") == [searchable["subject"]]  # a word's start finds it


def test_reporter_as_mail_programs_write_it(desk):
    """Outlook writes "Surname, Given <address>": the comma belongs to the name."""
    case_id = new_case(desk, "--reporter", "Nordmann, Ola <ola.nordmann@bergen.kommune.example.no>")
    reporter = load_case(desk, case_id)["reporter"]
    assert reporter["name"] == "Nordmann, Ola"
    assert reporter["email"] == "ola.nordmann@bergen.kommune.example.no"
