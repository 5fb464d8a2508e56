"""The roles an agent can hold [seed 002] and the one table of what each
may do. The command line refuses by it before an action, `casectl audit`
and the server hook judge every past commit by it, under the casectl.yaml
in force before that commit. Pure: plain dicts in, a refusal text out.

Roles are enforced from the first configuration that grants someone
``admin``: a desk with no agents is one person working alone, and a desk
whose agents hold no admin role works as before (any listed agent
administers) so an existing desk upgrades without locking itself out.
"""

from __future__ import annotations

from typing import Any, Mapping

ROLES = ("receiver", "handler", "admin", "permission-admin", "auditor")

# Case actions (the Action trailer of a case commit) and the roles that may
# take them. "any" means on every case; "own" only on a case in the
# agent's scope: assigned to them, to one of their teams, or holding a task
# given to them (see ``in_scope``). Receivers register and distribute
# [seed 002: "watches the shared inbox and distributes cases to handlers or
# groups, and redistributes when needed"]; handlers work the cases that are
# theirs [seed 002: "answers cases assigned to them or to their group"].
ANY = "any"
OWN = "own"
CASE_ACTIONS: dict[str, dict[str, str]] = {
    "new": {"receiver": ANY, "handler": ANY},
    "assign": {"receiver": ANY},
    "triage": {"receiver": ANY, "handler": OWN},
    "handover": {"receiver": ANY, "handler": OWN},
    "take": {"receiver": ANY, "handler": OWN},
    "priority": {"receiver": ANY, "handler": OWN},
    "reject": {"receiver": ANY, "handler": OWN},
    "log": {"receiver": ANY, "handler": OWN},
    "note": {"receiver": ANY, "handler": OWN},
    "email": {"receiver": ANY, "handler": OWN},
    "reply": {"receiver": ANY, "handler": OWN},
    "contact": {"receiver": ANY, "handler": OWN},
    "edit": {"receiver": ANY, "handler": OWN},
    "start": {"handler": OWN},
    "wait": {"handler": OWN},
    "solve": {"handler": OWN},
    "close": {"handler": OWN},
    "close-unreachable": {"handler": OWN},
    "reopen": {"receiver": ANY, "handler": OWN},
    "task-add": {"receiver": ANY, "handler": OWN},
    "task-done": {"handler": OWN},
    # A case whose id another clone minted first gets a new id; whoever
    # may act on it may move it (the log is unchanged).
    "renumber": {"receiver": ANY, "handler": OWN},
}

# Desk configuration: any change needs admin, a change to anyone's roles
# needs permission-admin [seed 002: the permission administrator grants rights].
CONFIG_ROLE = "admin"
GRANT_ROLE = "permission-admin"
# Who may act in another agent's name (--as): admins, and service
# identities (scripts, mail intake) named in casectl.yaml.
IMPERSONATE_ROLE = "admin"


def agents_of(config: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    agents = config.get("agents") if isinstance(config, Mapping) else None
    return agents if isinstance(agents, Mapping) else {}


def roles_of(config: Mapping[str, Any], agent_id: str) -> list[str]:
    agent = agents_of(config).get(agent_id)
    roles = agent.get("roles") if isinstance(agent, Mapping) else None
    return [role for role in roles if isinstance(role, str)] if isinstance(roles, list) else []


def agent_by_email(config: Mapping[str, Any] | None, email: str,
                   preferred: str | None = None) -> str | None:
    """The agent whose e-mail is ``email``, compared without case (how the
    session, the audit, the hook and mail intake know who someone is),
    ``preferred`` first when two share an address (a hand-edited file)."""
    agents = agents_of(config or {})
    wanted = email.casefold()
    matches = sorted(ident for ident, agent in agents.items()
                     if isinstance(agent, Mapping)
                     and str(agent.get("email", "")).casefold() == wanted)
    if preferred in matches:
        return preferred
    return matches[0] if matches else None


def enforced(config: Mapping[str, Any]) -> bool:
    """Whether roles bind under this configuration: from the first one in
    which an agent holds ``admin``."""
    return any(CONFIG_ROLE in roles_of(config, ident) for ident in agents_of(config))


def is_service(config: Mapping[str, Any], agent_id: str) -> bool:
    agent = agents_of(config).get(agent_id)
    return isinstance(agent, Mapping) and agent.get("service") is True


def in_scope(config: Mapping[str, Any], agent_id: str, case: Mapping[str, Any] | None) -> bool:
    """A case is an agent's to work when it is assigned to them, to one of
    their teams, or holds an open task given to them or their team."""
    if not case:
        return False
    agent = agents_of(config).get(agent_id)
    teams = agent.get("teams") if isinstance(agent, Mapping) else None
    teams = [t for t in teams if isinstance(t, str)] if isinstance(teams, list) else []
    if case.get("assignee") == agent_id or (case.get("team") is not None
                                            and case.get("team") in teams):
        return True
    for task in case.get("tasks") or ():
        if isinstance(task, Mapping) and task.get("status", "open") == "open" and (
                task.get("to") == agent_id
                or (task.get("to_kind") == "team" and task.get("to") in teams)):
            return True
    return False


def case_refusal(config: Mapping[str, Any], agent_id: str, action: str,
                 case: Mapping[str, Any] | None) -> str | None:
    """Why ``agent_id`` may not take ``action`` on ``case`` (its header
    before the action; None for a new case) under ``config``, or None when
    they may."""
    if not enforced(config):
        return None
    held = roles_of(config, agent_id)
    allowed = CASE_ACTIONS.get(action)
    if allowed is None:
        return f"{action!r} is not a case action casectl knows"
    scopes = {allowed[role] for role in held if role in allowed}
    if ANY in scopes or (OWN in scopes and in_scope(config, agent_id, case)):
        return None
    if OWN in scopes:
        return (f"agent {agent_id} may {action} only cases assigned to them or their team"
                + (f" (this one is {_holder(case)})" if case else ""))
    needed = " or ".join(sorted(allowed))
    return (f"agent {_who(config, agent_id)} may not {action}: "
            f"that takes the role {needed}")


def _holder(case: Mapping[str, Any]) -> str:
    who = [f"agent {case['assignee']}"] if case.get("assignee") else []
    who += [f"team {case['team']}"] if case.get("team") else []
    return "with " + " and ".join(who) if who else "unassigned"


def config_roles_needed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The roles a change of casectl.yaml from ``before`` to ``after`` takes:
    admin for any change, permission-admin as well when it is a grant: any
    agent's roles or service flag changed (an agent added with roles is a
    grant too), or the e-mail address or name of an agent who holds a role
    or is a service identity (they are how the client, audit and hook know
    who acts: pointing one at another person hands that person the rights)."""
    if before == after:
        return []
    needed = [CONFIG_ROLE]
    before_agents, after_agents = agents_of(before), agents_of(after)
    for ident in set(before_agents) | set(after_agents):
        if (sorted(roles_of(before, ident)) != sorted(roles_of(after, ident))
                or is_service(before, ident) != is_service(after, ident)
                or _identity_moved(before_agents.get(ident), after_agents.get(ident))):
            needed.append(GRANT_ROLE)
            break
    return needed


def _identity_moved(before: Any, after: Any) -> bool:
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return False
    privileged = bool(before.get("roles")) or before.get("service") is True
    return privileged and any(
        str(before.get(key) or "").casefold() != str(after.get(key) or "").casefold()
        for key in ("email", "name"))


def config_refusal(before: Mapping[str, Any], after: Mapping[str, Any],
                   agent_id: str) -> str | None:
    """Why ``agent_id`` may not change casectl.yaml from ``before`` to
    ``after``, judged under ``before`` (the rules in force when they acted),
    or None."""
    if not enforced(before):
        return None
    held = roles_of(before, agent_id)
    missing = [role for role in config_roles_needed(before, after) if role not in held]
    if not missing:
        return None
    what = ("change anyone's roles or identity" if GRANT_ROLE in missing
            else "change the desk's configuration")
    return (f"agent {_who(before, agent_id)} may not {what}: "
            f"that takes the role {' and '.join(missing)}")


def lacks_role(config: Mapping[str, Any], agent_id: str, role: str, what: str
                 ) -> str | None:
    """Why ``agent_id`` may not do ``what``, a task that takes ``role`` once
    roles bind (taking new schemas or writing CI files: admin; the activity
    report: auditor), or None."""
    if not enforced(config) or role in roles_of(config, agent_id):
        return None
    return f"agent {_who(config, agent_id)} may not {what}: that takes the role {role}"


def _who(config: Mapping[str, Any], agent_id: str) -> str:
    """"kari (receiver, handler)": an agent and the roles they hold, for refusals."""
    return f"{agent_id} ({', '.join(roles_of(config, agent_id)) or 'no role'})"


def is_active(config: Mapping[str, Any], agent_id: str) -> bool:
    """Whether a listed agent may act: until ``active: false``."""
    agent = agents_of(config).get(agent_id)
    return not (isinstance(agent, Mapping) and agent.get("active") is False)


def may_impersonate(config: Mapping[str, Any], runner: str) -> bool:
    """Whether the person running casectl, agent ``runner``, may act in
    another agent's name (--as), or push others' commits: an active admin
    or service identity (a deactivated one acts in nobody's name)."""
    return not enforced(config) or (is_active(config, runner) and (
        IMPERSONATE_ROLE in roles_of(config, runner) or is_service(config, runner)))


def warnings(config: Mapping[str, Any]) -> list[str]:
    """What `casectl validate` says about a configuration whose roles do
    not bind yet."""
    if agents_of(config) and not enforced(config):
        return ["no agent holds the admin role, so roles are not enforced and any listed "
                "agent may change the desk and act as any other; grant it to the desk's "
                "administrators (casectl agent set AGENT --add-role admin --add-role "
                "permission-admin): roles bind from that commit on"]
    return []


# Protected identity [seed 002: "skyddad identitet"]: the person's details
# and the case's free text are seen only by those who need them. The
# auditor reads everything and alone runs the activity report.
AUDIT_ROLE = "auditor"


def may_see_protected(config: Mapping[str, Any], agent_id: str | None,
                      case: Mapping[str, Any], registered_by: str | None = None) -> bool:
    """Whether ``agent_id`` may see the person and the free text of a case
    whose reporter is protected: its assignee, an agent with an open task on
    it given to them by name, the agent who registered it
    (``registered_by``) and auditors. Not its team as a whole: a protected
    person's case is need-to-know, and a receiver who routes it to a team
    names the one who works it. On a desk with no agents listed one person
    works alone and sees everything; an unknown reader (None) sees nothing.
    Evaluated whether or not roles are enforced: protection is the person's
    right, not a permission of the desk."""
    if not agents_of(config):
        return True
    if agent_id is None:
        return False
    if AUDIT_ROLE in roles_of(config, agent_id):
        return True
    if case.get("assignee") == agent_id or (registered_by is not None
                                            and registered_by == agent_id):
        return True
    return any(isinstance(task, Mapping) and task.get("status", "open") == "open"
               and task.get("to_kind", "agent") == "agent" and task.get("to") == agent_id
               for task in case.get("tasks") or ())


def activity_report_refusal(config: Mapping[str, Any], agent_id: str) -> str | None:
    """Why ``agent_id`` may not run `casectl report activity` (who acted on a
    person's cases), or None: it takes the auditor role once roles are
    enforced [seed 002: the auditor follows up the logs]."""
    return lacks_role(config, agent_id, AUDIT_ROLE, "run the activity report")
