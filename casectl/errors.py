"""The one exception hierarchy of casectl.

Every error a user can meet is a ``CasectlError``: it carries the exit code
of the command-line contract and a message that says how to fix the problem.
The command line catches it in one place and prints it; nothing else should
reach the user as a traceback.
"""

from __future__ import annotations

from typing import Any, Sequence

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INVALID = 4
EXIT_OFFLINE = 5  # the remote could not be reached; local work is kept for the next sync
EXIT_BUG = 70  # an unexpected exception: a bug in casectl (sysexits' EX_SOFTWARE)
# `intake --mda` only: the message was not kept, the mail server is to try
# again later (sysexits' EX_TEMPFAIL, which Postfix and Exim defer on).
EXIT_TEMPFAIL = 75


class CasectlError(Exception):
    """Base class: a message for the user and the exit code to leave with."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint,
                "exit_code": self.exit_code}


class UsageError(CasectlError):
    """The command line was given something it cannot use (exit 2)."""

    exit_code = EXIT_USAGE


class RuleViolation(CasectlError):
    """A workflow rule refused the action; the case is untouched (exit 1)."""

    exit_code = EXIT_REFUSED

    def __init__(self, rule: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"refused by rule '{rule}': {message}", hint)
        self.rule = rule

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["rule"] = self.rule
        return data


class OperationFailed(CasectlError):
    """Something outside the rules failed (git, the file system) (exit 1)."""

    exit_code = EXIT_REFUSED


class ReadOnlyRepository(OperationFailed):
    """The repository cannot be written (a read-only mount, a snapshot, no
    write permission): reading works, changing is refused before anything
    is touched (exit 1)."""

    def __init__(self, root: str, reason: str) -> None:
        super().__init__(
            f"the case repository {root} is read-only ({reason}); nothing was changed",
            "reading works here (list, search, show, history); to change cases, work in a "
            "writable clone (git clone) or ask for write access to the repository")


class Offline(CasectlError):
    """The remote could not be reached (no network, an unknown host, a
    refused connection, a path that is not there): nothing was lost, local
    commits wait for the next sync (exit 5)."""

    exit_code = EXIT_OFFLINE


class TryAgainLater(CasectlError):
    """For a mail server's delivery pipe (`intake --mda`): the message was
    not kept, whatever the failure; the server is to defer it and try again
    (exit 75). Carries the original failure's message and hint."""

    exit_code = EXIT_TEMPFAIL

    def __init__(self, failure: CasectlError | str, hint: str | None = None) -> None:
        if isinstance(failure, CasectlError):
            super().__init__(failure.message, failure.hint)
            self.failure: CasectlError | None = failure
        else:
            super().__init__(failure, hint)
            self.failure = None


class NotFound(CasectlError):
    """No such case, agent, team or repository (exit 3)."""

    exit_code = EXIT_NOT_FOUND


class NotARepository(NotFound):
    def __init__(self, start: str) -> None:
        super().__init__(
            f"not a case repository (no casectl.yaml in {start} or any parent)",
            "run 'casectl init' to make one, or point at one with --repo DIR or CASECTL_REPO",
        )


class CaseNotFound(NotFound):
    def __init__(self, case_id: str, close_matches: Sequence[str] = ()) -> None:
        hint = None
        if close_matches:
            hint = "did you mean " + ", ".join(close_matches) + "?"
        else:
            hint = "'casectl list --all' shows the cases there are"
        super().__init__(f"no case with id {case_id}", hint)
        self.case_id = case_id
        self.close_matches = list(close_matches)


class AmbiguousCaseId(UsageError):
    """A typed id prefix that starts more than one case's id: the user must
    type more of it, so a usage error (exit 2), as git refuses an ambiguous
    abbreviated hash, rather than not found."""

    def __init__(self, prefix: str, candidates: Sequence[str]) -> None:
        shown = ", ".join(candidates[:10]) + (" ..." if len(candidates) > 10 else "")
        super().__init__(f"case id {prefix} is ambiguous: {len(candidates)} cases start with "
                         f"it: {shown}", "type more characters of the id")
        self.prefix = prefix
        self.candidates = list(candidates)


class InvalidData(CasectlError):
    """A file on disk is broken: bad YAML, wrong types, a header that
    contradicts its log (exit 4)."""

    exit_code = EXIT_INVALID

    def __init__(self, path: str, message: str, field: str | None = None,
                 line: int | None = None, hint: str | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text, hint or "fix the file by hand (see 'git diff' and 'git log -p' "
                         "for what changed) or restore it with 'git checkout -- FILE'")
        self.path = path
        self.field = field
        self.line = line
        self.detail = message  # without the file, line and field: for reports that add them
