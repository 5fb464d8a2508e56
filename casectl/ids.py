"""Case and event ids.

An id is a time prefix followed by random characters, written in Crockford's
base 32: no I, L, O or U, so it reads unambiguously over the phone, and input
is case-insensitive with I/L read as 1 and O as 0. The fixed-width time
prefix makes ids sort by creation time; the random tail keeps clones that
create cases in the same second apart without any coordination.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)
CASE_TIME_CHARS = 6   # seconds since EPOCH: lasts until 2054
CASE_RANDOM_CHARS = 4  # 20 bits: a same-second collision between clones is one in a million
CASE_ID_LENGTH = CASE_TIME_CHARS + CASE_RANDOM_CHARS
EVENT_TIME_CHARS = 8  # milliseconds since EPOCH
EVENT_RANDOM_CHARS = 4

CASE_ID_PATTERN = f"^[{ALPHABET}]{{{CASE_ID_LENGTH}}}$"
EVENT_ID_PATTERN = f"^[{ALPHABET}]{{{EVENT_TIME_CHARS + EVENT_RANDOM_CHARS}}}$"
_CASE_ID_RE = re.compile(CASE_ID_PATTERN)
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
# Crockford's reading of the characters people confuse.
_INPUT_MAP = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    if number:
        raise ValueError("number too large for the id width")
    return "".join(reversed(chars))


def _random(width: int) -> str:
    # os.urandom rather than secrets: same source, and importing secrets
    # (hmac, hashlib, random) costs more than a git commit.
    return "".join(ALPHABET[byte & 31] for byte in os.urandom(width))


def _since_epoch(moment: datetime) -> float:
    return (moment - EPOCH).total_seconds()


def new_case_id(moment: datetime) -> str:
    return _encode(int(_since_epoch(moment)), CASE_TIME_CHARS) + _random(CASE_RANDOM_CHARS)


def new_event_id(moment: datetime) -> str:
    millis = int(round(_since_epoch(moment) * 1000))
    return _encode(millis, EVENT_TIME_CHARS) + _random(EVENT_RANDOM_CHARS)


def normalize_case_id(text: str) -> str | None:
    """The canonical form of a typed case id, or None when it cannot be one."""
    candidate = text.strip().upper().translate(_INPUT_MAP)
    return candidate if _CASE_ID_RE.match(candidate) else None


def is_case_id(text: str) -> bool:
    return bool(_CASE_ID_RE.match(text))


def case_id_time(case_id: str) -> datetime:
    """When the case was created, to the second, in UTC."""
    seconds = 0
    for char in case_id[:CASE_TIME_CHARS]:
        seconds = seconds * 32 + _DECODE[char]
    return datetime.fromtimestamp(EPOCH.timestamp() + seconds, tz=timezone.utc)
