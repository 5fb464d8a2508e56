"""The mail section of casectl.yaml: defaults, sizes, routes, and what the
schema cannot check (tests of casectl.mailconfig and of validate on it)."""

from __future__ import annotations

import pytest

from casectl import mailconfig

BASE = {"desk": {"name": "IKT-servicedesk"}, "teams": {"nettverk": {"name": "Nettverk"}},
        "agents": {"intake": {"name": "Mail intake", "email": "intake@example.org",
                              "service": True},
                   "kari": {"name": "Kari", "email": "kari@example.org"}}}


def test_defaults_without_a_mail_section() -> None:
    found = mailconfig.settings(BASE)
    assert (found.address, found.name, found.language, found.tag_prefix, found.smtp,
            found.max_attachment, found.routes) == (
        None, "IKT-servicedesk", "en", "#", None, 10 * 1024 * 1024, ())


@pytest.mark.parametrize("country,language", [("NO", "nb"), ("SE", "sv"), ("DK", "da"),
                                              ("FI", "en")])
def test_language_follows_the_desks_country(country: str, language: str) -> None:
    assert mailconfig.settings({**BASE, "calendar": {"country": country}}).language == language


@pytest.mark.parametrize("text,size", [("10MB", 10 * 1024 ** 2), ("512kB", 512 * 1024),
                                       ("25 MiB", 25 * 1024 ** 2), ("1048576", 1048576),
                                       ("1.5M", 1536 * 1024)])
def test_sizes(text: str, size: int) -> None:
    assert mailconfig.parse_size(text) == size


def test_smtp_port_follows_security() -> None:
    for security, port in (("starttls", 587), ("tls", 465), ("none", 25)):
        config = {**BASE, "mail": {"smtp": {"host": "mail.example.org", "security": security}}}
        assert mailconfig.settings(config).smtp.port == port


def test_first_matching_route_wins() -> None:
    config = {**BASE, "mail": {"intake": {"routes": [
        {"match": {"to": "nett@", "subject": "vpn"}, "team": "nettverk"},
        {"match": {"subject": "vpn"}, "category": "VPN"}]}}}
    found = mailconfig.settings(config)
    assert found.route({"to": "nett@example.org", "subject": "VPN virker ikke"}).team == "nettverk"
    assert found.route({"to": "support@example.org", "subject": "VPN"}).category == "VPN"
    assert found.route({"subject": "Skriver"}) is None


def test_problems_the_schema_cannot_see() -> None:
    config = {**BASE, "mail": {"address": "not an address", "intake": {
        "agent": "kari", "max_attachment": "lots",
        "routes": [{"match": {"subject": "("}, "team": "nowhere"}]}}}
    fields = [name for name, _ in mailconfig.problems(config)]
    assert fields == ["mail.address", "mail.intake.agent", "mail.intake.max_attachment",
                      "mail.intake.routes[0].match.subject", "mail.intake.routes[0].team"]
    assert mailconfig.problems({**BASE, "mail": {"intake": {"agent": "intake"}}}) == []


def test_a_password_never_goes_unencrypted_beyond_this_machine() -> None:
    def problems(host: str, security: str) -> list[str]:
        smtp = {"host": host, "security": security, "user": "desk", "password_env": "PW"}
        return [name for name, _ in mailconfig.problems({**BASE, "mail": {"smtp": smtp}})]
    assert problems("smtp.example.no", "none") == ["mail.smtp.security"]
    assert problems("localhost", "none") == problems("smtp.example.no", "starttls") == []
