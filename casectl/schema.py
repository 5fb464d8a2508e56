"""Checking case files and casectl.yaml against the JSON Schemas, and the
rules a schema cannot express (header == replay(log), names, uniqueness).

The schemas in ``schemas/`` are the single source. Validation runs on every
load, so it has to be cheap: fastjsonschema compiles a schema to Python
code, which is cached as a marshalled code object; when a document fails,
jsonschema (the reference implementation of 2020-12) is asked for the full
list of problems, a cost paid only on the error path.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import sys
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from . import ids, model, yamlio
from .errors import InvalidData

PACKAGED_SCHEMAS = Path(__file__).resolve().parent / "schemas"
CASE_SCHEMA = "case.schema.json"
CONFIG_SCHEMA = "config.schema.json"
SCHEMA_FILES = (CASE_SCHEMA, CONFIG_SCHEMA)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        # fastjsonschema gives list positions as strings of digits
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(file)"


class SchemaViolation(ValueError):
    """What the compiled validators raise.

    fastjsonschema's generated code raises its own exception classes, which
    it imports from the fastjsonschema package; importing that costs 10-20
    ms, a tenth of an action. The cached code gets this class, with the
    same constructor, in their place, so the package is imported only when
    a schema has to be compiled.
    """

    def __init__(self, message: str, value: Any = None, name: str | None = None,
                 definition: Any = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.name = name
        self.definition = definition
        self.rule = rule

    @property
    def path(self) -> list[str]:
        return [part for part in re.split(r"[.\[\]]+", self.name or "") if part]


class Validator:
    """A compiled schema: ``problems(document, file)`` lists what is wrong."""

    def __init__(self, schema: Mapping[str, Any], cache_dir: Path | None = None) -> None:
        self.schema = schema
        self._check = _compiled(schema, cache_dir)

    def problems(self, document: Any, file: str) -> list[Problem]:
        try:
            self._check(document)
            return []
        except SchemaViolation as exc:
            first = Problem(file, _field_path(exc.path[1:]),
                            exc.message.replace("data.", "", 1))
        return _all_problems(self.schema, document, file) or [first]


def _all_problems(schema: Mapping[str, Any], document: Any, file: str) -> list[Problem]:
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dependency
        return []
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in validator.iter_errors(document):
        # An if/then or anyOf failure is reported at its deepest cause, which
        # names the field; of "null or a timestamp", the timestamp is meant.
        while error.context:
            error = min(error.context, key=lambda e: (-len(e.absolute_path), _is_null_type(e)))
        field_name = _field_path(error.absolute_path)
        found.append(Problem(file, field_name, plain_message(error, field_name)))
    return sorted(set(found), key=lambda p: (p.field, p.message))


def _is_null_type(error: Any) -> bool:
    return error.validator == "type" and error.validator_value == "null"


_TYPE_WORDS = {"string": "text", "object": "a mapping (key: value lines)", "array": "a list",
               "boolean": "true or false", "integer": "a whole number", "number": "a number",
               "null": "null (empty)"}
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PATTERN_WORDS = {
    "^[a-z0-9][a-z0-9._-]{0,63}$": "a lower-case id: letters a-z, digits, '.', '_' or '-', "
                                   "starting with a letter or digit, at most 64 characters "
                                   "(like kari or k-ikt)",
    "\\S": "text that is not blank",
}


def _pattern_words(pattern: str, definition: Mapping[str, Any]) -> str:
    """What a pattern expects, in words: a user editing a file should not
    have to read a regular expression."""
    if pattern in _PATTERN_WORDS:
        return _PATTERN_WORDS[pattern]
    if pattern.startswith("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"):
        return "a timestamp with its UTC offset, e.g. '2026-11-03T09:15:00+01:00'"
    counted = re.fullmatch(rf"\^\[{_ID_ALPHABET}\]\{{([0-9,]+)\}}\$", pattern)
    if counted:
        size = counted[1].replace(",", " or ")
        return (f"an id of {size} characters: digits and capital letters other than "
                "I, L, O and U")
    return str(definition.get("description") or "in the form the schema describes")


def _shown(value: Any) -> str:
    """A value as the user wrote it: text in quotes, anything else bare."""
    if isinstance(value, str):
        return f"'{value[:60]}...'" if len(value) > 60 else f"'{value}'"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text[:60] + "..." if len(text) > 60 else text


def plain_message(error: Any, field_name: str) -> str:
    """A jsonschema error in words for someone who edited the file by hand:
    no Python reprs, no regular expressions, and how to fix it."""
    import datetime

    kind, expected, value = error.validator, error.validator_value, error.instance
    last = field_name.rsplit(".", 1)[-1]
    if isinstance(value, (datetime.date, datetime.time)):
        # YAML reads an unquoted timestamp as a date and time, not as text.
        shown = value.isoformat()
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            shown = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return f"quote the timestamp: {last}: '{shown}'"
    if kind == "type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in
                             (expected if isinstance(expected, list) else [expected]))
        return f"field {field_name} must be {wanted}, not {_shown(value)}"
    if kind == "enum":
        return (f"field {field_name} must be one of {', '.join(str(v) for v in expected)}, "
                f"not {_shown(value)}")
    if kind == "const":
        return f"field {field_name} must be {_shown(expected)}, not {_shown(value)}"
    if kind == "pattern":
        words = _pattern_words(expected, error.schema)
        if "propertyNames" in error.schema_path:
            return f"the key {_shown(value)} in {field_name} must be {words}"
        return f"field {field_name} must be {words}, not {_shown(value)}"
    if kind == "required":
        missing = [key for key in expected if isinstance(value, dict) and key not in value]
        return f"the field {', '.join(missing) or expected} is missing; add it"
    if kind == "additionalProperties" and isinstance(value, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(key) for key in value if key not in known)
        return (f"unknown field {', '.join(extra)}; remove it (or check its spelling against: "
                f"{', '.join(sorted(known))})")
    if kind == "minLength" and expected <= 1:
        return f"field {field_name} must not be empty"
    if kind == "maxLength":
        return f"field {field_name} is {len(value):,} characters; at most {expected:,} fit"
    if kind == "minItems":
        return f"field {field_name} must list at least {expected} item(s)"
    if kind == "uniqueItems":
        return f"field {field_name} lists an item twice"
    if kind == "minProperties":
        return f"field {field_name} must not be empty"
    return str(error.message)


CODE_FORMAT = "2"  # bump when the transformation below changes
_FASTJSONSCHEMA_IMPORT = re.compile(r"^from fastjsonschema import [\w, ]+$", re.MULTILINE)


def _compiled(schema: Mapping[str, Any], cache_dir: Path | None) -> Callable[[Any], Any]:
    """A validating function for ``schema``, from the cache when it can.

    Compiling the case schema costs ~80 ms, loading the cached code object a
    few: that difference is most of an action's budget.
    """
    source = json.dumps(schema, sort_keys=True)
    # zlib, not hashlib: see transaction._digest. Two checksums and the length
    # tell schema versions apart; a desk changes its schemas a few times a year.
    data = f"{source}|{sys.version}|{CODE_FORMAT}".encode()
    key = f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"
    cache_file = cache_dir / f"validator-{key}.bin" if cache_dir else None
    code = None
    if cache_file is not None and cache_file.exists():
        try:
            code = marshal.loads(cache_file.read_bytes())
        except (ValueError, EOFError, TypeError, OSError):
            code = None  # a damaged cache is rebuilt below
    if code is None:
        import fastjsonschema

        generated = _FASTJSONSCHEMA_IMPORT.sub("", fastjsonschema.compile_to_code(dict(schema)))
        code = compile(generated, "<schema>", "exec")
        if cache_file is not None:
            try:
                cache_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
                temp = cache_file.with_suffix(f".{os.getpid()}.tmp")
                temp.write_bytes(marshal.dumps(code))
                os.replace(temp, cache_file)
            except OSError:
                pass  # no cache is only slower
    namespace: dict[str, Any] = {"JsonSchemaValueException": SchemaViolation,
                                 "JsonSchemaValuesException": SchemaViolation}
    exec(code, namespace)  # noqa: S102 - our own schema compiled by fastjsonschema
    # The schema's own function has the shortest name; the rest are its $defs.
    entry = min((name for name in namespace if name.startswith("validate")), key=len)
    return namespace[entry]


def load_schema(schema_dir: Path | None, name: str) -> dict[str, Any]:
    """The schema from a case repository's schemas/ or, failing that, the
    copy the package ships."""
    for directory in (schema_dir, PACKAGED_SCHEMAS):
        if directory is not None and (directory / name).is_file():
            return json.loads((directory / name).read_text(encoding="utf-8"))
    raise FileNotFoundError(name)  # pragma: no cover - the package ships both


def semantic_problems(document: Mapping[str, Any], file: str, expected_id: str | None,
                      expected_dir: tuple[str, str] | None) -> list[Problem]:
    """What the schema cannot say. ``document`` has already passed the schema."""
    found: list[Problem] = []
    case_id = document["id"]
    if expected_id is not None and expected_id != case_id:
        found.append(Problem(file, "id", f"the file is named {expected_id}.yaml but the case id "
                             f"is {case_id}; the file name must be the id"))
    if expected_dir is not None:
        created = ids.case_id_time(case_id)
        want = (f"{created.year:04d}", f"{created.month:02d}")
        if expected_dir != want:
            found.append(Problem(file, "id", f"case {case_id} was created in {want[0]}-{want[1]}"
                                 f", so it belongs in cases/{want[0]}/{want[1]}/, not in "
                                 f"cases/{expected_dir[0]}/{expected_dir[1]}/"))
    seen: dict[str, int] = {}
    for position, event in enumerate(document["log"]):
        public = model.is_public(event["kind"], event["data"])
        if event["public"] != public:
            found.append(Problem(file, f"log[{position}].public", f"a {event['kind']} event "
                                 f"{'like this ' if event['kind'] in model.PUBLIC_BY_DATA else ''}"
                                 f"is {'visible' if public else 'never shown'}"
                                 f" to the reporter, so public must be {str(public).lower()}"))
        if event["id"] in seen:
            found.append(Problem(file, f"log[{position}].id", f"event id {event['id']} is used "
                                 f"twice (also at log[{seen[event['id']]}])"))
        seen.setdefault(event["id"], position)
    try:
        replayed = model.replay(case_id, document["log"])
    except model.ReplayError as exc:
        found.append(Problem(file, exc.field, exc.message))
        return found
    for key in model.header_differences(document, replayed):
        found.append(Problem(file, key, f"header says {document.get(key)!r} but the log replays "
                             f"to {replayed.get(key)!r}; the header must equal replay(log)"))
    if document["status"] == "closed" and not document.get("solution"):
        found.append(Problem(file, "solution", "a closed case must have a solution"))
    if document["status"] == "rejected" and not document.get("rejection"):
        found.append(Problem(file, "rejection", "a rejected case must have a reason"))
    return found


def check_case_file(path: Path, label: str, validator: Validator) -> tuple[str | None,
                                                                             list[Problem]]:
    """Everything wrong with one case file, and its id when it has one."""
    try:
        document = yamlio.read_mapping(path, label)
    except InvalidData as exc:
        return None, [Problem(label, exc.field or "(file)", exc.detail, exc.line)]
    problems = validator.problems(document, label)
    if problems:
        case_id = document.get("id")
        return case_id if isinstance(case_id, str) else None, _unquoted(document, problems)
    parent = path.parent
    in_layout = parent.parent.parent.name == "cases"
    return document["id"], _unquoted(document, semantic_problems(
        document, label, path.stem, (parent.parent.name, parent.name) if in_layout else None))


def _unquoted(document: Mapping[str, Any], problems: list[Problem]) -> list[Problem]:
    """A protected person's case file: its problems name fields, not the
    values (validate's output goes to CI logs and a push's answer, to
    anyone; protection.py). Whoever fixes it reads the file itself."""
    if not problems:
        return problems
    from . import protection

    if not protection.ever_marked(document):
        return problems
    hidden = protection.hidden_texts(document)
    return [replace(problem, message=protection.scrubbed(problem.message, hidden))
            for problem in problems]


_WORKER_VALIDATOR: dict[tuple[str | None, str | None], Validator] = {}


def check_batch(schema_dir: str | None, cache_dir: str | None,
                items: list[tuple[str, str]]) -> list[tuple[str, str | None, list[Problem]]]:
    """check_case_file over many (path, label) pairs; a process pool's unit of work."""
    key = (schema_dir, cache_dir)
    if key not in _WORKER_VALIDATOR:
        _WORKER_VALIDATOR[key] = Validator(
            load_schema(Path(schema_dir) if schema_dir else None, CASE_SCHEMA),
            Path(cache_dir) if cache_dir else None)
    validator = _WORKER_VALIDATOR[key]
    results = []
    for path, label in items:
        case_id, problems = check_case_file(Path(path), label, validator)
        results.append((label, case_id, problems))
    return results
