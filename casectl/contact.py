"""Contact attempts, and closing a solved case whose reporter cannot be
reached [seed 004].

Before a case is closed the reporter confirms the solution works; when
they cannot be reached, the desk closes it after at least three attempts
since it was solved, by both phone and e-mail, over at least two different
calendar weeks (ISO weeks, in the desk's time zone). A ``--reached``
attempt means the reporter answered: from then on the case waits for their
confirmation, and only attempts after it count towards closing it as
unreachable. Pure: the time zone is passed in.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Mapping

from .errors import RuleViolation
from .model import ordered
from .workflow import Step, require_not_finished, require_tasks_done, transition

VIA = ("phone", "email")
ATTEMPTS_NEEDED = 3
WEEKS_NEEDED = 2
_VIA_WORDS = {"phone": "phone", "email": "e-mail"}


def attempt(case: Mapping[str, Any], via: str, reached: bool, note: str | None) -> list[Step]:
    require_not_finished(case, "contact")
    if via not in VIA:  # the command line checks too; the domain must not trust it
        raise RuleViolation("known-contact-way", f"unknown way of contact {via!r}",
                            "use --via phone or --via email")
    data: dict[str, Any] = {"via": via, "reached": reached}
    if note:
        data["note"] = note
    return [("contact", data)]


def counted_attempts(case: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]],
                                                        Mapping[str, Any] | None]:
    """The unanswered attempts that count towards closing as unreachable
    (since the case was last solved and since the reporter was last
    reached), and the last attempt that reached them, if it came after."""
    solved = datetime.fromisoformat(case["solved"])
    counted: list[Mapping[str, Any]] = []
    reached = None
    for event in ordered(case["log"]):
        if event["kind"] != "contact" or datetime.fromisoformat(event["at"]) < solved:
            continue
        if event["data"]["reached"]:
            counted, reached = [], event
        else:
            counted.append(event)
    return counted, reached


def missing(case: Mapping[str, Any], tz: tzinfo) -> list[str]:
    """What is missing before the case may be closed as unreachable, in
    words ("2 of 3 attempts; no phone attempt yet; all in week 48"); empty
    when nothing is."""
    attempts, _ = counted_attempts(case)
    gaps = []
    if len(attempts) < ATTEMPTS_NEEDED:
        gaps.append(f"{len(attempts)} of {ATTEMPTS_NEEDED} attempts")
    made = {event["data"]["via"] for event in attempts}
    gaps += [f"no {_VIA_WORDS[via]} attempt yet" for via in VIA if via not in made]
    weeks = sorted({datetime.fromisoformat(event["at"]).astimezone(tz).isocalendar()[:2]
                    for event in attempts})
    if not weeks:
        gaps.append(f"none in any calendar week yet ({WEEKS_NEEDED} different weeks needed)")
    elif len(weeks) < WEEKS_NEEDED:
        gaps.append(f"all in week {weeks[0][1]}")
    return gaps


def close_unreachable(case: Mapping[str, Any], solution: str | None, tz: tzinfo) -> list[Step]:
    if case["status"] != "solved":
        transition(case, "close")  # finished cases: the usual refusal and way out
        raise RuleViolation(
            "unreachable-after-solved",
            f"case {case['id']} is {case['status']}; only a solved case can be closed because "
            "the reporter cannot be reached",
            f"solve it first (casectl close {case['id']} --solution TEXT), then try to reach "
            f"the reporter: casectl contact {case['id']} --via phone --no-answer")
    require_tasks_done(case, "close")
    attempts, reached = counted_attempts(case)
    gaps = missing(case, tz)
    if gaps:
        since = "since it was solved"
        if reached is not None:
            when = datetime.fromisoformat(reached["at"]).astimezone(tz)
            since = (f"since the reporter was reached by {_VIA_WORDS[reached['data']['via']]} "
                     f"on {when:%Y-%m-%d %H:%M}")
        raise RuleViolation(
            "unreachable-needs-attempts",
            f"case {case['id']} cannot be closed as unreachable yet: " + "; ".join(gaps)
            + f" ({since})",
            f"it takes {ATTEMPTS_NEEDED} unanswered attempts by both phone and e-mail in "
            f"{WEEKS_NEEDED} different calendar weeks; record each with casectl contact "
            f"{case['id']} --via phone|email --no-answer, or close it with --confirmed when "
            "the reporter confirms")
    data: dict[str, Any] = {"unreachable": True, "attempts": len(attempts)}
    if solution:
        data["solution"] = solution
    return [("closed", data)]
