"""The client's roles and the audit's agree (issue 7, items 3-6), both ways,
through the real command line on real repositories:

1. whatever the client lets an agent do is audit-clean, and the server
   hook accepts its push: one desk with roles bound is worked through
   every command that commits, as the agents the role table allows, with
   and without a git identity, with --as by an admin and by a service
   identity (built once for the module; one test per command checks its
   commits);
2. what the client refuses by role, forged by hand (the same file change,
   the same trailers), is an audit finding;
3. time of configuration: each commit is judged under the casectl.yaml in
   force before it, as the client judged it when it acted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from casectl import ids, model, roles, yamlio
from helpers import copy_desk, git, head, isolated_env, load_yaml, run
from test_audit import append_event, case_trailers, hand_commit
from test_edit import in_terminal

T0 = "2026-11-23T09:00:00+01:00"  # a Monday

# id: (name, e-mail, teams, roles, service)
AGENTS = {
    "kari": ("Kari Nordmann", "kari@helse.example.no", ["servicedesk"], ["receiver"], False),
    "ingrid": ("Ingrid Solberg", "ingrid@helse.example.no", ["servicedesk"], ["handler"], False),
    "per": ("Per Hansen", "per@helse.example.no", ["nettverk"], ["handler"], False),
    "mette": ("Mette Jørgensen", "mette@helse.example.no", ["klinisk-app"], ["handler"], False),
    "revisor": ("Rolf Revisor", "revisor@helse.example.no", [], ["auditor"], False),
    "intake": ("Mail intake", "intake@helse.example.no", [], [], True),
    "boss": ("Bo Sjef", "bo@helse.example.no", [], ["admin"], False),
}
ADMIN = ("Åse Admin", "ase@helse.example.no")


# ---------------------------------------------------------------- the worked desk

@dataclass
class Step:
    label: str
    exit_code: int
    output: str
    commits: list[str]


@dataclass
class Worked:
    desk: Path
    other: Path
    remote: Path
    steps: dict[str, Step] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    pushes: list[tuple[str, int, str]] = field(default_factory=list)  # label, exit, stderr
    audits: dict[str, dict[str, Any]] = field(default_factory=dict)  # clone -> report

    def findings_of(self, label: str) -> list[str]:
        """What audit (in either clone) and the hook (any push) said about
        the commits of step ``label``."""
        shas = self.steps[label].commits
        found = [f"audit {clone}: {f}" for clone, report in self.audits.items()
                 for f in report["findings"] if f["commit"] in shas]
        for push, code, stderr in self.pushes:
            for line in stderr.splitlines():
                if "casectl: refused: commit " in line and \
                        any(sha.startswith(line.split("commit ")[1].split(":")[0].split()[0])
                            for sha in shas):
                    found.append(f"hook at push {push}: {line}")
        return found


def identity(repo: Path, who: tuple[str, str] | str | None) -> None:
    """The git identity of whoever runs casectl in ``repo``: an agent's id,
    a (name, e-mail), or none at all."""
    for key in ("user.name", "user.email"):
        git(repo, "config", "--unset-all", key) if _has(repo, key) else None
    if who is None:
        return
    name, email = (AGENTS[who][0], AGENTS[who][1]) if isinstance(who, str) else who
    git(repo, "config", "user.name", name)
    git(repo, "config", "user.email", email)


def _has(repo: Path, key: str) -> bool:
    return subprocess.run(["git", "config", "--local", key], cwd=repo,
                          capture_output=True).returncode == 0


class Driver:
    """Runs each command as a labelled step and records its commits."""

    def __init__(self, worked: Worked) -> None:
        self.worked = worked

    def __call__(self, label: str, *args: str, repo: Path | None = None,
                 as_: str | None = None, who: tuple[str, str] | str | None = None,
                 at: str | None = None, env: dict[str, str] | None = None,
                 input: str | None = None) -> str:
        repo = repo or self.worked.desk
        identity(repo, who)
        before = head(repo)
        extra = {**({"CASECTL_NOW": at} if at else {}), **(env or {})}
        result = run("--repo", str(repo), *(["--as", as_] if as_ else []), *args,
                     input=input, env=extra or None)
        shas = git(repo, "rev-list", head(repo), f"^{before}").split()
        assert label not in self.worked.steps, label
        self.worked.steps[label] = Step(label, result.exit_code, result.output, shas)
        return result.stdout.strip()


def push(worked: Worked, label: str) -> None:
    done = subprocess.run(["git", "push", "origin", "HEAD:main"], cwd=worked.desk,
                          capture_output=True, text=True,
                          env={**os.environ, "CASECTL_PUSHER": "admin"})
    worked.pushes.append((label, done.returncode, done.stderr))


def audit_report(repo: Path) -> dict[str, Any]:
    result = run("--repo", str(repo), "audit", "--format", "json", "--no-cache")
    report = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worked]:
    base = tmp_path_factory.mktemp("agree")
    with isolated_env(tmp_path_factory.mktemp("agree-home")) as mp:
        mp.setenv("CASECTL_NOW", T0)
        # the venv's casectl first: git runs the merge driver by name
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
        remote = base / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
        assert run("hook", "install", "--bare", str(remote)).exit_code == 0
        w = Worked(base / "desk", base / "other", remote)
        do = Driver(w)
        _setup(w, do)
        push(w, "setup")
        _cases(w, do)
        push(w, "cases")
        _sync(w, do)
        w.audits = {"desk": audit_report(w.desk), "other": audit_report(w.other)}
        yield w


def _setup(w: Worked, do: Driver) -> None:
    desk = w.desk
    done = run("init", str(desk), "--desk", "Helse", "--phone", "+47 55 00 00 00",
               "--country", "NO", "--ci", "gitlab")
    w.steps["init"] = Step("init", done.exit_code, done.output, [head(desk)])
    git(desk, "remote", "add", "origin", str(w.remote))
    do("team-add", "team", "add", "servicedesk", "--name", "Servicedesk")
    do("team-add-2", "team", "add", "nettverk", "--name", "Nettverk")
    do("team-add-3", "team", "add", "klinisk-app")
    # The first admin, added while no agent is listed: roles bind from here.
    do("agent-add-first-admin", "agent", "add", "admin", "--name", ADMIN[0], "--email",
       ADMIN[1], "--role", "admin", "--role", "permission-admin")
    for ident, (name, email, teams, held, service) in AGENTS.items():
        args = ["agent", "add", ident, "--name", name, "--email", email,
                *[f"--team={t}" for t in teams], *[f"--role={r}" for r in held]]
        do(f"agent-add-{ident}", *args, *(["--service"] if service else []),
           # with the admin's git identity, and with none and --as
           **({"who": ADMIN} if ident in ("kari", "boss") else {"as_": "admin"}))
    do("team-set", "team", "set", "nettverk", "--question", "socket=Hvilken kontakt?",
       who="boss")
    do("agent-set", "agent", "set", "per", "--add-team", "klinisk-app", as_="boss")
    # A role-holder's name or address is how casectl knows them: a grant.
    do("agent-set-identity", "agent", "set", "per", "--name", "Per H. Hansen", who=ADMIN)
    do("agent-set-roles", "agent", "set", "mette", "--add-role", "receiver", who=ADMIN)
    do("agent-add-vikar", "agent", "add", "vikar", "--name", "Vera Vikar", "--email",
       "vikar@helse.example.no", "--team", "servicedesk", "--role", "handler", as_="admin")
    do("agent-deactivate", "agent", "deactivate", "vikar", as_="boss")
    do("agent-activate", "agent", "activate", "vikar", who="boss")
    do("org-add", "org", "add", "Bergen kommune", "--sla", "gold", as_="boss")
    do("org-set", "org", "set", "Bergen kommune", "--sla", "silver", as_="boss")
    do("category-add", "category", "add", "Nettverk", "Tilgang", as_="boss")
    do("ci", "ci", "github", who="boss")


URGENT = ["--urgent", "--application", "DIPS", "--department", "Akuttmottaket", "--users",
          "alle", "--servers", "dips-app01", "--competence", "clinical-applications",
          "--contact", "Eva Berg", "--phone", "+47 917 22 418"]
REPORTER = ["--reporter", "Ola Nordmann <ola@bergen.kommune.no>", "--phone", "+47 912 34 567"]


def _cases(w: Worked, do: Driver) -> None:
    c = w.cases
    c["plain"] = do("new", "new", "--subject", "Skriver virker ikke", *REPORTER, as_="kari")
    c["routed"] = do("new-team-assignee", "new", "--subject", "Nett nede i bygg 4", "--team",
                     "nettverk", "--assignee", "per", "--answer", "socket=B4-117",
                     "--category", "Nettverk", who="kari")
    c["protected"] = do("new-protected", "new", "--subject", "Innlogging", "--reporter",
                        "Anna Skjult <anna@example.no>", "--protected", as_="ingrid")
    c["urgent"] = do("new-urgent", "new", *URGENT, as_="kari")
    c["started"] = do("new-start", "new", "--subject", "VPN treg", "--start", who="ingrid")
    c["matrix"] = do("new-impact", "new", "--subject", "Lab-systemet", "--impact",
                     "departments", "--urgency", "high", "--team", "klinisk-app", as_="kari")
    c["intake"] = do("new-by-service-as", "new", "--subject", "E-post fra bruker", *REPORTER,
                     as_="kari", who="intake")
    c["by-admin"] = do("new-by-admin-as", "new", "--subject", "Telefonen ringer ikke",
                       as_="kari", who=ADMIN)
    plain = c["plain"]
    do("assign", "assign", plain, "--to", "vikar", "--note", "Din", as_="kari")
    do("take", "take", plain, who="ingrid")
    do("log", "log", plain, "Ringte brukeren", as_="ingrid")
    do("log-internal", "log", plain, "--internal", "Intern notat", who="ingrid")
    do("log-email", "log", plain, "--email", "Vi ser på det", as_="ingrid")
    do("log-from-reporter", "log", plain, "--from-reporter", "Det virker ikke ennå",
       as_="kari")
    do("priority", "priority", plain, "high", "--reason", "Hele avdelingen", as_="ingrid")
    do("priority-matrix", "priority", plain, "--impact", "user", "--urgency", "normal",
       as_="kari")
    do("start", "start", plain, as_="ingrid")
    do("wait", "wait", plain, "--reason", "Venter på bruker", as_="ingrid")
    do("task-add", "task", "add", plain, "--to", "per", "--subject", "Sjekk svitsjen",
       as_="kari")
    do("log-by-task", "log", plain, "Svitsjen er sjekket", as_="per")
    do("task-done", "task", "done", plain, "T1", as_="per")
    do("edit", "edit", plain, "--subject", "Skriver på rom 12 virker ikke", as_="ingrid")
    do("edit-protected", "edit", plain, "--protected", "--reason", "Skjermet", as_="kari")
    editor = w.desk.parent / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^subject: .*/subject: Endret i editoren/' \"$1\"\n")
    editor.chmod(0o755)
    # the editor path, in a real terminal (as kari, a receiver)
    identity(w.desk, None)
    before = head(w.desk)
    code, shown, stderr = in_terminal(w.desk, "edit", plain, env={"GIT_EDITOR": str(editor)})
    w.steps["edit-editor"] = Step("edit-editor", code, shown + stderr,
                                  git(w.desk, "rev-list", "HEAD", f"^{before}").split())
    document = w.desk.parent / "edit.yaml"
    document.write_text("subject: Skriver på rom 14\nreason: Flyttet\n")
    do("edit-file", "edit", plain, "--file", str(document), as_="ingrid")
    do("solve", "close", plain, "--solution", "Ny driver", as_="ingrid")
    do("reopen", "reopen", plain, "--reason", "Feilen kom tilbake", as_="kari")
    do("close-confirmed", "close", plain, "--solution", "Ny driver igjen", "--confirmed",
       as_="ingrid")
    routed = c["routed"]
    do("triage", "triage", routed, "--answer", "socket=B4-118", as_="per")
    do("handover", "handover", routed, "--to", "servicedesk", "--note",
       "Til Ingrid Solberg", as_="per")
    do("reject", "reject", c["matrix"], "--reason", "Dobbelt registrert", as_="kari")
    # Unreachable: solved, then three attempts by both ways over two weeks.
    intake = c["intake"]
    do("assign-2", "assign", intake, "--to", "mette", as_="kari")
    do("solve-2", "close", intake, "--solution", "Løst", as_="mette",
       at="2026-11-24T10:00:00+01:00")
    for n, (when, via) in enumerate((("2026-11-26T09:00:00+01:00", "phone"),
                                     ("2026-11-27T09:00:00+01:00", "email"),
                                     ("2026-11-30T09:00:00+01:00", "phone"))):
        do(f"contact-{n}", "contact", intake, "--via", via, "--no-answer", as_="mette", at=when)
    do("close-unreachable", "close", intake, "--unreachable", as_="mette",
       at="2026-11-30T10:00:00+01:00")
    do("log-by-service-as", "log", c["started"], "Brukeren svarte på e-post", as_="ingrid",
       who="intake")
    # upgrade: the desk's schemas older than this casectl's (an admin's hand commit)
    schema = w.desk / "schemas" / "case.schema.json"
    schema.write_text(schema.read_text().replace('"title"', '"title_old"', 1))
    hand_commit(w.desk, "old schema", author=ADMIN)
    do("upgrade", "upgrade", as_="boss")


def _sync(w: Worked, do: Driver) -> None:
    git(w.desk.parent, "clone", "-q", str(w.remote), str(w.other))
    git(w.desk, "fetch", "-q", "origin")
    git(w.desk, "branch", "-q", "--set-upstream-to=origin/main")
    case_id = w.cases["started"]
    do("log-other", "log", case_id, "Fra den andre klonen", repo=w.other, as_="ingrid",
       at="2026-12-01T09:00:00+01:00")
    do("sync-other", "sync", repo=w.other, as_="ingrid", env={"CASECTL_PUSHER": "admin"},
       at="2026-12-01T09:01:00+01:00")
    do("log-here", "log", case_id, "Fra skrivebordet", as_="ingrid",
       at="2026-12-01T09:00:30+01:00")
    do("sync-merge", "sync", as_="ingrid", env={"CASECTL_PUSHER": "admin"},
       at="2026-12-01T09:02:00+01:00")
    # Two clones mint one id: the unpushed one is renumbered.
    saved = ids._random
    ids._random = lambda width: "Z" * width  # type: ignore[assignment]
    try:
        first = do("new-here", "new", "--subject", "Skriver", as_="kari",
                   at="2026-12-01T10:00:00+01:00")
        second = do("new-other", "new", "--subject", "VPN", repo=w.other, as_="kari",
                    at="2026-12-01T10:00:00+01:00")
    finally:
        ids._random = saved  # type: ignore[assignment]
    assert first == second, (first, second)
    do("sync-first", "sync", as_="kari", env={"CASECTL_PUSHER": "admin"},
       at="2026-12-01T10:01:00+01:00")
    do("sync-renumber", "sync", repo=w.other, as_="kari", env={"CASECTL_PUSHER": "admin"},
       at="2026-12-01T10:02:00+01:00")
    do("sync-last", "sync", as_="kari", env={"CASECTL_PUSHER": "admin"},
       at="2026-12-01T10:03:00+01:00")


CLIENT_STEPS = [
    "init", "team-add", "team-add-2", "team-add-3", "agent-add-first-admin", *[f"agent-add-{a}" for a in AGENTS],
    "team-set", "agent-set", "agent-set-identity", "agent-set-roles", "agent-add-vikar", "agent-deactivate",
    "agent-activate", "org-add", "org-set", "category-add", "ci",
    "new", "new-team-assignee", "new-protected", "new-urgent", "new-start", "new-impact",
    "new-by-service-as", "new-by-admin-as", "assign", "take", "log", "log-internal",
    "log-email", "log-from-reporter", "priority", "priority-matrix", "start", "wait",
    "task-add", "log-by-task", "task-done", "edit", "edit-protected", "edit-editor",
    "edit-file", "solve",
    "reopen", "close-confirmed", "triage", "handover", "reject", "assign-2", "solve-2", "contact-0",
    "contact-1", "contact-2", "close-unreachable", "log-by-service-as", "upgrade", "log-other",
    "sync-other", "log-here", "sync-merge", "new-here", "new-other", "sync-first",
    "sync-renumber", "sync-last",
]


@pytest.mark.parametrize("label", CLIENT_STEPS)
def test_what_the_client_allows_is_audit_clean_and_the_hook_accepts(worked: Worked,
                                                                    label: str) -> None:
    step = worked.steps[label]
    assert step.exit_code == 0, step.output
    assert step.commits or label.startswith("sync-") and label != "sync-renumber", \
        f"{label} committed nothing"
    assert worked.findings_of(label) == []


def test_the_worked_desk_is_clean_everywhere(worked: Worked) -> None:
    for clone, report in worked.audits.items():
        assert report["exit_code"] == 0 and report["clean"], (clone, report["findings"])
    for label, code, stderr in worked.pushes:
        assert code == 0, (label, stderr)
    renumber = worked.steps["sync-renumber"]
    assert "is now" in renumber.output
    actions = [git(worked.other, "log", "-1", "--format=%(trailers:key=Action,valueonly)",
                   sha).strip() for sha in renumber.commits]
    assert "renumber" in actions
    assert len(git(worked.desk, "rev-parse", "HEAD^@").split()) >= 1
    assert git(worked.remote, "rev-parse", "main").strip() == head(worked.desk)
    merges = git(worked.desk, "rev-list", "--merges", "HEAD").split()
    assert merges, "no merge went through the driver"


def test_every_step_is_checked(worked: Worked) -> None:
    assert sorted(worked.steps) == sorted(CLIENT_STEPS)


# ---------------------------------------------------------------- refused, then forged

def identity_of(agent: str) -> tuple[str, str]:
    if agent == "admin":
        return ADMIN
    if agent == "vikar":
        return ("Vera Vikar", "vikar@helse.example.no")
    name, email = AGENTS[agent][:2]
    return ("Per H. Hansen" if agent == "per" else name), email  # per was renamed


@pytest.fixture
def copy(worked: Worked, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the worked desk (no identity, no remote), the clock after
    its last step."""
    monkeypatch.setenv("CASECTL_NOW", "2026-12-02T09:00:00+01:00")
    repo = copy_desk(worked.desk, tmp_path)
    identity(repo, None)
    git(repo, "remote", "remove", "origin")
    return repo


def client(repo: Path, *args: str, agent: str) -> Any:
    return run("--repo", str(repo), "--as", agent, *args)


def refused_by_client(repo: Path, *args: str, agent: str, rule: str = "role",
                      who: tuple[str, str] | None = None) -> str:
    identity(repo, who)
    before = head(repo)
    result = client(repo, *args, agent=agent)
    identity(repo, None)
    assert result.exit_code == 1, result.output
    assert f"refused by rule '{rule}'" in result.stderr, result.stderr
    assert head(repo) == before
    return result.stderr


def forge(repo: Path, args: tuple[str, ...], allowed: str, forbidden: str,
          author: str | None = None) -> str:
    """The change ``args`` makes, run by ``allowed`` through casectl, then
    recommitted by hand as ``forbidden`` would have made it: its events by
    them, their Agent trailer, their authorship (``author`` instead, when
    given: a hand commit filed under another agent's name)."""
    done = client(repo, *args, agent=allowed)
    assert done.exit_code == 0, done.output
    message = git(repo, "log", "-1", "--format=%B")
    trailers = [tuple(line.split(": ", 1)) for line in message.splitlines()
                if line.startswith(("Case: ", "Action: ", "Renumbered-From: "))]
    changed = git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split()
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    for path in changed:
        if path.startswith("cases/"):
            doc = load_yaml(repo / path)
            old = git(repo, "show", f"HEAD:{path}") if _exists(repo, path) else "log: []"
            known = {e["id"] for e in yaml.safe_load(old)["log"]}
            log = [dict(e, by=forbidden) if e["id"] not in known else e for e in doc["log"]]
            (repo / path).write_text(yamlio.dump(model.with_header(doc["id"], log)),
                                     encoding="utf-8")
    return hand_commit(repo, f"forged {args[0]}", [*trailers, ("Agent", forbidden)],
                       author=identity_of(author or forbidden))


def _exists(repo: Path, path: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"HEAD:{path}"], cwd=repo).returncode == 0


def audit_since(repo: Path, rev: str) -> list[dict[str, Any]]:
    result = run("--repo", str(repo), "audit", "--format", "json", "--since", rev)
    report = json.loads(result.stdout)
    assert result.exit_code == (4 if report["findings"] else 0), result.output
    return report["findings"]


def servicedesk_case(repo: Path) -> str:
    """A fresh case of kari's, in team servicedesk."""
    done = client(repo, "new", "--subject", "Skjermen er svart", "--reporter",
                  "Ola <ola@example.no>", agent="kari")
    assert done.exit_code == 0, done.output
    return done.stdout.strip()


# (sample, command (CASE: a servicedesk case of kari's), allowed, forbidden, the client's
#  rule, the audit's rule)
FORGED = [
    ("handler-outside-scope", ("log", "CASE", "Ikke min sak"), "kari", "per", "role", "role"),
    ("handler-closing-others", ("close", "CASE", "--solution", "x"), "ingrid", "per", "role",
     "role"),
    ("handler-assigning", ("assign", "CASE", "--to", "ingrid"), "kari", "ingrid", "role",
     "role"),
    ("receiver-starting", ("start", "CASE"), "ingrid", "kari", "role", "role"),
    ("auditor-logging", ("log", "CASE", "Revidert"), "kari", "revisor", "role", "role"),
    ("auditor-registering", ("new", "--subject", "Revisjon"), "kari", "revisor", "role",
     "role"),
    ("service-without-role", ("log", "CASE", "Fra skript"), "kari", "intake", "role", "role"),
    ("admin-granting-without-permission-admin", ("agent", "set", "per", "--add-role",
                                                 "receiver"), "admin", "boss", "role",
     "config"),
    ("admin-making-a-service-without-permission-admin",
     ("agent", "add", "bot", "--name", "Bot", "--email", "bot@helse.example.no", "--service"),
     "admin", "boss", "role", "config"),
    ("non-admin-adding-a-team", ("team", "add", "drift"), "boss", "kari", "role", "config"),
    ("non-admin-adding-a-category", ("category", "add", "Ny"), "boss", "ingrid", "role",
     "config"),
    ("non-admin-deactivating", ("agent", "deactivate", "per"), "boss", "kari", "role",
     "config"),
    ("non-admin-org", ("org", "add", "Askøy kommune", "--sla", "gold"), "boss", "per", "role", "config"),
]


@pytest.mark.parametrize("sample, args, allowed, forbidden, client_rule, audit_rule", FORGED,
                         ids=[f[0] for f in FORGED])
def test_what_the_client_refuses_by_role_is_an_audit_finding_when_forged(
        copy: Path, sample: str, args: tuple[str, ...], allowed: str, forbidden: str,
        client_rule: str, audit_rule: str) -> None:
    case_id = servicedesk_case(copy)
    args = tuple(case_id if a == "CASE" else a for a in args)
    refused_by_client(copy, *args, agent=forbidden, rule=client_rule)
    start = head(copy)
    sha = forge(copy, args, allowed, forbidden)
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, audit_rule)], found
    assert f"agent {forbidden}" in found[0]["message"], found


def test_a_deactivated_agent_is_refused_and_a_forged_commit_is_found(copy: Path) -> None:
    case_id = servicedesk_case(copy)
    assert client(copy, "agent", "deactivate", "vikar", agent="boss").exit_code == 0
    refused_by_client(copy, "log", case_id, "Hei", agent="vikar", rule="active-agent")
    start = head(copy)
    forge(copy, ("log", case_id, "Hei"), "kari", "vikar")
    found = audit_since(copy, start)
    assert {f["rule"] for f in found} >= {"author"}, found
    assert any("deactivated" in f["message"] for f in found), found


def test_as_by_a_non_admin_is_refused_and_a_hand_commit_under_another_author_is_found(
        copy: Path) -> None:
    case_id = servicedesk_case(copy)
    refused_by_client(copy, "log", case_id, "I karis navn", agent="kari", rule="act-as",
                      who=identity_of("per"))
    start = head(copy)
    # per's own hand commit saying it is kari's: the author gives it away
    sha = forge(copy, ("log", case_id, "I karis navn"), "kari", "kari", author="per")
    found = audit_since(copy, start)
    assert {f["commit"] for f in found} == {sha}
    author = [f for f in found if f["rule"] == "author"]
    assert author and "is agent per, but the Agent trailer says kari" in author[0]["message"]
    # and judged as per, the author, it is a case per may not log on either
    assert {f["rule"] for f in found} <= {"author", "role"}


def test_as_by_a_non_admin_as_author_too_is_the_hooks_to_refuse(copy: Path,
                                                                tmp_path: Path) -> None:
    """Authored as kari and committed by per, the commit itself is kari's
    to the audit (the committer is not judged): the server, knowing who
    pushes, refuses per pushing it; kari or an admin may."""
    case_id = servicedesk_case(copy)
    remote = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(copy), str(remote))
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0
    git(copy, "remote", "add", "origin", str(remote))
    done = client(copy, "log", case_id, "I karis navn", agent="kari")
    assert done.exit_code == 0
    git(copy, "reset", "-q", "--soft", "HEAD~1")
    hand_commit(copy, "forged", case_trailers(case_id, "log", "kari"),
                author=identity_of("kari"), committer=identity_of("per"))
    assert audit_since(copy, "HEAD~1") == []
    by_per = subprocess.run(["git", "push", "origin", "HEAD:main"], cwd=copy,
                            capture_output=True, text=True,
                            env={**os.environ, "CASECTL_PUSHER": "per"})
    assert by_per.returncode != 0 and "[pusher]" in by_per.stderr, by_per.stderr
    by_kari = subprocess.run(["git", "push", "origin", "HEAD:main"], cwd=copy,
                             capture_output=True, text=True,
                             env={**os.environ, "CASECTL_PUSHER": "kari"})
    assert by_kari.returncode == 0, by_kari.stderr


def test_a_ci_file_changed_by_a_non_admin_is_a_finding(copy: Path) -> None:
    """`casectl ci` takes an admin (the CI file decides what every push is
    checked against); the same change committed by hand by a handler is
    an audit finding too."""
    git(copy, "rm", "-q", ".gitlab-ci.yml")
    hand_commit(copy, "no CI for now", author=ADMIN)
    refused_by_client(copy, "ci", "gitlab", agent="ingrid")
    start = head(copy)
    sha = forge(copy, ("ci", "gitlab"), "boss", "ingrid")
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, "config")], found
    assert "agent ingrid" in found[0]["message"] and ".gitlab-ci.yml" in found[0]["message"]
    # the admin's own `casectl ci` is clean
    git(copy, "rm", "-q", ".github/workflows/casectl.yml")
    hand_commit(copy, "no GitHub CI either", author=ADMIN)
    start = head(copy)
    assert client(copy, "ci", "github", agent="boss").exit_code == 0
    assert audit_since(copy, start) == []


def test_attributes_changed_by_a_non_admin_are_a_finding(copy: Path) -> None:
    """`casectl upgrade` (an admin's) also writes .gitattributes, which
    decides how case files merge: a handler's hand commit of it is found."""
    attributes = copy / ".gitattributes"
    attributes.write_text("cases/**/*.yaml merge=casectl\n")
    hand_commit(copy, "older attributes", author=ADMIN)
    refused_by_client(copy, "upgrade", agent="per")
    start = head(copy)
    sha = forge(copy, ("upgrade",), "boss", "per")
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, "config")], found


# ---------------------------------------------------------------- time of configuration

def test_a_role_granted_in_one_commit_is_used_from_the_next(copy: Path) -> None:
    case_id = servicedesk_case(copy)
    refused_by_client(copy, "assign", case_id, "--to", "ingrid", agent="per")
    start = head(copy)
    assert client(copy, "agent", "set", "per", "--add-role", "receiver",
                  agent="admin").exit_code == 0
    assert client(copy, "assign", case_id, "--to", "ingrid", agent="per").exit_code == 0
    assert audit_since(copy, start) == []


def test_a_grant_used_in_its_own_commit_is_a_finding(copy: Path) -> None:
    """A commit is judged under the casectl.yaml before it: granting oneself
    a role and using it in one hand commit is found (casectl cannot make
    such a commit)."""
    case_id = servicedesk_case(copy)
    config = load_yaml(copy / "casectl.yaml")
    config["agents"]["admin"]["roles"].append("receiver")
    (copy / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True,
                                                      sort_keys=False), encoding="utf-8")
    append_event(copy, case_id, "admin", "assigned", {"assignee": "ingrid"},
                 at="2026-12-02T09:30:00+01:00")  # after the case was created
    start = head(copy)
    sha = hand_commit(copy, "grant and assign", case_trailers(case_id, "assign", "admin"),
                      author=ADMIN)
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, "role")], found
    assert "admin (admin, permission-admin) may not assign" in found[0]["message"]


def test_a_revoked_role_is_refused_from_the_next_commit(copy: Path) -> None:
    case_id = servicedesk_case(copy)
    assert client(copy, "assign", case_id, "--to", "ingrid", agent="kari").exit_code == 0
    assert client(copy, "agent", "set", "kari", "--remove-role", "receiver",
                  agent="admin").exit_code == 0
    refused_by_client(copy, "assign", case_id, "--to", "vikar", agent="kari")
    start = head(copy)
    client(copy, "agent", "set", "kari", "--add-role", "receiver", agent="admin")
    git(copy, "reset", "-q", "--hard", "HEAD~1")  # kari's role stays revoked
    sha = forge(copy, ("assign", case_id, "--to", "vikar"), "mette", "kari")
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, "role")], found


@pytest.fixture
def no_admin_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A desk whose agents hold no admin role: kari and per, handlers."""
    monkeypatch.setenv("CASECTL_NOW", T0)
    root = tmp_path / "desk"
    assert run("init", str(root)).exit_code == 0
    for team in ("servicedesk", "nettverk"):
        assert run("--repo", str(root), "team", "add", team).exit_code == 0
    for ident, team in (("kari", "servicedesk"), ("per", "nettverk")):
        name, email = AGENTS[ident][:2]
        done = run("--repo", str(root), *(["--as", "kari"] if ident != "kari" else []),
                   "agent", "add", ident, "--name", name, "--email", email, "--team", team,
                   "--role", "handler")
        assert done.exit_code == 0, done.output
    return root


def test_roles_bind_from_the_commit_after_the_first_admin_grant(no_admin_desk: Path) -> None:
    """Before: any listed agent does anything (per assigns kari's case and
    adds a team). The grant commit itself is judged under the configuration
    before it, which binds nothing: kari may make herself admin. From the
    next commit on, the table binds, in the client and in the audit alike."""
    desk = no_admin_desk
    start = head(desk)
    case_id = servicedesk_case(desk)
    assert client(desk, "assign", case_id, "--to", "per", agent="per").exit_code == 0
    assert client(desk, "team", "add", "drift", agent="per").exit_code == 0
    grant = client(desk, "agent", "set", "kari", "--add-role", "admin", agent="kari")
    assert grant.exit_code == 0, grant.output
    assert audit_since(desk, start) == []
    # the commit after: kari is admin but no permission-admin; per a handler only
    refused_by_client(desk, "agent", "set", "per", "--add-role", "receiver", agent="kari")
    refused_by_client(desk, "team", "add", "drift2", agent="per")
    refused_by_client(desk, "assign", case_id, "--to", "kari", agent="kari")
    after = head(desk)
    first = forge(desk, ("team", "add", "drift2"), "kari", "per")
    assert client(desk, "agent", "set", "kari", "--add-role", "permission-admin",
                  agent="kari").exit_code != 0
    found = audit_since(desk, after)
    assert [(f["commit"], f["rule"]) for f in found] == [(first, "config")], found


def test_an_uncommitted_role_in_casectl_yaml_does_not_let_the_client_act(copy: Path) -> None:
    """The audit judges a commit under the committed casectl.yaml before
    it; a hand edit of casectl.yaml not committed yet must not let the
    client do what that committed file forbids (it would be a finding)."""
    case_id = servicedesk_case(copy)
    config = load_yaml(copy / "casectl.yaml")
    config["agents"]["per"]["roles"].append("receiver")
    (copy / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True,
                                                      sort_keys=False), encoding="utf-8")
    start = head(copy)
    done = client(copy, "assign", case_id, "--to", "ingrid", agent="per")
    assert audit_since(copy, start) == []
    assert done.exit_code == 1, done.output
    assert "refused by rule 'committed-agents'" in done.stderr
    assert head(copy) == start
    assert "casectl.yaml" in git(copy, "status", "--porcelain")  # the edit stays the user's
    # committed by a permission-admin, the role binds from the next commit
    git(copy, "checkout", "-q", "--", "casectl.yaml")
    assert client(copy, "agent", "set", "per", "--add-role", "receiver",
                  agent="admin").exit_code == 0
    assert client(copy, "assign", case_id, "--to", "ingrid", agent="per").exit_code == 0
    assert audit_since(copy, start) == []


# ---------------------------------------------------------------- who ran it, for every commit

def test_the_committer_of_every_command_is_who_ran_it(worked: Worked) -> None:
    """Every commit a step made with a git identity set (and no --as, or
    --as by an admin or service identity) names that identity as its
    committer: `casectl ci` as much as a case action."""
    runners = {"ci": "Bo Sjef", "new-by-service-as": "Mail intake",
               "new-by-admin-as": ADMIN[0], "log-by-service-as": "Mail intake",
               "agent-add-kari": ADMIN[0], "agent-set-roles": ADMIN[0], "take": AGENTS["ingrid"][0],
               "new-team-assignee": AGENTS["kari"][0]}
    for label, committer in runners.items():
        for sha in worked.steps[label].commits:
            assert git(worked.desk, "log", "-1", "--format=%cn", sha).strip() == committer, label


def test_casectl_ci_records_who_ran_it(copy: Path) -> None:
    git(copy, "rm", "-q", ".gitlab-ci.yml")
    hand_commit(copy, "no CI for now", author=ADMIN)
    identity(copy, ADMIN)
    done = client(copy, "ci", "gitlab", agent="boss")
    assert done.exit_code == 0, done.output
    assert git(copy, "log", "-1", "--format=%an|%cn").strip() == "Bo Sjef|Åse Admin"


# ---------------------------------------------------------------- what sync merges

@pytest.fixture
def two_clones(copy: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The copy and a second clone of it, sharing a bare remote with the hook."""
    remote = tmp_path / "shared.git"
    git(tmp_path, "clone", "-q", "--bare", str(copy), str(remote))
    assert run("hook", "install", "--bare", str(remote)).exit_code == 0
    git(copy, "remote", "add", "origin", str(remote))
    git(copy, "fetch", "-q", "origin")
    git(copy, "branch", "-q", "--set-upstream-to=origin/main")
    other = tmp_path / "second"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    return copy, other


def synced(repo: Path, agent: str) -> None:
    done = run("--repo", str(repo), "--as", agent, "sync",
               env={"CASECTL_PUSHER": "admin",
                    "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]})
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("mine, theirs", [
    (("category", "add", "Skrivere"), ("category", "add", "Telefoni")),
    (("agent", "set", "per", "--add-team", "servicedesk"),
     ("agent", "set", "per", "--remove-team", "klinisk-app")),
    (("team", "set", "nettverk", "--question", "rom=Hvilket rom?"),
     ("team", "set", "nettverk", "--name", "Nettverksgruppa")),
], ids=["categories", "one-agent", "one-team"])
def test_configuration_changes_merged_by_sync_are_audit_clean(
        two_clones: tuple[Path, Path], mine: tuple[str, ...], theirs: tuple[str, ...]) -> None:
    """Two clones change casectl.yaml where they do not contradict; sync
    merges them with the driver (a list as a set, a mapping key by key):
    the merge is what the client made, so audit and the hook accept it."""
    desk, other = two_clones
    start = head(desk)
    assert client(desk, *mine, agent="boss").exit_code == 0
    assert client(other, *theirs, agent="boss").exit_code == 0
    synced(desk, "boss")
    synced(other, "boss")
    synced(desk, "boss")
    assert head(desk) == head(other)
    assert audit_since(other, start) == []


def test_a_merge_that_grants_what_no_parent_had_is_found(copy: Path) -> None:
    """The other way: a merge made by hand that slips a role in (neither
    parent gave per the receiver role) is a finding, naming the key."""
    start = head(copy)
    git(copy, "checkout", "-q", "-b", "side")
    assert client(copy, "category", "add", "Skrivere", agent="boss").exit_code == 0
    git(copy, "checkout", "-q", "main")
    servicedesk_case(copy)
    git(copy, "-c", f"user.name={ADMIN[0]}", "-c", f"user.email={ADMIN[1]}", "merge", "-q",
        "--no-ff", "--no-commit", "side")
    config = load_yaml(copy / "casectl.yaml")
    assert "Skrivere" in config["categories"]
    config["agents"]["per"]["roles"].append("receiver")
    (copy / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True,
                                                      sort_keys=False), encoding="utf-8")
    sha = hand_commit(copy, "Merge branch 'side'", author=ADMIN)
    found = audit_since(copy, start)
    assert [(f["commit"], f["rule"]) for f in found] == [(sha, "merge")], found
    assert "agents.per.roles" in found[0]["message"]


def test_a_deactivated_admin_no_longer_acts_in_others_names(copy: Path) -> None:
    """Deactivated, an agent cannot act "however they are named": that
    takes in acting as someone else with --as (the commit would be the
    other agent's, audit-clean, the deactivated runner only its committer),
    and pushing others' commits past the hook."""
    case_id = servicedesk_case(copy)
    assert client(copy, "agent", "deactivate", "boss", agent="admin").exit_code == 0
    refused_by_client(copy, "log", case_id, "Fortsatt her", agent="kari", rule="act-as",
                      who=identity_of("boss"))
    assert client(copy, "agent", "deactivate", "intake", agent="admin").exit_code == 0
    refused_by_client(copy, "log", case_id, "Fra skript", agent="kari", rule="act-as",
                      who=identity_of("intake"))
    config = load_yaml(copy / "casectl.yaml")
    assert not roles.may_impersonate(config, "boss")
    assert not roles.may_impersonate(config, "intake")
    assert roles.may_impersonate(config, "admin")
