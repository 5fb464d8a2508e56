#!/usr/bin/env python3
"""Benchmark `casectl audit` on a history of N cases.

    python benchmarks/bench_audit.py --cases 10000

What it does:

1. Makes (or reuses) a case repository under ``benchmarks/work/audit-<N>/repo``:
   the desk of tools/deskdata set up through the command line (init, teams,
   agents), then N generated cases (tools/deskdata, 3-10 events each) written
   as ONE COMMIT PER EVENT, as casectl itself records them: each commit
   appends one event to one case file (the header replayed), is authored by
   the event's agent and carries Case/Action/Agent trailers; the commits are
   in time order across all cases, so cases interleave as on a real desk.
   They are written with `git fast-import` (minutes rather than hours of
   `casectl` processes); the files are what casectl writes (model.make_event,
   with_header, yamlio.dump).
2. Times `casectl audit --format json` with the cache removed (the first
   run: every commit read and judged), then again (the second run: every
   commit found in the cache), as whole processes, wall clock.
3. Prints a Markdown table and writes it to ``benchmarks/results-audit-<N>.md``.

The generated cases are realistic, not rule-abiding: deskdata lets any
agent of a team act on its cases, so the audit reports some role findings
(a handler working a case outside their scope, say). They are counted in
the table; judging them costs the same as judging a clean commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final

PROJECT: Final = Path(__file__).resolve().parent.parent
VENV_PYTHON: Final = PROJECT / ".venv" / "bin" / "python"
CASECTL: Final = PROJECT / ".venv" / "bin" / "casectl"

if (__name__ == "__main__" and VENV_PYTHON.exists()
        and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve()):
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
sys.path[:0] = [str(PROJECT), str(PROJECT / "tools")]
from casectl import clock, ids, model, store, yamlio  # noqa: E402
from deskdata.cases import CaseGenerator  # noqa: E402
from deskdata.desk import AGENTS, DESK_TZ, setup_commands  # noqa: E402

# The Action trailer casectl writes for a command that appends each kind.
ACTIONS: Final = {
    "created": "new", "assigned": "assign", "taken": "take", "handed_over": "handover",
    "worklog": "log", "note": "note", "email": "email", "priority_set": "priority",
    "solved": "close", "closed": "close", "rejected": "reject", "reopened": "reopen",
    "edited": "edit", "triaged": "triage", "task_added": "task-add", "task_done": "task-done",
    "contact": "contact", "reply": "reply",
}
PEOPLE: Final = {agent.id: agent for agent in AGENTS}


def environ(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    # No identity: casectl commits as the acting agent (an identity that is
    # no agent may not act in an agent's name once roles bind).
    (home / ".gitconfig").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "CASECTL_"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
               GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8")
    return env


def action(kind: str, data: dict[str, Any]) -> str:
    if kind == "status_changed":
        return "start" if data.get("status") == "started" else "wait"
    return ACTIONS[kind]


def generate(repo: Path, env: dict[str, str], cases: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    for args in setup_commands(str(repo)):
        subprocess.run([str(CASECTL), *args], env=env, check=True, capture_output=True)
    generator = CaseGenerator(seed, datetime.now(DESK_TZ))
    logs: list[tuple[str, list[dict[str, Any]]]] = []
    order: list[tuple[str, int, int]] = []
    for index in range(cases):
        plan = generator.plan()
        case_id = ids.new_case_id(plan.created)
        log = [model.make_event(ids.new_event_id(step.at), clock.isoformat(step.at), step.by,
                                step.kind, step.data) for step in plan.steps]
        logs.append((case_id, log))
        order += [(event["at"], index, position) for position, event in enumerate(log)]
    # Time order across cases (ISO strings of one zone sort as times; ties by case).
    order.sort(key=lambda item: (datetime.fromisoformat(item[0]), item[1], item[2]))
    tip = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    importer = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=repo, env=env,
                                stdin=subprocess.PIPE)
    assert importer.stdin is not None
    out = importer.stdin
    for number, (_, index, position) in enumerate(order):
        case_id, log = logs[index]
        event = log[position]
        agent = PEOPLE[event["by"]]
        text = yamlio.dump(model.with_header(case_id, log[:position + 1])).encode("utf-8")
        when = datetime.fromisoformat(event["at"])
        stamp = f"{int(when.timestamp())} {when.strftime('%z')}"
        message = (f"{case_id} {action(event['kind'], event['data'])}: generated\n\n"
                   f"Case: {case_id}\nAction: {action(event['kind'], event['data'])}\n"
                   f"Agent: {agent.id}\n").encode("utf-8")
        person = f"{agent.name} <{agent.email}> {stamp}".encode("utf-8")
        out.write(b"commit refs/heads/main\n")
        out.write(b"author " + person + b"\ncommitter " + person + b"\n")
        out.write(b"data %d\n" % len(message) + message)
        if number == 0:
            out.write(f"from {tip}\n".encode())
        out.write(f"M 100644 inline {store.case_relpath(case_id)}\n".encode())
        out.write(b"data %d\n" % len(text) + text + b"\n")
    out.write(b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=repo, env=env, check=True)
    return {"cases": cases, "events": len(order), "seconds": time.perf_counter() - started}


def timed_audit(repo: Path, env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """(wall clock, CPU seconds of casectl and its git and worker processes, report)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(CASECTL), "--repo", str(repo), "audit", "--format", "json"],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 4):
        raise SystemExit(f"casectl audit failed ({done.returncode}): {done.stderr}")
    return seconds, cpu, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="Generate the repository again.")
    args = parser.parse_args()
    work = PROJECT / "benchmarks" / "work" / f"audit-{args.cases}"
    repo = work / "repo"
    env = environ(work)
    meta_file = work / "generated.json"
    if args.fresh and work.exists():
        shutil.rmtree(work)
        env = environ(work)
    if not meta_file.exists():
        random.seed(args.seed)
        if repo.exists():
            shutil.rmtree(repo)
        print(f"generating {args.cases:,} cases, one commit per event ...", file=sys.stderr)
        meta = generate(repo, env, args.cases, args.seed)
        meta_file.write_text(json.dumps(meta))
    meta = json.loads(meta_file.read_text())
    commits = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, env=env,
                                 capture_output=True, text=True, check=True).stdout)
    for cached in (repo / ".git" / "casectl").glob("audit-*.log"):
        cached.unlink()
    load = os.getloadavg()[0]
    first, first_cpu, report = timed_audit(repo, env)
    second, second_cpu, again = timed_audit(repo, env)
    assert again["checked"] == 0 and again["findings"] == report["findings"]
    rules: dict[str, int] = {}
    for finding in report["findings"]:
        rules[finding["rule"]] = rules.get(finding["rule"], 0) + 1
    table = "\n".join([
        f"# casectl audit at {args.cases:,} cases",
        "",
        f"History: {meta['cases']:,} generated cases, one commit per event "
        f"({meta['events']:,} event commits, {commits:,} commits in all with the desk's "
        "set-up), time-ordered across cases; made with git fast-import "
        f"in {meta['seconds']:.0f} s.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.strip()}.",
        "",
        f"Load average when it started: {load:.1f} (the machine is shared: wall clock "
        "moves with it, CPU time much less).",
        "",
        "| run | commits judged | wall clock | CPU time (all processes) |",
        "|---|---:|---:|---:|",
        f"| first `casectl audit` (no cache) | {report['checked']:,} | {first:.1f} s | "
        f"{first_cpu:.1f} s |",
        f"| second `casectl audit` (cached) | {again['checked']:,} | {second:.2f} s | "
        f"{second_cpu:.2f} s |",
        "",
        f"Findings: {len(report['findings']):,} "
        f"({', '.join(f'{rule} {count:,}' for rule, count in sorted(rules.items())) or 'none'})"
        " — generated data lets any team member act on the team's cases; see the "
        "docstring.",
        "",
    ])
    print(table)
    (PROJECT / "benchmarks" / f"results-audit-{args.cases}.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
