"""Case and event ids.

An id is a time prefix followed by random characters, written in Crockford's
base 32: no I, L, O or U, so it reads unambiguously over the phone, and input
is case-insensitive with I/L read as 1 and O as 0. The fixed-width time
prefix makes ids of one form sort by creation time; the random tail keeps
clones that create cases in the same second apart without any coordination.

Two forms exist, told apart by their length. The short form (10 / 12
characters) counts seconds / milliseconds from 2020-01-01 UTC in 6 / 8
characters, which lasts until January 2054; it is the form issued for
every time in that span, so ids stay short enough to read over the phone
and every desk made before the long form existed (whose schemas/ know only
the short form) keeps working unchanged. The long form (11 / 13
characters) counts from 1990-01-01 UTC in 7 / 9 characters, for the times
the short one cannot hold: cases migrated from older systems carry
creation times from the 1990s, and a desk runs for decades. Ids of one
form sort by creation time; the query index sorts by the times themselves.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

from .errors import UsageError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EPOCH = datetime(1990, 1, 1, tzinfo=timezone.utc)
CASE_TIME_CHARS = 7   # seconds since EPOCH: 32**7 s reach the year 3078
CASE_RANDOM_CHARS = 4  # 20 bits: a same-second collision between clones is one in a million
CASE_ID_LENGTH = CASE_TIME_CHARS + CASE_RANDOM_CHARS
EVENT_TIME_CHARS = 9  # milliseconds since EPOCH: 32**9 ms reach the year 3105
EVENT_RANDOM_CHARS = 4
EVENT_ID_LENGTH = EVENT_TIME_CHARS + EVENT_RANDOM_CHARS

# The moments ids can be issued for: [FIRST_MOMENT, END_MOMENT). A round
# range inside what both widths can hold, stated in messages and the README.
FIRST_MOMENT = EPOCH
END_MOMENT = datetime(3000, 1, 1, tzinfo=timezone.utc)
RANGE_TEXT = "1990-01-01 to 2999-12-31 (UTC)"

# The short form: 6 + 4 characters of a case id and 8 + 4 of an event id,
# counted from 2020.
LEGACY_EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)
LEGACY_CASE_TIME_CHARS = 6
LEGACY_CASE_ID_LENGTH = LEGACY_CASE_TIME_CHARS + CASE_RANDOM_CHARS
LEGACY_EVENT_TIME_CHARS = 8
LEGACY_EVENT_ID_LENGTH = LEGACY_EVENT_TIME_CHARS + EVENT_RANDOM_CHARS
# The short form is issued up to the moment its width runs out.
LEGACY_CASE_END = LEGACY_EPOCH + timedelta(seconds=32 ** LEGACY_CASE_TIME_CHARS)
LEGACY_EVENT_END = LEGACY_EPOCH + timedelta(milliseconds=32 ** LEGACY_EVENT_TIME_CHARS)

CASE_ID_PATTERN = f"^[{ALPHABET}]{{{LEGACY_CASE_ID_LENGTH},{CASE_ID_LENGTH}}}$"
EVENT_ID_PATTERN = f"^[{ALPHABET}]{{{LEGACY_EVENT_ID_LENGTH},{EVENT_ID_LENGTH}}}$"
_CASE_ID_RE = re.compile(CASE_ID_PATTERN)
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
# Crockford's reading of the characters people confuse.
_INPUT_MAP = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    if number:  # unreachable inside the range: check_moment refuses first
        raise ValueError("number too large for the id width")
    return "".join(reversed(chars))


def _decode(text: str) -> int:
    number = 0
    for char in text:
        number = number * 32 + _DECODE[char]
    return number


def _random(width: int) -> str:
    # os.urandom rather than secrets: same source, and importing secrets
    # (hmac, hashlib, random) costs more than a git commit.
    return "".join(ALPHABET[byte & 31] for byte in os.urandom(width))


def _since_epoch(moment: datetime, epoch: datetime = EPOCH) -> float:
    return (moment - epoch).total_seconds()


def range_error(fixed: str | None, moment: datetime | None = None) -> UsageError:
    """The error for a time no id can be issued for. Time comes from one
    place (clock.now), so it is CASECTL_NOW when that is set, else a system
    clock that is far off."""
    if fixed:
        return UsageError(f"CASECTL_NOW={fixed} is outside the range ids can be issued for: "
                          f"{RANGE_TEXT}", "set CASECTL_NOW to a time in that range, "
                          "like 2026-11-22T09:30:00+01:00, or unset it")
    shown = moment.isoformat() if moment else "the current time"
    return UsageError(f"the system clock says {shown}, outside the range ids can be issued "
                      f"for: {RANGE_TEXT}", "set the system clock right")


def check_moment(moment: datetime) -> None:
    """Refuse, as a usage error, a time no id can be issued for."""
    if not FIRST_MOMENT <= moment < END_MOMENT:
        raise range_error(os.environ.get("CASECTL_NOW"), moment)


def new_case_id(moment: datetime) -> str:
    """A case id for a case created at ``moment``: the short form while it
    fits (2020 to January 2054), else the long one."""
    check_moment(moment)
    if LEGACY_EPOCH <= moment < LEGACY_CASE_END:
        seconds, width = int(_since_epoch(moment, LEGACY_EPOCH)), LEGACY_CASE_TIME_CHARS
    else:
        seconds, width = int(_since_epoch(moment)), CASE_TIME_CHARS
    return _encode(seconds, width) + _random(CASE_RANDOM_CHARS)


def new_event_id(moment: datetime) -> str:
    """An event id: the short form while it fits, as for case ids."""
    check_moment(moment)
    # Milliseconds are rounded: keep the rounded value inside the short span.
    if LEGACY_EPOCH <= moment and moment + timedelta(milliseconds=1) < LEGACY_EVENT_END:
        millis = int(round(_since_epoch(moment, LEGACY_EPOCH) * 1000))
        return _encode(millis, LEGACY_EVENT_TIME_CHARS) + _random(EVENT_RANDOM_CHARS)
    millis = int(round(_since_epoch(moment) * 1000))
    return _encode(millis, EVENT_TIME_CHARS) + _random(EVENT_RANDOM_CHARS)


def canonical(text: str) -> str:
    """A typed id (or part of one) as ids are written: upper case, I and L
    read as 1, O as 0, spaces and dashes dropped."""
    return text.strip().upper().translate(_INPUT_MAP)


def normalize_case_id(text: str) -> str | None:
    """The canonical form of a typed case id, or None when it cannot be one."""
    candidate = canonical(text)
    return candidate if _CASE_ID_RE.match(candidate) else None


def is_case_id(text: str) -> bool:
    """Either form: 10 characters (short) or 11 (long)."""
    return bool(_CASE_ID_RE.match(text))


def case_id_time(case_id: str) -> datetime:
    """When the case was created, to the second, in UTC. The length says the
    form: the short 10 characters count from 2020."""
    if len(case_id) == LEGACY_CASE_ID_LENGTH:
        epoch, width = LEGACY_EPOCH, LEGACY_CASE_TIME_CHARS
    else:
        epoch, width = EPOCH, CASE_TIME_CHARS
    return datetime.fromtimestamp(epoch.timestamp() + _decode(case_id[:width]),
                                  tz=timezone.utc)


def event_id_time(event_id: str) -> datetime:
    """What an event id's time part says, to the millisecond, in UTC."""
    if len(event_id) == LEGACY_EVENT_ID_LENGTH:
        epoch, width = LEGACY_EPOCH, LEGACY_EVENT_TIME_CHARS
    else:
        epoch, width = EPOCH, EVENT_TIME_CHARS
    return epoch + timedelta(milliseconds=_decode(event_id[:width]))
