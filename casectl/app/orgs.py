"""Organisations (a reporter's hospital, municipality or clinic) and the
SLA level agreed with each, kept in casectl.yaml under ``orgs``. Each change
is a commit, like any change to the desk."""

from __future__ import annotations

from typing import Any

from ..config import Config, name_key
from ..errors import NotFound, RuleViolation
from .desk import _change_config
from .inputs import clean_line
from .session import Session


def _find(config: Config, org: str) -> str | None:
    """The name an organisation is listed under, matched as people type it."""
    wanted = name_key(org)
    return next((name for name in config.orgs if name_key(name) == wanted), None)


def add_org(session: Session, org: str, level: str) -> dict[str, Any]:
    name = clean_line(org, "the organisation's name", required=True, limit=200) or ""
    chosen = session.config.check_sla_level(level)

    def change(config: Config) -> None:
        found = _find(config, name)
        if found is not None:
            raise RuleViolation("unique-org", f"organisation {found!r} is listed already "
                                f"(level {config.orgs[found]['sla']})",
                                f'change its level with: casectl org set "{found}" --sla LEVEL')
        config.orgs[name] = {"sla": chosen}
    _change_config(session, "org-add", name, change)
    return {"org": name, "sla": chosen}


def set_org(session: Session, org: str, level: str) -> dict[str, Any]:
    chosen = session.config.check_sla_level(level)
    listed: dict[str, str] = {}

    def change(config: Config) -> None:
        found = _find(config, org)
        if found is None:
            raise NotFound(f"no organisation {org!r} in casectl.yaml",
                           f'add it with: casectl org add "{org.strip()}" --sla {chosen}')
        config.orgs[found]["sla"] = chosen
        listed["name"] = found
    _change_config(session, "org-set", org.strip(), change)
    return {"org": listed["name"], "sla": chosen}


def list_orgs(session: Session) -> list[dict[str, Any]]:
    return [{"org": name, "sla": entry["sla"]}
            for name, entry in sorted(session.config.orgs.items(), key=lambda i: i[0].casefold())]
