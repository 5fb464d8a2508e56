"""`casectl merge-driver`: what git runs to merge a case file (registered
in .git/config by init and by the first command in a fresh clone)."""

from __future__ import annotations

from pathlib import Path

import click

from ..app import merging


@click.command("merge-driver")
@click.argument("base", metavar="BASE", type=click.Path(path_type=Path))
@click.argument("ours", metavar="OURS", type=click.Path(path_type=Path))
@click.argument("theirs", metavar="THEIRS", type=click.Path(path_type=Path))
@click.argument("name", metavar="[PATH]", required=False, default="the case file")
def merge_driver(base: Path, ours: Path, theirs: Path, name: str) -> None:
    """Merge two versions of a case file: the union of their events.

    Git runs it during a merge or pull (as %O %A %B %P); it writes the
    merged case into OURS, or leaves both versions between conflict
    markers and exits 1 when one side changed or removed a past event.

    \b
    Example:
      git config merge.casectl.driver "casectl merge-driver %O %A %B %P"
    """
    merging.merge_files(base, ours, theirs, name)
