"""What a pickle walk found, as records: ``PickleScan`` and the ``LoadRisk``s of its findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.pickle.classify import NOT_ALLOWLISTED, classify_import
from scanner.analysis.trainer_classes import RESTORE_FORMS
from scanner.core.model import Severity

if TYPE_CHECKING:
    from scanner.analysis.pickle.findings import Findings


@dataclass(frozen=True, slots=True, kw_only=True)
class PickleScan:
    """What walking one pickle's opcodes found."""

    imports: tuple[str, ...]
    """``module.qualname`` of every callable imported, in order of appearance, unique."""
    risks: tuple[LoadRisk, ...]
    protocol: int | None
    """The protocol its ``PROTO`` opcode declares; None for protocols 0 and 1 (no ``PROTO``)."""
    end_offset: int
    """Stream position just past its ``STOP`` opcode, or where the walk stopped."""
    problems: tuple[str, ...]
    complete: bool
    """False when the walk stopped before ``STOP`` (truncated, malformed, a cap reached); the
    risks then include an ``UNREADABLE`` one: what the pickle does on load is unknown."""
    calls: int = 0
    """Calls the pickle makes on load (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD)."""


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _times(count: int) -> str:
    return "" if count == 1 else f" ({count} times)"


def report_risks(findings: Findings, *, complete: bool, member: str | None) -> tuple[LoadRisk, ...]:
    """One risk per unsafe import, one for the imports outside the allowlist, one per hiding."""
    risks: list[LoadRisk] = []
    outside_allowlist: list[str] = []
    framework: list[str] = []
    for found in findings.imports:
        if (found.module, found.name) in RESTORE_FORMS and found not in findings.framework_misuse:
            framework.append(found.qualified)
            continue
        verdict = classify_import(found.module, found.name)
        if verdict is None:
            continue
        severity, reason = verdict
        if severity != Severity.HIGH:
            if found.qualified not in outside_allowlist:
                outside_allowlist.append(found.qualified)
            continue
        risks.append(
            LoadRisk(
                kind=RiskKind.UNSAFE_IMPORT,
                severity=Severity.HIGH,
                message=f"imports {found.qualified} ({reason})",
                member=member,
                callables=(found.qualified,),
            )
        )
    if framework:
        risks.append(
            LoadRisk(
                kind=RiskKind.FRAMEWORK_STATE,
                severity=Severity.INFO,
                message=f"restores {_listing(framework)} as data (Trainer training state, "
                "restored without running the classes' own code)",
                member=member,
                callables=tuple(framework),
            )
        )
    if outside_allowlist:
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.MEDIUM,
                message=f"imports {_listing(outside_allowlist)} ({NOT_ALLOWLISTED})",
                member=member,
                callables=tuple(outside_allowlist),
            )
        )
    for how, count in findings.hidden_imports.items():
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.HIGH,
                message=f"{how}{_times(count)}: the imported callable is hidden",
                member=member,
            )
        )
    if findings.rebound_globals:
        rebound = list(findings.rebound_globals)
        risks.append(
            LoadRisk(
                kind=RiskKind.UNSAFE_IMPORT,
                severity=Severity.HIGH,
                message=(
                    f"overwrites attributes of the imported {_listing(rebound)} with BUILD "
                    "(later imports can be redirected)"
                ),
                member=member,
                callables=tuple(rebound),
            )
        )
    if findings.extension_codes:
        codes = [str(code) for code in findings.extension_codes]
        risks.append(
            LoadRisk(
                kind=RiskKind.UNKNOWN_IMPORT,
                severity=Severity.MEDIUM,
                message=(
                    f"imports through copyreg extension code {_listing(codes)} (a callable the "
                    "loading program registers; the file does not name it)"
                ),
                member=member,
            )
        )
    if findings.dropped_operands:
        risks.append(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=(
                    f"STACK_GLOBAL{_times(findings.dropped_operands)} resolves names beyond the "
                    "analyser's memo limit: the imported callable is unknown"
                ),
                member=member,
            )
        )
    if not complete:
        failure = findings.failure.problem if findings.failure else "the walk stopped early"
        risks.append(
            LoadRisk(
                kind=RiskKind.UNREADABLE,
                severity=Severity.MEDIUM,
                message=(
                    f"the pickle could not be analysed to its end ({failure}): what it does on "
                    "load is unknown"
                ),
                member=member,
            )
        )
    return tuple(risks)


EXECUTABLE_KINDS = frozenset(
    {RiskKind.UNSAFE_IMPORT, RiskKind.UNKNOWN_IMPORT, RiskKind.EMBEDDED_CODE, RiskKind.UNREADABLE}
)


def report_problems(findings: Findings, member: str | None) -> tuple[str, ...]:
    """The problems of ``findings``, each prefixed with ``member`` when there is one."""
    problems = list(findings.problems)
    if findings.suppressed_problems:
        problems.append(f"… and {findings.suppressed_problems} more problems")
    if member is not None:
        problems = [f"{member}: {problem}" for problem in problems]
    return tuple(problems)


def import_names(findings: Findings) -> tuple[str, ...]:
    """``module.qualname`` of every import, in order of appearance, unique."""
    return tuple(dict.fromkeys(found.qualified for found in findings.imports))
