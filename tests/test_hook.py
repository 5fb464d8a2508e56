"""The server hook (issue 7, item 4): `casectl hook install` on a real bare
repository, then real `git push`es of good and bad commits. git runs the
hook with the pushed objects in its quarantine; what it refuses must show
in the push's own stderr ("remote: ...")."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from casectl import model, yamlio
from helpers import act, case_file, git, head, load_yaml, new_case, run
from test_audit import (ADMIN, PER, STRANGER, append_event, case_trailers, hand_commit,
                        signing_key)  # noqa: F401 - a fixture

NOW = "2026-11-24T09:00:00+01:00"


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASECTL_NOW", NOW)


@pytest.fixture
def server(desk: Path, tmp_path: Path) -> Path:
    """A bare repository holding the desk, with the hook installed, as the
    desk's remote "origin"."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(remote))
    installed = run("hook", "install", "--bare", str(remote))
    assert installed.exit_code == 0, installed.output
    git(desk, "remote", "add", "origin", str(remote))
    git(desk, "fetch", "-q", "origin")
    return remote


def push(repo: Path, *args: str, pusher: str | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    extra = {"CASECTL_PUSHER": pusher} if pusher else {}
    return subprocess.run(["git", "push", "origin", "HEAD:main", *args], cwd=repo,
                          capture_output=True, text=True,
                          env={**os.environ, **extra, **(env or {})})


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0, done.stderr
    assert "remote: casectl: push refused" in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_install_writes_an_executable_hook_that_names_this_python(server: Path) -> None:
    hook = server / "hooks" / "pre-receive"
    text = hook.read_text()
    assert os.access(hook, os.X_OK)
    assert "-m casectl hook pre-receive" in text
    assert text.splitlines()[-1].split()[1].startswith("/")  # an absolute interpreter path
    # once more is fine (it is ours); someone else's hook is kept unless --force
    assert run("hook", "install", "--bare", str(server)).exit_code == 0
    hook.write_text("#!/bin/sh\nexit 0\n")
    again = run("hook", "install", "--bare", str(server))
    assert again.exit_code == 1 and "--force" in again.stderr
    assert run("hook", "install", "--bare", str(server), "--force").exit_code == 0


def test_install_refuses_a_repository_that_is_not_bare(desk: Path, tmp_path: Path) -> None:
    done = run("hook", "install", "--bare", str(desk))
    assert done.exit_code == 2 and "not a bare repository" in done.stderr
    missing = run("hook", "install", "--bare", str(tmp_path / "nowhere"))
    assert missing.exit_code == 3


def test_a_good_push_passes(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert act(desk, "log", case_id, "Ringte").exit_code == 0
    assert act(desk, "take", case_id, agent="ingrid").exit_code == 0
    # kari may not push ingrid's take (the pusher rule); the admin may
    refused(push(desk, pusher="kari"), "[pusher]", "made as agent ingrid")
    done = push(desk, pusher="admin")
    assert done.returncode == 0, done.stderr
    assert git(server, "rev-parse", "main").strip() == head(desk)


def test_a_good_push_without_a_known_pusher_passes_with_a_note(desk: Path,
                                                               server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert act(desk, "log", case_id, "Ringte").exit_code == 0
    done = push(desk)
    assert done.returncode == 0, done.stderr
    assert "remote: casectl: note: no pusher known" in done.stderr


def test_a_forged_past_event_is_refused(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert push(desk, pusher="kari").returncode == 0
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    doc["log"][0]["data"]["subject"] = "noe helt annet"
    path.write_text(yamlio.dump(model.with_header(case_id, doc["log"])), encoding="utf-8")
    append_event(desk, case_id, "kari", "worklog", {"text": "skjuler det"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"))
    done = push(desk, pusher="kari")
    refused(done, "append-only", case_id, "was edited")
    assert git(server, "rev-parse", "main").strip() != head(desk)


def test_a_deleted_case_is_refused(desk: Path, server: Path) -> None:
    case_id = new_case(desk)
    assert push(desk, pusher="kari").returncode == 0
    case_file(desk, case_id).unlink()
    hand_commit(desk, "weg", case_trailers(case_id, "log", "kari"))
    refused(push(desk, pusher="kari"), "case-deleted", case_id)


def test_a_commit_by_an_unlisted_author_is_refused(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    append_event(desk, case_id, "kari", "worklog", {"text": "fra en fremmed"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"), author=STRANGER)
    refused(push(desk, pusher="admin"), "[author]", "mallory@evil.example")


def test_an_action_the_role_does_not_allow_is_refused(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert push(desk, pusher="kari").returncode == 0
    append_event(desk, case_id, "per", "worklog", {"text": "ikke min sak"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "per"), author=PER)
    refused(push(desk, pusher="per"), "[role]", "agent per")


def test_a_push_of_another_agents_commit_is_refused_unless_by_an_admin(desk: Path,
                                                                     server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    refused(push(desk, pusher="per"), "[pusher]", "agent per pushed a commit made as agent kari")
    # the pusher named by e-mail, as Gitea gives it
    gitea = push(desk, env={"GITEA_PUSHER_EMAIL": "per@helse.example.no",
                            "GITEA_PUSHER_NAME": "per"})
    refused(gitea, "[pusher]")
    unknown = push(desk, env={"GL_USERNAME": "nobody"})
    refused(unknown, "the pusher nobody (GL_USERNAME) is no agent")
    assert push(desk, env={"GL_USERNAME": "admin"}).returncode == 0
    assert case_id in git(server, "ls-tree", "-r", "--name-only", "main")


def test_an_unsigned_commit_is_refused_when_the_desk_requires_signing(desk: Path, server: Path,
                                                                      signing_key: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    config = load_yaml(desk / "casectl.yaml")
    config["desk"]["require_signed"] = True
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    hand_commit(desk, "casectl upgrade: signed", [("Action", "upgrade"), ("Agent", "admin")],
                author=ADMIN)
    assert push(desk, pusher="admin").returncode == 0
    assert act(desk, "log", case_id, "usignert").exit_code == 0
    refused(push(desk, pusher="kari"), "[signed]")
    git(desk, "reset", "-q", "--hard", "HEAD~1")
    append_event(desk, case_id, "kari", "worklog", {"text": "signert"})
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"), sign_key=signing_key)
    done = push(desk, pusher="kari")
    assert done.returncode == 0, done.stderr


def test_rewriting_the_branch_is_refused(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert act(desk, "log", case_id, "en").exit_code == 0
    assert push(desk, pusher="kari").returncode == 0
    git(desk, "reset", "-q", "--hard", "HEAD~1")
    refused(push(desk, "--force", pusher="kari"), "not a fast-forward")


def test_a_new_branch_is_judged_on_its_own_commits(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert push(desk, pusher="kari").returncode == 0
    case_file(desk, case_id).unlink()
    hand_commit(desk, "weg", case_trailers(case_id, "log", "kari"))
    done = subprocess.run(["git", "push", "origin", "HEAD:refs/heads/other"], cwd=desk,
                          capture_output=True, text=True,
                          env={**os.environ, "CASECTL_PUSHER": "kari"})
    refused(done, "case-deleted")
    # the commits already on the server are not judged again: one finding
    assert done.stderr.count("remote: casectl: refused:") == 1


def test_invalid_case_files_are_refused_by_validation(desk: Path, server: Path) -> None:
    case_id = new_case(desk, "--team", "servicedesk")
    assert push(desk, pusher="kari").returncode == 0
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    log = doc["log"] + [model.make_event("NOTAVALIDID", NOW.replace("09:", "10:"), "kari",
                                         "worklog", {"text": "x"})]
    path.write_text(yamlio.dump(model.with_header(case_id, log)), encoding="utf-8")
    hand_commit(desk, "log", case_trailers(case_id, "log", "kari"))
    refused(push(desk, pusher="kari"), "[validate]")


def test_the_pusher_variables_and_names_come_from_casectl_yaml(desk: Path, server: Path) -> None:
    config = load_yaml(desk / "casectl.yaml")
    config["server"] = {"user_variables": ["SITE_USER"], "pushers": {"k.nordmann": "kari"}}
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    hand_commit(desk, "casectl server settings", [("Action", "upgrade"), ("Agent", "admin")],
                author=ADMIN)
    assert run("--repo", str(desk), "validate").exit_code == 0
    assert push(desk, pusher="admin").returncode == 0  # CASECTL_PUSHER still read: the old config
    new_case(desk, "--team", "servicedesk")
    # the server's configuration now reads SITE_USER only, mapped by server.pushers
    refused(push(desk, env={"SITE_USER": "p.hansen"}), "the pusher p.hansen (SITE_USER)")
    done = push(desk, env={"SITE_USER": "k.nordmann"})
    assert done.returncode == 0, done.stderr
    new_case(desk, "--team", "servicedesk")
    unknown = push(desk, pusher="per")  # CASECTL_PUSHER is no longer one of the variables
    assert unknown.returncode == 0 and "SITE_USER is set): the check" in unknown.stderr


def test_install_defaults_to_the_current_bare_repository_and_joins_a_hooks_d(
        desk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / "gitea.git"
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(remote))
    (remote / "hooks" / "pre-receive.d").mkdir()
    (remote / "hooks" / "pre-receive").write_text("#!/bin/sh\n# Gitea's own\n")
    monkeypatch.chdir(remote)
    done = run("hook", "install")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == str(remote / "hooks" / "pre-receive.d" / "casectl")
    assert (remote / "hooks" / "pre-receive").read_text() == "#!/bin/sh\n# Gitea's own\n"
