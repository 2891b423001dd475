"""Collecting one file's analysis: ``AnalysisBuilder`` (capped risks, imports and problems into
a ``FileAnalysis``) and the helpers that show hostile text (names, configs) safely in messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.analysis.load_risk import FileAnalysis, LoadRisk, RiskKind
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.analysis.pickle.report import PickleScan

#: Most problems, risks and imports kept for one file; the rest are counted, not listed.
MAX_PROBLEMS = 100
MAX_RISKS = 500
MAX_IMPORTS = 10_000
#: Longest member name or config text shown in a message, in characters.
MAX_SHOWN_CHARS = 200
#: Most member names listed in one message.
MAX_NAMES_SHOWN = 5

_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}
_RUNS_ON_LOAD = frozenset({RiskKind.UNSAFE_IMPORT, RiskKind.UNKNOWN_IMPORT, RiskKind.EMBEDDED_CODE})


def display_text(text: str) -> str:
    """Return ``text`` safe to show: control characters escaped, at most ``MAX_SHOWN_CHARS``."""
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text[: MAX_SHOWN_CHARS + 1]
    )
    if len(text) > MAX_SHOWN_CHARS or len(shown) > MAX_SHOWN_CHARS:
        return shown[:MAX_SHOWN_CHARS] + "…"
    return shown


def list_names(names: Iterable[str]) -> str:
    """Return up to ``MAX_NAMES_SHOWN`` names, shown safely, with a count of the rest."""
    every = list(names)
    shown = ", ".join(display_text(name) for name in every[:MAX_NAMES_SHOWN])
    rest = len(every) - MAX_NAMES_SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


class AnalysisBuilder:
    """Collects one file's risks, imports and problems, capped, into a ``FileAnalysis``."""

    def __init__(self) -> None:
        self._risks: dict[LoadRisk, None] = {}
        self._imports: set[str] = set()
        self._problems: dict[str, None] = {}
        self._dropped_risks = 0
        self._dropped_problems = 0
        self._dropped_imports = 0
        self._runs_on_load = False

    def problem(self, problem: str) -> None:
        """Record what could not be read (one sentence)."""
        if len(self._problems) < MAX_PROBLEMS:
            self._problems[problem] = None
        elif problem not in self._problems:
            self._dropped_problems += 1

    def risk(self, risk: LoadRisk, *, runs_on_load: bool | None = None) -> None:
        """Record a risk; ``runs_on_load`` defaults to whether its kind means code runs."""
        runs = risk.kind in _RUNS_ON_LOAD if runs_on_load is None else runs_on_load
        self._runs_on_load = self._runs_on_load or runs
        if risk in self._risks:
            return
        if len(self._risks) >= MAX_RISKS:
            self._dropped_risks += 1
            weakest = max(self._risks, key=lambda kept: _SEVERITY_RANK[kept.severity])
            if _SEVERITY_RANK[risk.severity] >= _SEVERITY_RANK[weakest.severity]:
                return
            del self._risks[weakest]
        self._risks[risk] = None

    def unreadable(self, problem: str, *, member: str | None = None) -> None:
        """Record a problem and the UNREADABLE risk it leaves (what loading does is unknown)."""
        self.problem(problem)
        self.risk(
            LoadRisk(
                kind=RiskKind.UNREADABLE, severity=Severity.MEDIUM, message=problem, member=member
            )
        )

    def imports(self, names: Iterable[str]) -> None:
        """Record callables a pickle imports."""
        for name in names:
            if len(self._imports) < MAX_IMPORTS:
                self._imports.add(name)
            elif name not in self._imports:
                self._dropped_imports += 1

    def pickle_scan(self, scan: PickleScan) -> None:
        """Record a pickle walk's imports, risks and problems (an incomplete walk's risks
        already hold its UNREADABLE one)."""
        self.imports(scan.imports)
        for risk in scan.risks:
            self.risk(risk)
        for problem in scan.problems:
            self.problem(problem)

    def build(self, file_format: str) -> FileAnalysis:
        """Return the analysis collected so far."""
        problems = list(self._problems)
        dropped = (
            (self._dropped_problems, "problems"),
            (self._dropped_risks, "weaker risks"),
            (self._dropped_imports, "imports"),
        )
        problems.extend(f"{count} more {what} not listed" for count, what in dropped if count)
        return FileAnalysis(
            format=file_format,
            imports=tuple(sorted(self._imports)),
            risks=tuple(sorted(self._risks, key=lambda risk: _SEVERITY_RANK[risk.severity])),
            executable_on_load=self._runs_on_load,
            problems=tuple(problems),
        )
