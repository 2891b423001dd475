"""The one exception tree; every error knows its exit code and its message for the user.

    ScannerError                  exit 70: a bug in sovscan (should never reach a user)
    ├── UsageError                exit 2: bad flags, unknown format, unsupported option
    ├── TargetError               exit 2: a target that does not exist or cannot be read
    ├── UpstreamError             exit 4: the network or the Hub failed, nothing left to report
    ├── InvalidOutputError        exit 70: an output failed its schema or integrity check (a bug)
    └── MalformedFileError        never exits: a reader's complaint, turned into a ScanIssue

Exit codes 0 (pass / report only), 1 (policy FAIL) and 3 (verdict UNKNOWN) are outcomes, not
errors; see ``scanner.cli``.
"""

from __future__ import annotations

from typing import ClassVar


class ScannerError(Exception):
    """Base of every error sovscan raises on purpose."""

    exit_code: ClassVar[int] = 70

    def diagnostics(self) -> str:
        """What failed and, where it helps, what to do next."""
        return str(self)


class UsageError(ScannerError):
    """The command line asks for something sovscan cannot do."""

    exit_code = 2


class TargetError(ScannerError):
    """A scan target does not exist or cannot be read."""

    exit_code = 2


class UpstreamError(ScannerError):
    """A network service failed and left nothing to report."""

    exit_code = 4


class InvalidOutputError(ScannerError):
    """An output document failed validation; it is never written."""

    exit_code = 70

    def __init__(self, fmt: str, problems: list[str]) -> None:
        self.fmt = fmt
        self.problems = problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"internal error: the {fmt} output failed validation and was not written:\n"
            f"  {shown}{more}\nPlease report this at the sovscan issue tracker."
        )


class MalformedFileError(ScannerError):
    """A file could not be read as the format it claims to be.

    Readers raise it with the problem; the source that called them adds the file's path and
    records a ``ScanIssue``, and the scan goes on.
    """

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)
