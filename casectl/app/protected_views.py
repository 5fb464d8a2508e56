"""What the acting agent may see of a protected person's case (protected
identity, protection.py; the rule is roles.may_see_protected): every
command that reads a case, a row of cases or a case's history asks here.

Reading is by the acting agent (--as, CASECTL_AGENT, the git identity).
One who cannot be named (a git identity that is no agent, on a desk that
lists agents) reads as a stranger: protected cases masked.
"""

from __future__ import annotations

from typing import Any, Mapping

from .. import protection, roles
from ..errors import CasectlError, RuleViolation
from .session import Session

# What the query index is told about the reader (index.query / search /
# tasks ``hide_for``): None when they see every case in full, else their
# agent id ("" for a reader who is no agent, who matches no case).
EVERYONE = None
STRANGER = ""


def viewer(session: Session) -> str | None:
    """The acting agent, or None when no agent can be named."""
    try:
        return session.actor()[0]
    except CasectlError:
        return None


def may_see(session: Session, who: str | None, case: Mapping[str, Any]) -> bool:
    """Whether ``who`` sees ``case`` (header with its log) in full."""
    if not protection.is_protected(case):
        return True
    return roles.may_see_protected(session.config.data, who, case,
                                   protection.registrant(case))


def shown(session: Session, who: str | None, case: Mapping[str, Any]) -> dict[str, Any]:
    """The case as ``who`` may see it: itself, or masked."""
    return dict(case) if may_see(session, who, case) else protection.masked_case(case)


def require_sight(session: Session, who: str | None, case: Mapping[str, Any],
                  what: str) -> None:
    """Refuse ``what`` on a protected case to one who may not see it."""
    if not may_see(session, who, case):
        raise RuleViolation(
            "protected-identity", f"case {case['id']} has a protected reporter and "
            f"{'agent ' + who if who else 'you'} may not see it, so may not {what} it",
            "ask its assignee, or an auditor; those who may see it: the assignee, an agent "
            "with an open task on it, whoever registered it, and auditors")


def hide_for(session: Session) -> str | None:
    """The acting agent as the query index filters and masks for: EVERYONE
    on a desk with no agents (without asking git who is acting) and for
    auditors, else the agent (STRANGER when none can be named)."""
    config = session.config.data
    if not roles.agents_of(config):
        return EVERYONE
    who = viewer(session)
    if who is None:
        return STRANGER
    if roles.AUDIT_ROLE in roles.roles_of(config, who):
        return EVERYONE
    return who
