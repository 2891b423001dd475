"""How the human reports (summary, Markdown) order and label findings.

A finding is listed once, with the tiers it affects; those that decide a verdict come first,
dangerous code ahead of everything, FAIL ahead of UNKNOWN.
"""

from __future__ import annotations

from scanner.core.model import Finding, ScanResult, Verdict
from scanner.policy.rules import DANGEROUS_CODE_RULE, RULES

__all__ = ["DANGEROUS_CODE_RULE", "action_findings", "analysis_failed", "outcome", "tiers_label"]

#: Rules of findings about what loading a file would do, by what they say of the file.
_RUNS_CODE_RULES = frozenset({"SEC001", "SEC002", "SEC003"})
_UNANALYSABLE_RULE = "SEC006"
_OUTCOME_RANK = {Verdict.FAIL: 0, Verdict.UNKNOWN: 1}


def outcome(finding: Finding) -> Verdict:
    """What the finding makes the tiers it names: FAIL or UNKNOWN (NOT-APPLICABLE: none)."""
    rule = RULES.get(finding.rule_id)
    if rule is None:
        return Verdict.UNKNOWN if finding.tiers else Verdict.NOT_APPLICABLE
    return rule.outcome


def action_findings(result: ScanResult) -> list[Finding]:
    """The findings that decide a verdict (a tier names them, no waiver accepts them), in the
    order a reader should act on them."""
    live = [f for f in result.findings if f.tiers and f.accepted is None]
    return sorted(
        live,
        key=lambda f: (
            f.rule_id != DANGEROUS_CODE_RULE,
            _OUTCOME_RANK.get(outcome(f), 2),
            f.rule_id,
            f.component_ref,
            f.key,
            f.message,
        ),
    )


def tiers_label(result: ScanResult, finding: Finding) -> str:
    """``FAIL: sovereign, national`` or ``FAIL: every tier``."""
    evaluated = [verdict.tier for verdict in result.verdicts]
    every = len(evaluated) > 1 and set(finding.tiers) >= set(evaluated)
    names = "every tier" if every else ", ".join(finding.tiers)
    return f"{outcome(finding).value}: {names}"


def analysis_failed(result: ScanResult) -> frozenset[str]:
    """Refs of files that could not be analysed and are not known to run code: unknown, which
    is not the same as dangerous."""
    unanalysable: set[str] = set()
    runs_code: set[str] = set()
    for finding in result.findings:
        if finding.tiers:
            continue
        if finding.rule_id == _UNANALYSABLE_RULE:
            unanalysable.add(finding.component_ref)
        elif finding.rule_id in _RUNS_CODE_RULES:
            runs_code.add(finding.component_ref)
    return frozenset(unanalysable - runs_code)
