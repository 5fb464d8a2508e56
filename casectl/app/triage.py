"""Triage at the application level: the priority matrix, triage questions
and urgent cases, as they join `new`, `priority`, `assign`, `handover` and
the `triage` command. The rules themselves are in casectl/triage.py; this
module reads casectl.yaml for them and shapes the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import triage, workflow
from ..config import Config
from ..errors import RuleViolation, UsageError
from ..model import Case
from .inputs import clean_line, clean_text


@dataclass(frozen=True)
class Answers:
    """Answers to triage questions given on one command line, key -> text;
    ``internal`` keys are never shown to the reporter."""

    given: Mapping[str, str] = field(default_factory=dict)
    internal: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.given)


NO_ANSWERS = Answers()


def answers(public: Mapping[str, str], internal: Mapping[str, str]) -> Answers:
    """--answer and --internal-answer together; a key in both is a slip."""
    twice = sorted(set(public) & set(internal))
    if twice:
        raise UsageError(f"question {twice[0]} is answered by both --answer and "
                         "--internal-answer", "answer each question once")
    given = {key: clean_text(value, f"the answer to {key}", required=True) or ""
             for key, value in {**public, **internal}.items()}
    return Answers(given, frozenset(internal))


# ---------------------------------------------------------------- priority matrix

def matrix(config: Config) -> dict[str, dict[str, str]] | None:
    """The desk's priority matrix from casectl.yaml, or None for the default."""
    return config.data.get("priority_matrix")


def assessment(config: Config, impact: str | None, urgency: str | None,
               priority: str | None) -> triage.Assessment | None:
    """The matrix's verdict when impact and urgency are given."""
    if not triage.check_assessment_inputs(impact, urgency, priority):
        return None
    assert impact is not None and urgency is not None
    return triage.assess(matrix(config), impact.lower(), urgency.lower())


def assessed_priority(case: Case, assessment: triage.Assessment, reason: str | None
                      ) -> list[workflow.Step]:
    """`priority ID --impact --urgency`: the matrix's level, with the inputs
    and the reason in the event (the user's own words first, when given)."""
    why = f"{reason} ({assessment.reason})" if reason else assessment.reason
    steps = workflow.set_priority(case, assessment.priority, why)
    for _, data in steps:
        data.update(impact=assessment.impact, urgency=assessment.urgency)
    return steps


def apply_assessment(data: dict[str, Any], assessment: triage.Assessment | None) -> None:
    """Created data with the matrix's priority, its inputs and its reason."""
    if assessment is None:
        return
    data.update(priority=assessment.priority, impact=assessment.impact,
                urgency=assessment.urgency, priority_reason=assessment.reason)


# ---------------------------------------------------------------- triage questions

def _team(config: Config, team_id: str) -> dict[str, Any]:
    return config.teams.get(team_id) or {}


def check_known_answers(config: Config, given: Answers, team_id: str | None) -> None:
    """Answers must answer questions that exist: the routed-to team's, or
    (with no team named) any team's."""
    if not given:
        return
    if team_id is not None:
        triage.check_answer_keys(given.given, triage.questions_of(_team(config, team_id)),
                                 team_id)
    else:
        triage.check_answer_keys(given.given, all_questions(config), None)


def all_questions(config: Config) -> dict[str, str]:
    """Every team's questions by key (the first team's text for a shared key)."""
    found: dict[str, str] = {}
    for team_id in sorted(config.teams):
        for key, text in triage.questions_of(config.teams[team_id]).items():
            found.setdefault(key, text)
    return found


def routing_steps(config: Config, case: Case, team_id: str | None, given: Answers,
                  how: str) -> list[workflow.Step]:
    """Before a case moves into ``team_id``: a ``triaged`` event for the
    answers given with the command, after refusing when the team's
    questions are not all answered (by these answers or earlier ones).
    ``team_id`` None or the case's own team is no move: nothing is asked."""
    if team_id is None or team_id == case.get("team"):
        if given:
            raise UsageError("--answer is for a case moving to another team",
                             f"record answers with: casectl triage {case['id']} --answer "
                             "KEY=VALUE")
        return []
    team = _team(config, team_id)
    check_known_answers(config, given, team_id)
    known = {**(case.get("answers") or {}), **given.given}
    triage.require_answers(case.get("id"), team_id, team, known, how=how)
    if not given:
        return []
    return [("triaged", triage.answer_entries(given.given, sorted(given.internal),
                                              triage.questions_of(team), team_id))]


def triage_case(config: Config, case: Case, team_id: str | None, given: Answers
                ) -> list[workflow.Step]:
    """`casectl triage ID --answer ...`: record answers before routing."""
    workflow.require_not_finished(case, "triage")
    check_known_answers(config, given, team_id)
    questions = triage.questions_of(_team(config, team_id)) if team_id is not None \
        else all_questions(config)
    old = case.get("answers") or {}
    if all(key in old and old[key]["answer"] == value and
           old[key]["internal"] == (key in given.internal) for key, value in given.given.items()):
        raise RuleViolation("triage-changes-something",
                            f"case {case['id']} has these answers already",
                            "give a new answer to change one")
    return [("triaged", triage.answer_entries(given.given, sorted(given.internal), questions,
                                              team_id))]


# ---------------------------------------------------------------- urgent cases

@dataclass(frozen=True)
class Urgent:
    """What an urgent case is registered with [seed 003]; any may be missing
    on the command line, and all missing ones are named at once."""

    application: str | None = None
    department: str | None = None
    users: str | None = None
    servers: str | None = None
    competence: str | None = None
    contact: str | None = None


# The flags, in the order the procedure asks for them.
URGENT_FLAGS = (("application", "--application APP"), ("department", "--department D"),
                ("users", "--users TEXT"), ("servers", "--servers TEXT"),
                ("competence", "--competence " + "|".join(triage.COMPETENCES)),
                ("contact", "--contact NAME"))


def urgent_details(urgent: Urgent, phone: str | None) -> dict[str, Any]:
    """The pieces of an urgent case, checked, or one refusal naming every
    missing one."""
    missing = [flag for name, flag in URGENT_FLAGS if getattr(urgent, name) is None]
    if phone is None:
        missing.append("--phone P (the contact's mobile number)")
    if missing:
        raise RuleViolation("urgent-case-details",
                            f"an urgent case is missing {len(missing)} of its details: "
                            + ", ".join(missing),
                            "give them all: casectl new --urgent --application APP "
                            "--department D --users TEXT --servers TEXT --competence "
                            + "|".join(triage.COMPETENCES) + " --contact NAME --phone P")
    details = {name: clean_line(getattr(urgent, name), f"--{name}", required=True)
               for name, _ in URGENT_FLAGS}
    details["phone"] = phone
    return triage.urgent_case(details)


# ---------------------------------------------------------------- new

@dataclass(frozen=True)
class Intake:
    """What `casectl new` takes beyond the plain case: impact and urgency,
    answers to the triage questions, the pieces of an urgent case."""

    impact: str | None = None
    urgency: str | None = None
    answers: Answers = NO_ANSWERS
    urgent: Urgent | None = None


NO_INTAKE = Intake()


def prepare_new(config: Config, data: dict[str, Any], intake: Intake, *, routed: bool,
                priority_given: bool) -> list[workflow.Step]:
    """Apply ``intake`` to a new case's created data; the events that follow
    ``created`` (the answers given). ``routed``: the team was named (by
    --team or --assignee), so its triage questions are asked;
    ``priority_given``: --priority was given."""
    if intake.urgent is not None:
        if intake.impact is not None or intake.urgency is not None:
            raise UsageError("--urgent and --impact/--urgency exclude each other",
                             "an urgent case is critical; leave out --impact and --urgency")
        if priority_given and data["priority"] != "critical":
            raise UsageError(f"an urgent case is critical, not {data['priority']}",
                             "leave out --priority")
        _apply_urgent(data, intake.urgent)
    else:
        apply_assessment(data, assessment(config, intake.impact, intake.urgency,
                                          data["priority"] if priority_given else None))
    team_id = data.get("team")
    if not routed:
        if intake.answers:
            raise UsageError("--answer is for a case sent to a team with --team or --assignee",
                             "record answers later with: casectl triage ID --answer KEY=VALUE")
        return []
    return routing_steps(config, {"id": None, "team": None, "answers": {}}, team_id,
                         intake.answers, how="casectl new ... --team " + str(team_id))


def _apply_urgent(data: dict[str, Any], urgent: Urgent) -> None:
    reporter = data.get("reporter") or {}
    details = urgent_details(urgent, reporter.get("phone"))
    data["urgent"] = details
    data["priority"] = "critical"
    data["subject"] = triage.urgent_subject(details["application"], data.get("subject"))
    data["description"] = triage.urgent_description(details, data.get("description"))
    if not reporter.get("name"):
        # The contact person is who the desk calls back: with no other
        # reporter named, they are the one who reported it.
        data["reporter"] = {**{"name": None, "email": None, "phone": None, "org": None},
                            **reporter, "name": details["contact"]}


def phone_in_message(config: Config, case: Case) -> str | None:
    """What to do after registering an urgent case: phone it in [seed 003]."""
    if not case.get("urgent"):
        return None
    phone = (config.data.get("desk") or {}).get("phone")
    if phone:
        return (f"Urgent case {case['id']} registered: now phone the desk at {phone} and give "
                f"the case number {case['id']}; say it is to be distributed by the operations "
                "coordinator and concerns a criticality-1 application.")
    return (f"Urgent case {case['id']} registered: now phone the desk and give the case number "
            f"{case['id']}. casectl.yaml has no desk.phone, so the number is not known here "
            "(set it with 'casectl init --phone' on a new desk, or add phone: under desk: in "
            "casectl.yaml).")
