"""Tasks, contact attempts and the reporter's replies: the actions and
queries of the desk rules in seeds 000 and 004 (issue 6, items 5-8)."""

from __future__ import annotations

from typing import Any

from .. import contact, model, tasks
from ..errors import UsageError
from ..model import Case
from .actions import _mailing, change_case, load_case
from .inputs import clean_subject, clean_text
from .session import Session


def add_task(session: Session, case_id: str, *, to: str, subject: str | None,
             need: str | None = None, email: bool = True) -> tuple[Case, dict[str, Any]]:
    """Delegate part of a case; the case and the new task. ``email``: the
    task's assignee is told by mail [seed 000: "Du kan også velge om agenten
    skal få et varsel på E-post"]."""
    to_kind, target = session.config.receiver(to)
    text = clean_subject(subject or "")
    need_text = clean_text(need, "the need")
    case = change_case(session, case_id, "task-add", lambda case: tasks.add(
        case, to=target, to_kind=to_kind, subject=text, need=need_text),
        mail=_mailing(session, "task") if email else None)
    return case, case["tasks"][-1]


def task_done(session: Session, case_id: str, task: str, note: str | None) -> Case:
    text = clean_text(note, "the note")
    return change_case(session, case_id, "task-done",
                       lambda case: tasks.done(case, task, text))


def list_tasks(session: Session, *, assignee: str | None = None, open_only: bool = False
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """Tasks across all cases, from the query index. ``me`` is the acting
    agent: the tasks given to them and to their teams."""
    from .. import index
    from .queries import _operation_warnings

    agents: list[str] = []
    teams: list[str] = []
    if assignee is not None and assignee.strip().lower() == "me":
        me = session.actor()[0]
        agents = [me]
        teams = list(session.config.agents.get(me, {}).get("teams") or [])
    elif assignee is not None:
        kind, target = session.config.named(assignee)
        (agents if kind == "agent" else teams).append(target)
    from . import protected_views

    found, warnings = index.tasks(session.root, agents=agents, teams=teams,
                                  open_only=open_only, filtered=assignee is not None,
                                  hide_for=protected_views.hide_for(session))
    return found, warnings + _operation_warnings(session)


def record_contact(session: Session, case_id: str, *, via: str, reached: bool,
                   note: str | None, email: bool = True) -> Case:
    """A contact attempt. One by e-mail that did not reach the reporter
    (yet) is sent as a mail, unless ``email`` is False (a mail the agent
    wrote in their own client)."""
    text = clean_text(note, "the note")
    return change_case(session, case_id, "contact",
                       lambda case: contact.attempt(case, via, reached, text),
                       mail=_mailing(session, "contact") if email and via == "email"
                       and not reached else None)


def close_unreachable(session: Session, case_id: str, solution: str | None) -> Case:
    text = clean_text(solution, "the solution")
    tz = session.now().tzinfo
    assert tz is not None
    return change_case(session, case_id, "close-unreachable",
                       lambda case: contact.close_unreachable(case, text, tz))


def reporter_view(session: Session, case_id: str) -> Case:
    """Exactly what the reporter of a case may see (model.reporter_view).
    Reading it marks nothing read: it is not the agent reading the case.
    An agent who may not see a protected reporter's case gets that view of
    the masked case (protected_views.py): the reporter's own view is no way
    around the mask."""
    from .. import protection
    from . import protected_views

    case = load_case(session, case_id)[1]
    if protected_views.may_see(session, protected_views.viewer(session), case):
        return model.reporter_view(case)
    return {**model.reporter_view(protection.masked_case(case)), "protected": True,
            "masked": True}


def check_exclusive(**flags: bool) -> None:
    given = [f"--{name.replace('_', '-')}" for name, on in flags.items() if on]
    if len(given) > 1:
        raise UsageError(" and ".join(given) + " exclude each other", "give one of them")
