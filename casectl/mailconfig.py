"""The ``mail:`` section of casectl.yaml, read into typed settings (issue 8).

Pure: a configuration mapping in, settings out. The schema
(schemas/config.schema.json) has already checked the shapes; ``problems``
checks what it cannot say (a route's team exists, its patterns compile, the
intake identity is a service identity). Intake (app/intake.py) and the
outbox (app/outbox.py) read the section only through here, so the defaults
live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_TAG_PREFIX = "#"
DEFAULT_MAX_ATTACHMENT = 10 * 1024 * 1024
LANGUAGES = ("nb", "sv", "da", "en")
# A desk's country gives its language unless mail.language says otherwise.
_COUNTRY_LANGUAGE = {"NO": "nb", "SE": "sv", "DK": "da"}
SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
ROUTE_FIELDS = ("from", "to", "subject", "body")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]i?)?[bB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


@dataclass(frozen=True)
class Route:
    """One routing rule for mail that opens a case: every condition in
    ``match`` (a regular expression per field: from, to, subject, body)
    must be found, case-insensitively; then the case gets what is set."""

    match: Mapping[str, str]
    type: str | None = None
    category: str | None = None
    team: str | None = None
    priority: str | None = None

    def matches(self, texts: Mapping[str, str]) -> bool:
        return all(re.search(pattern, texts.get(name, ""), re.IGNORECASE | re.MULTILINE)
                   for name, pattern in self.match.items())


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str          # starttls, tls (implicit) or none
    user: str | None
    password_env: str | None
    timeout: int
    ca_file: str | None = None     # a private CA's certificates (PEM) to verify the server by


@dataclass(frozen=True)
class MailSettings:
    address: str | None            # the desk's own address (From of what it sends)
    name: str                      # the display name it sends under
    language: str                  # nb, sv, da or en
    tag_prefix: str
    intake_agent: str | None       # the service identity intake acts as
    max_attachment: int            # bytes
    routes: tuple[Route, ...]
    smtp: Smtp | None              # None: the outbox fills and nothing is sent
    templates: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)

    def route(self, texts: Mapping[str, str]) -> Route | None:
        """The first route whose conditions all match ``texts`` (from, to,
        subject, body), or None."""
        return next((route for route in self.routes if route.matches(texts)), None)


def settings(config: Mapping[str, Any]) -> MailSettings:
    """The mail settings of a (schema-valid) configuration, defaults filled in."""
    mail = config.get("mail") or {}
    intake = mail.get("intake") or {}
    smtp = mail.get("smtp")
    return MailSettings(
        address=_lower(mail.get("address")),
        name=str(mail.get("name") or (config.get("desk") or {}).get("name") or "casectl"),
        language=mail.get("language") or default_language(config),
        tag_prefix=mail.get("tag_prefix") or DEFAULT_TAG_PREFIX,
        intake_agent=intake.get("agent"),
        max_attachment=parse_size(intake["max_attachment"])
        if intake.get("max_attachment") else DEFAULT_MAX_ATTACHMENT,
        routes=tuple(Route(match=dict(rule["match"]), type=rule.get("type"),
                           category=rule.get("category"), team=rule.get("team"),
                           priority=rule.get("priority"))
                     for rule in intake.get("routes") or ()),
        smtp=_smtp(smtp) if smtp else None,
        templates=mail.get("templates") or {},
    )


def default_language(config: Mapping[str, Any]) -> str:
    country = (config.get("calendar") or {}).get("country")
    return _COUNTRY_LANGUAGE.get(str(country), "en")


def parse_size(text: str) -> int:
    """'10MB', '512kB', '25 MiB', '1048576' as bytes (units of 1024, as
    mail clients count attachment sizes)."""
    found = _SIZE.match(str(text))
    if not found:
        raise ValueError(f"{text!r} is not a size; write it like 10MB or 512kB")
    number, unit = found.groups()
    return int(float(number) * _UNITS[(unit or "")[:1].lower()])


def problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for what the schema cannot check in ``mail:``."""
    mail = config.get("mail")
    if not isinstance(mail, Mapping):
        return []
    found: list[tuple[str, str]] = []
    address = mail.get("address")
    if address is not None and not _looks_like_address(str(address)):
        found.append(("mail.address", f"{address!r} is not an e-mail address; write it "
                      "like support@example.org"))
    intake = mail.get("intake") or {}
    agent = intake.get("agent")
    agents = config.get("agents") or {}
    if agent is not None:
        if agent not in agents:
            found.append(("mail.intake.agent", f"intake agent {agent!r} is not listed under "
                          "agents; add it with: casectl agent add " f"{agent} --service "
                          "--name \"Mail intake\" --email ADDRESS"))
        elif not (agents[agent] or {}).get("service"):
            found.append(("mail.intake.agent", f"intake agent {agent!r} is not a service "
                          "identity; make it one with: casectl agent set " f"{agent} --service"))
    if intake.get("max_attachment") is not None:
        try:
            parse_size(intake["max_attachment"])
        except ValueError as exc:
            found.append(("mail.intake.max_attachment", str(exc)))
    smtp = mail.get("smtp") or {}
    if smtp.get("user") and smtp.get("security") == "none" \
            and str(smtp.get("host", "")).lower() not in _LOOPBACK:
        found.append(("mail.smtp.security", f"security: none would send the password for "
                      f"{smtp['user']!r} unencrypted to {smtp.get('host')}; use starttls "
                      "or tls, or (a relay on this machine) host: localhost"))
    from . import mailtemplates

    found.extend(mailtemplates.problems(mail.get("templates")))
    teams = config.get("teams") or {}
    for number, rule in enumerate(intake.get("routes") or ()):
        where = f"mail.intake.routes[{number}]"
        for name, pattern in (rule.get("match") or {}).items():
            try:
                re.compile(pattern)
            except re.error as exc:
                found.append((f"{where}.match.{name}", f"the pattern {pattern!r} is not a "
                              f"regular expression ({exc}); fix or quote it"))
        if rule.get("team") is not None and rule["team"] not in teams:
            found.append((f"{where}.team", f"team {rule['team']!r} is not listed under teams"))
    return found


def _smtp(smtp: Mapping[str, Any]) -> Smtp:
    security = smtp.get("security") or "starttls"
    return Smtp(host=str(smtp["host"]), port=int(smtp.get("port") or SECURITY_PORTS[security]),
                security=security, user=smtp.get("user"), password_env=smtp.get("password_env"),
                timeout=int(smtp.get("timeout") or 30), ca_file=smtp.get("ca_file"))


def _lower(value: Any) -> str | None:
    return str(value).strip().lower() if value else None


def _looks_like_address(text: str) -> bool:
    local, _, domain = text.strip().rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in text.strip())
