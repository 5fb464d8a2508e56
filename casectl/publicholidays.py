"""Public holidays of NO, SE and DK, from the `holidays` package, cached.

`import holidays` costs about 200 ms, more than a whole casectl action, so
the dates are worked out once per country for 2000-2099 and kept as a small
JSON file in the state directory (.git/casectl/holidays.json, never
committed), keyed by the package's version: a newer package (which may
correct a date) is asked again. Reading the cache costs about a millisecond.

Only public holidays count. Sweden's and Norway's calendars in the package
can list every Sunday as a holiday (``include_sundays``, on by default in
older versions); that is asked off explicitly. Christmas Eve, Midsummer
Eve and the like are de facto days off in Sweden but not public holidays:
a desk closed then lists them under calendar.closed in casectl.yaml.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from .errors import UsageError

COUNTRIES = ("NO", "SE", "DK")
FIRST_YEAR, LAST_YEAR = 2000, 2099
CACHE_FILE = "holidays.json"


def check_country(country: str) -> str:
    code = country.strip().upper()
    if code not in COUNTRIES:
        raise UsageError(f"unknown country {country!r} for public holidays",
                         "use NO (Norway), SE (Sweden) or DK (Denmark)")
    return code


def package_version() -> str:
    """The installed `holidays` version, without importing the package (or
    importlib.metadata, 15 ms): from the name of its .dist-info directory."""
    import importlib.util

    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.origin:
        raise UsageError("the 'holidays' package is not installed",
                         "install casectl with its dependencies (pip install casectl)")
    site = Path(spec.origin).parent.parent
    found = sorted(site.glob("holidays-*.dist-info"))
    if len(found) == 1:
        return found[0].name[len("holidays-"):-len(".dist-info")]
    from importlib.metadata import version  # an unusual layout: ask the slow way

    return version("holidays")


def _compute(country: str) -> list[str]:
    import holidays

    options = {"include_sundays": False} if country in ("NO", "SE") else {}
    found = holidays.country_holidays(country, years=range(FIRST_YEAR, LAST_YEAR + 1),
                                      **options)
    return sorted(day.isoformat() for day in found)


def closed_dates(country: str | None, state_dir: Path | None) -> frozenset[date]:
    """The public holidays of ``country`` (2000-2099), from the cache when it
    holds them for the installed package, else computed and cached."""
    if not country:
        return frozenset()
    country = check_country(country)
    version = package_version()
    key = f"{country} {FIRST_YEAR}-{LAST_YEAR} holidays {version}"
    cache: dict[str, list[str]] = {}
    path = state_dir / CACHE_FILE if state_dir is not None else None
    if path is not None:
        try:
            cache = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
        if not isinstance(cache, dict):
            cache = {}
    days = cache.get(key)
    if not isinstance(days, list):
        days = _compute(country)
        # Entries of other versions go: the file stays a few kilobytes.
        cache = {k: v for k, v in cache.items() if k.endswith(f" {version}")}
        cache[key] = days
        if path is not None:
            _write(path, json.dumps(cache, separators=(",", ":")))
    return frozenset(date.fromisoformat(d) for d in days)


def _write(path: Path, text: str) -> None:
    """Atomically, and not at all on a read-only repository: a cache."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
