"""Tests for the symbolic machine: memo indirection, caps, nesting, joblib arrays."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import pytest

from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.analysis.pickle.machine import MAX_MARK_DEPTH
from scanner.analysis.pickle.scan import scan_pickle_file
from tests.unit.analysis.files import analyse_file
from tests.unit.analysis.pickle.pickles import (
    HIGH,
    MEDIUM,
    OS_SYSTEM_V0,
    PROTO4,
    STOP,
    glob,
    joblib_dump,
    kinds,
    severities,
    short_str,
    stream,
    write,
)


def test_stack_global_through_memo_indirection() -> None:
    data = (
        PROTO4
        + short_str("posix")
        + b"\x94"  # MEMOIZE -> 0
        + short_str("torch")
        + b"\x94"  # decoy -> 1
        + b"0"
        + short_str("system")
        + b"r"
        + struct.pack("<I", 70_000)  # LONG_BINPUT 70000
        + b"0"
        + b"h\x00"  # BINGET 0
        + b"j"
        + struct.pack("<I", 70_000)  # LONG_BINGET 70000
        + b"\x93"
        + short_str("id")
        + b"\x85R."
    )
    scan = stream(data)
    assert scan.complete
    assert scan.imports == ("posix.system",)
    assert [r.callables for r in scan.risks] == [("posix.system",)]
    assert scan.calls == 1


def test_deep_nesting() -> None:
    nested: list[object] = []
    for _ in range(300):
        nested = [nested]
    assert stream(pickle.dumps(nested, protocol=4)).complete
    # Tuples nested 200,000 deep: modelled without recursion.
    tuples = stream(PROTO4 + b"N" + b"\x85" * 200_000 + STOP)
    assert tuples.complete
    marks = stream(PROTO4 + b"(" * (MAX_MARK_DEPTH + 1))
    assert not marks.complete
    assert f"more than {MAX_MARK_DEPTH} nested MARKs" in marks.problems[0]


@pytest.mark.parametrize(
    ("cap", "value", "data", "problem"),
    [
        (
            "scanner.analysis.pickle.machine.MAX_OPCODES",
            1000,
            b"(" + b"K\x01" * 1000 + b"t.",  # no run of no-ops: each opcode counts
            "more than 1000 opcodes",
        ),
        (
            "scanner.analysis.pickle.machine.MAX_STACK_ITEMS",
            100,
            b"(" + b"N" * 101 + b"t.",
            "more than 100 items",
        ),
        (
            "scanner.analysis.pickle.machine.MAX_SPARSE_MEMO_ENTRIES",
            3,
            b"N" + b"".join(b"r" + struct.pack("<I", 1000 + 7 * i) for i in range(4)) + b".",
            "more than 3 out-of-sequence memo keys",
        ),
        (
            "scanner.analysis.pickle.findings.MAX_IMPORTS",
            2,
            b"".join(glob("m", f"n{i}") + b"0" for i in range(3)) + b"N.",
            "more than 2 distinct imports",
        ),
    ],
)
def test_caps_make_the_scan_incomplete(
    monkeypatch: pytest.MonkeyPatch, cap: str, value: int, data: bytes, problem: str
) -> None:
    monkeypatch.setattr(cap, value)
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[0]
    assert RiskKind.UNREADABLE in kinds(scan.risks)


def test_memo_model_limit_is_reported_not_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.analysis.pickle.machine.MAX_MEMO_MODEL_BYTES", 100)
    data = PROTO4 + short_str("os") + b"\x94" + short_str("system") + b"\x94" + b"00"
    scan = stream(data + b"h\x00h\x01\x93.")
    (risk,) = scan.risks
    assert (risk.kind, risk.severity) == (RiskKind.UNREADABLE, MEDIUM)
    assert "memo limit" in risk.message


def test_stack_underflow_is_reported_and_walked_past() -> None:
    scan = stream(b"0" + OS_SYSTEM_V0)
    assert scan.complete
    assert scan.imports == ("os.system",)
    assert scan.problems == ("stack underflow at byte 0 (a loader fails there)",)


def test_joblib_arrays_are_stepped_over(tmp_path: Path) -> None:
    data = joblib_dump(struct.pack("<2d", 1.0, 2.0))
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "array.joblib", data))
    assert analysis == FileAnalysis(
        format="joblib", imports=("joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtype")
    )
    scan = stream(data)
    assert scan.complete
    assert scan.end_offset == len(data)


@pytest.mark.parametrize(
    ("raw", "padding"),
    [
        (b"cos\nsystem\n0\x00\x00\x00\x00", None),
        # The padding-length byte 0x28 is MARK for pickle.load, and the 40 padding bytes follow.
        (b"\x00" * 16, b"(" + b"cos\nsystem\n0" + b"N0" * 14),
    ],
)
def test_joblib_array_bytes_are_also_read_as_plain_pickle_opcodes(
    raw: bytes, padding: bytes | None
) -> None:
    # pickle.load (not joblib.load) would run these bytes as opcodes.
    data = joblib_dump(raw, padding=padding)
    scan = stream(data)
    assert scan.complete
    assert scan.end_offset == len(data)
    assert "os.system" in scan.imports
    assert HIGH in severities(scan.risks)


def test_joblib_object_arrays_are_nested_pickles() -> None:
    nested = b"\x80\x02" + glob("posix", "system") + b"."
    scan = stream(joblib_dump(nested, descr="O8"))
    assert scan.complete
    assert "posix.system" in scan.imports


@pytest.mark.parametrize(
    ("data", "problem", "analyser_limit"),
    [
        (joblib_dump(b"", shape=(2**31 - 1,) * 8), "more than any file", False),
        (joblib_dump(b"\x00" * 4), "declares 16 bytes but only", False),
        (joblib_dump(b"", descr="V"), "cannot size", True),
    ],
)
def test_joblib_arrays_that_cannot_be_sized(
    tmp_path: Path, data: bytes, problem: str, analyser_limit: bool
) -> None:
    scan = stream(data)
    assert not scan.complete
    assert problem in scan.problems[0]
    assert RiskKind.UNREADABLE in kinds(scan.risks)
    # After a complete first pickle, data every loader fails on is trailing raw bytes; a limit
    # of this analyser keeps the file unknown.
    analysis = analyse_file(
        scan_pickle_file, write(tmp_path, "second.joblib", pickle.dumps(0) + data)
    )
    assert (RiskKind.UNREADABLE in kinds(analysis.risks)) == analyser_limit
