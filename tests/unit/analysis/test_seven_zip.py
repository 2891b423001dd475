"""Tests for 7z archives: recognised, never opened, unreadable."""

from __future__ import annotations

from pathlib import Path

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.core.model import Severity
from tests.unit.analysis.archives import corpus_file, kinds


def test_7z_is_unreadable_and_says_torch_cannot_load_it(tmp_path: Path) -> None:
    sample = corpus_file("picklescan/data/malicious1.7z")
    analysis = analyze_path(sample)
    assert analysis is not None
    assert analysis.format == "7z"
    assert analysis.problems == ("7z archive: not analysed; what it unpacks to is unknown",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}
    renamed = tmp_path / "model.pt"
    renamed.write_bytes(sample.read_bytes())
    renamed_analysis = analyze_path(renamed)
    assert renamed_analysis is not None
    assert "torch.load cannot load a 7z file" in renamed_analysis.problems[0]
