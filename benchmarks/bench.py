#!/usr/bin/env python3
"""Benchmark casectl on a realistic case repository of N cases.

    python benchmarks/bench.py --cases 10000
    python benchmarks/bench.py --cases 100000 --runs 7 --validate-runs 3

What it does:

1. Generates (or reuses) a case repository of N cases under
   ``benchmarks/work/<N>/repo``: ``casectl init``, teams and agents added
   through the command line, then the case files built in worker processes,
   written to disk and committed in ONE commit with plain git, then packed
   (``git gc``) as a repository in use would be. The desk and its cases come
   from tools/deskdata (shared with tools/make_examples.py): a Nordic
   healthcare desk's, Norwegian, Swedish and Danish, 3-10 events each,
   created over the last two years (the case id carries the creation time,
   so the path's YYYY/MM is the creation month), about 20% open (more among
   recent cases), written with casectl's own functions
   (``model.make_event``/``with_header``, ``ids``, ``yamlio.dump``). The query index is then
   built once with ``casectl list --limit 1`` (timed once, not in the table;
   ``--rebuild-index`` rebuilds and times it again on a reused repository).

2. Times whole processes (wall clock, subprocess) with CASECTL_AGENT set and a
   pinned git configuration (GIT_CONFIG_GLOBAL -> a file under the work
   directory, GIT_CONFIG_NOSYSTEM=1): ``casectl new``, ``log``, ``close``
   (each run on a different open case), ``list`` (open cases), ``list --all
   --limit 50``, ``search WORD``, ``validate`` (fewer runs), and beside them
   a plain ``git add`` + ``git commit`` of one changed case file with git's
   defaults, and ``python -c pass`` / ``python -c "import casectl.cli"`` as
   the floor. Rounds are interleaved (one warm-up round, then one run of
   every operation per round) so that the machine's drift from minute to
   minute hits all operations alike; the table shows the median and min.

   The plain-git baseline runs in a clone of the case repository
   (``benchmarks/work/<N>/baseline``): casectl sets core.splitIndex=true in
   the repositories it makes, a clone does not inherit that, and the clone's
   index is rewritten unsplit (``git -c core.splitIndex=false update-index
   --no-split-index``), so the baseline is git as it comes.

3. Prints a Markdown table with the targets and writes it to
   ``benchmarks/results-<N>.md``. When a target is missed (or with
   ``--profile``) it adds diagnostics: ``GIT_TRACE_PERFORMANCE`` of one action
   and of the baseline, ``-X importtime`` and cProfile of the slow command.
   Hand-written analysis kept in ``benchmarks/analysis-<N>.md`` is copied into
   the results file.

Standard library only, plus casectl and tools/deskdata. Started with another python it
re-executes itself with the project's virtualenv (.venv), so the case files
are built by the same casectl and PyYAML that the timed commands run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Final, Sequence

PROJECT: Final = Path(__file__).resolve().parent.parent
BENCH_DIR: Final = PROJECT / "benchmarks"
VENV_BIN: Final = PROJECT / ".venv" / "bin"
PYTHON: Final = VENV_BIN / "python"
CASECTL: Final = VENV_BIN / "casectl"

if (__name__ == "__main__" and PYTHON.exists()
        and Path(sys.prefix).resolve() != PYTHON.parent.parent.resolve()):
    # Build cases with the same casectl and PyYAML that the timed commands use.
    os.execv(str(PYTHON), [str(PYTHON), __file__, *sys.argv[1:]])
sys.path[:0] = [str(PROJECT), str(PROJECT / "tools")]
from casectl import clock, ids, model, store, yamlio  # noqa: E402
from deskdata.cases import CaseGenerator  # noqa: E402
from deskdata.desk import ADMIN, AGENTS, DESK_TZ, setup_commands  # noqa: E402
from deskdata.files import case_file  # noqa: E402

ACTING_AGENT: Final = ADMIN  # the desk lead may do everything the benchmark times
META_FILE: Final = "generated.json"

# ---------------------------------------------------------------- the cases

def _write_chunk(args: tuple[str, int, int, float]) -> tuple[Counter[str], int]:
    """Worker: generate and write ``count`` cases; their statuses and bytes written."""
    root_text, seed, count, now_ts = args
    root = Path(root_text)
    generator = CaseGenerator(seed, datetime.fromtimestamp(now_ts, tz=DESK_TZ))
    statuses: Counter[str] = Counter()
    written = 0
    made_dirs: set[Path] = set()
    for _ in range(count):
        plan = generator.plan()
        while True:
            rel, text = case_file(plan)
            path = root / rel
            if path.parent not in made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(path.parent)
            try:
                with open(path, "x", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
                break
            except FileExistsError:  # same second, same random tail: new ids for the same plan
                continue
        statuses[plan.status] += 1
        written += len(text.encode("utf-8"))
    return statuses, written


# ---------------------------------------------------------------- running things

class BenchError(RuntimeError):
    pass


@dataclass
class Env:
    """Where a benchmark works and the environment its processes get."""

    work: Path
    home: Path = field(init=False)
    repo: Path = field(init=False)
    baseline: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.work / "home"
        self.repo = self.work / "repo"
        self.baseline = self.work / "baseline"

    def environ(self, agent: str | None = ACTING_AGENT, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CASECTL_", "GIT_", "PYTHON", "EMAIL"))}
        env.update(HOME=str(self.home), GIT_CONFIG_GLOBAL=str(self.home / "gitconfig"),
                   GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8", GIT_TERMINAL_PROMPT="0")
        if agent:
            env["CASECTL_AGENT"] = agent
        env.update(extra)
        return env

    def write_gitconfig(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        # The desk's admin runs the benchmark: once roles bind, only an admin
        # (or a service identity) may act in the bench's agent's name.
        admin = next(agent for agent in AGENTS if agent.id == ADMIN)
        (self.home / "gitconfig").write_text(
            f"[user]\n\tname = {admin.name}\n\temail = {admin.email}\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
            encoding="utf-8")


def run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str],
        input: str | None = None, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, input=input or "",
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    if done.returncode not in ok:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
                         f"{done.stderr[-3000:]}\n{done.stdout[-2000:]}")
    return done


def timed(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> float:
    """Wall clock of one process, its output read as bytes and dropped."""
    argv = [str(c) for c in cmd]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}\n"
                         f"{done.stderr.decode('utf-8', 'replace')[-3000:]}")
    return seconds


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", *args], repo, env).stdout


def du_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True).stdout
    return int(out.split()[0]) / 1024 if out else float("nan")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- generation

def generate(env: Env, cases: int, jobs: int, seed: int) -> dict[str, Any]:
    """Make the case repository, committed and packed; return what it took."""
    meta: dict[str, Any] = {"cases": cases, "seed": seed}
    env.write_gitconfig()
    admin = env.environ(agent=None)

    start = time.perf_counter()
    for args in setup_commands(str(env.repo)):
        run([CASECTL, *args], env.work, admin)
    meta["setup_seconds"] = time.perf_counter() - start
    log(f"desk set up through the CLI in {meta['setup_seconds']:.1f} s")

    start = time.perf_counter()
    now_ts = time.time()
    chunks = max(jobs * 8, 1)
    per = [cases // chunks + (1 if i < cases % chunks else 0) for i in range(chunks)]
    tasks = [(str(env.repo), seed * 1000 + i, n, now_ts) for i, n in enumerate(per) if n]
    statuses: Counter[str] = Counter()
    written = 0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for chunk_statuses, chunk_bytes in pool.imap_unordered(_write_chunk, tasks):
            statuses.update(chunk_statuses)
            written += chunk_bytes
    meta["build_seconds"] = time.perf_counter() - start
    meta["statuses"] = dict(sorted(statuses.items()))
    meta["bytes"] = written
    log(f"{cases:,} cases built and written in {meta['build_seconds']:.1f} s "
        f"({written / cases:,.0f} bytes each on average)")

    start = time.perf_counter()
    git(env.repo, admin, "add", "cases")
    meta["git_add_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    # No auto gc in the background while the benchmark runs: pack explicitly below.
    git(env.repo, admin, "-c", "gc.auto=0", "commit", "--quiet", "-m",
        f"Import {cases:,} generated cases (benchmark)")
    meta["git_commit_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    git(env.repo, admin, "gc", "--quiet")
    meta["git_gc_seconds"] = time.perf_counter() - start
    log(f"git add {meta['git_add_seconds']:.1f} s, commit {meta['git_commit_seconds']:.1f} s, "
        f"gc {meta['git_gc_seconds']:.1f} s")

    meta["generated_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta["stage"] = "committed"
    return meta


def build_index(env: Env) -> float:
    """Build casectl's query index from scratch with ``casectl list --limit 1``:
    the one-time cost a desk pays; the seconds it took."""
    for stale in (env.repo / ".git" / "casectl").glob("index.sqlite*"):
        stale.unlink()
    start = time.perf_counter()
    run([CASECTL, "list", "--limit", "1"], env.repo, env.environ())
    return time.perf_counter() - start


def make_baseline(env: Env) -> None:
    """A clone with git's defaults: no core.splitIndex, an unsplit index."""
    admin = env.environ(agent=None)
    if env.baseline.exists():
        shutil.rmtree(env.baseline)
    start = time.perf_counter()
    run(["git", "clone", "--quiet", str(env.repo), str(env.baseline)], env.work, admin)
    log(f"baseline clone made in {time.perf_counter() - start:.1f} s")


def check_baseline(env: Env) -> str:
    admin = env.environ(agent=None)
    git(env.baseline, admin, "-c", "core.splitIndex=false", "update-index", "--no-split-index")
    setting = run(["git", "config", "--get", "core.splitIndex"], env.baseline, admin,
                  ok=(0, 1)).stdout.strip()
    shared = list((env.baseline / ".git").glob("sharedindex.*"))
    if setting not in ("", "false") or shared:
        raise BenchError(f"the baseline clone is not git's defaults: core.splitIndex={setting!r}"
                         f", {len(shared)} shared index file(s)")
    return setting or "unset"


def append_event(path: Path, kind: str, text: str) -> str:
    """Append an event to a case file as casectl would (untimed); the commit subject."""
    case = yamlio.load(path.read_text(encoding="utf-8"), str(path))
    last = max(datetime.fromisoformat(e["at"]) for e in case["log"])
    moment = max(clock.now(DESK_TZ), last + timedelta(milliseconds=1))
    event = model.make_event(ids.new_event_id(moment), clock.isoformat(moment), ACTING_AGENT,
                             kind, {"text": text})
    store.write_atomic(path, yamlio.dump(model.with_header(case["id"], case["log"] + [event])))
    return f"{case['id']} {'log' if kind == 'worklog' else kind}: {case['subject']}"


# ---------------------------------------------------------------- the benchmark

@dataclass
class Op:
    """One timed operation: a name, what to run each round, the timings."""

    name: str
    action: Callable[[int], float]
    rounds: int | None = None  # None: every round
    times: list[float] = field(default_factory=list)
    target: str = ""
    verdict: str = ""


class Bench:
    def __init__(self, env: Env, runs: int, validate_runs: int, search_word: str,
                 seed: int) -> None:
        self.env = env
        self.runs = runs
        self.validate_runs = validate_runs
        self.search_word = search_word
        self.rng = random.Random(seed)
        self.words = CaseGenerator(self.rng, datetime.now(DESK_TZ))
        self.acting = env.environ()
        self.plain = env.environ(agent=None)

    # -- choosing cases

    def open_cases(self) -> list[str]:
        """Open cases of the acting agent's home team: the ones the role
        table lets her work (a handler works her team's cases)."""
        team = next(agent for agent in AGENTS if agent.id == ACTING_AGENT).teams[0]
        out = run([CASECTL, "list", "--team", team, "--format", "csv"], self.env.repo,
                  self.acting).stdout
        ids_ = [line.split(",", 1)[0] for line in out.splitlines()[1:] if line]
        self.rng.shuffle(ids_)
        return ids_

    def baseline_files(self, count: int) -> list[str]:
        out = git(self.env.baseline, self.plain, "ls-files", "-z", "cases")
        files = [f for f in out.split("\0") if f.endswith(".yaml")]
        return self.rng.sample(files, count)

    # -- the operations

    def casectl(self, *args: str) -> float:
        return timed([CASECTL, *args], self.env.repo, self.acting)

    def build(self) -> list[Op]:
        rounds = self.runs + 1  # the first is the warm-up
        open_ids = self.open_cases()
        need = 3 * rounds
        if len(open_ids) < need:
            raise BenchError(f"only {len(open_ids)} open cases; need {need}")
        log_ids = open_ids[:rounds]
        close_ids = open_ids[rounds:2 * rounds]
        behind_ids = open_ids[2 * rounds:3 * rounds]
        baseline_files = self.baseline_files(rounds)

        def new(i: int) -> float:
            # No --notify: every run should do the same work, and mail is not what is timed.
            draft = replace(self.words.draft("no"), notify=False)
            return self.casectl(*draft.new_args())

        def log_(i: int) -> float:
            return self.casectl("log", log_ids[i], self.words.sentence("worklog", "no"))

        def close(i: int) -> float:
            return self.casectl("close", close_ids[i], "--confirmed", "--solution",
                                self.words.sentence("solution", "no"))

        def list_open(i: int) -> float:
            run([CASECTL, "list", "--limit", "1"], self.env.repo, self.acting)  # index current
            return self.casectl("list")

        def list_behind(i: int) -> float:
            run([CASECTL, "log", behind_ids[i], "Fulgt opp på telefon."], self.env.repo,
                self.acting)
            return self.casectl("list")

        def plain_commit(i: int) -> float:
            rel = baseline_files[i]
            subject = append_event(self.env.baseline / rel, "worklog", "Fulgt opp på telefon.")
            start = time.perf_counter()
            run(["git", "add", rel], self.env.baseline, self.plain)
            run(["git", "commit", "--quiet", "-m", subject], self.env.baseline, self.plain)
            return time.perf_counter() - start

        def same_repo_commit(i: int) -> float:
            """Plain git in the case repository itself (split index, as casectl sets it)."""
            rel = store.case_relpath(behind_ids[i])
            subject = append_event(self.env.repo / rel, "note", "Intern: kontrollert.")
            start = time.perf_counter()
            run(["git", "add", rel], self.env.repo, self.plain)
            run(["git", "commit", "--quiet", "-m", subject], self.env.repo, self.plain)
            return time.perf_counter() - start

        py = str(PYTHON)
        return [
            Op("`python -c pass` (floor)", lambda i: timed([py, "-c", "pass"], PROJECT,
                                                          self.acting)),
            Op("`python -c \"import casectl.cli\"` (floor)",
               lambda i: timed([py, "-c", "import casectl.cli"], PROJECT, self.acting)),
            Op("plain `git add` + `git commit`, one case file (baseline clone, git defaults)",
               plain_commit),
            Op("plain `git add` + `git commit` in the case repo (split index)",
               same_repo_commit),
            Op("`casectl new`", new),
            Op("`casectl log`", log_),
            Op("`casectl close --confirmed`", close),
            Op("`casectl list` (open cases)", list_open),
            Op("`casectl list` right after an action (index one commit behind)", list_behind),
            Op("`casectl list --all --limit 50`",
               lambda i: self.casectl("list", "--all", "--limit", "50")),
            Op(f"`casectl search {self.search_word}`",
               lambda i: self.casectl("search", self.search_word)),
            Op("`casectl validate` (whole repository)", lambda i: self.casectl("validate"),
               rounds=self.validate_runs),
        ]

    def measure(self, ops: list[Op]) -> None:
        for round_ in range(self.runs + 1):
            label = "warm-up" if round_ == 0 else f"round {round_}/{self.runs}"
            log(label)
            for op in ops:
                if op.rounds is not None and (op.rounds == 0 or round_ > op.rounds):
                    continue
                seconds = op.action(round_)
                if round_:
                    op.times.append(seconds)


def judge(ops: list[Op], cases: int) -> list[str]:
    """Fill in targets and verdicts; return the names of the missed ones."""
    by_name = {op.name: op for op in ops}
    plain = statistics.median(
        by_name["plain `git add` + `git commit`, one case file (baseline clone, git defaults)"]
        .times)
    large = cases >= 100_000
    missed = []
    for op in ops:
        if not op.times:
            continue
        median = statistics.median(op.times)
        if op.name.startswith(("`casectl new`", "`casectl log`", "`casectl close")):
            ratio = median / plain
            if large:
                op.target = f"< plain commit ({plain:.3f} s)"
                ok = median < plain
            else:
                op.target = f"≤ 3× plain commit ({3 * plain:.3f} s)"
                ok = median <= 3 * plain
            op.verdict = f"{'met' if ok else '**missed**'} ({ratio:.1f}× plain)"
        elif op.name == "`casectl list` (open cases)":
            limit = 0.5 if large else 0.3
            op.target = f"< {limit} s"
            ok = median < limit
            op.verdict = "met" if ok else "**missed**"
        elif op.name.startswith("`casectl validate`") and not large:
            op.target = "< 10 s"
            ok = median < 10
            op.verdict = "met" if ok else "**missed**"
        else:
            continue
        if not ok:
            missed.append(op.name)
    return missed


def table(ops: list[Op]) -> str:
    lines = ["| operation | median (s) | min (s) | runs | target | result |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for op in ops:
        if op.times:
            lines.append(f"| {op.name} | {statistics.median(op.times):.3f} | "
                         f"{min(op.times):.3f} | {len(op.times)} | {op.target or '–'} | "
                         f"{op.verdict or '–'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- diagnostics

def git_trace(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> str:
    """Each git process a command runs, with git's own timing of it. The trace
    goes to a file: casectl captures its git processes' standard error."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        start = time.perf_counter()
        run(cmd, cwd, dict(env, GIT_TRACE_PERFORMANCE=str(trace)))
        wall = time.perf_counter() - start
        text = trace.read_text(encoding="utf-8", errors="replace") if trace.exists() else ""
    rows = []
    total = 0.0
    for line in text.splitlines():
        match = re.search(r"performance: ([0-9.]+) s: +git command: (.*)$", line)
        if match:
            seconds = float(match.group(1))
            total += seconds
            command = match.group(2).replace("'", "")
            command = re.sub(r"^\S*git (-c \S+ )*", "git ", command)
            rows.append(f"    {seconds:7.3f} s  {command[:110]}")
    return "\n".join(rows + [f"    {total:7.3f} s  in {len(rows)} git process(es); "
                             f"wall clock of the whole command {wall:.3f} s"])


def import_times(args: Sequence[str], cwd: Path, env: dict[str, str], top: int = 12) -> str:
    done = subprocess.run([str(PYTHON), "-X", "importtime", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    entries = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            entries.append((int(match.group(2)), len(match.group(3)) // 2, match.group(4)))
    total = sum(cumulative for cumulative, depth, _ in entries if depth == 0)
    rows = [f"    {cum / 1000:7.1f} ms  {'  ' * depth}{name}"
            for cum, depth, name in sorted(entries, reverse=True)[:top]]
    return "\n".join([f"    {total / 1000:7.1f} ms  all imports"] + rows)


_PROFILE_NOISE = re.compile(r"<frozen |builtins\.exec\}|<string>:1\(<module>\)|"
                            r"__main__\.py|core\.py|decorators\.py|__init__\.py:1\(<module>\)")


def cprofile(args: Sequence[str], cwd: Path, env: dict[str, str], top: int = 22) -> str:
    """cProfile of one casectl process: by cumulative time (import machinery and
    Click's dispatch left out), then by own time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prof"
        run([PYTHON, "-m", "cProfile", "-o", out, "-m", "casectl", *args], cwd, env)
        if not out.exists():  # the process left without running exit handlers
            return "    (no profile written: the command exited without interpreter teardown)"
        script = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); s.strip_dirs(); "
                  "s.sort_stats('cumulative').print_stats(200); "
                  "print('@@'); s.sort_stats('tottime').print_stats(12)")
        text = run([PYTHON, "-c", script, out], cwd, env).stdout
    cumulative, _, own = text.partition("@@")
    summary = next((line.strip() for line in text.splitlines() if "function calls" in line), "")

    def rows(block: str, keep: int, drop_noise: bool) -> list[str]:
        lines = [line for line in block.splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), len(lines))
        body = [line for line in lines[start + 1:]
                if not (drop_noise and _PROFILE_NOISE.search(line))]
        return [f"    {lines[start]}" if start < len(lines) else ""] + \
            [f"    {line}" for line in body[:keep]]

    return "\n".join([f"    {summary}", "    by cumulative time:",
                      *rows(cumulative, top, True), "    by own time:", *rows(own, 12, False)])


def diagnostics(bench: Bench, missed: list[str], profile_all: bool) -> str:
    env = bench.env
    acting = bench.acting
    parts = ["## Diagnostics", "",
             "Collected by the script (one run each, so single numbers, not medians)."]
    open_ids = bench.open_cases()
    parts += ["", "`casectl log` — git processes (GIT_TRACE_PERFORMANCE=1):", "```",
              git_trace([CASECTL, "log", open_ids[0], "Fulgt opp på telefon."], env.repo,
                        acting), "```"]
    files = bench.baseline_files(1)
    path = env.baseline / files[0]
    path.write_text(path.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
    parts += ["", "plain `git add` + `git commit` in the baseline clone (GIT_TRACE_PERFORMANCE=1):",
              "```", git_trace(["git", "add", files[0]], env.baseline, bench.plain),
              git_trace(["git", "commit", "-q", "-m", "touch"], env.baseline, bench.plain),
              "```"]
    parts += ["", "`casectl log` — imports (`python -X importtime -m casectl log ...`, "
              "cumulative):", "```",
              import_times(["-m", "casectl", "log", open_ids[1], "Fulgt opp."], env.repo,
                           acting), "```"]
    parts += ["", "`casectl log` — cProfile (cumulative):", "```",
              cprofile(["log", open_ids[2], "Fulgt opp."], env.repo, acting), "```"]
    if any("list" in name for name in missed) or profile_all:
        run([CASECTL, "list", "--limit", "1"], env.repo, acting)
        parts += ["", "`casectl list` — imports (cumulative):", "```",
                  import_times(["-m", "casectl", "list"], env.repo, acting), "```"]
        parts += ["", "`casectl list` — cProfile (cumulative):", "```",
                  cprofile(["list"], env.repo, acting), "```"]
    return "\n".join(parts)


# ---------------------------------------------------------------- main

def code_version() -> str:
    """The project's commit, and whether casectl/ differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT,
                          capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "casectl"], cwd=PROJECT,
                           capture_output=True, text=True).stdout.strip()
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py = subprocess.run([str(PYTHON), "-c", "import sys; print(sys.version.split()[0])"],
                        capture_output=True, text=True).stdout.strip()
    gitv = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPU(s) ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {py}, {gitv}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark casectl on a generated case repository of N cases.",
        epilog="Results go to benchmarks/results-<N>.md; the repository to "
               "benchmarks/work/<N>/ (git-ignored), reused unless --fresh.")
    parser.add_argument("--cases", type=int, default=10_000, metavar="N",
                        help="number of cases (default: %(default)s)")
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="work directory holding repo/, baseline/ and home/ "
                             "(default: benchmarks/work/<N>)")
    parser.add_argument("--fresh", action="store_true",
                        help="generate the repository anew even if one of this size exists")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per operation, after "
                        "one warm-up (default: %(default)s)")
    parser.add_argument("--validate-runs", type=int, default=3,
                        help="timed runs of validate; 0 skips it (default: %(default)s)")
    parser.add_argument("--search", default="Unilab", metavar="WORD",
                        help="what `casectl search` looks for (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes building case files (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the contents")
    parser.add_argument("--rebuild-index", action="store_true",
                        help="delete and rebuild the query index of a reused repository "
                        "first, timing it (as after generation)")
    parser.add_argument("--profile", action="store_true",
                        help="add diagnostics even when every target is met")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="results file (default: benchmarks/results-<N>.md)")
    args = parser.parse_args(argv)
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    if args.runs < 1 or args.validate_runs < 0:
        parser.error("--runs must be at least 1 and --validate-runs at least 0")
    if not CASECTL.exists():
        parser.error(f"{CASECTL} is missing: make the virtualenv first (make test)")

    env = Env((args.dir or BENCH_DIR / "work" / str(args.cases)).resolve())
    meta_file = env.work / META_FILE
    meta: dict[str, Any] = {}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    reuse = (not args.fresh and meta.get("cases") == args.cases
             and (env.repo / "casectl.yaml").is_file())
    if reuse:
        log(f"reusing the repository in {env.repo} (generated {meta.get('generated_at')})")
        env.write_gitconfig()
    else:
        if env.repo.exists() and not meta_file.exists():
            raise SystemExit(f"{env.repo} exists but was not made by this script; "
                             "choose another --dir")
        for made in (env.repo, env.baseline, env.home):
            if made.exists():
                shutil.rmtree(made)
        meta_file.unlink(missing_ok=True)
        env.work.mkdir(parents=True, exist_ok=True)
        log(f"generating {args.cases:,} cases in {env.repo}")
        start = time.perf_counter()
        meta = generate(env, args.cases, max(1, args.jobs), args.seed)
        meta["generation_seconds"] = time.perf_counter() - start
        log(f"generation took {meta['generation_seconds']:.1f} s in all")
        meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if meta.get("stage") == "committed" or args.rebuild_index:
        log("building the query index (casectl list --limit 1)")
        meta["index_build_seconds"] = build_index(env)
        meta["index_build_code"] = code_version()
        meta["stage"] = "indexed"
        log(f"query index built in {meta['index_build_seconds']:.1f} s")
        meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if not (env.baseline / ".git").exists():
        make_baseline(env)
    baseline_split = check_baseline(env)
    repo_split = run(["git", "config", "--get", "core.splitIndex"], env.repo,
                     env.environ(agent=None), ok=(0, 1)).stdout.strip()

    start = time.perf_counter()
    run([CASECTL, "list", "--limit", "1"], env.repo, env.environ())
    catch_up = time.perf_counter() - start
    bench = Bench(env, args.runs, args.validate_runs, args.search, args.seed + int(time.time()))
    tracked = sum(1 for line in git(env.repo, bench.plain, "ls-files", "cases").splitlines()
                  if line.endswith(".yaml"))
    ops = bench.build()
    open_now = len(bench.open_cases())
    found = run([CASECTL, "search", args.search, "--format", "csv"], env.repo, bench.acting)
    hits = max(0, len(found.stdout.splitlines()) - 1)
    log(f"{tracked:,} case files, {open_now:,} open; timing {args.runs} rounds after a warm-up")
    bench.measure(ops)
    missed = judge(ops, args.cases)

    sizes = (du_mib(env.repo), du_mib(env.repo / ".git"), du_mib(env.repo / ".git" / "casectl"))
    index_file = env.repo / ".git" / "index"
    shared = sorted((env.repo / ".git").glob("sharedindex.*"))
    gen = meta
    statuses = gen.get("statuses", {})
    open_generated = sum(v for k, v in statuses.items() if k in model.OPEN_STATUSES)
    report = [
        f"# casectl benchmark: {args.cases:,} cases",
        "",
        f"Run {datetime.now().astimezone().isoformat(timespec='minutes')} on {machine()}; "
        f"casectl {code_version()}.",
        "",
        f"Repository: {tracked:,} case files ({open_now:,} open now; generated "
        f"{open_generated:,} open of {args.cases:,}: "
        + ", ".join(f"{k} {v:,}" for k, v in statuses.items())
        + f"), {sizes[0]:,.0f} MiB on disk of which .git {sizes[1]:,.0f} MiB (casectl's "
        f"query index {sizes[2]:,.0f} MiB); "
        f"index {index_file.stat().st_size / 1024:,.0f} KiB + shared index "
        f"{sum(p.stat().st_size for p in shared) / 1024:,.0f} KiB "
        f"(core.splitIndex={repo_split or 'unset'}). "
        f"`casectl search {args.search}` finds {hits:,} cases.",
        "",
        f"Generation: {gen.get('generation_seconds', float('nan')):.1f} s in all — desk set "
        f"up through the CLI {gen.get('setup_seconds', float('nan')):.1f} s, cases built and "
        f"written {gen.get('build_seconds', float('nan')):.1f} s, `git add` "
        f"{gen.get('git_add_seconds', float('nan')):.1f} s, `git commit` "
        f"{gen.get('git_commit_seconds', float('nan')):.1f} s, `git gc` "
        f"{gen.get('git_gc_seconds', float('nan')):.1f} s; then the query index built once "
        f"(`casectl list --limit 1`, casectl {gen.get('index_build_code', '?')}) in "
        f"{gen.get('index_build_seconds', float('nan')):.1f} s. Before timing, bringing the "
        f"index up to date took {catch_up:.2f} s (a full rebuild if casectl's index schema "
        "changed since).",
        "",
        f"Method: whole processes, wall clock, median and min of {args.runs} runs after one "
        f"warm-up ({args.validate_runs} for validate), operations interleaved round by round. "
        f"CASECTL_AGENT={ACTING_AGENT}, GIT_CONFIG_GLOBAL pinned, GIT_CONFIG_NOSYSTEM=1. "
        "`log` and `close` act on a different open case each run; `list` is timed with the "
        "index up to date, and once more right after an untimed `casectl log`. The baseline "
        "is `git add` + `git commit` of one changed case file in a clone of the repository "
        f"with git's defaults (core.splitIndex {baseline_split}, index rewritten without "
        "split); the row below it is the same in the case repository itself, with the split "
        "index casectl configures.",
        "",
        table(ops),
        "",
    ]
    if missed:
        report += ["Missed: " + "; ".join(missed) + ".", ""]
    else:
        report += ["Every target met.", ""]
    if missed or args.profile:
        log("collecting diagnostics")
        report += [diagnostics(bench, missed, args.profile), ""]
    notes = BENCH_DIR / f"analysis-{args.cases}.md"
    if notes.exists():
        report += [notes.read_text(encoding="utf-8").rstrip(), ""]
    text = "\n".join(report)
    output = args.output or BENCH_DIR / f"results-{args.cases}.md"
    output.write_text(text, encoding="utf-8")
    print(text)
    log(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
