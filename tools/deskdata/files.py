"""Generated cases as case files, built with casectl's own functions.

Writing files directly (rather than running `casectl new` and friends for
every event) is what lets the benchmark make 100,000 cases in minutes; using
casectl's make_event, with_header and dump keeps the files exactly what
casectl itself would write (header == replay(log), real ids).
"""

from __future__ import annotations

from typing import Any

from casectl import clock, ids, model, store, yamlio

from .cases import CasePlan


def case_document(plan: CasePlan) -> dict[str, Any]:
    """The case of ``plan``, with fresh ids (their random tails differ run to run)."""
    case_id = ids.new_case_id(plan.created)
    log = [model.make_event(ids.new_event_id(step.at), clock.isoformat(step.at), step.by,
                            step.kind, step.data)
           for step in plan.steps]
    return model.with_header(case_id, log)


def case_file(plan: CasePlan) -> tuple[str, str]:
    """(path relative to the repository, YAML text) of the case of ``plan``."""
    case = case_document(plan)
    return store.case_relpath(case["id"]), yamlio.dump(case)
