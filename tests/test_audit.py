"""`casectl audit` (issue 7, item 3): the history judged by the rules.
Commits the client would refuse are made by hand with git (with trailers),
as a technician bypassing casectl would: exactly what audit must catch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import pytest
import yaml

from casectl import auditing, ids, model, yamlio
from helpers import act, case_file, git, head, load_case, load_yaml, new_case, run

KARI = ("Kari Nordmann", "kari@helse.example.no")
PER = ("Per Hansen", "per@helse.example.no")
ADMIN = ("Åse Admin", "ase@helse.example.no")
STRANGER = ("Mallory", "mallory@evil.example")
NOW = "2026-11-24T09:00:00+01:00"


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASECTL_NOW", NOW)


# ---------------------------------------------------------------- hand commits

def hand_commit(repo: Path, subject: str, trailers: Sequence[tuple[str, str]] = (),
                author: tuple[str, str] = KARI, sign_key: Path | None = None,
                paths: Sequence[str] = (".",), committer: tuple[str, str] | None = None) -> str:
    """`git add` + `git commit` of the work tree as ``author``, bypassing
    casectl; the new commit."""
    git(repo, "add", "-A", *paths)
    message = subject + ("\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers)
                         if trailers else "")
    signing = (["-c", "gpg.format=ssh", "-c", f"user.signingkey={sign_key}", "-c",
                "commit.gpgsign=true"] if sign_key else [])
    env = {**os.environ, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
           "GIT_COMMITTER_NAME": (committer or author)[0],
           "GIT_COMMITTER_EMAIL": (committer or author)[1]}
    subprocess.run(["git", *signing, "commit", "-q", "--allow-empty", "-m", message], cwd=repo,
                   check=True, env=env, capture_output=True)
    return head(repo)


def append_event(repo: Path, case_id: str, by: str, kind: str, data: dict[str, Any],
                 at: str = "2026-11-24T10:00:00+01:00") -> None:
    """Append an event to a case file and replay, as casectl would write it."""
    path = case_file(repo, case_id)
    doc = load_yaml(path)
    event_id = ids.new_event_id(datetime.fromisoformat(at))
    log = doc["log"] + [model.make_event(event_id, at, by, kind, data)]
    path.write_text(yamlio.dump(model.with_header(case_id, log)), encoding="utf-8")


def case_trailers(case_id: str, action: str, agent: str) -> list[tuple[str, str]]:
    return [("Case", case_id), ("Action", action), ("Agent", agent)]


def audit(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("--repo", str(repo), "audit", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def rules_found(report: dict[str, Any]) -> set[tuple[str | None, str]]:
    return {(f["case"], f["rule"]) for f in report["findings"]}


# ---------------------------------------------------------------- clean history

def test_a_desk_worked_through_casectl_audits_clean_and_the_second_run_is_cached(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert act(desk, "log", case_id, "Ringte brukeren").exit_code == 0
    assert act(desk, "take", case_id, agent="ingrid").exit_code == 0
    assert act(desk, "priority", case_id, "high", "--reason", "Hele avdelingen").exit_code == 0
    code, report = audit(desk)
    assert code == 0, report
    assert report["clean"] and report["commits"] == report["checked"] > 5
    code, again = audit(desk)
    assert code == 0 and again["checked"] == 0 and again["cached"] == report["commits"]
    # one new commit: only it is checked
    assert act(desk, "log", case_id, "Ny logg", agent="ingrid").exit_code == 0
    code, third = audit(desk)
    assert code == 0 and third["checked"] == 1
    table = run("--repo", str(desk), "audit")
    assert table.exit_code == 0 and "no findings" in table.stdout


# ---------------------------------------------------------------- forged history

def test_a_forged_past_event_is_found_even_with_the_header_replayed(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    doc["log"][0]["data"]["description"] = "skrevet om i ettertid"
    later = "2026-11-24T10:00:00+01:00"  # after the created event: replay order is by time
    doc["log"].append(model.make_event(ids.new_event_id(datetime.fromisoformat(later)), later,
                                       "kari", "worklog", {"text": "dekker sporene"}))
    path.write_text(yamlio.dump(model.with_header(case_id, doc["log"])), encoding="utf-8")
    sha = hand_commit(desk, f"{case_id} log: x", case_trailers(case_id, "log", "kari"))
    code, report = audit(desk)
    assert code == 4
    found = [f for f in report["findings"] if f["commit"] == sha]
    assert [(f["case"], f["rule"]) for f in found] == [(case_id, "append-only")]
    assert "was edited" in found[0]["message"]
    table = run("--repo", str(desk), "audit")
    assert table.exit_code == 4 and sha[:10] in table.stdout and "append-only" in table.stdout


def test_removed_and_reordered_events_are_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert act(desk, "log", case_id, "en").exit_code == 0
    assert act(desk, "log", case_id, "to").exit_code == 0
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    first, second = doc["log"][1], doc["log"][2]
    doc["log"] = [doc["log"][0], second, first]  # swapped (replay order is by time anyway)
    append_event(desk, case_id, "kari", "worklog", {"text": "tre"})
    path.write_text(yamlio.dump(model.with_header(case_id, doc["log"] + [
        load_yaml(path)["log"][-1]])), encoding="utf-8")
    swapped = hand_commit(desk, "reorder", case_trailers(case_id, "log", "kari"))
    doc = load_yaml(path)
    doc["log"] = [e for e in doc["log"] if e["id"] != first["id"]]  # the first work log out
    append_event(desk, case_id, "kari", "worklog", {"text": "fire"},
                 at="2026-11-24T11:00:00+01:00")
    path.write_text(yamlio.dump(model.with_header(case_id, doc["log"] + [
        load_yaml(path)["log"][-1]])), encoding="utf-8")
    removed = hand_commit(desk, "cleanup", case_trailers(case_id, "log", "kari"))
    code, report = audit(desk)
    assert code == 4
    assert {(f["commit"], f["rule"]) for f in report["findings"]} == {
        (swapped, "append-only"), (removed, "append-only")}
    by_commit = {f["commit"]: f["message"] for f in report["findings"]}
    assert f"event {first['id']}" in by_commit[swapped] or \
        f"event {second['id']}" in by_commit[swapped]
    assert "was moved" in by_commit[swapped] and "was removed" in by_commit[removed]


def test_a_deleted_case_is_found(desk) -> None:
    case_id = new_case(desk)
    case_file(desk, case_id).unlink()
    sha = hand_commit(desk, "remove", case_trailers(case_id, "log", "kari"))
    code, report = audit(desk)
    assert code == 4
    assert {(f["commit"], f["case"], f["rule"]) for f in report["findings"]} == {
        (sha, case_id, "case-deleted")}


def test_a_header_that_is_not_the_replay_is_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    doc["priority"] = "critical"
    path.write_text(yamlio.dump(doc), encoding="utf-8")
    hand_commit(desk, "bump", case_trailers(case_id, "priority", "kari"))
    code, report = audit(desk)
    assert code == 4
    assert (case_id, "header-replay") in rules_found(report)
    assert any("priority" in f["message"] for f in report["findings"])


def test_a_hand_commit_without_trailers_is_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "kari", "worklog", {"text": "for hånd"})
    hand_commit(desk, "worked on it")
    code, report = audit(desk)
    assert code == 4
    assert rules_found(report) == {(case_id, "trailers")}
    assert "no casectl trailers" in report["findings"][0]["message"]


def test_trailers_that_disagree_with_the_events_are_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "ingrid", "worklog", {"text": "Ingrids ord"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"))
    code, report = audit(desk)
    assert code == 4
    assert any(f["rule"] == "trailers" and "ingrid" in f["message"]
               for f in report["findings"])


# ---------------------------------------------------------------- who did it

def test_a_commit_by_an_author_who_is_no_agent_is_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "kari", "worklog", {"text": "fra en fremmed"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"), author=STRANGER)
    code, report = audit(desk)
    assert code == 4
    assert rules_found(report) == {(None, "author")}
    assert "mallory@evil.example" in report["findings"][0]["message"]


def test_an_action_the_agents_role_does_not_allow_is_found(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "per", "worklog", {"text": "ikke min sak"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "per"), author=PER)
    code, report = audit(desk)
    assert code == 4
    assert rules_found(report) == {(case_id, "role")}
    assert "per" in report["findings"][0]["message"]


def test_configuration_changed_by_a_non_admin_is_found_and_by_the_admin_is_not(desk) -> None:
    config = load_yaml(desk / "casectl.yaml")
    config["categories"] = ["Nettverk"]
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    hand_commit(desk, "casectl category-add: Nettverk",
                [("Action", "category-add"), ("Agent", "admin")], author=ADMIN)
    code, report = audit(desk)
    assert code == 0, report
    config["agents"]["kari"]["roles"].append("admin")
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    sha = hand_commit(desk, "casectl agent-set: kari",
                      [("Action", "agent-set"), ("Agent", "kari")])
    code, report = audit(desk)
    assert code == 4
    assert [(f["commit"], f["rule"]) for f in report["findings"]] == [(sha, "config")]
    assert "permission-admin" in report["findings"][0]["message"]


# ---------------------------------------------------------------- merges and ranges

@pytest.fixture
def merge_driver_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


IDENTITY = ("-c", "user.name=Kari Nordmann", "-c", "user.email=kari@helse.example.no")


def test_a_merge_by_the_driver_is_clean_and_one_that_drops_events_is_not(
        desk, merge_driver_on_path, monkeypatch) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    git(desk, "branch", "side")
    assert act(desk, "log", case_id, "på main").exit_code == 0
    git(desk, "switch", "-q", "side")
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:30:00+01:00")
    assert act(desk, "log", case_id, "på side").exit_code == 0
    git(desk, "branch", "evil")
    git(desk, "switch", "-q", "main")
    git(desk, *IDENTITY, "merge", "-q", "--no-edit", "side")
    code, report = audit(desk)
    assert code == 0, report
    # a merge that keeps only our side drops the other's event
    assert act(desk, "log", case_id, "enda en").exit_code == 0
    git(desk, "switch", "-q", "evil")
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:40:00+01:00")
    assert act(desk, "log", case_id, "bare her").exit_code == 0
    git(desk, "switch", "-q", "main")
    git(desk, *IDENTITY, "merge", "-q", "--no-edit", "-s", "ours", "evil")
    code, report = audit(desk)
    assert code == 4
    assert rules_found(report) == {(case_id, "merge")}
    assert "dropped event" in report["findings"][0]["message"]


def test_since_limits_the_audit_to_the_range(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "kari", "worklog", {"text": "x"})
    hand_commit(desk, "no trailers")
    mark = head(desk)
    assert act(desk, "log", case_id, "etterpå").exit_code == 0
    code, report = audit(desk, "--since", mark)
    assert code == 0 and report["commits"] == 1
    code, report = audit(desk)
    assert code == 4
    bad = run("--repo", str(desk), "audit", "--since", "no-such-rev")
    assert bad.exit_code == 3 and "no such commit" in bad.stderr


def test_the_cache_keeps_findings_too(desk) -> None:
    case_id = new_case(desk)
    case_file(desk, case_id).unlink()
    hand_commit(desk, "remove", case_trailers(case_id, "log", "kari"))
    first = audit(desk)
    second = audit(desk)
    assert first[0] == second[0] == 4
    assert second[1]["checked"] == 0 and second[1]["findings"] == first[1]["findings"]
    assert list((desk / ".git" / "casectl").glob("audit-*.log"))


def test_a_renumber_commit_moving_the_same_log_is_allowed(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    old = case_file(desk, case_id)
    doc = load_yaml(old)
    new_id = case_id[:-1] + ("Z" if case_id[-1] != "Z" else "Y")
    old.unlink()
    (old.parent / f"{new_id}.yaml").write_text(
        yamlio.dump(model.with_header(new_id, doc["log"])), encoding="utf-8")
    hand_commit(desk, f"{new_id} renumber", [("Case", new_id), ("Action", "renumber"),
                                             ("Agent", "kari"), ("Renumbered-From", case_id)])
    code, report = audit(desk)
    assert code == 0, report


# ---------------------------------------------------------------- signatures

@pytest.fixture
def signing_key(tmp_path: Path) -> Path:
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kari", "-f", str(key)],
                   check=True, capture_output=True)
    return key


def require_signed(desk: Path) -> None:
    config = load_yaml(desk / "casectl.yaml")
    config["desk"]["require_signed"] = True
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    hand_commit(desk, "casectl upgrade: require signed commits",
                [("Action", "upgrade"), ("Agent", "admin")], author=ADMIN)


def test_unsigned_case_commits_are_found_when_the_desk_requires_signing(desk,
                                                                        signing_key) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    require_signed(desk)
    assert act(desk, "log", case_id, "usignert").exit_code == 0
    unsigned = head(desk)
    append_event(desk, case_id, "kari", "worklog", {"text": "signert"})
    signed = hand_commit(desk, "log", case_trailers(case_id, "log", "kari"),
                         sign_key=signing_key)
    assert "gpgsig" in git(desk, "cat-file", "commit", signed)
    code, report = audit(desk)
    assert code == 4
    assert [(f["commit"], f["rule"]) for f in report["findings"]] == [(unsigned, "signed")]


# ---------------------------------------------------------------- the pure checker

def test_the_checker_judges_under_the_configuration_before_the_commit() -> None:
    before = {"desk": {"name": "T"}, "agents": {
        "kari": {"name": "K", "email": "k@x", "roles": ["receiver"]},
        "boss": {"name": "B", "email": "b@x", "roles": ["admin", "permission-admin"]}}}
    after = {"desk": {"name": "T"}, "agents": {
        "kari": {"name": "K", "email": "k@x", "roles": ["receiver", "admin"]},
        "boss": before["agents"]["boss"]}}
    facts = auditing.CommitFacts(
        sha="c1", parents=("c0",), author_name="K", author_email="K@X", signed=False,
        trailers={"Action": ["agent-set"], "Agent": ["kari"]}, config_before=before,
        config_after=after, config_changed=True)
    assert [f.rule for f in auditing.check_commit(facts)] == ["config"]
    # the same change by boss is fine; after it kari is an admin, but the
    # grant is judged by what was in force before it
    boss = auditing.CommitFacts(**{**facts.__dict__, "author_email": "b@x",
                                   "trailers": {"Action": ["agent-set"], "Agent": ["boss"]}})
    assert auditing.check_commit(boss) == []


def test_tree_changes_tells_a_merges_parents_apart_when_one_side_is_unchanged(desk) -> None:
    from casectl import journal

    case_id = new_case(desk, "--team", "servicedesk")
    git(desk, "switch", "-q", "-c", "side")
    assert act(desk, "log", case_id, "bare på side").exit_code == 0
    git(desk, "switch", "-q", "main")
    git(desk, *IDENTITY, "merge", "-q", "--no-edit", "-s", "ours", "side")
    merge = head(desk)
    parents = tuple(git(desk, "rev-parse", "HEAD^1", "HEAD^2").split())
    blocks = journal.tree_changes(desk, [(merge, parents)], ["cases"])[merge]
    assert blocks[0] == []  # ours: nothing changed against the first parent
    assert [change.path for change in blocks[1]] == [
        case_file(desk, case_id).relative_to(desk).as_posix()]


def test_schemas_are_configuration_changed_only_by_an_admin(desk) -> None:
    path = desk / "schemas" / "case.schema.json"
    schema = json.loads(path.read_text())
    schema["description"] = "loosened by hand"
    path.write_text(json.dumps(schema, indent=2))
    sha = hand_commit(desk, "schemas", [("Action", "upgrade"), ("Agent", "kari")])
    code, report = audit(desk)
    assert code == 4
    assert [(f["commit"], f["rule"]) for f in report["findings"]] == [(sha, "config")]
    assert "schemas/case.schema.json" in report["findings"][0]["message"]
    git(desk, "reset", "-q", "--hard", "HEAD~1")
    path.write_text(json.dumps(schema, indent=2))
    hand_commit(desk, "schemas", [("Action", "upgrade"), ("Agent", "admin")], author=ADMIN)
    assert audit(desk)[0] == 0


def test_a_long_history_is_judged_in_worker_processes_alike(desk, monkeypatch) -> None:
    from casectl.app import audit as audits

    case_id = new_case(desk, "--team", "servicedesk")
    for text in ("en", "to", "tre"):
        assert act(desk, "log", case_id, text).exit_code == 0
    case_file(desk, case_id).unlink()
    hand_commit(desk, "weg", case_trailers(case_id, "log", "kari"))
    serial = audit(desk, "--no-cache")
    monkeypatch.setattr(audits, "PARALLEL_FROM", 2)
    monkeypatch.setattr(audits, "CHUNK", 3)
    parallel = audit(desk, "--no-cache")
    assert parallel == serial and serial[0] == 4


def test_authorship_is_the_author_not_the_committer(desk) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "kari", "worklog", {"text": "kjørt av en annen"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"), committer=STRANGER)
    assert audit(desk)[0] == 0
    append_event(desk, case_id, "kari", "worklog", {"text": "omvendt"},
                 at="2026-11-24T11:00:00+01:00")
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"), author=STRANGER,
                committer=KARI)
    code, report = audit(desk)
    assert code == 4 and rules_found(report) == {(None, "author")}


def test_a_deactivated_agent_cannot_act() -> None:
    config = {"desk": {"name": "T"}, "agents": {
        "kari": {"name": "K", "email": "k@x", "roles": ["receiver"], "active": False}}}
    case = model.with_header("6G8QMBW2Z6", [model.make_event(
        "6G8QMC0Q2B1A", NOW, "kari", "created", {"subject": "s"})])
    facts = auditing.CommitFacts(
        sha="c1", parents=("c0",), author_name="K", author_email="k@x", signed=False,
        trailers={"Case": ["6G8QMBW2Z6"], "Action": ["new"], "Agent": ["kari"]},
        config_before=config, config_after=config,
        cases=(auditing.CaseChange("cases/2026/11/6G8QMBW2Z6.yaml", None, case),))
    assert [(f.rule, "deactivated" in f.message) for f in auditing.check_commit(facts)] == [
        ("author", True)]


def test_a_cache_line_cut_short_is_checked_again(desk) -> None:
    case_id = new_case(desk)
    case_file(desk, case_id).unlink()
    bad = hand_commit(desk, "remove", case_trailers(case_id, "log", "kari"))
    first = audit(desk)
    log = next((desk / ".git" / "casectl").glob("audit-*.log"))
    lines = log.read_text().splitlines()
    cut = [line if not line.startswith(bad) else line[:len(bad)] for line in lines]
    log.write_text("\n".join(cut) + "\n")  # as if the disk filled up after the id
    again = audit(desk)
    assert again[0] == 4 and again[1]["checked"] == 1
    assert again[1]["findings"] == first[1]["findings"]


def test_a_pull_with_rebase_that_puts_an_event_where_its_time_belongs_is_clean(
        desk, merge_driver_on_path, monkeypatch) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    git(desk, "branch", "upstream")
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:10:00+01:00")
    assert act(desk, "log", case_id, "min, tidligst").exit_code == 0
    git(desk, "switch", "-q", "upstream")
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:20:00+01:00")
    assert act(desk, "log", case_id, "deres, senere", agent="ingrid").exit_code == 0
    git(desk, "switch", "-q", "main")
    done = subprocess.run(["git", *IDENTITY, "rebase", "-q", "upstream"], cwd=desk,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    texts = [e["data"].get("text") for e in load_case(desk, case_id)["log"]]
    assert texts[1:] == ["min, tidligst", "deres, senere"]  # inserted before theirs
    code, report = audit(desk)
    assert code == 0, report
