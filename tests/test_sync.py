"""`casectl sync` (issue 7, item 2) and casectl.yaml merged by the driver
(item 1): clones sharing a real bare remote on disk and over `git daemon`,
offline exit 5, a push race retried, id collisions renumbered, and the
merge of desk configurations.

Roles: case actions by kari (receiver and handler in servicedesk),
configuration changes by admin (admin and permission-admin)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from casectl import errors, ids, journal
from casectl.merge import MergeConflict, merge_config
from helpers import act, case_file, commits, git, head, load_case, load_yaml, new_case, snapshot

NOW = "2026-11-24T09:00:00+01:00"


def make_remote(desk: Path, where: Path) -> Path:
    """A bare repository holding the desk, as the desk's shared remote, and
    the desk set to track it."""
    remote = where / "remote.git"
    git(where, "clone", "-q", "--bare", str(desk), str(remote))
    git(desk, "remote", "add", "origin", str(remote))
    git(desk, "fetch", "-q", "origin")
    git(desk, "branch", "-q", "--set-upstream-to=origin/main")
    return remote


def clone(url: str, where: Path) -> Path:
    git(where.parent, "clone", "-q", url, str(where))
    return where


@pytest.fixture
def pair(desk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Path, Path, Path]:
    """The desk, a second clone and their bare remote. No casectl on PATH
    is needed: sync gives git the running casectl as the driver."""
    monkeypatch.setenv("CASECTL_NOW", NOW)
    remote = make_remote(desk, tmp_path)
    return desk, clone(str(remote), tmp_path / "other"), remote


def sync(repo: Path, *args: str, agent: str = "kari"):
    return act(repo, "sync", *args, agent=agent)


def worklogs(repo: Path, case_id: str) -> list[str]:
    return [e["data"]["text"] for e in load_case(repo, case_id)["log"] if e["kind"] == "worklog"]


def test_two_clones_sync_cases_both_ways(pair, monkeypatch) -> None:
    desk, other, remote = pair
    case_id = new_case(desk)
    first = sync(desk)
    assert first.exit_code == 0, first.output
    assert "1 commit out" in first.stdout
    assert sync(other).exit_code == 0
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:10:00+01:00")
    assert act(other, "log", case_id, "Fra den andre klonen").exit_code == 0
    added = new_case(other, subject="Skriver i 3. etg")
    assert sync(other).exit_code == 0
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:05:00+01:00")
    assert act(desk, "log", case_id, "Fra skrivebordet").exit_code == 0
    done = sync(desk, "--json")
    assert done.exit_code == 0, done.output
    import json

    report = json.loads(done.stdout)
    assert report["received"] == 2 and report["sent"] == 2 and report["merged"] is True
    assert report["remote"] == "origin" and report["attempts"] == 1
    assert worklogs(desk, case_id) == ["Fra skrivebordet", "Fra den andre klonen"]
    merge = commits(desk, "-1")[0]
    assert len(merge["parents"]) == 2 and merge["trailers"] == {}  # git's merge: no trailers
    assert sync(other).exit_code == 0
    for path in (case_file(desk, case_id), case_file(desk, added)):
        rel = path.relative_to(desk)
        assert (other / rel).read_bytes() == path.read_bytes()
    assert head(desk) == head(other) == git(remote, "rev-parse", "main").strip()
    assert git(desk, "status", "--porcelain") == git(other, "status", "--porcelain") == ""
    for repo in (desk, other):
        assert act(repo, "validate").exit_code == 0
        assert act(repo, "list", "--format", "csv").stdout.count(case_id) == 1  # index followed
    again = sync(desk)
    assert again.exit_code == 0 and "the same already" in again.stdout


def test_a_case_conflict_is_undone_and_named(pair) -> None:
    desk, other, _ = pair
    case_id = new_case(desk)
    assert sync(desk).exit_code == 0 and sync(other).exit_code == 0
    path = case_file(other, case_id)
    doc = load_yaml(path)
    doc["log"][0]["data"]["description"] = "skrevet om i ettertid"
    doc["description"] = "skrevet om i ettertid"
    from casectl import yamlio

    path.write_text(yamlio.dump(doc), encoding="utf-8")
    git(other, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "hand")
    assert sync(other).exit_code == 0
    assert act(desk, "log", case_id, "Ringte bruker").exit_code == 0
    before = snapshot(desk)
    done = sync(desk)
    assert done.exit_code == 1
    rel = case_file(desk, case_id).relative_to(desk).as_posix()
    assert f"{rel}: theirs changed event" in done.stderr
    assert "events are never edited" in done.stderr and "merge was undone" in done.stderr
    assert snapshot(desk) == before
    assert not (desk / ".git" / "MERGE_HEAD").exists()


def test_desk_configurations_merge_as_a_union(pair) -> None:
    desk, other, _ = pair
    assert act(desk, "team", "add", "backup", "--name", "Backup", agent="admin").exit_code == 0
    assert act(desk, "category", "add", "Skriver", agent="admin").exit_code == 0
    assert act(other, "agent", "add", "ola", "--name", "Ola Nordmann", "--email",
               "ola@helse.example.no", "--team", "servicedesk", "--role", "handler",
               agent="admin").exit_code == 0
    assert act(other, "category", "add", "Nettverk", agent="admin").exit_code == 0
    assert act(other, "team", "set", "nettverk", "--name", "Nett og tele",
               agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    done = sync(other, agent="admin")
    assert done.exit_code == 0, done.output
    config = load_yaml(other / "casectl.yaml")
    assert "backup" in config["teams"] and "ola" in config["agents"]
    assert config["teams"]["nettverk"]["name"] == "Nett og tele"
    assert sorted(config["categories"]) == ["Nettverk", "Skriver"]
    assert act(other, "validate").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    assert (desk / "casectl.yaml").read_bytes() == (other / "casectl.yaml").read_bytes()


def test_contradicting_desk_configurations_are_refused_and_named(pair) -> None:
    desk, other, _ = pair
    assert act(desk, "team", "set", "nettverk", "--name", "Nettverk A",
               agent="admin").exit_code == 0
    assert act(other, "team", "set", "nettverk", "--name", "Nettverk B",
               agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    before = snapshot(other)
    done = sync(other, agent="admin")
    assert done.exit_code == 1
    assert "casectl.yaml: both sides changed teams.nettverk.name differently" in done.stderr
    assert snapshot(other) == before


def test_the_merged_configuration_must_be_valid(pair) -> None:
    """Each side alone is valid; together two agents share an address."""
    desk, other, _ = pair
    for repo, agent_id in ((desk, "ola"), (other, "ole")):
        assert act(repo, "agent", "add", agent_id, "--name", "Ola", "--email",
                   "ola@helse.example.no", agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    done = sync(other, agent="admin")
    assert done.exit_code == 1 and "the same e-mail address" in done.stderr


# ---------------------------------------------------------------- merge_config, pure

BASE = {"desk": {"name": "D", "timezone": "Europe/Oslo"}, "teams": {"a": {"name": "A"}},
        "agents": {"kari": {"name": "Kari", "email": "k@x.no", "teams": ["a"],
                            "roles": ["handler"]}}, "categories": ["Skriver"]}


def changed(**parts: object) -> dict:
    import copy

    doc = copy.deepcopy(BASE)
    for path, value in parts.items():
        where = doc
        keys = path.split("__")
        for key in keys[:-1]:
            where = where[key]
        if value is None:
            del where[keys[-1]]
        else:
            where[keys[-1]] = value
    return doc


@pytest.mark.parametrize("ours, theirs, expected", [
    (changed(teams__b={"name": "B"}), changed(teams__c={"name": "C"}),
     changed(teams__b={"name": "B"}, teams__c={"name": "C"})),
    (changed(desk__phone="1"), changed(desk__phone="1"), changed(desk__phone="1")),
    (changed(desk__phone="1"), BASE, changed(desk__phone="1")),
    (changed(categories=["Skriver", "Nett"]), changed(categories=["Post"]),
     changed(categories=["Nett", "Post"])),
    (changed(agents__kari__roles=["handler", "receiver"]),
     changed(agents__kari__roles=["handler", "admin"]),
     changed(agents__kari__roles=["handler", "receiver", "admin"])),
    (changed(teams__a=None), BASE, changed(teams__a=None)),
    (changed(orgs={"Ås kommune": {"sla": "gold"}}), changed(orgs={"Vestby": {"sla": "silver"}}),
     changed(orgs={"Ås kommune": {"sla": "gold"}, "Vestby": {"sla": "silver"}})),
])
def test_merge_config_takes_what_each_side_changed(ours, theirs, expected) -> None:
    assert merge_config(BASE, ours, theirs) == expected
    assert merge_config(BASE, theirs, ours) == merge_config(BASE, ours, theirs) or \
        "categories" in str(ours) or "roles" in str(ours)  # set order: ours first


@pytest.mark.parametrize("ours, theirs, says", [
    (changed(teams__a={"name": "X"}), changed(teams__a={"name": "Y"}),
     "teams.a.name differently"),
    (changed(teams__a=None), changed(teams__a={"name": "Y"}), "teams.a differently"),
    (changed(desk__timezone="UTC"), changed(desk__timezone="Europe/Berlin"),
     "desk.timezone differently"),
    (changed(agents__ola={"name": "O", "email": "o@x.no"}),
     changed(agents__ole={"name": "O", "email": "O@x.no"}), "the same e-mail address"),
])
def test_merge_config_refuses_contradictions(ours, theirs, says) -> None:
    with pytest.raises(MergeConflict, match=says):
        merge_config(BASE, ours, theirs)


# ---------------------------------------------------------------- remotes

def test_a_clone_without_a_remote_is_refused_with_a_hint(desk) -> None:
    done = sync(desk)
    assert done.exit_code == 1 and "no remote" in done.stderr
    assert "git remote add origin" in done.stderr


def test_an_unknown_remote_is_not_found(pair) -> None:
    desk, _, _ = pair
    done = sync(desk, "--remote", "nowhere")
    assert done.exit_code == 3 and "origin" in done.stderr


def test_offline_when_the_remote_path_is_gone(pair) -> None:
    desk, _, remote = pair
    case_id = new_case(desk)
    shutil.move(str(remote), str(remote) + ".away")
    before = head(desk)
    done = sync(desk)
    assert done.exit_code == errors.EXIT_OFFLINE == 5
    assert "cannot reach the remote origin" in done.stderr
    assert "1 local commit wait" in done.stderr
    assert head(desk) == before and case_file(desk, case_id).is_file()
    shutil.move(str(remote) + ".away", str(remote))
    assert sync(desk).exit_code == 0  # the kept commit goes out on the next sync
    assert git(remote, "rev-parse", "main").strip() == before


def test_a_rejected_push_is_fetched_merged_and_pushed_again(pair, tmp_path) -> None:
    """Deterministic race: the desk's pre-push hook, once, makes the other
    clone push first, so the desk's push is refused and sync goes round
    again."""
    desk, other, remote = pair
    case_id = new_case(desk)
    assert sync(desk).exit_code == 0 and sync(other).exit_code == 0
    assert act(other, "log", case_id, "Først inn").exit_code == 0
    assert act(desk, "log", case_id, "Andre inn").exit_code == 0
    marker = tmp_path / "raced"
    hook = desk / ".git" / "hooks" / "pre-push"
    hook.write_text(f"""#!/bin/sh
cat >/dev/null
if [ ! -e '{marker}' ]; then
  touch '{marker}'
  env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE git -C '{other}' push -q origin HEAD:main
fi
""")
    hook.chmod(0o755)
    done = sync(desk, "--json")
    assert done.exit_code == 0, done.output
    assert "moved on while syncing" in done.stderr
    import json

    assert json.loads(done.stdout)["attempts"] == 2
    assert marker.exists()
    assert worklogs(desk, case_id) == ["Først inn", "Andre inn"] or \
        sorted(worklogs(desk, case_id)) == ["Andre inn", "Først inn"]
    assert git(remote, "rev-parse", "main").strip() == head(desk)


def test_a_busy_remote_is_given_up_on_clearly(pair, tmp_path, monkeypatch) -> None:
    """Every push beaten: bounded attempts, then exit 1, nothing lost."""
    from casectl.app import sync as syncing

    monkeypatch.setattr(syncing, "BACKOFF", 0.0)
    desk, other, remote = pair
    case_id = new_case(desk)
    assert sync(desk).exit_code == 0 and sync(other).exit_code == 0
    counter = tmp_path / "count"
    hook = desk / ".git" / "hooks" / "pre-push"
    # Each time the desk is about to push, the other clone logs and pushes first.
    hook.write_text(f"""#!/bin/sh
cat >/dev/null
echo x >> '{counter}'
cd '{other}' && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE \\
  '{sys.executable}' -m casectl --as kari log {case_id} "travel $(wc -l < '{counter}')" >/dev/null \\
  && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE git push -q origin HEAD:main
""")
    hook.chmod(0o755)
    assert act(desk, "log", case_id, "Min").exit_code == 0
    mine = head(desk)
    done = sync(desk)
    assert done.exit_code == 1 and "kept moving" in done.stderr
    assert counter.read_text().count("x") == syncing.ATTEMPTS
    assert git(desk, "merge-base", "--is-ancestor", mine, "HEAD") == ""  # kept
    assert "Min" in worklogs(desk, case_id)


# ---------------------------------------------------------------- id collisions

@contextlib.contextmanager
def same_random_part(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both clones mint the same id: the same second (CASECTL_NOW) and the
    random tail fixed, the one-in-a-million case made certain."""
    with monkeypatch.context() as patch:
        patch.setattr(ids, "_random", lambda width: "Z" * width)
        yield


def test_a_colliding_unpushed_case_is_renumbered(pair, monkeypatch) -> None:
    desk, other, _ = pair
    with same_random_part(monkeypatch):
        first = new_case(desk, subject="Skriver på rom 12")
        second = new_case(other, subject="VPN nede")
    assert first == second
    assert sync(desk).exit_code == 0
    original = case_file(other, second).read_text()
    done = sync(other)
    assert done.exit_code == 0, done.output
    assert f"case {second} is now " in done.stderr
    new_id = done.stderr.split(" is now ")[1].split()[0]
    assert ids.is_case_id(new_id) and new_id != second
    assert new_id[:6] == second[:6]  # same creation second: same place in id order
    renumber = [c for c in commits(other) if c["trailers"].get("Action") == "renumber"]
    assert len(renumber) == 1 and renumber[0]["trailers"]["Case"] == new_id
    body = git(other, "log", "-1", "--format=%B", renumber[0]["sha"])
    assert f"Renumbered-From: {second}" in body
    moved = case_file(other, new_id).read_text()
    assert moved[moved.index("\nlog:"):] == original[original.index("\nlog:"):]
    assert load_case(other, new_id)["subject"] == "VPN nede"
    assert load_case(other, second)["subject"] == "Skriver på rom 12"
    assert sync(desk).exit_code == 0
    for repo in (desk, other):
        assert load_case(repo, new_id)["subject"] == "VPN nede"
        assert act(repo, "validate").exit_code == 0
        assert act(repo, "show", new_id).exit_code == 0


def test_a_pushed_colliding_case_is_not_renumbered(pair, monkeypatch) -> None:
    desk, other, _ = pair
    with same_random_part(monkeypatch):
        new_case(desk, subject="Skriver")
        case_id = new_case(other, subject="VPN")
    assert sync(desk).exit_code == 0
    git(other, "push", "-q", "origin", "HEAD:refs/heads/eget")  # a hand push elsewhere
    git(other, "fetch", "-q", "origin")
    before = snapshot(other)
    done = sync(other)
    assert done.exit_code == 1 and "renumber-unpushed" in done.stderr
    assert case_id in done.stderr and "already been pushed" in done.stderr
    assert snapshot(other) == before


# ---------------------------------------------------------------- git daemon

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def daemon(base: Path) -> Iterator[str]:
    """`git daemon` on loopback serving ``base``; yields its URL prefix."""
    exec_path = git(base, "--exec-path").strip()
    if not (Path(exec_path) / "git-daemon").is_file():
        pytest.skip("git daemon is not installed (a separate package on some systems)")
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
         "--listen=127.0.0.1", f"--port={port}", f"--base-path={base}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                pytest.skip("git daemon did not start")
            time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sync_over_git_daemon_and_offline_when_it_stops(desk, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CASECTL_NOW", NOW)
    base = tmp_path / "served"
    base.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(base / "desk.git"))
    with daemon(base) as url:
        one = clone(f"{url}/desk.git", tmp_path / "one")
        two = clone(f"{url}/desk.git", tmp_path / "two")
        case_id = new_case(one)
        assert sync(one).exit_code == 0
        assert sync(two).exit_code == 0
        assert act(two, "log", case_id, "Over git://").exit_code == 0
        assert act(one, "priority", case_id, "high", "--reason", "Hele posten").exit_code == 0
        assert sync(two).exit_code == 0
        done = sync(one)
        assert done.exit_code == 0, done.output
        assert sync(two).exit_code == 0
        assert case_file(one, case_id).read_bytes() == case_file(two, case_id).read_bytes()
        assert load_case(one, case_id)["priority"] == "high"
    assert act(one, "log", case_id, "Uten nett").exit_code == 0
    stopped = sync(one)
    assert stopped.exit_code == 5, stopped.output
    assert "cannot reach the remote origin" in stopped.stderr
    assert "1 local commit wait" in stopped.stderr


# ---------------------------------------------------------------- attributes

def test_a_fresh_clone_routes_casectl_yaml_to_the_driver(pair) -> None:
    _, other, _ = pair
    assert act(other, "list").exit_code == 0
    attributes = (other / ".git" / "info" / "attributes").read_text()
    assert journal.CONFIG_ATTRIBUTE in attributes.splitlines()
    checked = git(other, "check-attr", "merge", "--", "casectl.yaml")
    assert checked.strip() == "casectl.yaml: merge: casectl"


def test_init_and_upgrade_write_the_casectl_yaml_attribute(desk) -> None:
    assert "casectl.yaml merge=casectl" in (desk / ".gitattributes").read_text().splitlines()
    # An older desk's .gitattributes: upgrade adds the line, keeping the desk's own.
    (desk / ".gitattributes").write_text("cases/**/*.yaml merge=casectl\n*.pdf binary\n")
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "old")
    done = act(desk, "upgrade", agent="admin")
    assert done.exit_code == 0, done.output
    assert (desk / ".gitattributes").read_text() == \
        "cases/**/*.yaml merge=casectl\n*.pdf binary\ncasectl.yaml merge=casectl\n" \
        "attachments/** binary\n"
    assert commits(desk, "-1")[0]["trailers"]["Action"] == "upgrade"
    assert act(desk, "upgrade", agent="admin").stdout.startswith("The desk's schemas")


@pytest.mark.parametrize("stage, renumbered", [
    ("intent-written", False), ("file-written", False), ("commit-written", True),
    ("index-updated", True),
])
def test_a_renumbering_killed_half_way_is_undone_or_finished(pair, monkeypatch, stage,
                                                            renumbered) -> None:
    """The renumbering commit moves a file (one written, one removed): a
    kill at any stage leaves the case at its old id or fully at its new one."""
    from helpers import act_process, fsck_problems

    desk, other, _ = pair
    with same_random_part(monkeypatch):
        new_case(desk, subject="Skriver")
        case_id = new_case(other, subject="VPN")
    assert sync(desk).exit_code == 0
    before = head(other)
    crashed = act_process(other, "sync", env={"CASECTL_CRASH_AT": stage})
    assert crashed.returncode == -9, crashed.stderr
    assert act(other, "list").exit_code == 0  # the next command finishes or undoes it
    assert git(other, "status", "--porcelain") == "" and not fsck_problems(other)
    files = sorted(p.stem for p in (other / "cases").rglob("*.yaml"))
    if renumbered:
        assert commits(other, "-1")[0]["trailers"]["Action"] == "renumber"
        assert len(files) == 1 and files[0] != case_id
        assert load_case(other, files[0])["subject"] == "VPN"
    else:
        assert head(other) == before and files == [case_id]
    assert act(other, "validate").exit_code == 0
    done = sync(other)
    assert done.exit_code == 0, done.output
    assert sorted(load_case(other, p.stem)["subject"]
                  for p in (other / "cases").rglob("*.yaml")) == ["Skriver", "VPN"]


def test_an_empty_remote_gets_the_branch(desk, tmp_path) -> None:
    remote = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(desk, "remote", "add", "origin", str(remote))
    done = sync(desk)
    assert done.exit_code == 0, done.output
    assert git(remote, "rev-parse", "main").strip() == head(desk)
    assert sync(desk).stdout.endswith("the same already\n")


def test_a_remote_hook_refusal_is_shown_and_nothing_is_lost(pair) -> None:
    desk, _, remote = pair
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'casectl: refused: agent kari may not close'\nexit 1\n")
    hook.chmod(0o755)
    case_id = new_case(desk)
    mine = head(desk)
    done = sync(desk)
    assert done.exit_code == 1
    assert "refused the push (pre-receive hook declined)" in done.stderr
    assert "agent kari may not close" in done.stderr  # the remote's own words
    assert head(desk) == mine and case_file(desk, case_id).is_file()


def test_a_merged_configuration_the_schema_refuses_is_a_conflict(pair) -> None:
    """One side removed a team by hand, the other put a new agent in it:
    each side is valid, the union is not."""
    desk, other, _ = pair
    assert act(desk, "team", "add", "backup", agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0 and sync(other, agent="admin").exit_code == 0
    config = load_yaml(other / "casectl.yaml")
    del config["teams"]["backup"]
    from casectl import yamlio

    (other / "casectl.yaml").write_text(yamlio.dump(config), encoding="utf-8")
    git(other, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam",
        "backup is gone")
    assert sync(other, agent="admin").exit_code == 0
    assert act(desk, "agent", "add", "ola", "--name", "Ola", "--email", "ola@example.no",
               "--team", "backup", agent="admin").exit_code == 0
    before = snapshot(desk)
    done = sync(desk, agent="admin")
    assert done.exit_code == 1
    assert "the merged configuration is not valid" in done.stderr
    assert "agent ola is in team 'backup'" in done.stderr
    assert snapshot(desk) == before


@pytest.mark.parametrize("url", ["git://casectl-test.invalid/desk.git",
                                 "ssh://casectl-test.invalid/desk.git",
                                 "http://127.0.0.1:{port}/desk.git"])
def test_offline_for_an_unknown_host_or_a_refused_connection(desk, url) -> None:
    """.invalid is a name that never resolves (RFC 2606); nothing listens
    on a port just found free."""
    if url.startswith("ssh:") and shutil.which("ssh") is None:
        pytest.skip("no ssh client")
    git(desk, "remote", "add", "origin", url.format(port=free_port()))
    done = sync(desk)
    assert done.exit_code == 5, done.output
    assert "cannot reach the remote origin" in done.stderr and "wait here" in done.stderr


def test_renumbering_is_a_case_action_under_the_role_table(pair, monkeypatch) -> None:
    """per (handler in nettverk) may not act on a servicedesk case, so may
    not move it to a new id either: refused, nothing changed; kari may."""
    desk, other, _ = pair
    with same_random_part(monkeypatch):
        new_case(desk, subject="Skriver")
        new_case(other, subject="VPN")
    assert sync(desk).exit_code == 0
    before = snapshot(other)
    done = sync(other, agent="per")
    assert done.exit_code == 1 and "must get a new id" in done.stderr
    assert "--as AGENT" in done.stderr
    assert snapshot(other) == before
    assert sync(other, agent="kari").exit_code == 0


def test_the_remote_is_the_option_else_the_upstream_else_origin(pair, tmp_path) -> None:
    desk, _, remote = pair
    backup = tmp_path / "backup.git"
    git(tmp_path, "clone", "-q", "--bare", str(remote), str(backup))
    git(desk, "remote", "add", "backup", str(backup))
    git(desk, "fetch", "-q", "backup")
    git(desk, "branch", "-q", "--set-upstream-to=backup/main")
    new_case(desk)
    assert sync(desk).exit_code == 0  # the upstream: backup
    assert git(backup, "rev-parse", "main").strip() == head(desk)
    assert git(remote, "rev-parse", "main").strip() != head(desk)
    assert sync(desk, "--remote", "origin").exit_code == 0
    assert git(remote, "rev-parse", "main").strip() == head(desk)
    git(desk, "branch", "-q", "--unset-upstream")
    new_case(desk)
    assert sync(desk).exit_code == 0  # no upstream: origin
    assert git(remote, "rev-parse", "main").strip() == head(desk)


def test_odd_repository_states_are_refused(pair) -> None:
    desk, _, _ = pair
    new_case(desk)
    (desk / ".git" / "MERGE_HEAD").write_text(head(desk) + "\n")  # as a merge waiting
    done = sync(desk)
    assert done.exit_code == 1 and "a merge is in progress" in done.stderr
    (desk / ".git" / "MERGE_HEAD").unlink()
    git(desk, "checkout", "-q", "--detach")
    done = sync(desk)
    assert done.exit_code == 1 and "HEAD is detached" in done.stderr


def test_the_users_own_changes_are_respected(pair) -> None:
    """A merge that would overwrite a change of the user's is refused by git,
    and sync says so; a change to a file the merge does not touch stays."""
    desk, other, _ = pair
    case_id = new_case(desk)
    assert sync(desk).exit_code == 0 and sync(other).exit_code == 0
    assert act(other, "log", case_id, "Fra den andre").exit_code == 0
    assert sync(other).exit_code == 0
    assert act(desk, "log", case_id, "Herfra").exit_code == 0
    path = case_file(desk, case_id)
    path.write_text(path.read_text() + "# en egen merknad\n")
    before = snapshot(desk)
    done = sync(desk)
    assert done.exit_code == 1 and "git could not merge origin/main" in done.stderr
    assert snapshot(desk) == before  # the user's change as it was, nothing merged
    git(desk, "checkout", "--", path.relative_to(desk).as_posix())
    (desk / "notes.txt").write_text("mine\n")
    git(desk, "add", "notes.txt")
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qm", "notes")
    (desk / "notes.txt").write_text("mine, changed\n")
    done = sync(desk)
    assert done.exit_code == 0, done.output
    assert (desk / "notes.txt").read_text() == "mine, changed\n"
    assert worklogs(desk, case_id) == ["Fra den andre", "Herfra"] or \
        sorted(worklogs(desk, case_id)) == ["Fra den andre", "Herfra"]
