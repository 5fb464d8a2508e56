"""The merge driver git runs for case files and casectl.yaml
(`.gitattributes`: merge=casectl), so that two clones that acted on one
case, or both changed the desk's configuration, merge on `git pull` or
`casectl sync` without a conflict: see casectl/merge.py for the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import config as configmod, store, yamlio
from ..errors import InvalidData, NotFound, RuleViolation
from ..merge import IdCollision, MergeConflict, merge_case, merge_config


def merge_files(base: Path, ours: Path, theirs: Path, name: str) -> None:
    """Merge ``theirs`` into ``ours`` (git's %A, which holds the result) with
    ``base`` as the common ancestor (empty when there is none). A refusal
    leaves ``ours`` with both versions between conflict markers, as git's
    own merge would, and says why."""
    is_config = Path(name).as_posix() == configmod.CONFIG_FILE
    missing = [str(path) for path in (base, ours, theirs) if not path.is_file()]
    if missing:
        raise NotFound(f"merge-driver: no such file: {', '.join(missing)}",
                       "git runs the driver with its temporary files (%O %A %B %P in "
                       "merge.casectl.driver); it is not a command to run by hand")
    try:
        ancestor = yamlio.read_mapping(base, f"{name} (base)") \
            if base.stat().st_size else None
        mine = yamlio.read_mapping(ours, f"{name} (ours)")
        other = yamlio.read_mapping(theirs, f"{name} (theirs)")
        if is_config:
            merged: Any = merge_config(ancestor, mine, other)
            _check_config(merged)
        else:
            merged = merge_case(ancestor, mine, other)
    except (MergeConflict, InvalidData) as exc:
        reason = exc.message
        text = (f"<<<<<<< ours\n{ours.read_text(encoding='utf-8')}=======\n"
                f"{theirs.read_text(encoding='utf-8')}>>>>>>> theirs\n")
        store.write_atomic(ours, text)
        if is_config:
            raise RuleViolation(
                "merge-config", f"{name}: cannot merge the two versions: {reason}",
                f"settle it by hand: keep what both sides meant in {name}, then 'git add "
                f"{name}' and 'casectl validate'") from None
        if isinstance(exc, IdCollision):
            raise RuleViolation(
                "unique-case-id", f"{name}: cannot merge the two versions: {reason}",
                "keep them apart: abandon this merge ('git merge --abort', or 'git rebase "
                "--abort' in a pull with rebase) and run 'casectl sync', which gives this "
                "clone's unpushed case a new id and merges") from None
        raise RuleViolation(
            "merge-by-events", f"{name}: cannot merge the two versions: {reason}",
            "resolve it by hand keeping every event of both sides as they were, then "
            f"'git add {name}' and 'casectl validate {name}'") from None
    store.write_atomic(ours, yamlio.dump(merged))


def _check_config(merged: dict[str, Any]) -> None:
    """The merged configuration must itself be valid (a team one side
    removed while the other put an agent in it, say). Git runs the driver
    at the top of the work tree, where the desk's schemas/ are (else the
    schemas casectl ships are used)."""
    found = configmod.problems(merged, Path.cwd(), None)
    if found:
        where, what = found[0]
        raise MergeConflict(f"the merged configuration is not valid: {where}: {what}")
