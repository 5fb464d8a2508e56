"""The audit's rules: what one commit of a case repository may have done,
judged from its facts alone. Pure: documents and trailers in, findings out;
`app/audit.py` reads git, the server hook (app/hook.py) adds the pusher.

A commit is judged under the casectl.yaml in force BEFORE it (its first
parent's): the rules in force when the agent acted, so nobody grants
themselves a role and uses it in the same commit. Roles come from the one
table, roles.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from . import attachments, model, roles
from .merge import MISSING, _is_set  # the driver's own notion of a mergeable list

# Bump when a rule changes: cached results of older rules are not reused.
RULES_VERSION = "9"

# Rule names, as reports and --format json give them.
APPEND_ONLY = "append-only"
CASE_DELETED = "case-deleted"
CASE_FILE = "case-file"
REPLAY = "header-replay"
TRAILERS = "trailers"
AUTHOR = "author"
ROLE = "role"
CONFIG = "config"
SIGNED = "signed"
MERGE = "merge"
PUSHER = "pusher"
ATTACHMENT = "attachment"

RENUMBER = "renumber"
RENUMBERED_FROM = "Renumbered-From"


@dataclass(frozen=True)
class Finding:
    """One thing a commit did that the rules forbid."""

    commit: str
    case: str | None
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CaseChange:
    """One case file a commit touched: the document before (its first
    parent's; None when the file is new there), after (None when deleted),
    and for a merge each parent's version. A document that is not readable
    YAML is given as its reading error in ``unreadable``."""

    path: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    parents: tuple[Mapping[str, Any] | None, ...] = ()
    unreadable: str | None = None


@dataclass(frozen=True)
class FileChange:
    """One file under attachments/ a commit touched: its blob id after
    (None: deleted) and before, in each parent (None: absent there); for
    a file that is there after, the sha256 and size of its bytes."""

    path: str
    after: str | None
    before: tuple[str | None, ...]
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class CommitFacts:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    signed: bool
    trailers: Mapping[str, Sequence[str]]
    config_before: Mapping[str, Any] | None  # None: no casectl.yaml before (the root)
    config_after: Mapping[str, Any] | None
    config_changed: bool = False
    config_unreadable: str | None = None
    config_parents: tuple[Mapping[str, Any] | None, ...] = ()  # a merge's parents' configs
    cases: tuple[CaseChange, ...] = field(default_factory=tuple)
    # The desk's other configuration files the commit changed: schemas/,
    # .gitattributes, the CI files (app/audit.DESK_FILES).
    desk_files_changed: tuple[str, ...] = ()
    # The files under attachments/ it added, changed or deleted, and the
    # sha256 of each file the events it added list that its tree lacks.
    attachments_changed: tuple[FileChange, ...] = ()
    listed_missing: tuple[str, ...] = ()


def case_id_of(path: str) -> str:
    """The case id a case file's name gives (cases/YYYY/MM/<ID>.yaml)."""
    return path.rsplit("/", 1)[-1].removesuffix(".yaml")


def is_case_path(path: str) -> bool:
    return path.startswith("cases/") and path.endswith(".yaml")


def check_commit(facts: CommitFacts) -> list[Finding]:
    """Everything ``facts``' commit did against the rules."""
    found: list[Finding] = []
    if not facts.cases and not facts.config_changed and not facts.desk_files_changed \
            and not facts.attachments_changed:
        return found  # a commit of other files (a README, say): not the audit's business

    def add(case: str | None, rule: str, message: str) -> None:
        found.append(Finding(facts.sha, case, rule, message))

    for change in facts.cases:
        _check_version(change, add)
    if facts.parents:
        _check_attachments(facts, add)
    if len(facts.parents) > 1:
        _check_merge(facts, add)
        return found
    if not facts.parents:
        # The first commit creates the desk's configuration: nobody is
        # listed yet to judge it by. Its case files (if any) were checked above.
        return found
    config = facts.config_before or {}
    agent = _agent(facts, add)
    if facts.cases:
        _check_case_commit(facts, config, agent, add)
        if _require_signed(config) and not facts.signed:
            cases = sorted({case_id_of(change.path) for change in facts.cases})
            add(cases[0] if len(cases) == 1 else None, SIGNED, "the commit is not signed, and "
                "casectl.yaml requires signed commits (desk.require_signed)")
    if facts.config_changed:
        _check_config_commit(facts, config, agent, add)
    if facts.desk_files_changed:
        _check_desk_files_commit(facts, config, agent, add)
    return found


def _trailer(facts: CommitFacts, key: str) -> list[str]:
    return [value.strip() for value in facts.trailers.get(key, ())]


def _agent(facts: CommitFacts, add: Any) -> str | None:
    """The agent who made the commit: its author, matched by e-mail against
    the agents listed before it. With none listed (one person working alone)
    the Agent trailer is taken at its word."""
    config = facts.config_before or {}
    named = _trailer(facts, "Agent")
    claimed = named[0] if len(named) == 1 else None
    if not roles.agents_of(config):
        return claimed
    agent = roles.agent_by_email(config, facts.author_email, claimed)
    who = f"{facts.author_name} <{facts.author_email}>"
    if agent is None:
        add(None, AUTHOR, f"the author {who} is not an agent listed in casectl.yaml at the time")
        return claimed
    if claimed is not None and claimed != agent:
        add(None, AUTHOR, f"the author {who} is agent {agent}, but the Agent trailer says "
            f"{claimed}")
    entry = roles.agents_of(config).get(agent)
    if isinstance(entry, Mapping) and entry.get("active") is False:
        add(None, AUTHOR, f"agent {agent} was deactivated at the time and could not act")
    return agent


def _check_version(change: CaseChange, add: Any) -> None:
    """Each version a commit leaves: readable, named by its id, header ==
    replay(log)."""
    case = case_id_of(change.path)
    if change.unreadable is not None:
        add(case, CASE_FILE, f"{change.path} is not readable YAML: {change.unreadable}")
        return
    after = change.after
    if after is None:
        return
    problem = replay_problem(after, case)
    if problem is not None:
        rule, message = problem
        add(case, rule, f"{change.path}: {message}")


def replay_problem(document: Mapping[str, Any], case: str) -> tuple[str, str] | None:
    """(rule, message) when ``document`` is no case file named ``case``
    whose header equals replay(log)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("log"), list):
        return CASE_FILE, "not a case file (no log)"
    if document.get("id") != case:
        return CASE_FILE, f"the file is named {case}.yaml but holds case {document.get('id')!r}"
    try:
        replayed = model.replay(case, document["log"])
    except model.ReplayError as exc:
        return REPLAY, f"the log does not replay: {exc.message}"
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return CASE_FILE, f"an event is malformed ({type(exc).__name__}: {exc})"
    differing = model.header_differences(document, replayed)
    if differing:
        return REPLAY, (f"the header disagrees with replay(log) in {', '.join(differing)}; "
                        "the header must equal replay(log)")
    return None


def _events(document: Mapping[str, Any] | None) -> list[Any]:
    log = document.get("log") if isinstance(document, Mapping) else None
    return list(log) if isinstance(log, list) else []


def _event_id(event: Any) -> Any:
    return event.get("id") if isinstance(event, Mapping) else None


def appended_events(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
                    ) -> tuple[list[Any], list[str]]:
    """(the events ``after`` added, what it did to the events ``before``
    had): every earlier event must be there, unchanged, and in the same
    order among themselves. A new event may stand between them: the merge
    driver writes a log in replay order, so a `git pull --rebase` puts an
    event where its time belongs, not at the end."""
    old, new = _events(before), _events(after)
    problems = []
    new_by_id = {_event_id(e): e for e in new}
    for event in old:
        ident = _event_id(event)
        if ident not in new_by_id:
            problems.append(f"event {ident} ({_kind(event)}) was removed")
        elif new_by_id[ident] != event:
            problems.append(f"event {ident} ({_kind(event)}) was edited")
    old_ids = [_event_id(e) for e in old]
    known = set(old_ids)
    kept = [_event_id(e) for e in new if _event_id(e) in known]
    expected = [ident for ident in old_ids if ident in new_by_id]
    for position, (was, now) in enumerate(zip(expected, kept)):
        if was != now:
            event = new_by_id[now]
            problems.append(f"event {now} ({_kind(event)}) was moved from position "
                            f"{old_ids.index(now) + 1} to before event {was}")
            break
    return [e for e in new if _event_id(e) not in known], problems


def _kind(event: Any) -> str:
    return str(event.get("kind")) if isinstance(event, Mapping) else "?"


def _check_case_commit(facts: CommitFacts, config: Mapping[str, Any], agent: str | None,
                       add: Any) -> None:
    cases = _trailer(facts, "Case")
    actions = _trailer(facts, "Action")
    action = actions[0] if len(actions) == 1 else None
    renumbered = _renumbered(facts, action, add)
    touched = sorted({case_id_of(change.path) for change in facts.cases})
    if not (cases and actions and _trailer(facts, "Agent")):
        add(touched[0] if len(touched) == 1 else None, TRAILERS,
            f"no casectl trailers (Case, Action, Agent) on a commit that changes "
            f"{', '.join(touched)}: case files change only through casectl")
        return
    if len(cases) != 1 or len(actions) != 1:
        add(None, TRAILERS, "a casectl commit names exactly one Case and one Action")
        return
    case = cases[0]
    if action not in roles.CASE_ACTIONS:
        add(case, TRAILERS, f"Action {action!r} is not a case action")
    others = [ident for ident in touched if ident != case
              and not (renumbered and ident == renumbered)]
    if others or case not in touched:
        add(case, TRAILERS, f"the Case trailer says {case}, but the commit changes "
            f"{', '.join(touched)}: one commit, one case")
    header_before = None
    for change in facts.cases:
        ident = case_id_of(change.path)
        if renumbered and ident in (case, renumbered):
            if ident == renumbered:
                header_before = change.before
            continue
        if change.unreadable is not None:
            continue
        if change.after is None:
            add(ident, CASE_DELETED, f"{change.path} was deleted; cases are never deleted")
            continue
        if ident == case:
            header_before = change.before
        added, problems = appended_events(change.before, change.after)
        for problem in problems:
            add(ident, APPEND_ONLY, f"{problem}; events are only ever appended")
        if change.before is None and action not in ("new", None):
            add(ident, TRAILERS, f"the commit creates {ident} but its Action is {action}, "
                "not new")
        elif change.before is not None and action == "new":
            add(ident, TRAILERS, f"Action new on {ident}, which existed already")
        if not added and not problems:
            add(ident, TRAILERS, f"the commit changes {ident} but adds no event")
        actors = sorted({str(e.get("by")) for e in added if isinstance(e, Mapping)})
        named = _trailer(facts, "Agent")[0]
        if actors and actors != [named]:
            add(ident, TRAILERS, f"the Agent trailer says {named}, but the events it added are "
                f"by {', '.join(actors)}")
    if action in roles.CASE_ACTIONS and agent is not None and facts.config_before is not None:
        before = model.header_of(header_before) if isinstance(header_before, Mapping) else None
        refusal = roles.case_refusal(config, agent, action, before)
        if refusal is not None:
            add(case, ROLE, refusal + " (under casectl.yaml as it was then)")


def _renumbered(facts: CommitFacts, action: str | None, add: Any) -> str | None:
    """The old id of a valid renumber commit (the one allowed removal of a
    case file: the same log moved to a new id), else None."""
    if action != RENUMBER:
        return None
    olds, news = _trailer(facts, RENUMBERED_FROM), _trailer(facts, "Case")
    if len(olds) != 1 or len(news) != 1:
        add(None, TRAILERS, "a renumber commit names one Case and one Renumbered-From")
        return None
    by_id = {case_id_of(change.path): change for change in facts.cases}
    old, new = by_id.get(olds[0]), by_id.get(news[0])
    if old is None or new is None or old.after is not None or old.before is None \
            or new.after is None or new.before is not None:
        add(news[0], TRAILERS, f"a renumber commit moves {olds[0]} to {news[0]}: it must "
            "delete the one file and add the other")
        return None
    if _events(old.before) != _events(new.after):
        add(news[0], APPEND_ONLY, f"renumbering {olds[0]} to {news[0]} changed the log; a "
            "renumbered case keeps its log as it was")
    return olds[0]


def listed_by_added_events(cases: Sequence[CaseChange]) -> dict[str, str]:
    """sha256 -> case id of each file the events a commit added list."""
    found: dict[str, str] = {}
    for change in cases:
        if change.after is None or change.unreadable is not None:
            continue
        added, _ = appended_events(change.before, change.after)
        for event in added:
            for entry in attachments.listed(event) if isinstance(event, Mapping) else ():
                found.setdefault(entry.sha256, case_id_of(change.path))
    return found


def _check_attachments(facts: CommitFacts, add: Any) -> None:
    """Files under attachments/ are written once, by the commit of the
    event that lists them, and never changed or deleted: a commit adds one
    only where its name is the sha256 of its bytes and an event it adds
    lists it; an event it adds lists only files its tree holds. A merge
    brings files from its parents and makes none of its own."""
    cases = _trailer(facts, "Case")
    case = cases[0] if len(cases) == 1 else None
    listed = listed_by_added_events(facts.cases) if len(facts.parents) == 1 else {}
    never = "files under attachments/ are never changed or deleted once committed"
    for change in facts.attachments_changed:
        had = [old for old in change.before if old is not None]
        if change.after is None:
            if had:
                add(case, ATTACHMENT, f"{change.path} was deleted; {never}")
            continue
        if change.after in change.before:
            continue  # as one parent had it (a merge bringing it in)
        if had:
            add(case, ATTACHMENT, f"{change.path} was changed; {never}")
            continue
        if len(facts.parents) > 1:
            add(case, ATTACHMENT, f"the merge added {change.path}, which no parent had")
            continue
        named = attachments.sha256_of_path(change.path)
        if named is None:
            add(case, ATTACHMENT, f"{change.path} was added, but casectl keeps files only at "
                "attachments/<first two hex digits of the sha256>/<sha256>")
        elif change.sha256 is not None and change.sha256 != named:
            add(case, ATTACHMENT, f"{change.path} was added, but its bytes have sha256 "
                f"{change.sha256}, not the one its name says")
        elif named not in listed:
            add(case, ATTACHMENT, f"{change.path} was added, but no event the commit adds "
                "lists it; attachments come in with the event that lists them (casectl intake)")
    for sha256 in facts.listed_missing:
        owner = listed.get(sha256, case)
        add(owner, ATTACHMENT, f"an event the commit adds lists {attachments.path_of(sha256)}, "
            "which the commit does not hold")


def _require_signed(config: Mapping[str, Any] | None) -> bool:
    desk = config.get("desk") if isinstance(config, Mapping) else None
    return isinstance(desk, Mapping) and desk.get("require_signed") is True


def _check_config_commit(facts: CommitFacts, config: Mapping[str, Any], agent: str | None,
                         add: Any) -> None:
    if facts.config_unreadable is not None:
        add(None, CONFIG, f"casectl.yaml is not readable: {facts.config_unreadable}")
        return
    if facts.config_after is None:
        add(None, CONFIG, "casectl.yaml was deleted")
        return
    if agent is None:
        if roles.enforced(config):
            add(None, CONFIG, "casectl.yaml was changed by no known agent (no Agent trailer, "
                "author not listed)")
        return
    refusal = roles.config_refusal(config, facts.config_after, agent)
    if refusal is not None:
        add(None, CONFIG, refusal + " (under casectl.yaml as it was then)")


def _check_desk_files_commit(facts: CommitFacts, config: Mapping[str, Any],
                             agent: str | None, add: Any) -> None:
    """The desk's schemas/ decide what a valid case file is, .gitattributes
    how case files merge, the CI files what every push is checked against:
    part of the desk's configuration (`casectl upgrade` and `casectl ci`
    write them, and take an admin), so an admin's."""
    if not roles.enforced(config):
        return
    if agent is None or roles.CONFIG_ROLE not in roles.roles_of(config, agent):
        who = f"agent {agent}" if agent else "no known agent"
        add(None, CONFIG, f"{', '.join(facts.desk_files_changed)} changed by {who}: the "
            "desk's schemas, merge attributes and CI files are its configuration, which "
            f"takes the role {roles.CONFIG_ROLE}")


def _check_merge(facts: CommitFacts, add: Any) -> None:
    """A merge adds nothing of its own: each case file holds every event of
    every parent's version, unchanged, and no event none of them had; the
    configuration takes each part from one of its parents."""
    for change in facts.cases:
        ident = case_id_of(change.path)
        if change.unreadable is not None:
            continue
        present = [doc for doc in change.parents if doc is not None]
        if change.after is None:
            if present:
                add(ident, CASE_DELETED, f"the merge deleted {change.path}; cases are never "
                    "deleted")
            continue
        merged = {_event_id(e): e for e in _events(change.after)}
        known: set[Any] = set()
        for doc in present:
            for event in _events(doc):
                ident_event = _event_id(event)
                known.add(ident_event)
                if ident_event not in merged:
                    add(ident, MERGE, f"the merge dropped event {ident_event} ({_kind(event)})")
                elif merged[ident_event] != event:
                    add(ident, MERGE, f"the merge changed event {ident_event} ({_kind(event)})")
        for ident_event, event in merged.items():
            if ident_event not in known:
                add(ident, MERGE, f"the merge added event {ident_event} ({_kind(event)}), "
                    "which no parent had")
        _check_brought_events(ident, change, facts.config_parents, add)
    if _require_signed(facts.config_before) and facts.cases and not facts.signed:
        add(None, SIGNED, "the merge is not signed, and casectl.yaml requires signed commits "
            "(desk.require_signed)")
    if facts.config_changed and facts.config_after is not None:
        _check_merge_binding(facts.config_after, facts.config_parents, add)
        invented = _merge_invented(facts.config_after, facts.config_parents)
        if invented:
            add(None, MERGE, f"the merge changed casectl.yaml in {', '.join(invented)} in a way "
                "no parent had")


def _check_brought_events(ident: str | None, change: CaseChange,
                          configs: Sequence[Mapping[str, Any] | None], add: Any) -> None:
    """Case events made on a side where roles did not bind yet (a branch
    from before the first admin) are judged again when merged into a
    history where they do, under its configuration: each by a receiver, or
    by a handler on a case that was theirs just before the event (a new
    case's creation by either). Their own commits were judged by their
    branch's rules, so without this anyone could act outside their role
    there and merge it in."""
    if len(configs) < 2 or not isinstance(configs[0], Mapping) or not roles.enforced(configs[0]):
        return
    unbound = [i for i, config in enumerate(configs)
               if i and isinstance(config, Mapping) and not roles.enforced(config)]
    if not unbound or change.after is None:
        return
    first = {_event_id(e) for e in _events(change.parents[0] if change.parents else None)}
    brought = {_event_id(e) for i in unbound for e in _events(change.parents[i])} - first
    log = _events(change.after)
    config = configs[0]
    for position, event in enumerate(log):
        if _event_id(event) not in brought or not isinstance(event, Mapping):
            continue
        agent = str(event.get("by"))
        held = roles.roles_of(config, agent)
        if "receiver" in held or ("handler" in held and event.get("kind") == "created"):
            continue
        if "handler" in held and position:
            try:
                header = model.replay(str(change.after.get("id")), log[:position])
            except (model.ReplayError, KeyError, TypeError, ValueError):
                header = None
            if header is not None and roles.in_scope(config, agent, header):
                continue
        add(ident, ROLE, f"event {_event_id(event)} ({_kind(event)}) by {agent} was made on a "
            "branch from before roles bound and merged into a history where they do; there "
            f"agent {agent} ({', '.join(held) or 'no role'}) may not act on this case")


def _check_merge_binding(merged: Mapping[str, Any],
                         parents: Sequence[Mapping[str, Any] | None], add: Any) -> None:
    """A side whose commits were judged where roles did not bind yet (a
    branch from before the first admin) must not bring configuration
    changes into a history where they do: otherwise anyone could grant
    themselves a role on such a branch and merge it, every commit judged
    clean. Such changes are made again, by an admin, on the desk's branch."""
    sides = [parent for parent in parents if isinstance(parent, Mapping)]
    if all(roles.enforced(side) for side in sides):
        return
    for side in sides:
        if not roles.enforced(side):
            continue
        needed = roles.config_roles_needed(side, merged)
        if needed:
            add(None, CONFIG, "the merge brings casectl.yaml changes made on a side where roles "
                "did not bind yet into a history where they do; such changes take the role "
                f"{' and '.join(needed)} there: have an admin make them on the desk's branch")
            return


def _merge_invented(merged: Mapping[str, Any],
                    parents: Sequence[Mapping[str, Any] | None]) -> list[str]:
    """The parts of a merged configuration that no parent had as they are,
    by key path, in the merge driver's own terms (merge.merge_config): a
    mapping is taken key by key (a key either side dropped may be absent),
    a list of distinct plain values as a set (each item from a parent), any
    other value whole from one parent."""
    sides = [p for p in parents if isinstance(p, Mapping)]
    invented: list[str] = []
    _invented_at(merged, sides, (), invented)
    return invented


def _invented_at(value: Any, sides: Sequence[Any], path: tuple[str, ...],
                 invented: list[str]) -> None:
    if any(side == value for side in sides):
        return
    if isinstance(value, Mapping):
        maps = [side for side in sides if isinstance(side, Mapping)]
        if maps:
            for key in dict.fromkeys([*value, *(k for side in maps for k in side)]):
                _invented_at(value.get(key, MISSING), [side.get(key, MISSING) for side in maps],
                             (*path, str(key)), invented)
            return
    if _is_set(value):
        lists = [side for side in sides if _is_set(side)]
        had = {item for side in lists for item in side}
        # Each item from some parent, and none that every parent held
        # dropped: a revoke hidden in a merge is no merge.
        kept = all(item in value for item in lists[0] if all(item in side for side in lists)) \
            if lists else False
        if had and kept and all(item in had for item in value):
            return
    where = ".".join(path) or "(the whole file)"
    if where not in invented:
        invented.append(where)
