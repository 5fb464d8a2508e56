"""SLA clocks of cases: one case's report (casectl sla ID), and the open
cases breached or at risk, from the query index (casectl sla, --check).
Which policy judges a case is slapolicy.py's business."""

from __future__ import annotations

from typing import Any

from .. import clock, model, sla
from ..slapolicy import judge
from .actions import load_case
from .session import Session


def case_clocks(session: Session, case_id: str) -> tuple[dict[str, Any], list[str]]:
    """`casectl sla ID`: the report, and notes for the user."""
    _, case = load_case(session, case_id)
    created = model.ordered(case["log"])[0].get("data") or {}
    blob = created.get("config")
    found = judge(session.root, session.state, session.config.data, [blob] if blob else [])
    level, reaction, resolution, policy, pinned = found.clocks(case, session.now())
    notes = []
    if blob and not pinned:
        notes.append(f"the casectl.yaml this case arrived under ({blob[:10]}) is not in this "
                     "repository; its clocks follow the current casectl.yaml (git fetch may "
                     "bring it)")
    recorded = model.header_value(case, "sla")
    if recorded and recorded != level:
        notes.append(f"level {recorded!r} is not defined in casectl.yaml; the desk default "
                     f"{level!r} applies")
    tz = clock.zone(policy["timezone"])
    return sla.report(case["id"], level, case["priority"], reaction, resolution, tz), notes


def overview(session: Session) -> tuple[list[dict[str, Any]], list[str]]:
    """Open cases breached or at risk, breached first, soonest due first."""
    from .queries import list_cases

    found, warnings = list_cases(session, breached=True, at_risk=True, sort="due")
    now_ms = round(session.now().timestamp() * 1000)
    for row in found:
        row["state"] = "breached" if row.get("breach_ts") is not None and \
            row["breach_ts"] < now_ms else "at risk"
        row["level"] = row.get("sla")
    found.sort(key=lambda row: row["state"] != "breached")  # stable: due order within
    return found, warnings


def breached_count(session: Session) -> tuple[int, list[str]]:
    from .queries import list_cases

    found, warnings = list_cases(session, breached=True)
    return len(found), warnings
