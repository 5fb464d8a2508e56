#!/usr/bin/env python3
"""Benchmark `casectl sync` on a case repository of N cases.

    python benchmarks/bench_sync.py --cases 10000

Uses (or makes) the repository bench.py generates under
``benchmarks/work/<N>/repo``, puts it in a bare remote
(``benchmarks/work/<N>/sync/remote.git``) and makes two clones of it, A and
B, each with its query index built once (untimed). Each round:

- B logs on one open case and syncs (untimed): the remote has one new commit;
- A logs on another open case (untimed): A has one new local commit;
- A's `casectl sync` is timed: fetch, merge (a merge commit; the two case
  files differ, so git merges them without the driver), push, and the query
  index brought up to date;

and then the same with both logging on the SAME case, so the merge runs
casectl's merge driver once (a process of its own). Whole processes, wall
clock, median and min after one warm-up round; interleaved round by round.
Results go to ``benchmarks/results-sync-<N>.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402  (re-executes under the project's .venv, as bench.py does)

if (__name__ == "__main__" and bench.PYTHON.exists()
        and Path(sys.prefix).resolve() != bench.PYTHON.parent.parent.resolve()):
    os.execv(str(bench.PYTHON), [str(bench.PYTHON), __file__, *sys.argv[1:]])

CASECTL = bench.CASECTL


def ensure_repository(env: bench.Env, cases: int, seed: int) -> None:
    """bench.py's repository of ``cases`` cases, generated when missing."""
    meta = env.work / bench.META_FILE
    if not (env.repo / "casectl.yaml").is_file() or not meta.exists():
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):  # bench.py's own table: not ours
            bench.main(["--cases", str(cases), "--runs", "1", "--validate-runs", "0",
                        "--seed", str(seed), "--dir", str(env.work),
                        "--output", str(env.work / "bench-setup.md")])
    env.write_gitconfig()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `casectl sync` at N cases.")
    parser.add_argument("--cases", type=int, default=10_000, metavar="N")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds after a warm-up")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="bench.py's work directory (default: benchmarks/work/<N>)")
    args = parser.parse_args(argv)
    env = bench.Env((args.dir or HERE / "work" / str(args.cases)).resolve())
    ensure_repository(env, args.cases, args.seed)
    acting = env.environ()
    plain = env.environ(agent=None)
    where = env.work / "sync"
    if where.exists():
        shutil.rmtree(where)
    where.mkdir()
    remote, one, two = where / "remote.git", where / "a", where / "b"
    start = time.perf_counter()
    bench.run(["git", "clone", "--quiet", "--bare", str(env.repo), str(remote)], where, plain)
    for clone in (one, two):
        bench.run(["git", "clone", "--quiet", str(remote), str(clone)], where, plain)
        bench.run([CASECTL, "list", "--limit", "1"], clone, acting)  # its own query index
    bench.log(f"remote and two clones made, indexes built, in "
              f"{time.perf_counter() - start:.1f} s")
    out = bench.run([CASECTL, "list", "--format", "csv"], one, acting).stdout
    open_ids = [line.split(",", 1)[0] for line in out.splitlines()[1:] if line]
    rounds = args.runs + 1
    if len(open_ids) < 3 * rounds:
        raise SystemExit(f"only {len(open_ids)} open cases")

    def casectl(repo: Path, *cmd: str) -> None:
        bench.run([CASECTL, *cmd], repo, acting)

    def timed_sync() -> float:
        return bench.timed([CASECTL, "sync"], one, acting)

    different: list[float] = []
    same: list[float] = []
    def exchange(b_case: str, b_text: str, a_case: str, a_text: str) -> float:
        """B takes what A pushed, logs and pushes; A logs and syncs, timed."""
        casectl(two, "sync")
        casectl(two, "log", b_case, b_text)
        casectl(two, "sync")
        casectl(one, "log", a_case, a_text)
        return timed_sync()

    for round_ in range(rounds):
        bench.log("warm-up" if round_ == 0 else f"round {round_}/{args.runs}")
        a_case, b_case, both = open_ids[3 * round_:3 * round_ + 3]
        seconds = exchange(b_case, "Fulgt opp fra klone B.", a_case, "Fulgt opp fra klone A.")
        if round_:
            different.append(seconds)
        seconds = exchange(both, "Samme sak, klone B.", both, "Samme sak, klone A.")
        if round_:
            same.append(seconds)
    head = bench.run(["git", "rev-parse", "HEAD"], one, plain).stdout.strip()
    assert head == bench.run(["git", "rev-parse", "main"], remote, plain).stdout.strip()

    tracked = sum(1 for line in bench.git(one, plain, "ls-files", "cases").splitlines()
                  if line.endswith(".yaml"))
    rows = [("`casectl sync`: 1 local commit, 1 remote commit, different cases", different),
            ("`casectl sync`: 1 local commit, 1 remote commit, the same case (driver runs)",
             same)]
    report = [
        f"# casectl sync benchmark: {args.cases:,} cases",
        "",
        f"Run {datetime.now().astimezone().isoformat(timespec='minutes')} on "
        f"{bench.machine()}; casectl {bench.code_version()}.",
        "",
        f"Two clones (A and B) of a bare remote on the same disk, {tracked:,} case files "
        "each, query indexes built. Each round B logs on an open case and syncs, A logs on "
        "another (or the same) case, and A's `casectl sync` is timed as a whole process: "
        "fetch, merge commit, push, query index brought up to date. Median and min of "
        f"{args.runs} rounds after one warm-up, CASECTL_AGENT={bench.ACTING_AGENT}.",
        "",
        "| operation | median (s) | min (s) | runs |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {len(times)} |"
          for name, times in rows),
        "",
    ]
    notes = HERE / f"analysis-sync-{args.cases}.md"
    if notes.exists():  # hand-written analysis, kept beside the figures as bench.py does
        report += [notes.read_text(encoding="utf-8").rstrip(), ""]
    text = "\n".join(report)
    output = HERE / f"results-sync-{args.cases}.md"
    output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
