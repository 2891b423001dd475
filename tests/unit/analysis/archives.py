"""Zip archives the analysers' tests build, and the checks they share."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from scanner.analysis.dispatch import analyze_zip
from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.core.model import Severity
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.analysis.files import analyse_file

CORPUS = CORPUS_ROOT / "pickles"
MODELS = CORPUS.parent / "models"


# PROTO 2, GLOBAL posix.system, BINUNICODE "id", TUPLE1, REDUCE, STOP: written, never loaded.
EVIL_PICKLE = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus sample {relative} is absent")
    return path


def build_zip(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def torch_zip(path: Path, data_pkl: bytes, **extra: bytes) -> Path:
    members = {
        "archive/data.pkl": data_pkl,
        "archive/version": b"3\n",
        "archive/data/0": b"\x80\x02" + bytes(62),  # storage bytes that look like a pickle
    }
    members.update(extra)
    return build_zip(path, members)


def set_flag_bits(path: Path, bits: int) -> None:
    """OR ``bits`` into every local and central header's general-purpose flags."""
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            (flags,) = struct.unpack_from("<H", data, start + flag_offset)
            struct.pack_into("<H", data, start + flag_offset, flags | bits)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def kinds(analysis: FileAnalysis) -> set[tuple[RiskKind, Severity]]:
    return {(risk.kind, risk.severity) for risk in analysis.risks}


def high_callables(analysis: FileAnalysis) -> set[str]:
    return {
        name for risk in analysis.risks if risk.severity is Severity.HIGH for name in risk.callables
    }


def analyze_archive(path: Path) -> FileAnalysis:
    """The dispatcher's zip analysis of the file at ``path``."""
    return analyse_file(analyze_zip, path)
