"""Regression tests for bypasses of the pickle analysis (issue #12: load analysis by content).

Every input is written opcode by opcode (or byte by byte) and only scanned, never unpickled.
Each case names its source: the issue item, or the public advisory that documents it.
"""

from __future__ import annotations

import io

import pytest

from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.analysis.pickle.machine import MAX_MARK_DEPTH, MAX_STACK_ITEMS
from scanner.analysis.pickle.scan import scan_pickle_file
from tests.unit.analysis.pickle.pickles import HIGH, OS_SYSTEM_V0, kinds, stream

#: GLOBAL os system, MARK, STRING 'id', TUPLE, REDUCE: the call, without its STOP.
CALL_V0 = OS_SYSTEM_V0[:-1]


def _high_callables(analysis: FileAnalysis) -> set[str]:
    return {c for risk in analysis.risks if risk.severity == HIGH for c in risk.callables}


# --- caps an attacker can reach (issue #12 item 5) ------------------------------------------------

CAP_CASES = {
    # 200,000 nested MARKs, then the call: the MARK cap is reached before the payload.
    "marks-then-call": b"(" * (2 * MAX_MARK_DEPTH) + OS_SYSTEM_V0,
    # The call, then 200,000 nested MARKs before STOP: the cap comes after the payload.
    "call-then-marks": CALL_V0 + b"(" * (2 * MAX_MARK_DEPTH) + b".",
    # Over a million NONEs on the stack, then the call (the stack cap first).
    "stack-then-call": b"N" * (MAX_STACK_ITEMS + 1) + OS_SYSTEM_V0,
    # Protocol 4: 200,000 MARKs, then STACK_GLOBAL of strings pushed after the cap.
    "marks-then-stack-global": b"\x80\x04"
    + b"(" * (2 * MAX_MARK_DEPTH)
    + b"\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.",
}


@pytest.mark.parametrize("data", CAP_CASES.values(), ids=CAP_CASES.keys())
def test_a_cap_does_not_hide_the_call(data: bytes) -> None:
    scan = stream(data)
    assert not scan.complete
    assert {RiskKind.UNSAFE_IMPORT, RiskKind.UNREADABLE} <= kinds(scan.risks)
    assert "os.system" in {c for risk in scan.risks for c in risk.callables}
    analysis = scan_pickle_file(io.BytesIO(data), "pytorch_model.bin")
    assert "os.system" in _high_callables(analysis)
    assert RiskKind.UNREADABLE in kinds(analysis.risks)
