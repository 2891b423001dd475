"""What walking a file's pickles saw: imports, hidden imports, calls, problems, the failure."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.analysis.pickle.classify import classify_import
from scanner.analysis.pickle.reader import Stop
from scanner.analysis.pickle.values import Global
from scanner.core.model import Severity

#: Most distinct callables recorded per file.
MAX_IMPORTS = 10_000
#: Most problems reported per file; the rest are counted.
MAX_PROBLEMS = 20


@dataclass(slots=True)
class Findings:
    """What a walk saw, merged over the pickles of a file."""

    imports: dict[Global, None] = field(default_factory=dict)
    hidden_imports: dict[str, int] = field(default_factory=dict)
    """Imports whose callable the file does not name, by how it was hidden."""
    extension_codes: dict[int, None] = field(default_factory=dict)
    rebound_globals: dict[str, None] = field(default_factory=dict)
    """Imported objects whose attributes BUILD overwrites (a later import can be redirected)."""
    dropped_operands: int = 0
    framework_misuse: dict[Global, None] = field(default_factory=dict)
    """Trainer framework classes used other than by their restore form (see trainer_classes)."""
    problems: list[str] = field(default_factory=list)
    suppressed_problems: int = 0
    calls: int = 0
    failure: Stop | None = None

    def add_import(self, found: Global) -> None:
        """Record an import; past ``MAX_IMPORTS`` the findings become incomplete."""
        if found not in self.imports:
            if len(self.imports) >= MAX_IMPORTS:
                self.note_failure(Stop(f"more than {MAX_IMPORTS} distinct imports", cap=True))
                return
            self.imports[found] = None

    def note_failure(self, stop: Stop) -> None:
        """Record why the analysis is incomplete (the first reason is the one reported)."""
        if self.failure is None:
            self.failure = stop
            self.add_problem(stop.problem)

    def add_problem(self, problem: str) -> None:
        """Record a problem; past ``MAX_PROBLEMS`` it is only counted."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.suppressed_problems += 1

    def merge(self, other: Findings) -> None:
        """Add what another walk of the same file saw."""
        for found in other.imports:
            self.add_import(found)
        for how, count in other.hidden_imports.items():
            self.hidden_imports[how] = self.hidden_imports.get(how, 0) + count
        self.extension_codes.update(other.extension_codes)
        self.rebound_globals.update(other.rebound_globals)
        self.framework_misuse.update(other.framework_misuse)
        self.dropped_operands += other.dropped_operands
        for problem in other.problems:
            self.add_problem(problem)
        self.suppressed_problems += other.suppressed_problems
        self.calls += other.calls
        if self.failure is None and other.failure is not None:
            self.failure = other.failure  # its problem came with the problems above

    @property
    def names_code(self) -> bool:
        """Whether anything that could reach a callable was seen."""
        return bool(
            self.imports
            or self.hidden_imports
            or self.extension_codes
            or self.rebound_globals
            or self.dropped_operands
        )


def keep_named_unsafe_imports(into: Findings, fragment: Findings) -> None:
    """Keep only the unsafe imports a fragment names: random bytes name nothing importable."""
    for found in fragment.imports:
        verdict = classify_import(found.module, found.name)
        if verdict is not None and verdict[0] == Severity.HIGH:
            into.add_import(found)
