"""The merge driver git runs for case files (`.gitattributes`: merge=casectl),
so that two clones that acted on one case merge on `git pull` without a
conflict: see casectl/merge.py for the rule."""

from __future__ import annotations

from pathlib import Path

from .. import store, yamlio
from ..errors import InvalidData, RuleViolation
from ..merge import MergeConflict, merge_case


def merge_files(base: Path, ours: Path, theirs: Path, name: str) -> None:
    """Merge ``theirs`` into ``ours`` (git's %A, which holds the result) with
    ``base`` as the common ancestor (empty when there is none). A refusal
    leaves ``ours`` with both versions between conflict markers, as git's
    own merge would, and says why."""
    try:
        ancestor = yamlio.read_mapping(base, f"{name} (base)") \
            if base.stat().st_size else None
        mine = yamlio.read_mapping(ours, f"{name} (ours)")
        other = yamlio.read_mapping(theirs, f"{name} (theirs)")
        merged = merge_case(ancestor, mine, other)
    except (MergeConflict, InvalidData) as exc:
        reason = exc.message
        text = (f"<<<<<<< ours\n{ours.read_text(encoding='utf-8')}=======\n"
                f"{theirs.read_text(encoding='utf-8')}>>>>>>> theirs\n")
        store.write_atomic(ours, text)
        raise RuleViolation(
            "merge-by-events", f"{name}: cannot merge the two versions: {reason}",
            "resolve it by hand keeping every event of both sides as they were, then "
            f"'git add {name}' and 'casectl validate {name}'") from None
    store.write_atomic(ours, yamlio.dump(merged))
