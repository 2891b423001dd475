"""Every labelled sample in the corpus's pickles/ through the analyser dispatch (never loaded).

Labels come from ``../shared/corpus/MANIFEST.md`` (from picklescan's and modelscan's own tests,
cross-checked by disassembly): every malicious sample must be flagged — HIGH, or unanalysable
and therefore treated as code of unknown origin — and no benign one may get a HIGH risk.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.core.model import Severity

_ROW = re.compile(r"^\| `(?P<path>pickles/[^`]+)` \|(?:[^|]*\|){4}(?P<what>[^|]*)\|")
_LABEL = re.compile(r"\*\*(?P<label>[a-z-]+)")
#: Benign samples that the analysis flags, and why (a MEDIUM risk, never HIGH).
EXPECTED_BENIGN_FLAGS = {
    "pickles/modelscan/password_protected.zip": RiskKind.UNREADABLE,  # encrypted member
    "pickles/picklescan/data/benign_password_protected.zip": RiskKind.UNREADABLE,
    # Real scikit-learn / LangChain objects: classes outside the tensor allowlist.
    "pickles/real_world/e_lan_v_prod_experience_scaler.joblib": RiskKind.UNKNOWN_IMPORT,
    "pickles/real_world/e_lan_v_prod_one_hot_encoder.pkl": RiskKind.UNKNOWN_IMPORT,
    "pickles/real_world/rupersonaagent_faiss_index.pkl": RiskKind.UNKNOWN_IMPORT,
}


def _labelled(corpus: Path) -> list[tuple[str, str]]:
    rows = []
    for line in (corpus / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        row = _ROW.match(line)
        if row is None:
            continue
        label = _LABEL.search(row.group("what"))
        rows.append((row.group("path"), label.group("label") if label else "unlabelled"))
    return rows


def _analysis(corpus: Path, path: str) -> FileAnalysis | None:
    return analyze_path(corpus / path)


def _flagged(analysis: FileAnalysis | None) -> bool:
    return analysis is not None and (
        analysis.executable_on_load
        or any(r.severity in {Severity.HIGH, Severity.MEDIUM} for r in analysis.risks)
    )


def test_every_malicious_sample_is_flagged_and_no_benign_one_is_high(corpus: Path) -> None:
    rows = _labelled(corpus)
    malicious = [path for path, label in rows if label == "malicious"]
    benign = [path for path, label in rows if label == "benign"]
    assert len(malicious) >= 90, "the corpus's pickle table changed shape"
    assert len(benign) >= 10

    missed = [path for path in malicious if not _flagged(_analysis(corpus, path))]
    assert missed == []
    not_high = {
        path
        for path in malicious
        if not any(r.severity is Severity.HIGH for r in _analysis(corpus, path).risks)  # type: ignore[union-attr]
    }
    # A 7z archive cannot be opened by any model loader, nor analysed: unreadable, not HIGH.
    assert not_high == {"pickles/picklescan/data/malicious1.7z"}

    flagged_benign = {}
    for path in benign:
        analysis = _analysis(corpus, path)
        assert analysis is None or all(r.severity is not Severity.HIGH for r in analysis.risks), (
            path
        )
        if _flagged(analysis):
            assert analysis is not None
            flagged_benign[path] = {r.kind for r in analysis.risks if r.severity is Severity.MEDIUM}
    assert flagged_benign == {path: {kind} for path, kind in EXPECTED_BENIGN_FLAGS.items()}


@pytest.mark.parametrize(
    ("path", "callable_"),
    [
        ("pickles/modelscan/unsafe_zip_pytorch.pt", "posix.system"),
        ("pickles/picklescan/data2/dns_exfiltration.npy", "ssl.get_server_certificate"),
        ("pickles/picklescan/data/malicious14.pkl", "runpy._run_code"),
    ],
)
def test_concrete_callables_are_named(corpus: Path, path: str, callable_: str) -> None:
    analysis = _analysis(corpus, path)
    assert analysis is not None
    assert callable_ in analysis.imports
    assert analysis.executable_on_load
