"""Hand-written pickles and the checks the pickle analyser's tests share. Inputs are built
with ``pickle.dumps`` or byte by byte; nothing is ever unpickled."""

from __future__ import annotations

import io
import pickle
import struct
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.analysis.load_risk import LoadRisk, RiskKind
from scanner.analysis.pickle.report import PickleScan
from scanner.analysis.pickle.scan import LEGACY_TORCH_MAGIC, MAX_PICKLE_BYTES, scan_pickle_stream
from scanner.core.model import Severity

if TYPE_CHECKING:
    from collections.abc import Iterable


HIGH = Severity.HIGH
MEDIUM = Severity.MEDIUM

# --- byte builders ---------------------------------------------------------------------------

PROTO4 = b"\x80\x04"
STOP = b"."


def short_str(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stream(
    data: bytes, *, max_bytes: int = MAX_PICKLE_BYTES, member: str | None = None
) -> PickleScan:
    return scan_pickle_stream(io.BytesIO(data), max_bytes=max_bytes, member=member)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def severities(risks: Iterable[LoadRisk]) -> set[Severity]:
    return {risk.severity for risk in risks}


def kinds(risks: Iterable[LoadRisk]) -> set[RiskKind]:
    return {risk.kind for risk in risks}


# A benign-looking payload-free call to os.system in protocol 0 (never loaded, only scanned).
OS_SYSTEM_V0 = b"cos\nsystem\n(S'id'\ntR."


PLAIN_DATA = {
    "list": [1, 2.5, "x", None, True, False],
    "tuple": (1, (2, (3,))),
    "set": {1, 2},
    "frozenset": frozenset({3}),
    "bytes": b"\x00\xff" * 3,
    "bytearray": bytearray(b"ab"),
    "big": 2**100,
    "negative": -(2**40),
    "ordered": OrderedDict(a=1, b=[1, 2]),
    "complex": 1 + 2j,
    "text": "é" * 300,
    "nested": [[[[]]]],
}


def legacy_torch(data_pickle: bytes) -> bytes:
    return (
        pickle.dumps(LEGACY_TORCH_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
        + data_pickle
        + pickle.dumps(["0"], protocol=2)
        + struct.pack("<q", 4)
        + b"\x00\x00\x80?" * 4
    )


def joblib_dump(
    raw: bytes,
    *,
    descr: str = "f8",
    shape: tuple[int, ...] = (2,),
    padding: bytes | None = b"\x03\xff\xff\xff",
) -> bytes:
    """A joblib dump of one array: the wrapper's BUILD is followed by the raw array bytes.

    joblib >= 1.2 writes a padding-length byte and padding first (``padding``; None for older
    dumps, whose state has no alignment entry); object arrays are a nested pickle, unpadded.
    """
    if descr.startswith("O"):
        padding = None
    dims = b"(" + b"".join(b"J" + struct.pack("<i", size) for size in shape) + b"t"
    dtype = (
        glob("numpy", "dtype")
        + short_str(descr)
        + b"\x89\x88\x87R"  # dtype(descr, False, True)
        + b"(K\x03"
        + short_str("<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    state = (
        b"}("
        + short_str("shape")
        + dims
        + short_str("dtype")
        + dtype
        + (short_str("numpy_array_alignment_bytes") + b"K\x10" if padding is not None else b"")
        + b"u"
    )
    wrapper = glob("joblib.numpy_pickle", "NumpyArrayWrapper") + b")\x81"
    return PROTO4 + b"]" + wrapper + state + b"b" + (padding or b"") + raw + b"a."
