"""The server side: `casectl hook install` puts a pre-receive hook in a bare
repository, and `casectl hook pre-receive` (what the hook runs) judges a
push before any ref moves: the audit's rules and validation on the pushed
commits only, plus who pushed them.

Git runs the hook with the pushed objects in a quarantine directory named
by GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES; journal
passes those through on purpose (``journal.keep_quarantine``) while it
clears every other git variable. What the hook prints on stderr reaches
the technician's `git push` as "remote: ..." lines.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import auditing, config as configmod, journal, roles, schema, yamlio
from ..auditing import Finding
from ..errors import InvalidData, NotFound, OperationFailed, RuleViolation, UsageError
from . import audit

HOOK_MARK = "# casectl pre-receive hook"

# Where a git server says who is pushing, in the order tried (casectl.yaml's
# server.user_variables replaces the list): casectl's own (set it in an ssh
# forced command: command="CASECTL_PUSHER=kari git-shell -c \"$SSH_ORIGINAL_COMMAND\""),
# Gitea, GitLab, gitolite, and a web server's authenticated user (git http-backend).
DEFAULT_USER_VARIABLES = ("CASECTL_PUSHER", "GITEA_PUSHER_NAME", "GL_USERNAME", "GL_USER",
                          "REMOTE_USER")
DEFAULT_EMAIL_VARIABLES = ("GITEA_PUSHER_EMAIL",)

DELETE_RULE = "history"
VALIDATE_RULE = "validate"


# ---------------------------------------------------------------- install

def install(bare: str | None, force: bool = False) -> Path:
    """Write the pre-receive hook into the bare repository ``bare`` (default:
    the working directory, when it is one); the hook's path."""
    directory = Path(bare).expanduser() if bare else Path.cwd()
    if not directory.is_dir():
        raise NotFound(f"--bare {bare}: no such directory",
                       "give the path of the server's bare repository (e.g. /srv/git/desk.git)")
    directory = directory.resolve()
    if not journal.is_bare(directory):
        raise UsageError(f"{directory} is not a bare repository",
                         "the hook belongs on the shared (bare) repository technicians push "
                         "to: casectl hook install --bare /srv/git/desk.git")
    hooks = Path(journal.git(directory, "rev-parse", "--git-path", "hooks").strip())
    if not hooks.is_absolute():
        hooks = directory / hooks
    # Gitea keeps its own pre-receive, which runs every script in
    # pre-receive.d/: casectl's goes beside the others there, never over it.
    target = (hooks / "pre-receive.d" / "casectl" if (hooks / "pre-receive.d").is_dir()
              else hooks / "pre-receive")
    if target.exists() and not force and \
            HOOK_MARK not in target.read_text(encoding="utf-8", errors="replace"):
        raise RuleViolation("hook-exists", f"{target} exists and is not casectl's",
                            "merge it by hand (call casectl's hook from it), or replace it "
                            "with --force")
    hooks.mkdir(parents=True, exist_ok=True)
    # The interpreter that runs casectl now, by absolute path: a server's
    # hook environment rarely has the technician's PATH or virtualenv.
    command = f"exec {shlex.quote(sys.executable)} -m casectl hook pre-receive"
    target.write_text(
        "#!/bin/sh\n"
        f"{HOOK_MARK}: installed by `casectl hook install`.\n"
        "# Refuses pushes that break the desk's rules (casectl audit, casectl validate);\n"
        "# runs the casectl that installed it. Reinstall after moving that casectl.\n"
        f"{command}\n", encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


# ---------------------------------------------------------------- who pushes

@dataclass(frozen=True)
class Pusher:
    """Who is pushing: the variable that said so, its value, the agent it
    names (None: no agent), or nothing known at all (``variable`` None)."""

    variable: str | None
    value: str | None
    agent: str | None


def server_settings(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    server = config.get("server") if isinstance(config, Mapping) else None
    return server if isinstance(server, Mapping) else {}


def find_pusher(config: Mapping[str, Any] | None, environ: Mapping[str, str]) -> Pusher:
    """The pushing user, as the git server's variables name them, matched
    to an agent by server.pushers (a server user name -> agent id), by
    agent id or by e-mail."""
    settings = server_settings(config)
    names = settings.get("user_variables") or DEFAULT_USER_VARIABLES
    emails = settings.get("email_variables") or DEFAULT_EMAIL_VARIABLES
    agents = roles.agents_of(config or {})
    aliases = settings.get("pushers") if isinstance(settings.get("pushers"), Mapping) else {}
    for variable in [*emails, *names]:
        value = (environ.get(variable) or "").strip()
        if not value:
            continue
        wanted = value.casefold()
        agent = aliases.get(value) or aliases.get(wanted)
        if agent not in agents:
            agent = next((ident for ident in agents if ident.casefold() == wanted), None)
        if agent is None:
            agent = roles.agent_by_email(config, value)
        return Pusher(variable, value, agent)
    return Pusher(None, None, None)


# ---------------------------------------------------------------- pre-receive

@dataclass
class PushReport:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def accepted(self) -> bool:
        return not self.findings


def pre_receive(updates: Iterable[str], environ: Mapping[str, str] | None = None,
                root: Path | None = None) -> PushReport:
    """Judge the ref updates git gives a pre-receive hook ("OLD NEW REF"
    lines) in the repository ``root`` (the hook's working directory)."""
    environ = os.environ if environ is None else environ
    root = (root or Path.cwd()).resolve()
    journal.keep_quarantine()
    report = PushReport()
    default_branch = journal.git(root, "symbolic-ref", "--quiet", "HEAD", check=False).strip()
    for line in updates:
        parts = line.split()
        if len(parts) != 3:
            continue
        old, new, ref = parts
        if set(new) == {"0"}:
            if ref == default_branch:
                report.findings.append(Finding(old, None, DELETE_RULE, f"deleting {ref}, the "
                                               "desk's branch, would delete every case"))
            continue
        _judge_update(root, old, new, ref, environ, report)
    return report


def _judge_update(root: Path, old: str, new: str, ref: str, environ: Mapping[str, str],
                  report: PushReport) -> None:
    fresh = set(old) == {"0"}
    if not fresh and ref.startswith("refs/heads/"):
        ancestor = journal.run(root, "merge-base", "--is-ancestor", old, new, check=False)
        if ancestor.returncode not in (0, 1):
            raise OperationFailed(
                f"git merge-base failed: {ancestor.stderr.decode('utf-8', 'replace').strip()}",
                "check the server's repository with 'git fsck'")
        if ancestor.returncode == 1:
            report.findings.append(Finding(new, None, DELETE_RULE, (
                f"the push rewrites {ref} (not a fast-forward of {old[:10]}): what is "
                "committed stays; pull, merge and push again")))
            return
    # What no ref on the server reaches yet: the commits this push brings.
    # (Commits already on another branch were judged when they came.)
    commits = journal.walk(root, [new], [] if fresh else [old], exclude_all_refs=True)
    report.commits += len(commits)
    with audit.History(root) as history:
        config_now = _config_at(history, old if not fresh else _head(root) or new)
        pusher = find_pusher(config_now, environ)
        judge_pusher = bool(roles.agents_of(config_now or {}))
        if judge_pusher and pusher.variable is None:
            note = ("no pusher known (none of " + ", ".join(
                [*(server_settings(config_now).get("email_variables") or DEFAULT_EMAIL_VARIABLES),
                 *(server_settings(config_now).get("user_variables") or DEFAULT_USER_VARIABLES)])
                + " is set): the check that the pusher is each commit's agent is skipped")
            if note not in report.notes:
                report.notes.append(note)
            judge_pusher = False
        validator = _case_validator(history, new)
    def extra(facts: auditing.CommitFacts, raw: journal.RawCommit) -> list[Finding]:
        found = _validation(facts, validator)
        if judge_pusher:
            found += _pusher_findings(facts, config_now or {}, pusher)
        return found
    results = audit.check(root, commits, extra)
    for sha, _ in commits:
        for finding in results.get(sha, ()):
            if finding not in report.findings:  # two refs pushed with the same commit
                report.findings.append(finding)


def _head(root: Path) -> str | None:
    return journal.rev_parse(root, "HEAD")


def _config_at(history: audit.History, rev: str) -> Mapping[str, Any] | None:
    found = history.reader.read(f"{rev}:{configmod.CONFIG_FILE}")
    if found is None or found[0] != "blob":
        return None
    try:
        data = yamlio.load(found[1].decode("utf-8"), configmod.CONFIG_FILE)
    except (InvalidData, UnicodeDecodeError):
        return None
    return data if isinstance(data, Mapping) else None


def _case_validator(history: audit.History, rev: str) -> schema.Validator:
    """The case schema the pushed tip carries (schemas/), else casectl's own."""
    found = history.reader.read(f"{rev}:schemas/{schema.CASE_SCHEMA}")
    if found is not None and found[0] == "blob":
        import json

        try:
            return schema.Validator(json.loads(found[1]))
        except ValueError:
            pass
    return schema.Validator(schema.load_schema(None, schema.CASE_SCHEMA))


def _validation(facts: auditing.CommitFacts, validator: schema.Validator) -> list[Finding]:
    """`casectl validate` on each case file version the commit left (what
    the audit's own rules do not already say: the schema, the public flags,
    unique event ids, where the file lives, closed and rejected cases'
    texts) and on casectl.yaml when it changed."""
    found = []
    for change in facts.cases:
        if change.after is None:
            continue
        case = auditing.case_id_of(change.path)
        problems = validator.problems(change.after, change.path)
        if not problems:
            parts = change.path.split("/")
            where = (parts[1], parts[2]) if len(parts) == 4 else None
            try:
                problems = [p for p in schema.semantic_problems(change.after, change.path, case,
                                                                where)
                            if "replay" not in p.message]  # the audit's own rule says that
            except (KeyError, TypeError, ValueError):
                problems = []
        found += [Finding(facts.sha, case, VALIDATE_RULE, str(p)) for p in problems]
    if facts.config_changed and facts.config_after is not None:
        for where, message in configmod.problems(dict(facts.config_after), Path("/nonexistent"),
                                                 None):
            found.append(Finding(facts.sha, None, VALIDATE_RULE,
                                 f"{configmod.CONFIG_FILE}: {where}: {message}"))
    return found


def _pusher_findings(facts: auditing.CommitFacts, config: Mapping[str, Any],
                     pusher: Pusher) -> list[Finding]:
    """A casectl commit (one with an Agent trailer) pushed by someone other
    than its agent: refused unless the pusher may act for others (an
    admin, a service identity)."""
    named = [value.strip() for value in facts.trailers.get("Agent", ())]
    if not named:
        return []
    agent = named[0]
    case = (facts.trailers.get("Case") or [None])[0]
    if pusher.agent is None:
        return [Finding(facts.sha, case, auditing.PUSHER,
                        f"the pusher {pusher.value} ({pusher.variable}) is no agent of this "
                        "desk (match them by agent id or e-mail, or map them in casectl.yaml "
                        "server.pushers)")]
    if agent == pusher.agent or roles.may_impersonate(config, pusher.agent):
        return []
    return [Finding(facts.sha, case, auditing.PUSHER,
                    f"agent {pusher.agent} pushed a commit made as agent {agent}; only an "
                    "admin may push others' commits (they push their own)")]


def refusal_lines(report: PushReport) -> list[str]:
    """What the technician reads in their `git push` output."""
    lines = [f"casectl: note: {note}" for note in report.notes]
    if report.accepted:
        return lines
    for finding in report.findings:
        where = f" case {finding.case}" if finding.case else ""
        lines.append(f"casectl: refused: commit {finding.commit[:10]}{where}: "
                     f"[{finding.rule}] {finding.message}")
    # Every pushed commit is judged, not only the tip: a later commit that
    # puts things right does not make an earlier one acceptable, so the
    # named commits themselves must leave what is pushed.
    lines.append(f"casectl: push refused: {len(report.findings)} problem(s) in the pushed "
                 "commits; nothing was changed on the server. A new commit on top does not "
                 "help (each pushed commit is judged): the named commits must not be pushed. "
                 "They are only in your clone: take them out ('git rebase -i' the server's "
                 "branch to drop them, or 'git reset --keep' to it and redo the work with "
                 "casectl; 'casectl audit --since' it shows the same), then push again.")
    if any(finding.rule == auditing.PUSHER for finding in report.findings):
        lines.append("casectl: commits made as another agent are pushed by that agent (or an "
                     "admin).")
    return lines
