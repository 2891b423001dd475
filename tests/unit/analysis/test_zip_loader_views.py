"""Zips read the way Python's zipfile (and so Keras) reads them: bytes before the first member,
names cut at a NUL, the last of two same-named entries.

Sources: CPython Lib/zipfile.py (``ZipInfo.__init__`` cuts ``filename`` at ``chr(0)``;
``_RealGetContents`` finds the archive from its end record and keeps the last entry per name in
``NameToInfo``); keras/src/saving/saving_lib.py (``load_model`` opens ``.keras`` files with
``zipfile.ZipFile`` and reads ``config.json``). Archives are written with zipfile, then patched
with plain byte edits.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

import pytest

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.core.model import Severity

if TYPE_CHECKING:
    from pathlib import Path

BENIGN_CONFIG = b'{"module": "keras", "class_name": "Sequential", "config": {"layers": []}}'
METADATA = b'{"keras_version": "3.4.1"}'
# A Lambda layer calling builtins.exec (CVE-2025-1550-style config, written as JSON text).
LAMBDA_CONFIG = json.dumps(
    {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "Lambda",
                    "config": {
                        "name": "boom",
                        "function": {
                            "module": "builtins",
                            "class_name": "function",
                            "config": "exec",
                        },
                    },
                }
            ]
        },
    }
).encode()


def zipped(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def high(path: Path) -> bool:
    analysis = analyze_path(path)
    assert analysis is not None
    return any(risk.severity is Severity.HIGH for risk in analysis.risks)


# --- bytes before the first member ----------------------------------------------------------------


def test_a_keras_file_with_prepended_bytes_is_analysed_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    stub = b"#!/bin/sh\necho hello\nexit 0\n"
    path.write_bytes(stub + zipped([("config.json", LAMBDA_CONFIG), ("metadata.json", METADATA)]))
    assert zipfile.ZipFile(path).read("config.json") == LAMBDA_CONFIG  # zipfile reads past it
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.format == "keras"
    assert any(risk.severity is Severity.HIGH for risk in analysis.risks)
    assert any(f"{len(stub)} bytes come before the first member" in p for p in analysis.problems)


def test_a_benign_keras_file_with_prepended_bytes_raises_no_high(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(
        b"\x00" * 64 + zipped([("config.json", BENIGN_CONFIG), ("metadata.json", METADATA)])
    )
    analysis = analyze_path(path)
    assert analysis is not None
    assert not high(path)
    assert {(r.kind, r.severity) for r in analysis.risks} == {
        (RiskKind.UNREADABLE, Severity.MEDIUM)
    }


# --- names zipfile reads differently --------------------------------------------------------------


def nul_named(members: list[tuple[str, bytes]]) -> bytes:
    """A zip whose ``#`` in member names is then patched to NUL (zipfile cannot write one)."""
    return zipped(members).replace(b"config.json#.bak", b"config.json\x00.bak")


def test_a_nul_cut_name_shadowing_config_json_is_what_keras_reads(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(
        nul_named(
            [
                ("config.json", BENIGN_CONFIG),
                ("metadata.json", METADATA),
                ("config.json#.bak", LAMBDA_CONFIG),
            ]
        )
    )
    # What Keras reads: zipfile cuts the name at the NUL, and the later entry wins.
    assert zipfile.ZipFile(path).read("config.json") == LAMBDA_CONFIG
    analysis = analyze_path(path)
    assert analysis is not None
    assert any(risk.severity is Severity.HIGH for risk in analysis.risks)
    shadowing = [r for r in analysis.risks if "cuts names at a NUL" in r.message]
    assert len(shadowing) == 1
    assert shadowing[0].severity is Severity.MEDIUM
    assert "config.json, config.json\\x00.bak" in shadowing[0].message


def test_a_nul_cut_name_makes_a_keras_like_zip_keras_like(tmp_path: Path) -> None:
    path = tmp_path / "model.zip"
    path.write_bytes(nul_named([("metadata.json", METADATA), ("config.json#.bak", LAMBDA_CONFIG)]))
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.format == "keras"
    assert any(risk.severity is Severity.HIGH for risk in analysis.risks)


def test_the_later_of_two_same_named_entries_is_analysed_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    data = zipped(
        [
            ("config.json", BENIGN_CONFIG),
            ("metadata.json", METADATA),
            ("config.jsoX", LAMBDA_CONFIG),  # renamed below: zipfile will not write a duplicate
        ]
    )
    path.write_bytes(data.replace(b"config.jsoX", b"config.json"))
    assert zipfile.ZipFile(path).read("config.json") == LAMBDA_CONFIG  # the later entry wins
    analysis = analyze_path(path)
    assert analysis is not None
    assert any(risk.severity is Severity.HIGH for risk in analysis.risks)
    [shadowing] = [r for r in analysis.risks if "keeps the last entry" in r.message]
    assert shadowing.severity is Severity.MEDIUM
    assert "config.json, config.json" in shadowing.message


def test_a_benign_archive_with_unique_names_is_not_flagged(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(zipped([("config.json", BENIGN_CONFIG), ("metadata.json", METADATA)]))
    analysis = analyze_path(path)
    assert analysis is not None
    assert analysis.risks == ()


# --- compression methods zipfile reads beyond deflate ---------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_a_config_compressed_with_bzip2_or_lzma_is_read(tmp_path: Path, method: int) -> None:
    # CPython Lib/zipfile.py _get_decompressor: zipfile (so Keras) reads methods 12 and 14.
    path = tmp_path / "model.keras"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("config.json", LAMBDA_CONFIG)
        archive.writestr("metadata.json", METADATA)
    path.write_bytes(buffer.getvalue())
    analysis = analyze_path(path)
    assert analysis is not None
    assert any(risk.severity is Severity.HIGH for risk in analysis.risks)
    assert not any(risk.kind is RiskKind.UNREADABLE for risk in analysis.risks)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_an_object_array_compressed_with_bzip2_or_lzma_is_walked(
    tmp_path: Path, method: int
) -> None:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n"
    array = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    path = tmp_path / "arrays.npz"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("a.npy", array + b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R.")
    analysis = analyze_path(path)
    assert analysis is not None
    assert any("posix.system" in risk.callables for risk in analysis.risks)


def test_corrupt_lzma_data_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("config.json", LAMBDA_CONFIG)
        archive.writestr("metadata.json", METADATA)
    data = bytearray(path.read_bytes())
    start = data.index(b"config.json") + len("config.json")
    data[start + 4] = 0xFF  # the LZMA properties byte: out of range
    path.write_bytes(bytes(data))
    analysis = analyze_path(path)
    assert analysis is not None
    assert any(risk.kind is RiskKind.UNREADABLE for risk in analysis.risks)
