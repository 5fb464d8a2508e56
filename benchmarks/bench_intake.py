#!/usr/bin/env python3
"""Benchmark `casectl intake`: 1,000 messages into a repository of N cases.

    python benchmarks/bench_intake.py --cases 10000 --messages 1000

What it does:

1. Uses (or makes) the repository bench.py generates under
   ``benchmarks/work/<N>/repo`` and copies it, query index and all, to
   ``benchmarks/work/<N>/intake/repo`` (afresh for every run, so every run
   starts from the same N cases). There it adds the desk's intake identity
   through the command line, as a desk does: a service identity with the
   receiver role in the servicedesk team (``agent add intake --service``).
2. Writes the messages to ``benchmarks/work/<N>/intake/messages/`` before
   anything is timed, each an RFC 5322 file as a mail server delivers it:
   Norwegian, Swedish, Danish and English subjects and bodies with æøå/äö
   (tools/deskdata's words; English ones here), in UTF-8 8bit,
   quoted-printable and base64, ISO-8859-1, and Outlook-style
   multipart/alternative with an HTML part; encoded-word subjects. The mix:
   about 70% new cases; 20% replies from a case's reporter to an open case
   of the repository, subject ``SV: [#ID] ...``, In-Reply-To and References
   naming the desk's notification, quoted history and a signature; 5%
   auto-replies (Auto-Submitted, or an out-of-office subject alone); 5%
   exact copies of an earlier new-case message or reply (a mail server's
   retry). The generated cases were not opened by mail, so a reply joins
   its case by the reporter's address (the threading rule's second way),
   not by a recorded Message-ID.
3. Takes them in, in order, acting as the intake identity (CASECTL_AGENT),
   each way of ``MODES`` on a fresh copy of the desk: ``pipe``, as a mail
   server's delivery pipe (MDA) does, one ``casectl intake FILE`` process
   per message, each process timed (wall clock); ``sweep``, as a cron job
   sweeping the desk's Maildir does, the messages delivered to a Maildir's
   new/ first (not timed), then one ``casectl intake --maildir DIR --json``
   process for all of them. The CPU time of all processes is summed (load
   moves it much less than the wall clock).
4. Checks that the run did real work: every message had the outcome it was
   written for (new, reply, ignored, duplicate), the repository has exactly
   as many more case files as new-case messages, the commits since the
   start are one `new` per new case and one `reply` per reply, and
   ``casectl validate`` passes.
5. Profiles one more new-case message (``-X importtime``, cProfile, the git
   processes) and writes ``benchmarks/results-intake-<N>.md``, with the
   hand-written ``benchmarks/analysis-intake-<N>.md`` appended when it exists.

The ways of taking mail in are the functions in ``MODES``: each gets a
fresh copy of the desk and the messages and returns what it measured.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Callable, Final

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402  (re-executes under the project's .venv, as bench.py does)
import bench_sync  # noqa: E402  (its ensure_repository: bench.py's repository, made once)

if (__name__ == "__main__" and bench.PYTHON.exists()
        and Path(sys.prefix).resolve() != bench.PYTHON.parent.parent.resolve()):
    os.execv(str(bench.PYTHON), [str(bench.PYTHON), __file__, *sys.argv[1:]])

from casectl import store, yamlio  # noqa: E402
from deskdata.cases import CaseGenerator  # noqa: E402
from deskdata.desk import ADMIN, DESK_TZ, MAIL_DOMAIN, mailbox  # noqa: E402
from deskdata.words import LANG  # noqa: E402

CASECTL: Final = bench.CASECTL
INTAKE_ID: Final = "intake"
INTAKE_ADDRESS: Final = f"postmottak@{MAIL_DOMAIN}"
DESK_ADDRESS: Final = f"servicedesk@{MAIL_DOMAIN}"  # the servicedesk team's address
# Share of each kind of message; duplicates copy an earlier new case or reply.
MIX: Final = {"new": 0.70, "reply": 0.20, "auto": 0.05, "duplicate": 0.05}
# What `casectl intake` does with each kind.
EXPECTED: Final = {"new": "new", "reply": "reply", "auto": "ignored", "duplicate": "duplicate"}
# Languages of new messages (deskdata's "no" is Norwegian Bokmål).
LANGS: Final = [("no", 0.40), ("sv", 0.25), ("da", 0.20), ("en", 0.15)]
# How a message is encoded: (charset, transfer encoding, with an HTML part), weight.
ENCODINGS: Final = [(("utf-8", "8bit", False), 0.35), (("utf-8", "quoted-printable", False), 0.15),
                    (("utf-8", "base64", False), 0.10), (("iso-8859-1", "quoted-printable", False),
                                                         0.15),
                    (("utf-8", "quoted-printable", True), 0.25)]

# ---------------------------------------------------------------- words

ENGLISH: Final = {
    "orgs": [("Region Skåne, Lund hospital", "skane.example", "Lund"),
             ("Helse Vest IKT, vendor office", "helse-vest.example", "Bergen"),
             ("Oslo University Hospital, research", "ous.example", "Oslo")],
    "names": ["John Smith", "Emma Brown", "Oliver Jones", "Sophie Taylor", "Liam Wilson"],
    "systems": ["the VPN", "Outlook", "Teams", "the label printer", "Citrix", "the EPR",
                "the lab system", "the Wi-Fi on ward 4"],
    "problems": ["drops every ten minutes", "will not start", "is very slow",
                 "shows a certificate error", "asks for my password again and again",
                 "prints blank pages", "cannot find the patient list"],
    "subject": ["{s} {p}", "Problem: {s} {p}", "{s} {p} since this morning",
                "Urgent: {s} {p} in {place}"],
    "desc": ["{s} {p} on {pc} since {t}.",
             "I have restarted the PC twice; it did not help.",
             "Error message: \"Connection to service failed (code {n})\".",
             "Two colleagues in {place} have the same problem.",
             "We have patients waiting, so please call me as soon as you can."],
}
GREETING: Final = {"no": "Hei,", "sv": "Hej,", "da": "Hej,", "en": "Hello,"}
# Replies and auto-replies answer the repository's cases, which are nb, sv and da.
REPLY_PREFIX: Final = {"no": "SV:", "sv": "SV:", "da": "SV:"}
REPLIES: Final = {
    "no": ["Takk, nå virker det igjen på {pc}.", "Feilen er tilbake etter lunsj, også på "
           "maskinen ved siden av.", "Jeg er på kontoret til kl. 15 i dag, ring gjerne.",
           "Det hjelper ikke å starte på nytt. Skjermbilde av feilmeldingen følger.",
           "Kollegaen min på nattevakt får samme feil nå."],
    "sv": ["Tack, nu fungerar det igen på {pc}.", "Felet är tillbaka efter lunch, även på "
           "datorn bredvid.", "Jag är på plats till kl. 15 i dag, ring gärna.",
           "Det hjälper inte att starta om. Skärmbild på felmeddelandet bifogas.",
           "Min kollega på nattskiftet får samma fel nu."],
    "da": ["Tak, nu virker det igen på {pc}.", "Fejlen er tilbage efter frokost, også på "
           "maskinen ved siden af.", "Jeg er på kontoret til kl. 15 i dag, ring endelig.",
           "Det hjælper ikke at genstarte. Skærmbillede af fejlbeskeden følger.",
           "Min kollega på nattevagten får samme fejl nu."],
}
WROTE: Final = {"no": "Den {d} skrev {who}:", "sv": "Den {d} skrev {who}:",
                "da": "Den {d} skrev {who}:"}
AWAY: Final = {
    "no": ("Automatisk svar: {subject}", "Jeg er på ferie til 14. desember og leser ikke "
           "e-post. Haster det, ring sentralbordet."),
    "sv": ("Automatiskt svar: {subject}", "Jag är på semester till den 14 december och läser "
           "inte e-post. Brådskande ärenden: ring växeln."),
    "da": ("Fraværende: {subject}", "Jeg er på ferie til 14. december og læser ikke mail. "
           "Haster det, så ring omstillingen."),
}


# ---------------------------------------------------------------- messages

@dataclass(frozen=True)
class Message:
    """One message file and what intake should do with it."""

    number: int
    kind: str                   # new, reply, auto, duplicate
    path: Path
    case_id: str | None = None  # the case a reply is to join, or a duplicate's original's
    copy_of: int | None = None  # a duplicate's original message

    @property
    def expected(self) -> str:
        return EXPECTED[self.kind]


@dataclass(frozen=True)
class OpenCase:
    id: str
    subject: str
    reporter_name: str
    reporter_email: str
    lang: str


class Writer:
    """Realistic messages from one seeded random source."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.words = CaseGenerator(rng, now)
        self.clock = now - timedelta(hours=6)  # the messages arrive over the last hours

    def _pick(self, weighted: list[tuple[object, float]]) -> object:
        return self.rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]

    def _stamp(self, msg: EmailMessage, sender_domain: str) -> None:
        self.clock += timedelta(seconds=self.rng.randint(2, 40))
        msg["Date"] = format_datetime(self.clock)
        msg["Message-ID"] = f"<{self.rng.getrandbits(64):016x}.{self.clock:%Y%m%d%H%M%S}@" \
                            f"{sender_domain}>"

    def _body(self, msg: EmailMessage, text: str) -> None:
        charset, cte, with_html = self._pick(ENCODINGS)  # type: ignore[misc]
        msg.set_content(text, charset=charset, cte=cte)
        if with_html:  # Outlook: the same text again as HTML
            paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in text.split("\n\n"))
            msg.add_alternative(f"<html><body>{paragraphs.replace(chr(10), '<br>')}"
                                "</body></html>", subtype="html", charset=charset, cte=cte)

    def new(self) -> EmailMessage:
        lang = str(self._pick(LANGS))  # type: ignore[arg-type]
        if lang == "en":
            ctx = {"s": self.rng.choice(ENGLISH["systems"]),
                   "p": self.rng.choice(ENGLISH["problems"]),
                   "pc": f"PC-{self.rng.randint(1, 9999):04d}",
                   "t": f"{self.rng.randint(7, 15):02d}:{self.rng.randint(0, 59):02d}",
                   "n": str(self.rng.randint(1000, 99999))}
            org, domain, ctx["place"] = self.rng.choice(ENGLISH["orgs"])
            name = self.rng.choice(ENGLISH["names"])
            subject = self.rng.choice(ENGLISH["subject"]).format(**ctx)
            subject = subject[0].upper() + subject[1:]
            lines = [ENGLISH["desc"][0], *self.rng.sample(ENGLISH["desc"][1:], 2)]
            description = "\n".join(line.format(**ctx) for line in lines)
        else:
            ctx = self.words.context(lang)
            draft = self.words.draft(ctx=ctx)
            org, domain, name = ctx["o"], ctx["domain"], ctx["name"]
            subject, description = draft.subject, draft.description
        msg = EmailMessage()
        msg["From"] = f"{name} <{mailbox(name)}@{domain}>"
        msg["To"] = f"Servicedesk <{DESK_ADDRESS}>"
        msg["Subject"] = subject
        self._stamp(msg, domain)
        self._body(msg, f"{GREETING[lang]}\n\n{description}\n\n-- \n{name}\n{org}\n")
        return msg

    def reply(self, case: OpenCase) -> EmailMessage:
        lang = case.lang
        domain = case.reporter_email.rpartition("@")[2]
        ctx = {"pc": f"PC-{self.rng.randint(1, 9999):04d}"}
        text = self.rng.choice(REPLIES[lang]).format(**ctx)
        # The desk's notification the reporter answers: quoted, as clients do.
        sent = self.clock - timedelta(minutes=self.rng.randint(5, 600))
        notification = f"<{case.id}.{sent:%Y%m%d%H%M%S}@{MAIL_DOMAIN}>"
        said = {**self.words.context(lang), "name": case.reporter_name,
                "who": case.reporter_name.split()[0]}
        quoted = "\n".join(f"> {line}" for line in (
            f"[#{case.id}] {case.subject}", "", self.words.sentence("email", lang, said), "",
            "Servicedesk"))
        wrote = WROTE[lang].format(d=format_datetime(sent), who=f"Servicedesk <{DESK_ADDRESS}>")
        msg = EmailMessage()
        msg["From"] = f"{case.reporter_name} <{case.reporter_email}>"
        msg["To"] = f"Servicedesk <{DESK_ADDRESS}>"
        msg["Subject"] = f"{REPLY_PREFIX[lang]} [#{case.id}] {case.subject}"
        msg["In-Reply-To"] = notification
        msg["References"] = notification
        self._stamp(msg, domain)
        self._body(msg, f"{text}\n\n-- \n{case.reporter_name}\n\n{wrote}\n{quoted}\n")
        return msg

    def auto(self, case: OpenCase) -> EmailMessage:
        """An out-of-office answer to the desk's mail: half say so in a
        header (Auto-Submitted), half only in the subject, as some clients do."""
        subject, text = AWAY[case.lang]
        msg = EmailMessage()
        msg["From"] = f"{case.reporter_name} <{case.reporter_email}>"
        msg["To"] = DESK_ADDRESS
        msg["Subject"] = subject.format(subject=f"[#{case.id}] {case.subject}")
        if self.rng.random() < 0.5:
            msg["Auto-Submitted"] = "auto-replied"
        self._stamp(msg, case.reporter_email.rpartition("@")[2])
        self._body(msg, text)
        return msg


def open_cases(repo: Path, env: dict[str, str]) -> list[OpenCase]:
    """The repository's open cases whose reporter has a mail address, read
    from their files (the list does not show the address)."""
    out = bench.run([CASECTL, "list", "--format", "csv"], repo, env).stdout
    ids = [line.split(",", 1)[0] for line in out.splitlines()[1:] if line]
    langs = {domain: lang for lang, words in LANG.items() for _, domain, _ in words["orgs"]}
    found = []
    for case_id in ids:
        doc = yamlio.load((repo / store.case_relpath(case_id)).read_text(encoding="utf-8"),
                          case_id)
        reporter = doc.get("reporter") or {}
        email = reporter.get("email")
        if email and doc["status"] in ("new", "started", "waiting"):
            found.append(OpenCase(case_id, doc["subject"], reporter.get("name") or email, email,
                                  langs.get(email.rpartition("@")[2], "no")))
    return found


def write_messages(where: Path, count: int, cases: list[OpenCase], seed: int) -> list[Message]:
    """``count`` messages in the mix of MIX, written to ``where`` in the order
    they are to be taken in."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX.items() for _ in range(round(count * share))]
    kinds = (kinds + ["new"] * count)[:count]
    rng.shuffle(kinds)
    # A duplicate needs an earlier new case or reply to copy: none leads.
    first = next(i for i, kind in enumerate(kinds) if kind in ("new", "reply"))
    kinds.insert(0, kinds.pop(first))
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    writer = Writer(rng, datetime.now(DESK_TZ))
    messages: list[Message] = []
    for number, kind in enumerate(kinds, 1):
        path = where / f"{number:04d}-{kind}.eml"
        if kind == "duplicate":
            original = rng.choice([m for m in messages if m.kind in ("new", "reply")])
            shutil.copyfile(original.path, path)
            messages.append(Message(number, kind, path, original.case_id, original.number))
            continue
        case = rng.choice(cases) if kind != "new" else None
        msg = (writer.new() if case is None else writer.reply(case) if kind == "reply"
               else writer.auto(case))
        path.write_bytes(msg.as_bytes())
        messages.append(Message(number, kind, path, case.id if kind == "reply" else None))
    return messages


# ---------------------------------------------------------------- the desk

@dataclass
class Desk:
    """A copy of the benchmark repository with an intake identity."""

    repo: Path
    env: dict[str, str]     # acting as the intake identity
    admin: dict[str, str]   # acting as the desk's admin
    start: str = ""         # HEAD before any message
    case_files: int = 0


def case_file_count(repo: Path) -> int:
    return sum(1 for _ in (repo / store.CASES_DIR).glob("*/*/*.yaml"))


def fresh_desk(env: bench.Env, where: Path) -> Desk:
    """bench.py's repository copied to ``where`` (query index and all), with
    the intake identity added through the command line."""
    if where.exists():
        shutil.rmtree(where)
    where.parent.mkdir(parents=True, exist_ok=True)
    bench.run(["cp", "-a", str(env.repo), str(where)], env.work, env.environ(agent=None))
    desk = Desk(where, env.environ(agent=INTAKE_ID), env.environ(agent=ADMIN))
    bench.run([CASECTL, "agent", "add", INTAKE_ID, "--service", "--name", "Mail intake",
               "--email", INTAKE_ADDRESS, "--team", "servicedesk", "--role", "receiver"],
              where, desk.admin)
    bench.run([CASECTL, "list", "--limit", "1"], where, desk.admin)  # index up to date
    desk.start = bench.git(where, desk.admin, "rev-parse", "HEAD").strip()
    desk.case_files = case_file_count(where)
    return desk


# ---------------------------------------------------------------- taking mail in

@dataclass
class Taken:
    """What one message came to: its outcome as intake reported it, the
    case, and the process's wall clock (None when one process took many)."""

    message: Message
    outcome: str
    case_id: str | None
    seconds: float | None = None


@dataclass
class Run:
    mode: str
    description: str
    seconds: float          # wall clock of all of it
    cpu: float              # CPU seconds of casectl and the processes it started
    taken: list[Taken] = field(default_factory=list)


def outcome_of(code: int, stdout: str, stderr: str, seen: set[str]) -> tuple[str, str | None]:
    """The outcome intake reported: the case id on standard output (none
    when ignored), "already taken" on standard error for a duplicate; a
    case id seen before (in the repository or this run) is a reply."""
    if code != 0:
        return f"exit {code}: {stderr.strip()[-300:]}", None
    case_id = stdout.strip() or None
    if case_id is None:
        return "ignored", None
    if "already taken" in stderr:
        return "duplicate", case_id
    return ("reply" if case_id in seen else "new"), case_id


def run_pipe(desk: Desk, messages: list[Message]) -> Run:
    """One `casectl intake FILE` per message, as a mail server's delivery
    pipe runs it: a process per message, one after another."""
    seen = {path.stem for path in (desk.repo / store.CASES_DIR).glob("*/*/*.yaml")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    taken: list[Taken] = []
    start = time.perf_counter()
    for message in messages:
        began = time.perf_counter()
        done = subprocess.run([str(CASECTL), "intake", str(message.path)], cwd=desk.repo,
                              env=desk.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, encoding="utf-8", errors="replace")
        seconds = time.perf_counter() - began
        outcome, case_id = outcome_of(done.returncode, done.stdout, done.stderr, seen)
        if case_id:
            seen.add(case_id)
        taken.append(Taken(message, outcome, case_id, seconds))
        if message.number % 100 == 0:
            bench.log(f"{message.number} messages taken in")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run("pipe", "one `casectl intake FILE` process per message (MDA pipe)", wall, cpu,
               taken)


def run_sweep(desk: Desk, messages: list[Message]) -> Run:
    """One `casectl intake --maildir DIR` process for all the messages, as a
    cron job sweeping the desk's Maildir runs it: the messages are
    delivered to DIR/new first (not timed), in order (their modification
    times one second apart, as the sweep takes the oldest first)."""
    import json

    maildir = desk.repo.parent / "maildir"
    if maildir.exists():
        shutil.rmtree(maildir)
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    by_source: dict[str, Message] = {}
    base = time.time() - len(messages) - 60
    for message in messages:
        path = maildir / "new" / f"{int(base) + message.number}.M{message.number}P1.bench"
        shutil.copyfile(message.path, path)
        os.utime(path, (base + message.number, base + message.number))
        by_source[str(path)] = message
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(CASECTL), "intake", "--maildir", str(maildir), "--json"],
                          cwd=desk.repo, env=desk.env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    bench.log(f"sweep: exit {done.returncode}; {done.stderr.strip().splitlines()[-1:]}")
    taken = []
    for item in json.loads(done.stdout or "[]"):
        message = by_source.get(item["source"])
        if message is not None:
            taken.append(Taken(message, item["action"], item["case"]))
    return Run("sweep", "one `casectl intake --maildir DIR` process for all (cron sweep)", wall,
               cpu, sorted(taken, key=lambda t: t.message.number))


MODES: Final[dict[str, Callable[[Desk, list[Message]], Run]]] = {"pipe": run_pipe,
                                                                  "sweep": run_sweep}


# ---------------------------------------------------------------- checks

def check(desk: Desk, messages: list[Message], run: Run) -> list[str]:
    """What is wrong with the run's work; empty when it did what it should."""
    problems = []
    outcomes = {t.message.number: t for t in run.taken}
    for message in messages:
        got = outcomes.get(message.number)
        if got is None:
            problems.append(f"message {message.number} ({message.kind}): not reported")
        elif got.outcome != message.expected:
            problems.append(f"message {message.number} ({message.kind}): {got.outcome}, "
                            f"expected {message.expected}")
        elif message.kind == "reply" and got.case_id != message.case_id:
            problems.append(f"message {message.number} (reply to {message.case_id}) joined "
                            f"{got.case_id}")
        elif message.kind == "duplicate":
            original = outcomes[message.copy_of or 0]
            if got.case_id != original.case_id:
                problems.append(f"message {message.number} (copy of {message.copy_of}): "
                                f"{got.case_id}, the original went to {original.case_id}")
    wanted = Counter(m.kind for m in messages)
    added = case_file_count(desk.repo) - desk.case_files
    if added != wanted["new"]:
        problems.append(f"{added} case files added for {wanted['new']} new-case messages")
    trailers = bench.git(desk.repo, desk.admin, "log", "--format=%(trailers:key=Action,"
                         "valueonly)", f"{desk.start}..HEAD")
    actions = Counter(line.strip() for line in trailers.splitlines() if line.strip())
    if actions != Counter({"new": wanted["new"], "reply": wanted["reply"]}):
        problems.append(f"commits since the start: {dict(actions)}; expected new "
                        f"{wanted['new']}, reply {wanted['reply']}")
    done = bench.run([CASECTL, "validate"], desk.repo, desk.admin, ok=(0, 1, 2, 3, 4))
    if done.returncode != 0:
        problems.append(f"casectl validate exited {done.returncode}: "
                        f"{(done.stdout + done.stderr).strip()[-500:]}")
    return problems


# ---------------------------------------------------------------- the report

def ms(seconds: list[float], q: float) -> str:
    if not seconds:
        return "–"
    ordered = sorted(seconds)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


def rows(run: Run) -> list[str]:
    """The table's rows for one run: all messages, then each outcome."""
    lines = [f"| {run.description}: all | {len(run.taken):,} | {run.seconds:.1f} | "
             f"{len(run.taken) / run.seconds:.1f} | "
             + (" | ".join([f"{1000 * statistics.median(t.seconds for t in run.taken):.0f}",
                            ms([t.seconds for t in run.taken if t.seconds], 0.95)])
                if all(t.seconds is not None for t in run.taken) else "– | –")
             + f" | {1000 * run.cpu / len(run.taken):.0f} |"]
    for outcome in ("new", "reply", "ignored", "duplicate"):
        times = [t.seconds for t in run.taken if t.outcome == outcome and t.seconds is not None]
        if times:
            lines.append(f"| … {outcome} | {len(times):,} | {sum(times):.1f} | "
                         f"{len(times) / sum(times):.1f} | "
                         f"{1000 * statistics.median(times):.0f} | {ms(times, 0.95)} | |")
    return lines


def drift(run: Run) -> str:
    """Whether intake slows as cases are added (the Message-ID look-up reads
    every case file): new-case messages, first hundred against last hundred."""
    times = [t.seconds for t in run.taken if t.outcome == "new" and t.seconds is not None]
    if len(times) < 200:
        return ""
    return (f"New-case messages, median of the first 100 against the last 100 "
            f"({len(times):,} new cases later): {1000 * statistics.median(times[:100]):.0f} ms "
            f"and {1000 * statistics.median(times[-100:]):.0f} ms.")


def diagnostics(desk: Desk, where: Path, seed: int) -> str:
    """Profiles of one more new-case message, taken in after the checks."""
    writer = Writer(random.Random(seed + 1), datetime.now(DESK_TZ))
    paths = []
    for number in range(3):
        path = where / f"profile-{number}.eml"
        path.write_bytes(writer.new().as_bytes())
        paths.append(str(path))
    return "\n".join([
        "## Diagnostics", "",
        "One new-case message each, taken in after the run and its checks (single runs, "
        "not medians).", "",
        "`casectl intake FILE` — git processes (GIT_TRACE_PERFORMANCE=1):", "```",
        bench.git_trace([CASECTL, "intake", paths[0]], desk.repo, desk.env), "```", "",
        "`casectl intake FILE` — imports (`python -X importtime -m casectl intake ...`, "
        "cumulative):", "```",
        bench.import_times(["-m", "casectl", "intake", paths[1]], desk.repo, desk.env), "```",
        "", "`casectl intake FILE` — cProfile:", "```",
        bench.cprofile(["intake", paths[2]], desk.repo, desk.env), "```"])


def report(args: argparse.Namespace, desk: Desk, messages: list[Message], runs: list[Run],
           problems: list[str], loads: tuple[float, float], extra: str) -> str:
    kinds = Counter(m.kind for m in messages)
    sizes = [m.path.stat().st_size for m in messages]
    text = [
        f"# casectl intake benchmark: {len(messages):,} messages into {args.cases:,} cases",
        "",
        f"Run {datetime.now().astimezone().isoformat(timespec='minutes')} on "
        f"{bench.machine()}; casectl {bench.code_version()}.",
        "",
        f"Repository: bench.py's {args.cases:,}-case desk copied afresh ({desk.case_files:,} "
        "case files, query index built), with an intake identity added (`agent add intake "
        "--service --role receiver`).",
        "",
        f"Messages: {len(messages):,} ({', '.join(f'{k} {v:,}' for k, v in kinds.items())}), "
        f"median {statistics.median(sizes):,.0f} bytes; nb, sv, da and en, UTF-8 8bit, "
        "quoted-printable, base64, ISO-8859-1 and multipart/alternative with HTML, "
        "encoded-word subjects. Replies come from the reporter of an open case, tagged "
        "`[#ID]`, with In-Reply-To; auto-replies carry Auto-Submitted or only an "
        "out-of-office subject; duplicates are byte-for-byte copies of an earlier new case "
        "or reply. Seed " f"{args.seed}.",
        "",
        "Method: each way of taking mail in (the rows' first column) starts from a fresh "
        "copy of the repository and takes the same messages in the same order, acting as the "
        f"intake identity (CASECTL_AGENT={INTAKE_ID}); messages/s is messages over the wall "
        "clock they took; median and p95 are of each process's wall clock where there is "
        "one process per message; CPU is that of casectl and the git processes it starts. "
        f"Load average {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end (2 cores shared with other people's test runs: wall "
        "clock moves with load, CPU time much less).",
        "",
        "| messages | count | wall clock (s) | messages/s | median (ms) | p95 (ms) | "
        "CPU per message (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        text += rows(run)
    text.append("")
    for run in runs:
        line = drift(run)
        if line:
            text += [line, ""]
    if problems:
        text += ["**Checks failed:**", "", *(f"- {p}" for p in problems[:50]), ""]
    else:
        text += ["Checks: every message had the outcome it was written for (the reply joined "
                 "the case it was tagged with, the duplicate went to its original's case); "
                 f"the repository gained exactly {kinds['new']:,} case files; the commits "
                 f"since the start are {kinds['new']:,} `new` and {kinds['reply']:,} `reply`; "
                 "`casectl validate` passes.", ""]
    if extra:
        text += [extra, ""]
    notes = HERE / f"analysis-intake-{args.cases}.md"
    if notes.exists():  # hand-written analysis, kept beside the figures as bench.py does
        text += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(text)


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `casectl intake` of M messages into "
                                     "a repository of N cases.")
    parser.add_argument("--cases", type=int, default=10_000, metavar="N")
    parser.add_argument("--messages", type=int, default=1_000, metavar="M")
    parser.add_argument("--mode", choices=sorted(MODES), action="append",
                        help="how mail is taken in (repeatable; default: all)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="bench.py's work directory (default: benchmarks/work/<N>)")
    parser.add_argument("--no-profile", action="store_true", help="leave out the diagnostics")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="results file (default: benchmarks/results-intake-<N>.md)")
    args = parser.parse_args(argv)
    if args.messages < 20:
        parser.error("--messages must be at least 20")
    env = bench.Env((args.dir or HERE / "work" / str(args.cases)).resolve())
    bench_sync.ensure_repository(env, args.cases, args.seed)
    where = env.work / "intake"
    loads = [os.getloadavg()[0]]
    runs: list[Run] = []
    problems: list[str] = []
    desk = None
    messages: list[Message] = []
    for mode in args.mode or list(MODES):
        desk = fresh_desk(env, where / "repo")
        if not messages:  # the same messages for every mode
            cases = open_cases(desk.repo, desk.admin)
            if not cases:
                raise SystemExit("the repository has no open case with a reporter's address")
            messages = write_messages(where / "messages", args.messages, cases, args.seed)
            bench.log(f"{len(messages):,} messages written to {where / 'messages'}")
        bench.log(f"{mode}: taking in {len(messages):,} messages")
        run = MODES[mode](desk, messages)
        bench.log(f"{mode}: {run.seconds:.1f} s, {len(messages) / run.seconds:.1f} messages/s; "
                  "checking")
        problems += [f"{mode}: {p}" for p in check(desk, messages, run)]
        runs.append(run)
    loads.append(os.getloadavg()[0])
    assert desk is not None
    extra = "" if args.no_profile else diagnostics(desk, where, args.seed)
    text = report(args, desk, messages, runs, problems, (loads[0], loads[1]), extra)
    output = args.output or HERE / f"results-intake-{args.cases}.md"
    output.write_text(text, encoding="utf-8")
    print(text)
    bench.log(f"written to {output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
