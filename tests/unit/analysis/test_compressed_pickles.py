"""Compressed pickles whatever their name: joblib.load decompresses by magic bytes.

Source: joblib/numpy_pickle_utils.py (``_detect_compressor``: zlib, gzip, bz2, lzma, xz, lz4
by magic, then ``pickle`` on the decompressed bytes) and joblib/compressor.py (``LZ4_MAGIC``).
Every file is written with the standard library (and lz4.frame) around a hand-written pickle.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle import compression
from scanner.core.model import Severity
from tests.unit.analysis.archives import high_callables

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

# PROTO 2, GLOBAL posix.system, SHORT_BINUNICODE "id", TUPLE1, REDUCE, STOP.
EVIL = b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R."
# PROTO 2, EMPTY_DICT, STOP: a benign pickle.
BENIGN = b"\x80\x02}."


def _lz4(data: bytes) -> bytes:
    frame = pytest.importorskip("lz4.frame")
    compressed: bytes = frame.compress(data)
    return compressed


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": zlib.compress,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "lz4": _lz4,
}
NAMES = ("model.pkl.gz", "model.pkl.z", "model.joblib", "model.pkl", "compressed-dump")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", sorted(COMPRESSORS))
def test_a_compressed_malicious_pickle_is_caught_whatever_its_name(
    tmp_path: Path, method: str, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(COMPRESSORS[method](EVIL))
    analysis = analyze_path(path)
    assert analysis is not None
    assert "posix.system" in high_callables(analysis)


@pytest.mark.parametrize("method", sorted(COMPRESSORS))
def test_a_compressed_benign_pickle_raises_no_high(tmp_path: Path, method: str) -> None:
    path = tmp_path / "scaler.pkl.gz"
    path.write_bytes(COMPRESSORS[method](BENIGN))
    analysis = analyze_path(path)
    assert analysis is not None
    assert all(risk.severity is not Severity.HIGH for risk in analysis.risks)


def test_compressed_data_that_is_no_pickle_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "train.json.gz"
    path.write_bytes(gzip.compress(b'{"text": "hello"}\n'))
    assert analyze_path(path) is None


def test_lz4_without_the_lz4_package_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compression, "lz4_frame", lambda: None)
    path = tmp_path / "model.pkl.lz4"
    path.write_bytes(compression.LZ4_FRAME_MAGIC + bytes(16))
    analysis = analyze_path(path)
    assert analysis is not None
    assert [risk.kind for risk in analysis.risks] == [RiskKind.UNREADABLE]
    assert "lz4 package is not installed" in analysis.risks[0].message
