"""Roles enforced by the client (issue 7, items 5 and 6): the one table in
casectl/roles.py decides, a desk upgrades without locking itself out, --as
cannot hide who ran casectl, and commits are signed when git says so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from casectl import roles
from helpers import act, case_file, git, init_desk, load_case, load_yaml, new_case, run


def ok(repo: Path, *args: str, agent: str = "kari") -> str:
    result = act(repo, *args, agent=agent)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def refused(repo: Path, *args: str, agent: str = "kari") -> str:
    before = git(repo, "rev-parse", "HEAD")
    result = act(repo, *args, agent=agent)
    assert result.exit_code == 1, result.output
    assert "refused by rule 'role'" in result.stderr or "rule 'act-as'" in result.stderr, \
        result.stderr
    assert git(repo, "rev-parse", "HEAD") == before  # nothing was committed
    return result.stderr


def last_commit(repo: Path) -> dict[str, str]:
    fields = git(repo, "log", "-1", "--format=%an%x00%ae%x00%cn%x00%ce").strip().split("\0")
    return dict(zip(("author", "author_email", "committer", "committer_email"), fields))


# ---------------------------------------------------------------- the table

def test_every_action_casectl_commits_is_in_the_table() -> None:
    """An action missing from the table would be refused to everyone once
    roles bind: every action name the application passes is listed."""
    import re

    source = "\n".join(p.read_text() for p in Path(roles.__file__).parent.glob("app/*.py"))
    named = set(re.findall(r'change_case\(\s*session, case_id, "([a-z-]+)"', source))
    named |= set(re.findall(r'action = "([a-z-]+)" if', source)) - {"agent-activate"}
    named |= set(re.findall(r'else "([a-z-]+)"', source)) & {"solve", "log", "reply", "note"}
    assert named, "the pattern found no actions: update it"
    assert named <= set(roles.CASE_ACTIONS), named - set(roles.CASE_ACTIONS)
    assert {"new", "solve", "close", "start", "wait"} <= set(roles.CASE_ACTIONS)


def test_roles_bind_only_from_the_first_admin() -> None:
    assert not roles.enforced({})
    assert not roles.enforced({"agents": {"kari": {"roles": ["handler"]}}})
    assert roles.enforced({"agents": {"kari": {"roles": ["admin"]}}})


# ---------------------------------------------------------------- a desk upgrading

@pytest.fixture
def no_admin_desk(tmp_path: Path) -> Path:
    """A desk from before roles: agents, none of them an admin."""
    repo = init_desk(tmp_path / "desk")
    assert run("--repo", str(repo), "team", "add", "servicedesk").exit_code == 0
    assert run("--repo", str(repo), "team", "add", "nettverk").exit_code == 0
    for agent, team in (("kari", "servicedesk"), ("per", "nettverk")):
        result = run("--repo", str(repo), "--as", "kari", "agent", "add", agent, "--name",
                     agent.title(), "--email", f"{agent}@example.no", "--team", team,
                     "--role", "handler") if agent != "kari" else run(
            "--repo", str(repo), "agent", "add", agent, "--name", "Kari", "--email",
            "kari@example.no", "--team", team, "--role", "handler")
        assert result.exit_code == 0, result.output
    return repo


def test_a_desk_without_an_admin_works_as_before_and_validate_warns(no_admin_desk: Path
                                                                   ) -> None:
    case_id = new_case(no_admin_desk)
    ok(no_admin_desk, "log", case_id, "per skriver her", agent="per")  # not his team: allowed
    ok(no_admin_desk, "team", "add", "drift", agent="per")  # any listed agent administers
    result = run("--repo", str(no_admin_desk), "validate")
    assert result.exit_code == 0, result.output
    assert "no agent holds the admin role" in result.stderr


def test_roles_bind_from_the_commit_that_grants_admin(no_admin_desk: Path) -> None:
    ok(no_admin_desk, "agent", "set", "kari", "--add-role", "admin",
       "--add-role", "permission-admin")
    case_id = new_case(no_admin_desk)
    assert "may log only cases assigned to them or their team" in refused(
        no_admin_desk, "log", case_id, "per skriver her", agent="per")
    assert "takes the role admin" in refused(no_admin_desk, "team", "add", "drift",
                                             agent="per")
    ok(no_admin_desk, "team", "add", "drift")
    result = run("--repo", str(no_admin_desk), "validate")
    assert result.exit_code == 0 and "admin role" not in result.stderr


# ---------------------------------------------------------------- the standard desk

def test_a_handler_works_the_cases_of_their_team_only(desk: Path) -> None:
    case_id = new_case(desk)  # kari's, team servicedesk
    stderr = refused(desk, "log", case_id, "fra nettverk", agent="per")
    assert "agent per may log only cases assigned to them or their team" in stderr
    assert "with agent kari and team servicedesk" in stderr
    assert "ask a permission-admin to grant the role" in stderr
    ok(desk, "log", case_id, "fra servicedesk", agent="ingrid")  # same team
    ok(desk, "handover", case_id, "--to", "nettverk", "--note", "Per tar den")
    ok(desk, "take", case_id, agent="per")
    ok(desk, "close", case_id, "--solution", "svitsj byttet", "--confirmed", agent="per")
    assert load_case(desk, case_id)["status"] == "closed"
    refused(desk, "reopen", case_id, "--reason", "igjen", agent="mette")


def test_distributing_is_the_receivers_job(desk: Path) -> None:
    case_id = new_case(desk, agent="ingrid")
    stderr = refused(desk, "assign", case_id, "--to", "per", agent="ingrid")
    assert "ingrid (handler) may not assign: that takes the role receiver" in stderr
    ok(desk, "assign", case_id, "--to", "per", agent="kari")  # a receiver, on any case
    assert load_case(desk, case_id)["assignee"] == "per"


def test_a_task_brings_its_agent_into_the_case(desk: Path) -> None:
    case_id = new_case(desk)
    refused(desk, "log", case_id, "ikke min", agent="per")
    ok(desk, "task", "add", case_id, "--to", "per", "--subject", "Sjekk svitsjen")
    ok(desk, "log", case_id, "svitsjen er sjekket", agent="per")
    ok(desk, "task", "done", case_id, "T1", agent="per")


def test_an_auditor_reads_everything_and_changes_nothing(desk: Path) -> None:
    case_id = new_case(desk)
    ok(desk, "agent", "set", "mette", "--role", "auditor", agent="admin")
    assert "mette (auditor) may not new" in refused(desk, "new", "--subject", "x",
                                                    agent="mette")
    refused(desk, "log", case_id, "x", agent="mette")
    assert ok(desk, "show", case_id, agent="mette")


def test_desk_settings_need_admin_and_roles_need_permission_admin(desk: Path) -> None:
    assert "may not change the desk's configuration: that takes the role admin" in refused(
        desk, "team", "add", "drift")
    ok(desk, "team", "add", "drift", agent="admin")
    ok(desk, "agent", "add", "ola", "--name", "Ola", "--email", "ola@helse.example.no",
       agent="admin")
    # An admin without permission-admin changes settings, not rights.
    ok(desk, "agent", "set", "ola", "--role", "admin", agent="admin")
    ok(desk, "team", "set", "drift", "--name", "Drift", agent="ola")
    stderr = refused(desk, "agent", "set", "per", "--add-role", "receiver", agent="ola")
    assert "may not change anyone's roles or identity: that takes the role permission-admin" \
        in stderr
    refused(desk, "agent", "add", "sven", "--name", "Sven", "--email", "sven@helse.example.no",
            "--role", "handler", agent="ola")
    refused(desk, "agent", "set", "ola", "--add-role", "permission-admin", agent="ola")
    config = load_yaml(desk / "casectl.yaml")
    assert config["agents"]["per"]["roles"] == ["handler"] and "sven" not in config["agents"]
    # Pointing a permission-admin's address at someone else hands them its
    # rights: a grant too. An agent without roles is a mere setting.
    refused(desk, "agent", "set", "admin", "--email", "ola.privat@helse.example.no",
            agent="ola")
    refused(desk, "agent", "set", "kari", "--name", "Ola Olsen", agent="ola")
    ok(desk, "agent", "add", "vikar", "--name", "Vikar", "--email", "vikar@helse.example.no",
       agent="admin")
    ok(desk, "agent", "set", "vikar", "--email", "vikar2@helse.example.no", agent="ola")


def test_upgrade_takes_an_admin(desk: Path) -> None:
    (desk / "schemas" / "case.schema.json").write_text("{}")
    git(desk, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-qam", "old")
    assert "takes the role admin" in refused(desk, "upgrade")
    ok(desk, "upgrade", agent="admin")


# ---------------------------------------------------------------- who really acted

def test_the_committer_is_who_ran_casectl(desk: Path) -> None:
    new_case(desk)  # no git identity on this machine: the agent both authors and commits
    assert last_commit(desk) == {"author": "Kari Nordmann",
                                 "author_email": "kari@helse.example.no",
                                 "committer": "Kari Nordmann",
                                 "committer_email": "kari@helse.example.no"}
    git(desk, "config", "user.name", "Kari N. (laptop)")
    git(desk, "config", "user.email", "KARI@helse.example.no")
    case_id = new_case(desk, agent="kari")
    commit = last_commit(desk)
    assert (commit["author"], commit["committer"]) == ("Kari Nordmann", "Kari N. (laptop)")
    assert commit["committer_email"] == "KARI@helse.example.no"
    assert load_case(desk, case_id)["log"][0]["by"] == "kari"


def test_as_another_agent_is_refused_to_a_handler(desk: Path) -> None:
    git(desk, "config", "user.name", "Per Hansen")
    git(desk, "config", "user.email", "per@helse.example.no")
    stderr = refused(desk, "new", "--subject", "i karis navn", agent="kari")
    assert "agent per may not act as kari" in stderr
    assert "only admins and service identities" in stderr


def test_a_stranger_may_not_act_as_an_agent(desk: Path) -> None:
    git(desk, "config", "user.name", "Ukjent")
    git(desk, "config", "user.email", "ukjent@example.no")
    stderr = refused(desk, "new", "--subject", "x", agent="kari")
    assert "you (Ukjent <ukjent@example.no>) are not an agent in casectl.yaml" in stderr


def test_an_admin_acts_in_another_name_and_the_commit_says_who(desk: Path) -> None:
    git(desk, "config", "user.name", "Åse Admin")
    git(desk, "config", "user.email", "ase@helse.example.no")
    case_id = new_case(desk, agent="kari")
    assert load_case(desk, case_id)["log"][0]["by"] == "kari"
    commit = last_commit(desk)
    assert (commit["author"], commit["committer"]) == ("Kari Nordmann", "Åse Admin")
    assert git(desk, "log", "-1", "--format=%(trailers:key=Agent,valueonly)").strip() == "kari"


def test_a_service_identity_acts_in_other_names(desk: Path) -> None:
    ok(desk, "agent", "add", "intake", "--name", "Mail intake", "--email",
       "intake@helse.example.no", "--service", agent="admin")
    assert load_yaml(desk / "casectl.yaml")["agents"]["intake"]["service"] is True
    git(desk, "config", "user.name", "Mail intake")
    git(desk, "config", "user.email", "intake@helse.example.no")
    new_case(desk, agent="kari")
    assert last_commit(desk)["committer"] == "Mail intake"


def test_making_a_service_identity_takes_permission_admin(desk: Path) -> None:
    ok(desk, "agent", "add", "ola", "--name", "Ola", "--email", "ola@helse.example.no",
       "--role", "admin", agent="admin")
    refused(desk, "agent", "add", "bot", "--name", "Bot", "--email", "bot@helse.example.no",
            "--service", agent="ola")


# ---------------------------------------------------------------- signing

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                                      reason="ssh-keygen is not installed")


@needs_ssh_keygen
def test_commits_are_signed_when_git_says_commit_gpgsign(desk: Path, tmp_path: Path) -> None:
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kari",
                    "-f", str(key)], check=True)
    git(desk, "config", "gpg.format", "ssh")
    git(desk, "config", "user.signingkey", str(key) + ".pub")
    git(desk, "config", "commit.gpgsign", "true")
    case_id = new_case(desk)
    ok(desk, "log", case_id, "signert")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"kari@helse.example.no {(tmp_path / 'signing-key.pub').read_text()}")
    for rev in ("HEAD", "HEAD~1"):
        verified = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}",
                                   "verify-commit", rev], cwd=desk, capture_output=True,
                                  text=True)
        assert verified.returncode == 0, verified.stderr
        assert 'Good "git" signature' in verified.stderr


def test_a_signing_key_that_does_not_work_commits_nothing(desk: Path, tmp_path: Path) -> None:
    case_id = new_case(desk)
    git(desk, "config", "gpg.format", "ssh")
    git(desk, "config", "user.signingkey", str(tmp_path / "no-such-key.pub"))
    git(desk, "config", "commit.gpgsign", "true")
    before = git(desk, "rev-parse", "HEAD")
    result = act(desk, "log", case_id, "usignert")
    assert result.exit_code == 1, result.output
    assert "signing the commit failed" in result.stderr
    assert "git config commit.gpgsign false" in result.stderr
    assert git(desk, "rev-parse", "HEAD") == before
    assert git(desk, "status", "--porcelain") == ""
    assert "usignert" not in case_file(desk, case_id).read_text()
