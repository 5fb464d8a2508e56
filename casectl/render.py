"""Turning results into text: tables for people, JSON, YAML and CSV for
machines. No Click here; the command line decides where the text goes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Mapping, Sequence

from . import attachments, yamlio
from .model import FINISHED_STATUSES, describe_event

FORMATS = ("table", "json", "yaml", "csv")
# Free text: these columns take whatever width the others leave.
FLEXIBLE = ("subject", "text", "match")
FLEXIBLE_MIN = 20  # narrower than this a subject says nothing; let the line wrap instead


@dataclass(frozen=True)
class View:
    """What a person's table depends on besides the data: the terminal's
    width (None: never shorten), the session's clock (for ages) and the
    desk's time zone (for times). Passed in, so rendering stays pure."""

    width: int | None = None
    now: datetime | None = None
    tz: tzinfo | None = None
    # Bold for emphasis (a terminal without NO_COLOR); else a plain marker.
    bold: bool = False


BOLD, RESET = "\x1b[1m", "\x1b[0m"
UNREAD_MARK = "*"  # before the id of an unread case where bold cannot be shown


def span(seconds: float, parts: int = 2) -> str:
    """A duration the way people say it: 45s, 7m, 7h 49m, 2d 3h (``parts``
    units at most)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    units = [("d", 86400), ("h", 3600), ("m", 60)]
    words = []
    for name, size in units:
        amount, seconds = divmod(seconds, size)
        if amount or words:
            words.append((amount, name))
    shown = [f"{amount}{name}" for amount, name in words[:parts] if amount]
    return " ".join(shown)


def _one_unit(seconds: float) -> str:
    """A span in its largest unit, as span(seconds, parts=1) says it (5m,
    3h, 2d), written out: `list` says it twice for each of 20,000 rows."""
    if seconds < 3600:
        return f"{int(seconds // 60)}m" if seconds >= 60 else f"{max(0, int(seconds))}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "now"  # or a clock a little behind another clone's
    days = int(seconds // 86400)
    return _one_unit(seconds) if days < 365 else f"{days // 365}y"


def _left(seconds: float) -> str:
    return f"-{_one_unit(-seconds)}" if seconds < 0 else _one_unit(seconds)


def age(when: str | None, now: datetime) -> str:
    """How long ago, in one unit: now, 5m, 3h, 2d, 1y."""
    if not when:
        return ""
    return _ago((now - datetime.fromisoformat(when)).total_seconds())


def time_left(when: str, now: datetime) -> str:
    """Until a deadline, in wall-clock time and one unit: 40m, 3h, 2d; past
    it, the same with a minus sign (-3h: three hours overdue)."""
    return _left((datetime.fromisoformat(when) - now).total_seconds())


def local_time(when: str | None, tz: tzinfo | None) -> str:
    """A stored time as a person reads it: 2026-11-22 08:40 in the desk's zone."""
    if not when:
        return ""
    moment = datetime.fromisoformat(when)
    return (moment.astimezone(tz) if tz else moment).strftime("%Y-%m-%d %H:%M")


def _cells(row: Mapping[str, Any], view: View, now_ms: int | None = None) -> dict[str, Any]:
    """Times in a table are for reading: `updated` as an age, `due` as time
    left, `at` as local time. With ``now_ms`` (view.now in ms since 1970)
    the instants the query index keeps (updated_ts, due_ts) are used, which
    spares parsing two times in each of 20,000 rows."""
    shaped = dict(row)
    if now_ms is not None and row.get("updated_ts") is not None:
        shaped["updated"] = _ago((now_ms - row["updated_ts"]) / 1000)
    elif view.now is not None and "updated" in row:
        shaped["updated"] = age(row["updated"], view.now)
    if now_ms is not None and row.get("due_ts") is not None:
        shaped["due"] = _left((row["due_ts"] - now_ms) / 1000)
    elif view.now is not None and row.get("due"):
        shaped["due"] = time_left(row["due"], view.now)
    if "at" in row and row["at"]:
        shaped["at"] = local_time(row["at"], view.tz)
    return shaped


def _short(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
          width: int | None = None, emphasis: Sequence[bool] = ()) -> str:
    """Left-aligned columns under a ruled header, at most ``width`` wide
    when it can be done by shortening the free-text columns.

    Written here rather than with tabulate: tabulate guesses a type for
    every cell, which made `casectl list` of 2,400 open cases take 0.3 s
    (plus 80 ms to import it), against a few milliseconds for this.
    """
    # Written for 20,000 rows (`list` at 100,000 cases): no call per cell.
    body = [["" if (value := row.get(c)) is None else str(value) for c in columns]
            for row in rows]
    # Only free text needs folding and shortening; ids, statuses and names do not.
    flexible = [i for i, c in enumerate(columns) if c in FLEXIBLE]
    for i in flexible:
        for line in body:
            line[i] = " ".join(line[i].split())
    sizes = [max(len(c), max(map(len, cells), default=0))
             for c, cells in zip(columns, zip(*body))] if body else [len(c) for c in columns]
    if width is not None and flexible:
        fixed = sum(size for i, size in enumerate(sizes) if i not in flexible)
        room = width - fixed - 2 * (len(columns) - 1)
        share = max(FLEXIBLE_MIN, room // len(flexible))
        for i in flexible:
            if sizes[i] > share:
                sizes[i] = share
                for line in body:
                    line[i] = _short(line[i], share)
    layout = "  ".join(f"{{:<{size}}}" for size in sizes)
    text = [layout.format(*line).rstrip()
            for line in [list(columns), ["-" * size for size in sizes], *body]]
    # Escape codes go on after the layout: they take no room on the screen.
    for position, bold in enumerate(emphasis):
        if bold:
            text[position + 2] = BOLD + text[position + 2] + RESET
    return "\n".join(text)


def rows(data: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[str],
         table_columns: Sequence[str] | None = None, *, view: View | None = None,
         empty: str = "(no cases)") -> str:
    """A list of records in any format; tables show ``table_columns``, fit
    to ``view``, and say ``empty`` when there is nothing. Machine formats
    are the records as they are, whatever the view."""
    if fmt == "json":
        return json.dumps([{c: row.get(c) for c in columns} for row in data],
                          ensure_ascii=False, indent=2)
    if fmt == "yaml":
        return yamlio.dump([{c: row.get(c) for c in columns} for row in data]).rstrip("\n")
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in data:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
        return out.getvalue().rstrip("\n")
    if not data:
        return empty
    view = view or View()
    now_ms = round(view.now.timestamp() * 1000) if view.now is not None else None
    cells = [_cells(row, view, now_ms) for row in data]
    emphasis: list[bool] = []
    if any(row.get("unread") for row in data):
        if view.bold:
            emphasis = [bool(row.get("unread")) for row in data]
        else:
            for cell, row in zip(cells, data):
                if row.get("unread") and "id" in cell:
                    cell["id"] = UNREAD_MARK + str(cell["id"])
    return table(cells, table_columns or columns, view.width, emphasis)


def document(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    return yamlio.dump(data).rstrip("\n")


def case(doc: Mapping[str, Any], fmt: str, view: View | None = None) -> str:
    """One case: all of it for machines, a readable page for people."""
    if fmt in ("json", "yaml"):
        return document(doc, fmt)
    if fmt == "csv":
        # Lists and mappings (log, tasks, triage answers, ...) do not fit a cell.
        flat = {k: v for k, v in doc.items() if not isinstance(v, (list, dict))}
        reporter = doc.get("reporter") or {}
        flat.update({f"reporter_{k}": v for k, v in reporter.items()})
        flat.update({f"field_{k}": v for k, v in (doc.get("fields") or {}).items()})
        flat.update({f"urgent_{k}": v for k, v in (doc.get("urgent") or {}).items()})
        flat.update({f"answer_{k}": v["answer"] for k, v in (doc.get("answers") or {}).items()})
        return rows([flat], "csv", list(flat))
    view = view or View()
    who = _reporter_words(doc)
    team = f"team {doc['team']}" if doc.get("team") else "no team"
    owner = f"assignee {doc['assignee']}" if doc.get("assignee") else "unassigned"
    lines = [f"{doc['id']}  {doc['subject']}",
             f"  status {doc['status']}  priority {doc['priority']}  type {doc['type']}"
             + (f"  category {doc['category']}" if doc.get("category") else "")
             + (f"  sla {doc['sla']}" if doc.get("sla") else ""),
             f"  {team}  {owner}",
             f"  reporter {who or '-'}" + ("  (notified by e-mail)" if doc.get("notify") else ""),
             *_protection(doc), *_lifecycle(doc, view)]
    for key, value in (doc.get("fields") or {}).items():
        lines.append(f"  {key}: {value}")
    lines += _triage(doc)
    if doc.get("description"):
        lines += ["", "Description:", _indent(doc["description"])]
    if doc.get("solution"):
        lines += ["", "Solution:", _indent(doc["solution"])]
    if doc.get("rejection"):
        lines += ["", "Rejected because:", _indent(doc["rejection"])]
    lines += _tasks(doc.get("tasks") or [], view)
    lines += ["", "Log:"]
    for event in doc["log"]:
        visibility = "" if event["public"] else " [internal]"
        lines.append(f"  {local_time(event['at'], view.tz)}  {event['by']}{visibility}")
        lines.append(_indent(describe_event(event), "    "))
        lines += [f"    {line}" for line in attachments.lines(event)]
    return "\n".join(lines)


def _triage(doc: Mapping[str, Any]) -> list[str]:
    """An urgent case's pieces and the answers to triage questions."""
    out = []
    urgent = doc.get("urgent")
    if urgent:
        out += ["", "Urgent case:"]
        for key, label in (("application", "application"), ("department", "department"),
                           ("users", "users"), ("servers", "servers"),
                           ("competence", "competence"), ("contact", "contact")):
            out.append(f"  {label:<12} {urgent[key]}")
        out.append(f"  {'phone':<12} {urgent['phone']}")
    answers = doc.get("answers") or {}
    if answers:
        out += ["", "Triage answers:"]
        for key, entry in answers.items():
            internal = "  [internal]" if entry.get("internal") else ""
            out.append(f"  {key}: {entry['answer']}{internal}")
            out.append(f"    ({entry['question']})")
    return out


def _protection(doc: Mapping[str, Any]) -> list[str]:
    """The marker line of a protected person's case [seed 002: shown with a
    marker and handled with care]."""
    if doc.get("masked"):
        return ["  PROTECTED IDENTITY: the person's details and the case's texts are hidden "
                "from you"]
    if (doc.get("reporter") or {}).get("protected") or doc.get("protected"):
        return ["  PROTECTED IDENTITY: handle the person's details with care; do not pass "
                "them on"]
    return []


def _reporter_words(doc: Mapping[str, Any]) -> str:
    """The reporter as one line: name <address> phone (organisation)."""
    reporter = doc.get("reporter") or {}
    return " ".join(filter(None, [reporter.get("name"),
                                  f"<{reporter['email']}>" if reporter.get("email") else None,
                                  reporter.get("phone"), reporter.get("org") and
                                  f"({reporter['org']})"]))


def reporter_case(doc: Mapping[str, Any], fmt: str, view: View | None = None) -> str:
    """What the reporter may see of a case (model.reporter_view); machines
    get the same document as they do from `show`, less what is hidden."""
    if fmt != "table":
        return case(doc, fmt, view)
    view = view or View()
    who = _reporter_words(doc)
    lines = [f"{doc['id']}  {doc['subject']}",
             f"  status {doc['status']}  type {doc['type']}"
             + (f"  category {doc['category']}" if doc.get("category") else ""),
             f"  reporter {who or '-'}", *_protection(doc), *_lifecycle(doc, view)]
    for key, value in (doc.get("fields") or {}).items():
        lines.append(f"  {key}: {value}")
    for key, title in (("description", "Description"), ("solution", "Solution"),
                       ("rejection", "Rejected because")):
        if doc.get(key):
            lines += ["", f"{title}:", _indent(doc[key])]
    lines += _tasks(doc.get("tasks") or [], view)
    shown = {"id", "subject", "status", "type", "category", "reporter", "fields", "tasks",
             "description", "solution", "rejection", "created", "updated", "started",
             "solved", "closed", "log", "protected", "masked"}
    for key, value in doc.items():  # keys added later, such as triage answers
        if key in shown or value in (None, [], {}):
            continue
        lines += ["", f"{key.replace('_', ' ').capitalize()}:"]
        items = value.items() if isinstance(value, dict) else enumerate(value, 1) \
            if isinstance(value, list) else [("", value)]
        for name, item in items:
            if isinstance(item, dict):
                item = item.get("value", item.get("text", item))
            lines.append(_indent(f"{name}: {item}" if name != "" else str(item)))
    lines += ["", "Log:"]
    for event in doc["log"]:
        lines.append(f"  {local_time(event['at'], view.tz)}  {event['by']}")
        lines.append(_indent(describe_event(event), "    "))
        lines += [f"    {line}" for line in attachments.lines(event)]
    return "\n".join(lines)


def _tasks(tasks: Sequence[Mapping[str, Any]], view: View) -> list[str]:
    """The case's tasks, one line each and the need under it."""
    if not tasks:
        return []
    lines = ["", "Tasks:"]
    for task in tasks:
        state = (f"done {local_time(task['done'], view.tz)}" if task.get("status") == "done"
                 else "open")
        shown = "" if task.get("public", True) else " [internal]"
        lines.append(f"  {task['id']}  {state}  to {task['to']}{shown}: {task['subject']}")
        if task.get("need"):
            lines.append(f"      needs: {task['need']}")
        if task.get("note"):
            lines.append(f"      note: {task['note']}")
    return lines


def _lifecycle(doc: Mapping[str, Any], view: View) -> list[str]:
    """created, started, solved, closed: when, and the spans a desk measures
    (reaction: creation to start; resolution: start to solved)."""
    def at(key: str) -> datetime:
        return datetime.fromisoformat(doc[key])

    def line(label: str, key: str, note: str = "") -> str:
        return f"  {label:<8} {local_time(doc[key], view.tz)}" + (f"  {note}" if note else "")

    out = []
    finished = doc["status"] in FINISHED_STATUSES
    open_for = ""
    if view.now is not None and not finished:
        open_for = f"open for {span((view.now - at('created')).total_seconds())}"
    out.append(line("created", "created", open_for))
    if doc.get("started"):
        out.append(line("started", "started",
                        f"{span((at('started') - at('created')).total_seconds())} after "
                        "creation"))
    if doc.get("solved"):
        since, what = ("started", "start") if doc.get("started") else ("created", "creation")
        out.append(line("solved", "solved",
                        f"{span((at('solved') - at(since)).total_seconds())} after {what}"))
    if doc.get("closed"):
        label = "rejected" if doc["status"] == "rejected" else "closed"
        waited = ""
        if doc.get("solved") and at("closed") > at("solved"):
            waited = f"{span((at('closed') - at('solved')).total_seconds())} after solved"
        out.append(line(label, "closed", waited))
    ago = f"{age(doc['updated'], view.now)} ago" if view.now is not None else ""
    out.append(line("updated", "updated", "just now" if ago == "now ago" else ago))
    return out


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# ---------------------------------------------------------------- reports for CI

def _github_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner unescapes it
    (actions/toolkit's escapeData): %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A workflow command's property value (escapeProperty): as a message,
    and ':' and ',' too, which would end the value."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(problems: Sequence[Mapping[str, Any]], title: str) -> str:
    """One GitHub Actions ``::error`` workflow command per problem (a dict
    with file, line, field and message): the runner shows each on the
    file and line in the run's summary and in a pull request's diff."""
    lines = []
    for problem in problems:
        properties = [f"file={_github_property(str(problem['file']))}"]
        if problem.get("line") is not None:
            properties.append(f"line={int(problem['line'])}")
        properties.append(f"title={_github_property(title)}")
        lines.append(f"::error {','.join(properties)}::"
                     f"{_github_data(str(problem['field']) + ': ' + str(problem['message']))}")
    return "\n".join(lines)


# The characters XML 1.0 cannot hold.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: a control character a hand edit left in a
    value (and so in a message) would make the whole report unreadable."""
    return _NOT_XML.sub("\ufffd", text)


def junit(files: Sequence[str], problems: Sequence[Mapping[str, Any]], suite: str,
          seconds: float = 0.0) -> str:
    """A JUnit XML report (as GitLab, Jenkins and most CI read it): one
    test suite, one test case per file checked, and a failure listing the
    problems of each invalid file."""
    import xml.etree.ElementTree as ET  # only this report pays for it

    by_file: dict[str, list[Mapping[str, Any]]] = {}
    for problem in problems:
        by_file.setdefault(str(problem["file"]), []).append(problem)
    names = list(dict.fromkeys([*files, *by_file]))  # a problem's file is a case too
    root = ET.Element("testsuites", name=suite, tests=str(len(names)),
                      failures=str(len(by_file)), errors="0", time=f"{seconds:.3f}")
    testsuite = ET.SubElement(root, "testsuite", name=suite, tests=str(len(names)),
                              failures=str(len(by_file)), errors="0", skipped="0",
                              time=f"{seconds:.3f}")
    for name in names:
        case = ET.SubElement(testsuite, "testcase", name=_xml_text(name), classname=suite,
                             file=_xml_text(name))
        found = by_file.get(name)
        if found:
            text = "\n".join(
                f"{name}{'' if p.get('line') is None else ':' + str(p['line'])}: "
                f"{p['field']}: {p['message']}" for p in found)
            failure = ET.SubElement(case, "failure", type="invalid", message=_xml_text(
                f"{len(found)} problem(s): {found[0]['field']}: {found[0]['message']}"))
            failure.text = _xml_text(text)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
