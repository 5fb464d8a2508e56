"""Whether a desk's own schemas/ (copied by `casectl init`, and what its CI
validates against) know a feature newer than they are: an older desk gets
a refusal that says how to take this version's schemas, rather than a
schema error about a file casectl was about to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .. import __version__, schema
from ..errors import RuleViolation
from .session import Session


def require(session: Session, name: str, supported: Callable[[dict[str, Any]], Any],
            feature: str) -> None:
    try:
        known = bool(supported(schema.load_schema(session.root / "schemas", name)))
    except (KeyError, TypeError, AttributeError):  # a schema shaped otherwise: too old
        known = False
    if not known:
        raise older_schemas(name, feature)


def older_schemas(name: str, feature: str) -> RuleViolation:
    return RuleViolation("desk-schemas-current", f"this desk's schemas/{name} predates {feature}",
                         f"take casectl {__version__}'s schemas (one commit): casectl upgrade")


def desk_is_older(schema_dir: Path, name: str, document: Any) -> bool:
    """Whether the desk's copy of a schema rejects ``document`` while the
    one this casectl ships accepts it: then the desk's copy is older than
    what the command wrote."""
    try:
        def accepts(directory: Path | None) -> bool:
            return not schema.Validator(schema.load_schema(directory, name)).problems(
                document, name)
        return not accepts(schema_dir) and accepts(None)
    except Exception:  # noqa: BLE001 - only a better hint is at stake
        return False


def edited_events(case_schema: dict[str, Any]) -> bool:
    return "edited" in case_schema["$defs"]["event"]["properties"]["kind"]["enum"]


def agent_active_flag(config_schema: dict[str, Any]) -> bool:
    return "active" in config_schema["properties"]["agents"]["additionalProperties"][
        "properties"]
