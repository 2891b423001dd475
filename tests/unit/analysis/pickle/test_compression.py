"""Tests for joblib's compressed dumps: decompressed on the fly, capped, or refused."""

from __future__ import annotations

import bz2
import gzip
import lzma
import pickle
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.scan import scan_pickle_file
from tests.unit.analysis.files import analyse_file
from tests.unit.analysis.pickle.pickles import OS_SYSTEM_V0, kinds, write

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("compress", "magic"),
    [
        (gzip.compress, b"\x1f\x8b"),
        (zlib.compress, b"x"),
        (bz2.compress, b"BZh"),
        (lzma.compress, b"\xfd7zXZ"),
        (lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE), b"\x5d"),
    ],
)
def test_compressed_joblib_dumps_are_decompressed(
    corpus: Path, tmp_path: Path, compress: Callable[[bytes], bytes], magic: bytes
) -> None:
    original = corpus / "pickles/real_world/e_lan_v_prod_experience_scaler.joblib"
    packed = compress(original.read_bytes())
    assert packed.startswith(magic)
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "scaler.joblib", packed))
    assert analysis == analyse_file(scan_pickle_file, original)


@pytest.mark.parametrize(
    ("compress", "name"),
    [
        (gzip.compress, "model.pkl.gz"),
        (zlib.compress, "model.joblib"),
        (bz2.compress, "model.pkl"),
        (lzma.compress, "model.pkl"),
        (lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE), "model.joblib"),
    ],
)
def test_compressed_pickles(tmp_path: Path, compress: Callable[[bytes], bytes], name: str) -> None:
    analysis = analyse_file(scan_pickle_file, write(tmp_path, name, compress(OS_SYSTEM_V0)))
    assert analysis.imports == ("os.system",)
    assert analysis.problems == ()


def test_unsupported_and_corrupt_compression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scanner.analysis.pickle.compression.lz4_frame", lambda: None)
    lz4 = analyse_file(
        scan_pickle_file, write(tmp_path, "a.joblib", b"\x04\x22\x4d\x18" + b"\x00" * 32)
    )
    assert kinds(lz4.risks) == {RiskKind.UNREADABLE}
    assert lz4.executable_on_load
    rows = [OrderedDict(row=index) for index in range(5000)]
    packed = gzip.compress(pickle.dumps(rows, protocol=2))
    torn = analyse_file(scan_pickle_file, write(tmp_path, "b.pkl", packed[: len(packed) // 2]))
    # What was decompressed before the tear is analysed; the rest is unknown.
    assert torn.imports == ("collections.OrderedDict",)
    assert kinds(torn.risks) == {RiskKind.UNREADABLE}
    assert torn.problems == (
        "the gzip data cannot be decompressed: the compressed data ends early",
    )


def test_decompression_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.analysis.pickle.scan.MAX_DECOMPRESSED_BYTES", 1024 * 1024)
    bomb = gzip.compress(pickle.dumps(b"\x00" * (8 * 1024 * 1024), protocol=4))
    analysis = analyse_file(scan_pickle_file, write(tmp_path, "bomb.pkl", bomb))
    assert kinds(analysis.risks) == {RiskKind.UNREADABLE}
    assert "byte limit" in analysis.problems[0]
