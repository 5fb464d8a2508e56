"""All YAML goes through here: safe loading, stable diff-friendly dumps.

Timestamps are stored as quoted ISO 8601 strings; the safe loader would turn
an unquoted timestamp into a datetime, so the dumper always quotes strings
that look like one, and the loader refuses anything but plain data.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidData

try:  # the C implementation is ten times faster; fall back when it is missing
    _SafeLoader: type = yaml.CSafeLoader
    _SafeDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SafeLoader = yaml.SafeLoader
    _SafeDumper = yaml.SafeDumper


class _StrictSafeLoader(_SafeLoader):  # type: ignore[misc]
    """The safe loader, stricter about what hand edits can smuggle in: a key
    written twice (YAML keeps the last without a word), keys that are not
    text, and anchors/aliases (an alias bomb expands exponentially)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&name, *name) are not allowed; write the "
                "value out", node.start_mark)
        return super().construct_object(node, deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value
            if key_node.tag != "tag:yaml.org,2002:str":
                shown = key if isinstance(key, str) else key_node.tag.rsplit(":", 1)[-1]
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {shown!r} is not text; quote it", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_StrictSafeLoader.add_constructor("tag:yaml.org,2002:map", _StrictSafeLoader.construct_yaml_map)


class _CaseDumper(_SafeDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        # The header shares objects with the created event; anchors and
        # aliases (&id001) would make the file harder to read and to diff.
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line text as a literal block keeps diffs line-by-line readable.
    if "\n" in value and _block_safe(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_UNSAFE_FOR_BLOCK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029]|[ \t]\n|[ \t]$|^\s")


def _block_safe(value: str) -> bool:
    """Literal blocks cannot carry trailing blanks or control characters
    faithfully; such text stays a quoted scalar so it round-trips exactly."""
    return not _UNSAFE_FOR_BLOCK.search(value)


_CaseDumper.add_representer(str, _str_representer)


def load(text: str, path: str = "<input>") -> Any:
    """Parse YAML safely; any problem becomes InvalidData naming file and line."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problem = exc.problem or ""
        if "could not determine a constructor" in problem:
            problem = f"YAML tag not allowed ({problem}); case files hold plain data only"
        raise InvalidData(path, problem, line=line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InvalidData(path, f"not valid YAML: {exc.problem or exc.context}", line=line) from None
    except yaml.YAMLError as exc:
        raise InvalidData(path, f"not valid YAML: {exc}") from None


def dump(data: Any) -> str:
    """Dump in a stable, diff-friendly form: keys in the order given, block
    style, unicode as itself (æøå stay readable), no line wrapping."""
    return yaml.dump(data, Dumper=_CaseDumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=1_000_000, indent=2)


def read_mapping(path: Path, label: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping (a case file), loaded safely;
    any problem is InvalidData naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidData(label, "not UTF-8 text") from None
    except OSError as exc:
        raise InvalidData(label, f"cannot read: {exc.strerror}") from None
    data = load(text, label)
    if not isinstance(data, dict):
        raise InvalidData(label, "a case file must be a mapping of header fields and a log")
    return data


class _TextSafeLoader(_StrictSafeLoader):
    """The strict loader reading every scalar as text, except an empty value
    (or null, ~) as None: in a document people type into, `epj: 0047123`
    is that text, not the octal number 20051, and `answer: no` not False."""


_TextSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()}


def load_text(text: str, path: str = "<input>") -> Any:
    """Like ``load``, with scalars read as text (see _TextSafeLoader)."""
    try:
        return yaml.load(text, Loader=_TextSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InvalidData(path, exc.problem or "not valid YAML", line=line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InvalidData(path, f"not valid YAML: {exc.problem or exc.context}",
                          line=line) from None
    except yaml.YAMLError as exc:
        raise InvalidData(path, f"not valid YAML: {exc}") from None


class _DocumentDumper(_CaseDumper):
    """Writes None as an empty value, as people leave a field blank."""


_DocumentDumper.add_representer(
    type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", ""))


def dump_document(data: Any) -> str:
    """``dump`` for documents people edit: None shown as an empty value."""
    return yaml.dump(data, Dumper=_DocumentDumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=1_000_000, indent=2)


_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


@functools.lru_cache(maxsize=4)
def _composed(text: str) -> yaml.Node | None:
    """The node tree of a document (marks and all), kept for the next
    problem in the same file; None when it does not parse."""
    try:
        return yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError:
        return None


def line_of(text: str, field: str) -> int | None:
    """The line (from 1) where ``field`` (a problem's field: ``status``,
    ``log[3].data.text``, ``agents.kari.roles[0]``) is written in the YAML
    ``text``, or of the deepest part of it that is there (a missing key is
    reported on its mapping); None when no part is found or the text does
    not parse. For annotations in CI: only invalid files pay for it."""
    parts: list[str | int] = [int(index) if index else name
                              for index, name in _PATH_PART.findall(field)]
    node = _composed(text)
    line: int | None = None
    position = 0
    while node is not None and position < len(parts):
        if isinstance(node, yaml.MappingNode):
            # A key may itself hold dots (a custom field `epj.nr`): try the
            # longest run of the remaining parts first.
            found = None
            for end in range(len(parts), position, -1):
                name = ".".join(str(part) for part in parts[position:end])
                found = next((pair for pair in node.value
                              if isinstance(pair[0], yaml.ScalarNode)
                              and pair[0].value == name), None)
                if found is not None:
                    break
            if found is None:
                break
            line, node, position = found[0].start_mark.line + 1, found[1], end
        elif isinstance(node, yaml.SequenceNode) and isinstance(parts[position], int) \
                and parts[position] < len(node.value):  # type: ignore[operator]
            node = node.value[parts[position]]  # type: ignore[index]
            line, position = node.start_mark.line + 1, position + 1
        else:
            break
    return line
