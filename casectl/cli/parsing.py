"""Turning what users type into the typed values the application takes:
reporters, KEY=VALUE fields."""

from __future__ import annotations

import re
from typing import Sequence

from .. import config as configmod
from ..app import inputs
from ..errors import UsageError
from ..model import Reporter

# "Name <address>": the name is everything before the last "<", so the
# comma of "Nordmann, Ola <ola@...>" (as mail programs write it) stays in
# the name, where email.utils.parseaddr would split at it.
_NAMED = re.compile(r"^(?P<name>[^<>]*)<(?P<address>[^<>]*)>$")


def reporter(value: str | None, phone: str | None, org: str | None) -> Reporter | None:
    """The reporter from "Name <email>", a bare address or a bare name; the
    address is checked by inputs.email_address, phone and org are checked
    by the application."""
    if value is None and phone is None and org is None:
        return None
    name, email = None, None
    if value is not None:
        text = value.strip()
        named = _NAMED.match(text)
        if named:
            email = _address(named["address"], value)
            name = named["name"].strip().strip('"').strip() or None
        elif "@" in text:
            email = _address(text, value)
        elif "<" in text or ">" in text:
            raise UsageError(f"cannot read the reporter {value!r}", _REPORTER_HINT)
        else:
            name = text
    return Reporter(name=name, email=email, phone=phone, org=org)


_REPORTER_HINT = "write it as \"Name <name@example.org>\", an address, or a name"


def _address(text: str, given: str) -> str:
    try:
        return inputs.email_address(text, "the reporter's address")
    except UsageError as exc:
        raise UsageError(f"cannot read the reporter {given!r}: {exc.message}",
                         _REPORTER_HINT) from None


def key_values(pairs: Sequence[str], option: str, example: str, *, word: str = "VALUE",
               strip: bool = True) -> dict[str, str]:
    """OPTION KEY=VALUE options (--field, --answer, --question), each key
    once. Keys are stored as YAML keys and typed on the command line, so
    they keep to a-z, 0-9, '.', '_' and '-'."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise UsageError(f"{option} {pair!r} is not KEY={word}",
                             f"write it like {option} {example}")
        _check_key(key, f"{option} KEY={word}", f"{option} {{}}={value.strip()}")
        if key in found:
            raise UsageError(f"{option} {key} is given twice",
                             f"give each key once: {option} {key}={word}")
        found[key] = value.strip() if strip else value
    return found


def fields(pairs: Sequence[str]) -> dict[str, str]:
    """--field KEY=VALUE: a desk-defined field each."""
    return key_values(pairs, "--field", "epj=12345 --field kommune=Bergen")


def field_keys(keys: Sequence[str], option: str = "--unset-field") -> list[str]:
    """Field keys named alone (--unset-field KEY), checked as --field's."""
    found = []
    for typed in keys:
        key = typed.strip().lower()
        _check_key(key, f"{option} KEY", f"{option} {{}}")
        if key not in found:
            found.append(key)
    return found


def _check_key(key: str, where: str, example: str) -> None:
    if not configmod.SLUG_RE.match(key):
        suggestion = inputs.slugify(key, "")
        raise UsageError(
            f"in {where}, the key {key!r} has characters a key cannot have",
            "a key uses only the letters a-z (no accents or æ, ø, å), digits, '.', '_' "
            "and '-', starts with a letter or digit and is at most 64 characters"
            + (", e.g. " + example.format(suggestion) if suggestion else ""))
