"""Tests for the analysis builder and the display of hostile text."""

from __future__ import annotations

from scanner.analysis.builder import MAX_SHOWN_CHARS, AnalysisBuilder, display_text
from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.core.model import Severity


def test_display_text_escapes_and_truncates() -> None:
    assert display_text("a\x00b\nc") == "a\\x00b\\nc"
    assert display_text("x" * 500) == "x" * MAX_SHOWN_CHARS + "…"


def test_builder_keeps_the_most_severe_risks(monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.builder.MAX_RISKS", 2)
    builder = AnalysisBuilder()
    for index in range(3):
        builder.unreadable(f"problem {index}")
    builder.risk(LoadRisk(kind=RiskKind.UNSAFE_IMPORT, severity=Severity.HIGH, message="bad"))
    analysis = builder.build("zip")
    assert [r.severity for r in analysis.risks] == [Severity.HIGH, Severity.MEDIUM]
    assert analysis.problems[-1] == "2 more weaker risks not listed"
    assert analysis.executable_on_load
