"""Turning what users type into the typed values the application takes:
reporters, KEY=VALUE fields."""

from __future__ import annotations

import re
from typing import Sequence

from .. import config as configmod
from ..errors import UsageError
from ..model import Reporter

_NAMED_ADDRESS = re.compile(r"^\s*\"?(?P<name>[^<>\"]*?)\"?\s*<(?P<email>[^<>\s@]+@[^<>\s@]+)>\s*$")
_BARE_ADDRESS = re.compile(r"^\s*<?(?P<email>[^<>\s@]+@[^<>\s@]+)>?\s*$")


def reporter(value: str | None, phone: str | None, org: str | None) -> Reporter | None:
    """The reporter from "Name <email>", a bare address or a bare name. Mail
    programs write "Nordmann, Ola <ola@...>"; the comma is part of the name."""
    if not (value or phone or org):
        return None
    name, email = None, None
    if value and value.strip():
        named = _NAMED_ADDRESS.match(value)
        bare = _BARE_ADDRESS.match(value)
        if named:
            name, email = named["name"].strip() or None, named["email"]
        elif bare:
            email = bare["email"]
        elif "<" in value or ">" in value or "@" in value:
            raise UsageError(f"cannot read the reporter {value!r}",
                             "write it as \"Name <name@example.org>\", an address, or a name")
        else:
            name = " ".join(value.split())
    return Reporter(name=name, email=email, phone=(phone or "").strip() or None,
                    org=(org or "").strip() or None)


def fields(pairs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or not configmod.SLUG_RE.match(key):
            raise UsageError(f"--field {pair!r} is not KEY=VALUE",
                             "write it like --field epj=12345 --field kommune=Bergen")
        found[key] = value.strip()
    return found
