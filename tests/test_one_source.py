"""One source for statuses, priorities, types, event kinds, roles, ids and
list columns: the JSON Schemas, the command line's choices and the query
index agree with model.py, roles.py and ids.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import click
import pytest

from casectl import ids, index, model, roles, workflow
from casectl.cli import cli, options

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


CASE = load("case.schema.json")
CONFIG = load("config.schema.json")
DEFS = CASE["$defs"]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A node with its local $ref followed, and a nullable anyOf unwrapped."""
    if "anyOf" in node:
        rest = [n for n in node["anyOf"] if n != {"type": "null"}]
        assert len(rest) == 1, node
        node = rest[0]
    if "$ref" in node:
        prefix = "#/$defs/"
        assert node["$ref"].startswith(prefix), node
        return resolve(DEFS[node["$ref"][len(prefix):]])
    return node


def test_the_package_ships_these_schemas() -> None:
    from casectl import schema

    assert schema.PACKAGED_SCHEMAS.resolve() == SCHEMAS


@pytest.mark.parametrize("where", ["status", "priority", "type"])
def test_header_enums(where: str) -> None:
    expected = {"status": model.STATUSES, "priority": model.PRIORITIES, "type": model.TYPES}
    assert tuple(DEFS[where]["enum"]) == expected[where]
    assert tuple(resolve(CASE["properties"][where])["enum"]) == expected[where]


def test_event_data_enums() -> None:
    created = DEFS["data_created"]["properties"]
    assert tuple(resolve(created["type"])["enum"]) == model.TYPES
    assert tuple(resolve(created["priority"])["enum"]) == model.PRIORITIES
    for key in ("priority", "previous"):
        assert tuple(resolve(DEFS["data_priority_set"]["properties"][key])["enum"]) == \
            model.PRIORITIES
    # a status_changed event carries where start and wait lead, no more
    carried = set(DEFS["data_status_changed"]["properties"]["status"]["enum"])
    assert carried == {workflow.TRANSITIONS[action][1] for action in ("start", "wait")}
    assert carried <= set(model.STATUSES)


def test_header_keys() -> None:
    # keys added later are optional: files written before them stay valid
    assert CASE["required"] == [*(k for k in model.HEADER_KEYS
                                  if k not in model.LATER_HEADER_KEYS), "log"]
    assert set(CASE["properties"]) == {*model.HEADER_KEYS, "log"}
    assert set(model.LATER_HEADER_KEYS) <= set(model.HEADER_KEYS)


def per_kind_rules() -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, then-schema) of each if/then rule on the event."""
    for rule in DEFS["event"]["allOf"]:
        yield rule["if"]["properties"]["kind"]["const"], rule["then"]


def test_event_kinds() -> None:
    assert tuple(DEFS["event"]["properties"]["kind"]["enum"]) == tuple(model.EVENT_KINDS)
    kinds = [kind for kind, _ in per_kind_rules()]
    assert sorted(kinds) == sorted(model.EVENT_KINDS)  # one data rule per kind, each once
    for kind, then in per_kind_rules():
        assert then["properties"]["data"] == {"$ref": f"#/$defs/data_{kind}"}
        assert f"data_{kind}" in DEFS
    data_defs = {name[len("data_"):] for name in DEFS if name.startswith("data_")}
    assert data_defs == set(model.EVENT_KINDS)


def test_event_public_per_kind() -> None:
    """The schema says only that public is a boolean (validation checks the
    kind's value, schema.py); if it ever encodes it per kind, it must agree."""
    assert DEFS["event"]["properties"]["public"]["type"] == "boolean"
    for kind, then in per_kind_rules():
        public = then.get("properties", {}).get("public")
        if public is not None:
            assert public == {"const": model.EVENT_KINDS[kind]}, kind


def test_id_patterns() -> None:
    assert CASE["properties"]["id"]["pattern"] == ids.CASE_ID_PATTERN
    assert DEFS["event"]["properties"]["id"]["pattern"] == ids.EVENT_ID_PATTERN


def test_roles() -> None:
    agent = CONFIG["properties"]["agents"]["additionalProperties"]
    assert tuple(agent["properties"]["roles"]["items"]["enum"]) == roles.ROLES


def test_slug_patterns_agree() -> None:
    slug = DEFS["slug"]["pattern"]
    assert DEFS["fields"]["propertyNames"]["pattern"] == slug
    assert CONFIG["properties"]["teams"]["propertyNames"]["pattern"] == slug
    assert CONFIG["properties"]["agents"]["propertyNames"]["pattern"] == slug
    agent = CONFIG["properties"]["agents"]["additionalProperties"]
    assert agent["properties"]["teams"]["items"]["pattern"] == slug


# ---------------------------------------------------------------- the command line

def test_option_types_come_from_model() -> None:
    assert tuple(options.PRIORITY.choices) == model.PRIORITIES
    assert tuple(options.STATUS.choices) == model.STATUSES
    assert tuple(options.TYPE.choices) == model.TYPES


def every_parameter(group: click.Command = cli, path: str = "casectl"
                    ) -> Iterator[tuple[str, click.Parameter]]:
    for param in group.params:
        yield path, param
    if isinstance(group, click.Group):
        ctx = click.Context(group)  # the top group loads its commands lazily
        for name in group.list_commands(ctx):
            yield from every_parameter(group.get_command(ctx, name), f"{path} {name}")


# Options and arguments whose choices must be one of the sources.
SOURCES = {
    "--priority": model.PRIORITIES,
    "--status": model.STATUSES,
    "--type": model.TYPES,
    "--role": roles.ROLES,
    "--sort": model.SORT_FIELDS,
    "level": model.PRIORITIES,
}


def test_command_line_choices_come_from_the_sources() -> None:
    seen: set[tuple[str, str]] = set()
    for where, param in every_parameter():
        names = [*param.opts] if isinstance(param, click.Option) else [param.name or ""]
        for name in names:
            if name in SOURCES:
                assert isinstance(param.type, click.Choice), (where, name)
                assert tuple(param.type.choices) == SOURCES[name], (where, name)
                seen.add((where, name))
    assert {("casectl agent add", "--role"), ("casectl list", "--sort"),
            ("casectl list", "--priority"), ("casectl list", "--status"),
            ("casectl list", "--type"), ("casectl new", "--priority"),
            ("casectl new", "--type"), ("casectl priority", "level")} <= seen


def test_list_columns() -> None:
    assert index.COLUMNS is model.LIST_FIELDS
    assert set(model.LIST_TABLE_COLUMNS) <= set(model.LIST_FIELDS)
    assert set(model.SORT_FIELDS) <= set(model.LIST_FIELDS)


def test_every_command_loads_under_its_name() -> None:
    """The command line imports a command's module only when it runs
    (cli/main.py's COMMANDS): each entry must name a command of that name."""
    import click

    from casectl.cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    agent = cli.get_command(ctx, "agent")
    assert {"add", "list", "set", "activate", "deactivate"} <= set(agent.commands)
