"""Issue 7 as an adversary sees it: `casectl sync`, the merge driver,
`casectl audit` and the pre-receive hook driven through the real command
line against real repositories in the states git and technicians leave
them in (hooks and aliases with git's variables set, hand git commands,
shallow clones, odd remotes, renumbered cases). Each test here was written
for a defect found that way, or pins behaviour a defect would break."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casectl import ids, yamlio

from helpers import act, case_file, git, head, load_case, new_case, run, snapshot
from helpers import load_yaml as yaml_of
from test_sync import clone, make_remote, same_random_part, sync, worklogs

NOW = "2026-11-24T09:00:00+01:00"


@pytest.fixture
def pair(desk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Path, Path, Path]:
    """The desk, a second clone and their bare remote."""
    monkeypatch.setenv("CASECTL_NOW", NOW)
    remote = make_remote(desk, tmp_path)
    return desk, clone(str(remote), tmp_path / "other"), remote


def later(monkeypatch: pytest.MonkeyPatch, minute: int) -> None:
    monkeypatch.setenv("CASECTL_NOW", f"2026-11-24T09:{minute:02d}:00+01:00")


# ---------------------------------------------------------------- odd remotes

def test_a_remote_holding_other_branches_but_not_this_one_is_refused(desk, tmp_path) -> None:
    """A remote that is not the desk's repository (another project's, with
    a master branch) must not get the whole desk pushed into it as a new
    branch; nor does a side branch with no upstream quietly become a new
    branch on the desk's remote while the technician believes they synced."""
    project = tmp_path / "project"
    git(tmp_path, "init", "-q", "-b", "master", str(project))
    (project / "README").write_text("another project\n")
    git(project, "add", "README")
    git(project, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qm", "init")
    bare = tmp_path / "project.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(bare))
    git(desk, "remote", "add", "origin", str(bare))
    new_case(desk)
    before = snapshot(desk)
    done = sync(desk)
    assert done.exit_code == 1, done.output
    assert "has no branch main" in done.stderr and "master" in done.stderr
    assert "git push -u origin main" in done.stderr  # what to do if it is meant
    assert git(bare, "for-each-ref", "--format=%(refname)", "refs/heads") == \
        "refs/heads/master\n"  # nothing pushed there
    assert snapshot(desk) == before


def test_a_side_branch_without_upstream_is_not_pushed_as_a_new_branch(pair) -> None:
    desk, _, remote = pair
    assert sync(desk).exit_code == 0
    git(desk, "switch", "-q", "-c", "prøve")
    new_case(desk)
    done = sync(desk)
    assert done.exit_code == 1, done.output
    assert "has no branch prøve" in done.stderr and "git switch main" in done.stderr
    assert "prøve" not in git(remote, "for-each-ref", "--format=%(refname)")


def test_the_first_push_to_an_empty_remote_still_works(desk, tmp_path) -> None:
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(desk, "remote", "add", "origin", str(bare))
    done = sync(desk)
    assert done.exit_code == 0, done.output
    assert git(bare, "rev-parse", "main").strip() == head(desk)


def test_casectl_in_a_bare_repository_says_to_work_in_a_clone(pair) -> None:
    """On the server, `casectl audit` in the bare remote used to answer
    'not a case repository ... run casectl init', advice that would lay a
    desk out inside the server's git directory."""
    _, _, remote = pair
    done = subprocess.run([sys.executable, "-m", "casectl", "audit"], cwd=remote,
                          capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "is a bare git repository" in done.stderr
    assert f"git clone {remote}" in done.stderr and "casectl init" not in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- renumbering

def test_a_renumbered_case_worked_on_before_the_sync_audits_clean_everywhere(
        pair, monkeypatch) -> None:
    """The local case had actions after it was registered (log, priority,
    take) when sync found its id taken: all of them move with it, and both
    clones audit clean over the renumbering, in full and from the fork."""
    desk, other, remote = pair
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0  # judges the renumber
    monkeypatch.setenv("CASECTL_PUSHER", "kari")  # the hook checks who pushes, too
    fork = head(desk)
    with same_random_part(monkeypatch):
        theirs = new_case(desk, subject="Skriver på rom 12")
        mine = new_case(other, subject="VPN nede")
    assert theirs == mine
    later(monkeypatch, 5)
    assert act(other, "log", mine, "Ringte bruker").exit_code == 0
    assert act(other, "priority", mine, "high").exit_code == 0
    assert act(desk, "log", theirs, "På rom 12").exit_code == 0
    assert sync(desk).exit_code == 0
    done = sync(other)
    assert done.exit_code == 0, done.output
    new_id = done.stderr.split(" is now ")[1].split()[0]
    assert sync(desk).exit_code == 0
    for repo in (desk, other):
        assert worklogs(repo, new_id) == ["Ringte bruker"]
        assert load_case(repo, new_id)["priority"] == "high"
        assert worklogs(repo, theirs) == ["På rom 12"]
        for args in ((), ("--since", fork)):
            audited = act(repo, "audit", *args)
            assert audited.exit_code == 0, (args, audited.output)
        assert act(repo, "validate").exit_code == 0
    assert head(desk) == head(other)


def test_a_hand_git_pull_never_merges_two_cases_minted_with_one_id(pair, monkeypatch) -> None:
    """`casectl sync` renumbers a colliding case before merging; a hand
    `git pull` goes straight to the merge driver, which must not take the
    union of two different cases' logs into one file."""
    desk, other, _ = pair
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    minted = ids.new_case_id
    with monkeypatch.context() as patch:  # the case ids collide, the event ids do not
        patch.setattr(ids, "new_case_id", lambda moment: minted(moment)[:-4] + "ZZZZ")
        first = new_case(desk, subject="Skriver på rom 12")
        second = new_case(other, subject="VPN nede")
    assert first == second
    assert sync(desk).exit_code == 0
    done = subprocess.run(["git", "-c", "user.name=K", "-c", "user.email=kari@helse.example.no",
                           "pull", "--no-rebase", "--no-edit", "origin", "main"], cwd=other,
                          capture_output=True, text=True)
    assert done.returncode != 0, "two different cases were merged into one file"
    assert "two different cases were given the same id" in done.stderr
    assert "unique-case-id" in done.stderr and "git merge --abort" in done.stderr
    assert "casectl sync" in done.stdout + done.stderr  # what renumbers one of them
    git(other, "merge", "--abort")
    done_sync = sync(other)  # the way out the message names
    assert done_sync.exit_code == 0, done_sync.output
    assert f"case {second} is now " in done_sync.stderr


# ---------------------------------------------------------------- hand git commands

def both_logged(desk: Path, other: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A case both clones have, then a log entry in each: desk's pushed,
    other's not yet. Its id."""
    case_id = new_case(desk)
    assert sync(desk).exit_code == 0 and sync(other).exit_code == 0
    later(monkeypatch, 5)
    assert act(desk, "log", case_id, "Herfra").exit_code == 0
    assert sync(desk).exit_code == 0
    assert act(other, "log", case_id, "Derfra").exit_code == 0
    return case_id


def test_conflict_markers_committed_after_a_pull_without_the_driver_are_not_pushed(
        pair, monkeypatch) -> None:
    """A `git pull` in a clone where git has no casectl driver (its config
    lost it) is a text merge; a technician who `git add`s the conflict and
    commits has a case file that is not YAML. Sync used to push it to the
    desk, from where every clone's next sync took it."""
    desk, other, remote = pair
    case_id = both_logged(desk, other, monkeypatch)
    git(other, "config", "--remove-section", "merge.casectl")
    pulled = subprocess.run(["git", "-c", "user.name=I", "-c", "user.email=i@example.no",
                             "pull", "-q", "--no-rebase", "--no-edit", "origin", "main"],
                            cwd=other, capture_output=True, text=True)
    assert pulled.returncode != 0  # a text conflict
    git(other, "add", "-A")
    git(other, "-c", "user.name=I", "-c", "user.email=i@example.no", "commit", "-qm", "both")
    on_remote = git(remote, "rev-parse", "main")
    mine = head(other)
    done = sync(other)
    assert done.exit_code == 4, done.output
    assert "nothing was pushed" in done.stderr and "casectl validate" in done.stderr
    assert case_file(other, case_id).relative_to(other).as_posix() in done.stderr
    assert git(remote, "rev-parse", "main") == on_remote
    assert head(other) == mine  # kept


# ---------------------------------------------------------------- the server hook

def test_the_hook_does_not_advise_a_new_commit_that_cannot_help(desk, tmp_path) -> None:
    """The hook judges every pushed commit, so a bad commit followed by one
    that puts the file back is still refused; its message used to say "fix
    them in your clone (new commits ...) and push again", which fails again."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(remote))
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0
    git(desk, "remote", "add", "origin", str(remote))
    case_id = new_case(desk)
    git(desk, "push", "-q", "origin", "main")
    path = case_file(desk, case_id)
    kept = path.read_text(encoding="utf-8")
    identity = ("-c", "user.name=Kari", "-c", "user.email=kari@helse.example.no")
    path.write_text(kept.replace("subject: DIPS starter ikke", "subject: 12"), encoding="utf-8")
    git(desk, *identity, "commit", "-qam", "bad")
    path.write_text(kept, encoding="utf-8")
    git(desk, *identity, "commit", "-qam", "put back")
    done = subprocess.run(["git", "push", "origin", "main"], cwd=desk, capture_output=True,
                          text=True, env={**os.environ, "CASECTL_PUSHER": "kari"})
    assert done.returncode != 0
    assert "new commits" not in done.stderr
    assert "A new commit on top does not help" in done.stderr
    assert "git rebase -i" in done.stderr and "git reset --keep" in done.stderr
    git(desk, "reset", "-q", "--keep", "origin/main")  # as the message says
    again = subprocess.run(["git", "push", "origin", "main"], cwd=desk, capture_output=True,
                           text=True, env={**os.environ, "CASECTL_PUSHER": "kari"})
    assert again.returncode == 0, again.stderr


def test_a_merge_commit_git_cannot_sign_is_named_as_such(pair, monkeypatch) -> None:
    """Sync's merge honours commit.gpgsign; when signing fails every file
    merged, yet sync said "cannot be merged automatically: ." naming
    nothing."""
    desk, other, _ = pair
    case_id = both_logged(desk, other, monkeypatch)
    git(other, "config", "user.name", "Kari")
    git(other, "config", "user.email", "kari@helse.example.no")
    git(other, "config", "commit.gpgsign", "true")
    git(other, "config", "gpg.program", "false")  # a signing key that does not work
    before = snapshot(other)
    done = sync(other)
    assert done.exit_code == 1, done.output
    assert "without conflicts but could not commit the merge" in done.stderr
    assert "gpg" in done.stderr and "commit.gpgsign" in done.stderr
    assert snapshot(other) == before
    assert not (other / ".git" / "MERGE_HEAD").exists()


# ---------------------------------------------------------------- fresh clones

def test_a_clone_that_checked_out_nothing_is_told_to_switch_not_to_init(desk, tmp_path) -> None:
    """A bare remote made by plain `git init --bare` names master as its
    HEAD; a clone of it after the desk pushed main checks out nothing, and
    casectl answered "run 'casectl init'" there: a second desk."""
    remote = tmp_path / "plain.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "master", str(remote))
    git(desk, "push", "-q", str(remote), "main")
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(remote), str(fresh)], capture_output=True,
                   check=True)
    done = subprocess.run([sys.executable, "-m", "casectl", "sync"], cwd=fresh,
                          capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "nothing checked out" in done.stderr and "git switch main" in done.stderr
    assert "casectl init" not in done.stderr
    git(fresh, "switch", "-q", "main")
    again = subprocess.run([sys.executable, "-m", "casectl", "sync"], cwd=fresh,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr


# ---------------------------------------------------------------- casectl.yaml merges

def test_configuration_merged_by_the_driver_passes_audit_and_the_hook(pair) -> None:
    """Two admins each add a category and each change a different field of
    one agent; the driver merges them as the README says (lists as sets,
    mappings key by key). The audit judged such a merge to have "changed
    casectl.yaml in categories in a way no parent had", and the server hook
    refused the sync's push with it."""
    desk, other, remote = pair
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0
    assert act(desk, "category", "add", "maskinvare", agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    assert sync(other, agent="admin").exit_code == 0
    assert act(desk, "category", "add", "nett", agent="admin").exit_code == 0
    assert act(desk, "agent", "set", "per", "--name", "Per H. Hansen",
               agent="admin").exit_code == 0
    assert act(other, "category", "add", "programvare", agent="admin").exit_code == 0
    assert act(other, "agent", "set", "per", "--add-team", "servicedesk",
               agent="admin").exit_code == 0
    assert sync(desk, agent="admin").exit_code == 0
    done = sync(other, agent="admin")  # merges, and the hook judges the merge
    assert done.exit_code == 0, done.output
    assert sync(desk, agent="admin").exit_code == 0
    for repo in (desk, other):
        config = yaml_of(repo / "casectl.yaml")
        assert {"maskinvare", "nett", "programvare"} <= set(config["categories"])
        assert config["agents"]["per"]["name"] == "Per H. Hansen"
        assert "servicedesk" in config["agents"]["per"]["teams"]
        audited = act(repo, "audit")
        assert audited.exit_code == 0, audited.output


def test_a_merge_that_invents_a_setting_is_still_found(desk, monkeypatch) -> None:
    """The audit's rule stays: a merge commit whose casectl.yaml holds a
    value neither parent had (here a category only the merge adds)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert act(desk, "category", "add", "maskinvare", agent="admin").exit_code == 0
    base = head(desk)
    identity = ("-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no")
    git(desk, "switch", "-q", "-c", "side")
    assert act(desk, "team", "add", "backup", agent="admin").exit_code == 0
    git(desk, "switch", "-q", "main")
    assert act(desk, "category", "add", "nett", agent="admin").exit_code == 0
    git(desk, *identity, "merge", "-q", "--no-ff", "--no-commit", "side")
    config = yaml_of(desk / "casectl.yaml")
    config["categories"].append("oppfunnet")
    (desk / "casectl.yaml").write_text(yamlio.dump(config), encoding="utf-8")
    git(desk, "add", "casectl.yaml")
    git(desk, *identity, "commit", "-qm", "merge")
    done = act(desk, "audit", "--since", base)
    assert done.exit_code == 4, done.output
    assert "categories in a way no parent had" in done.stdout + done.stderr


def test_a_role_granted_on_a_branch_from_before_roles_bound_is_found(desk, tmp_path) -> None:
    """kari (receiver, handler) may not grant roles, but on a branch from
    before the first admin, where roles did not bind, the client and the
    audit judge her grant by that branch's rules; merged into the desk's
    branch it gave her permission-admin with the audit clean and the hook
    accepting the push."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(remote))
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0
    git(desk, "remote", "add", "origin", str(remote))
    git(desk, "fetch", "-q", "origin")
    binding = git(desk, "log", "--format=%H", "-1", "--grep", "agent-add: admin").strip()
    git(desk, "switch", "-q", "-c", "sneak", f"{binding}~1")
    assert act(desk, "agent", "set", "kari", "--add-role", "permission-admin").exit_code == 0
    git(desk, "switch", "-q", "main")
    git(desk, "-c", "merge.casectl.driver=" + f"{sys.executable} -m casectl merge-driver "
        "%O %A %B %P", "-c", "user.name=Kari", "-c", "user.email=kari@helse.example.no",
        "merge", "-q", "--no-edit", "sneak")
    assert "permission-admin" in yaml_of(desk / "casectl.yaml")["agents"]["kari"]["roles"]
    done = act(desk, "audit")
    assert done.exit_code == 4, done.output
    assert "roles did not bind yet" in done.stdout
    pushed = subprocess.run(["git", "push", "origin", "main"], cwd=desk, capture_output=True,
                            text=True, env={**os.environ, "CASECTL_PUSHER": "kari"})
    assert pushed.returncode != 0 and "roles did not bind yet" in pushed.stderr


def test_case_work_done_on_a_branch_from_before_roles_bound_is_judged_when_merged(
        desk, tmp_path) -> None:
    """The same trick with case events: on a branch from before the first
    admin, per (a handler in nettverk) registers a case, works it (his own:
    allowed under any rules) and hands a servicedesk case's distribution to
    himself by `assign`, a receiver's action; merged into the desk's branch,
    the work on his own case stays clean and the assign is a finding."""
    binding = git(desk, "log", "--format=%H", "-1", "--grep", "agent-add: admin").strip()
    git(desk, "switch", "-q", "-c", "sneak", f"{binding}~1")
    own = new_case(desk, agent="per", subject="Svitsj i 2. etasje")
    assert act(desk, "log", own, "Byttet port", agent="per").exit_code == 0
    theirs = new_case(desk, agent="kari", subject="Skriver")
    assert act(desk, "assign", theirs, "--to", "per", agent="per").exit_code == 0
    git(desk, "switch", "-q", "main")
    git(desk, "-c", "merge.casectl.driver=" + f"{sys.executable} -m casectl merge-driver "
        "%O %A %B %P", "-c", "user.name=Kari", "-c", "user.email=kari@helse.example.no",
        "merge", "-q", "--no-edit", "sneak")
    done = act(desk, "audit", "--format", "json")
    assert done.exit_code == 4, done.output
    import json

    found = json.loads(done.stdout)["findings"]
    assert {(f["case"], f["rule"]) for f in found} == {(theirs, "role")}, found
    assert "branch from before roles bound" in found[0]["message"]
    assert "assigned" in found[0]["message"]
