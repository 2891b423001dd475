"""Tests for the records of a walk: members named, risks of the real corpus's tricks."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.scan import scan_pickle_file
from tests.unit.analysis.files import analyse_file
from tests.unit.analysis.pickle.pickles import HIGH, MEDIUM, OS_SYSTEM_V0, kinds, stream


def test_member_is_named_in_risks_and_problems() -> None:
    scan = stream(OS_SYSTEM_V0[:-3], member="archive/data.pkl")
    assert {risk.member for risk in scan.risks} == {"archive/data.pkl"}
    assert scan.problems[0].startswith("archive/data.pkl: ")


def test_memo_exploits_report_a_hidden_import(corpus: Path) -> None:
    for name in ("keyerror-exploit.pkl", "type-confusion-exploit.pkl"):
        analysis = analyse_file(
            scan_pickle_file, corpus / "pickles" / "picklescan" / "data2" / name
        )
        assert analysis.imports == ("os.system",)
        hidden = [r for r in analysis.risks if "not known strings" in r.message]
        assert len(hidden) == 1
        assert hidden[0].severity == HIGH
        assert hidden[0].kind == RiskKind.UNKNOWN_IMPORT


def test_module_attribute_overwrite_is_caught(corpus: Path) -> None:
    analysis = analyse_file(
        scan_pickle_file, corpus / "pickles/picklescan/data/sys_module_override_sploit.pkl"
    )
    messages = [risk.message for risk in analysis.risks if risk.severity == HIGH]
    assert any("overwrites attributes of the imported torch._utils" in m for m in messages)
    assert any("not known strings" in m for m in messages)


def test_broken_pickle_keeps_what_it_saw(corpus: Path) -> None:
    analysis = analyse_file(scan_pickle_file, corpus / "pickles/picklescan/data/broken_model.pkl")
    assert analysis.imports == ("builtins.exec",)
    assert kinds(analysis.risks) == {RiskKind.UNSAFE_IMPORT, RiskKind.UNREADABLE}
    assert "declares 543558206 bytes but only 63 remain" in analysis.problems[0]


@pytest.mark.parametrize(
    ("name", "callables"),
    [
        (
            "e_lan_v_prod_one_hot_encoder.pkl",
            ("sklearn.preprocessing._encoders.OneHotEncoder",),
        ),
        (
            "rupersonaagent_faiss_index.pkl",
            (
                "langchain_community.docstore.in_memory.InMemoryDocstore",
                "langchain_core.documents.base.Document",
            ),
        ),
    ],
)
def test_real_world_pickles_are_medium_for_their_classes(
    corpus: Path, name: str, callables: tuple[str, ...]
) -> None:
    analysis = analyse_file(scan_pickle_file, corpus / "pickles" / "real_world" / name)
    (risk,) = analysis.risks
    assert risk.severity == MEDIUM
    assert risk.callables == callables
