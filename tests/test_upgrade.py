"""A desk made by casectl 0.2 keeps the schemas init copied then: the
desk-rule features are refused there with the command that takes the new
schemas, `casectl upgrade`, which does it in one commit; the old cases stay
valid under them."""

from __future__ import annotations

import shutil
from pathlib import Path

from casectl import yamlio
from helpers import act, case_file, commits, git, head, load_case, load_yaml, new_case

OLD_SCHEMAS = Path(__file__).resolve().parent / "data" / "schemas-0.2"


def made_by_0_2(desk: Path) -> str:
    """The desk as casectl 0.2 left it: its schemas, and a case filed then
    (without the header keys and created data that came after)."""
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    case = load_yaml(path)
    for key in ("sla", "answers", "urgent"):
        del case[key]
    for key in ("sla", "config"):
        del case["log"][0]["data"][key]
    path.write_text(yamlio.dump(case), encoding="utf-8")
    for path in OLD_SCHEMAS.glob("*.json"):
        shutil.copy(path, desk / "schemas" / path.name)
    git(desk, "-c", "user.name=Admin", "-c", "user.email=admin@example.no", "commit", "-qam",
        "schemas as casectl 0.2 copied them")
    return case_id


def test_new_features_on_an_old_desk_name_the_upgrade(desk: Path) -> None:
    case_id = made_by_0_2(desk)
    before = head(desk)
    for args in (("task", "add", case_id, "--to", "per", "--subject", "Bytt switch"),
                 ("new", "--subject", "Skriver virker ikke"),
                 ("org", "add", "Bergen kommune", "--sla", "gold")):
        result = act(desk, *args, agent="admin" if args[0] == "org" else "kari")
        assert result.exit_code == 1, (args, result.output)
        assert "desk-schemas-current" in result.stderr and "casectl upgrade" in result.stderr
        assert "Traceback" not in result.output
    assert head(desk) == before  # nothing was written


def test_upgrade_takes_the_new_schemas_in_one_commit(desk: Path) -> None:
    case_id = made_by_0_2(desk)
    result = act(desk, "upgrade", agent="admin")
    assert result.exit_code == 0, result.output
    assert "schemas/case.schema.json" in result.stdout
    last = commits(desk, "-1")[0]
    assert last["trailers"]["Action"] == "upgrade" and last["author"] == "Åse Admin"
    assert sorted(git(desk, "show", "--name-only", "--format=", "HEAD").split()) == [
        "schemas/case.schema.json", "schemas/config.schema.json"]
    # what was refused works now, and the old case is valid under the new schemas
    assert act(desk, "task", "add", case_id, "--to", "per", "--subject", "Bytt switch"
               ).exit_code == 0
    assert load_case(desk, case_id)["tasks"][0]["subject"] == "Bytt switch"
    assert act(desk, "validate").exit_code == 0
    # a second run has nothing to do and commits nothing
    again = act(desk, "upgrade", agent="admin")
    assert again.exit_code == 0 and "already" in again.stdout
    assert commits(desk, "-1")[0]["trailers"]["Action"] == "task-add"


def test_upgrade_works_when_casectl_yaml_already_uses_new_settings(desk: Path) -> None:
    """Someone added a calendar by hand first: every command now fails on
    casectl.yaml against the old schema, but upgrade can still run."""
    made_by_0_2(desk)
    config = desk / "casectl.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "calendar:\n  country: NO\n",
                      encoding="utf-8")
    git(desk, "-c", "user.name=Admin", "-c", "user.email=admin@example.no", "commit", "-qam",
        "calendar")
    assert act(desk, "list").exit_code == 4
    assert act(desk, "upgrade", agent="admin").exit_code == 0
    assert act(desk, "list").exit_code == 0


def test_upgrade_refuses_to_overwrite_uncommitted_schema_edits(desk: Path) -> None:
    made_by_0_2(desk)
    edited = desk / "schemas" / "case.schema.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace('"title"', '"title" '),
                      encoding="utf-8")
    before = head(desk)
    result = act(desk, "upgrade", agent="admin")
    assert result.exit_code == 1 and "schemas/case.schema.json" in result.stderr
    assert head(desk) == before and '"title" ' in edited.read_text(encoding="utf-8")


def test_a_case_filed_by_a_newer_casectl_names_the_upgrade(desk: Path) -> None:
    """Another clone with the new casectl filed it; this desk still has 0.2's
    schemas: acting on it says how to take the new ones, not "fix the file"."""
    case_id = new_case(desk)
    for path in OLD_SCHEMAS.glob("*.json"):
        shutil.copy(path, desk / "schemas" / path.name)
    git(desk, "-c", "user.name=Admin", "-c", "user.email=admin@example.no", "commit", "-qam",
        "schemas as casectl 0.2 copied them")
    result = act(desk, "log", case_id, "Ringte bruker")
    assert result.exit_code == 1 and "casectl upgrade" in result.stderr
    assert act(desk, "upgrade", agent="admin").exit_code == 0
    assert act(desk, "log", case_id, "Ringte bruker").exit_code == 0
