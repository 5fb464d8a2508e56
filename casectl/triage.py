"""Triage (visitation): how a desk judges a case before it is worked.

Three rules from the seeds, pure (no I/O, no clock):
- the priority follows from impact and urgency through the desk's matrix
  [seed 001];
- a specialist team's triage questions are answered before a case is routed
  to it, except to the desk's triage team [seed 004];
- an urgent case (a criticality-1 application down) is registered with
  everything the operations coordinator needs to act on it [seed 003].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .errors import RuleViolation, UsageError
from .model import PRIORITIES, Priority

# ---------------------------------------------------------------- priority matrix

# How many are hit: the whole hospital, some departments, single users [seed 001].
IMPACTS = ("hospital", "departments", "user")
# Whether it is time-critical for those hit.
URGENCIES = ("high", "normal")

DEFAULT_PRIORITY_MATRIX: dict[str, dict[str, str]] = {
    "hospital": {"high": Priority.CRITICAL.value, "normal": Priority.HIGH.value},
    "departments": {"high": Priority.HIGH.value, "normal": Priority.MEDIUM.value},
    "user": {"high": Priority.MEDIUM.value, "normal": Priority.LOW.value},
}


@dataclass(frozen=True)
class Assessment:
    """A priority derived from impact and urgency, with the words that say why."""

    impact: str
    urgency: str
    priority: str

    @property
    def reason(self) -> str:
        return f"impact {self.impact}, urgency {self.urgency} -> {self.priority}"


def assess(matrix: Mapping[str, Mapping[str, str]] | None, impact: str, urgency: str
           ) -> Assessment:
    """The priority the desk's matrix (or the default one) gives."""
    if impact not in IMPACTS:
        raise UsageError(f"unknown impact {impact!r}", "use one of: " + ", ".join(IMPACTS))
    if urgency not in URGENCIES:
        raise UsageError(f"unknown urgency {urgency!r}", "use one of: " + ", ".join(URGENCIES))
    table = matrix or DEFAULT_PRIORITY_MATRIX
    priority = table[impact][urgency]
    assert priority in PRIORITIES  # the config schema holds the matrix to the priorities
    return Assessment(impact, urgency, priority)


def check_assessment_inputs(impact: str | None, urgency: str | None,
                            priority: str | None) -> bool:
    """Whether impact and urgency were given (both, and without an explicit
    priority, which they would contradict or repeat)."""
    if impact is None and urgency is None:
        return False
    if impact is None or urgency is None:
        missing = "--urgency" if impact is not None else "--impact"
        raise UsageError(f"--impact and --urgency go together; {missing} is missing",
                         "give both, e.g. --impact departments --urgency high, or a priority "
                         "instead")
    if priority is not None:
        raise UsageError("a priority and --impact/--urgency exclude each other",
                         "give the priority itself, or impact and urgency to derive it from "
                         "the desk's priority matrix")
    return True


# ---------------------------------------------------------------- triage questions

def config_problems(teams: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the config schema cannot say about triage: a desk has one
    triage team."""
    triage_teams = sorted(team_id for team_id, team in teams.items() if team.get("triage"))
    if len(triage_teams) > 1:
        return [(f"teams.{triage_teams[1]}.triage",
                 f"teams {', '.join(triage_teams)} are all marked triage; the desk has one "
                 "triage team")]
    return []


def questions_of(team: Mapping[str, Any]) -> dict[str, str]:
    """A team's triage questions, key -> text (none for the triage team)."""
    if team.get("triage"):
        return {}
    return dict(team.get("questions") or {})


def unanswered(team: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, str]:
    """The questions of ``team`` the case has no answer to yet."""
    return {key: text for key, text in questions_of(team).items() if key not in answers}


def require_answers(case_id: str | None, team_id: str, team: Mapping[str, Any],
                    answers: Mapping[str, Any], *, how: str) -> None:
    """Routing to ``team`` needs every one of its questions answered
    [seed 004]; the refusal lists them, their text, and how to answer.
    ``how`` is the command to give the answers with (``--answer`` added)."""
    missing = unanswered(team, answers)
    if not missing:
        return
    listed = "".join(f"\n  - {key}: {text}" for key, text in missing.items())
    flags = " ".join(f"--answer {key}=..." for key in missing)
    before = f"casectl triage {case_id} --team {team_id} {flags}" if case_id else None
    hint = f"answer them with the same command: {how} {flags}"
    if before:
        hint += f"; or first: {before}"
    hint += "; a case that needs clarification goes to the desk's triage team first"
    raise RuleViolation("triage-questions",
                        f"team {team_id} needs {len(missing)} triage question"
                        f"{'s' if len(missing) > 1 else ''} answered first:{listed}", hint)


def reporter_answers(answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The answers the reporter may see: all but those marked internal (for
    the reporter's view; the ``triaged`` events themselves are internal)."""
    return {key: dict(entry) for key, entry in answers.items() if not entry.get("internal")}


def check_answer_keys(answers: Mapping[str, str], known: Mapping[str, str],
                      team_id: str | None) -> None:
    """Every answer must answer a question ``known`` asks: team ``team_id``'s,
    or with None any team's."""
    unknown = [key for key in answers if key not in known]
    if unknown:
        keys = ", ".join(repr(key) for key in unknown)
        where = f"team {team_id} has no triage question {keys}" if team_id is not None \
            else f"no team has a triage question {keys}"
        raise RuleViolation("known-triage-question", where,
                            "known question keys: " + (", ".join(sorted(known)) if known
                                                      else "none (add them with 'casectl team "
                                                      "set TEAM --question KEY=TEXT')"))


def answer_entries(answers: Mapping[str, str], internal: Sequence[str],
                   questions: Mapping[str, str], team_id: str | None) -> dict[str, Any]:
    """The data of a ``triaged`` event: each answer with its question's text
    (the question may change later; the answer was to this one) and whether
    the reporter may see it."""
    entries: dict[str, Any] = {}
    for key, value in answers.items():
        entries[key] = {"question": questions[key], "answer": value,
                        "internal": key in internal}
    data: dict[str, Any] = {"answers": entries}
    if team_id is not None:
        data["team"] = team_id
    return data


# ---------------------------------------------------------------- urgent cases

# The competence an urgent case needs [seed 003]: technical (field) service,
# the shared clinical applications, or the server group.
COMPETENCES = ("field-service", "clinical-applications", "server")

# The procedure's first sentence of the description: the operations
# coordinator (operativ koordinator) distributes the case [seed 003].
URGENT_PREAMBLE = "Urgent case: to be distributed by the operations coordinator."


def urgent_case(details: Mapping[str, str]) -> dict[str, str]:
    """The urgent record as stored in the case, checked for what the
    command line cannot say."""
    if details["competence"] not in COMPETENCES:
        raise UsageError(f"unknown competence {details['competence']!r}",
                         "use one of: " + ", ".join(COMPETENCES))
    return dict(details)


def urgent_subject(application: str, subject: str | None) -> str:
    """The subject names the application [seed 003]: given, it must; not
    given, it is made from it."""
    if subject is None:
        return f"URGENT: {application} down"
    if application.casefold() not in subject.casefold():
        raise RuleViolation("urgent-subject-names-application",
                            f"the subject of an urgent case must name the application "
                            f"({application})",
                            f"write it like --subject \"{application}: <what fails>\", or leave "
                            "--subject out to get \"URGENT: " + application + " down\"")
    return subject


def urgent_description(details: Mapping[str, str], description: str | None) -> str:
    """The description the procedure asks for: who distributes it first,
    then which application, department, users and servers are hit, the
    competence needed and whom to call, then the user's own words."""
    lines = [URGENT_PREAMBLE,
             f"Application: {details['application']}",
             f"Department: {details['department']}",
             f"Users affected: {details['users']}",
             f"Servers: {details['servers']}",
             f"Competence needed: {details['competence']}",
             f"Contact: {details['contact']}, {details['phone']}"]
    if description:
        lines += ["", description]
    return "\n".join(lines)
