from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.analysis import numpy_file
from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import FileAnalysis, RiskKind
from scanner.analysis.numpy_file import analyze_npy, analyze_npz_members, read_npy_header
from scanner.analysis.zip_members import analyze_zip_stream
from scanner.core.errors import MalformedFileError
from scanner.core.model import Severity
from tests.conftest import CORPUS as CORPUS_ROOT
from tests.unit.analysis.files import analyse_file

DATA2 = CORPUS_ROOT / "pickles" / "picklescan" / "data2"


# PROTO 2, GLOBAL posix.system, BINUNICODE "id", TUPLE1, REDUCE, STOP: written, never loaded.
def analyze_npz(stream: BinaryIO, name: str) -> FileAnalysis:
    """A ``.npz`` file read as the dispatcher's ``npz`` layout reads it."""
    return analyze_zip_stream(stream, "npz", analyze_npz_members)


EVIL_PICKLE = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."


def corpus_file(name: str) -> Path:
    path = DATA2 / name
    if not path.is_file():
        pytest.skip(f"corpus sample {name} is absent")
    return path


def npy_bytes(header: str, data: bytes = b"", *, version: int = 1) -> bytes:
    """A .npy file as numpy writes it: magic, version, length, padded dict literal, data."""
    text = header.encode("latin-1")
    length = struct.pack("<H" if version == 1 else "<I", len(text) + 1)
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + b"\n" + data


def npy_file(path: Path, header: str, data: bytes = b"", *, version: int = 1) -> Path:
    path.write_bytes(npy_bytes(header, data, version=version))
    return path


def high_callables(analysis: FileAnalysis) -> set[str]:
    return {
        name for risk in analysis.risks if risk.severity is Severity.HIGH for name in risk.callables
    }


OBJECT_HEADER = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
INT_HEADER = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }"


# --- real corpus ----------------------------------------------------------------------------


def test_dns_exfiltration_npy_is_high() -> None:
    analysis = analyse_file(analyze_npy, corpus_file("dns_exfiltration.npy"))
    assert analysis.format == "numpy"
    assert "ssl.get_server_certificate" in high_callables(analysis)
    assert analysis.executable_on_load


def test_benign_object_array_is_not_high() -> None:
    analysis = analyse_file(analyze_npy, corpus_file("object_array.npy"))
    assert not high_callables(analysis)
    assert any(name.startswith("numpy.") for name in analysis.imports)


def test_int_array_has_no_risk() -> None:
    analysis = analyse_file(analyze_npy, corpus_file("int_array.npy"))
    assert analysis == FileAnalysis(format="numpy")


@pytest.mark.parametrize("name", ["int_arrays.npz", "int_arrays_compressed.npz"])
def test_int_npz_has_no_risk(name: str) -> None:
    assert analyse_file(analyze_npz, corpus_file(name)) == FileAnalysis(format="npz")


@pytest.mark.parametrize("name", ["object_arrays.npz", "object_arrays_compressed.npz"])
def test_object_npz_is_walked_and_not_high(name: str) -> None:
    analysis = analyse_file(analyze_npz, corpus_file(name))
    assert analysis.format == "npz"
    assert not high_callables(analysis)
    assert any(name.startswith("numpy.") for name in analysis.imports)
    dispatched = analyze_path(corpus_file(name))
    assert dispatched == analysis


# --- header ---------------------------------------------------------------------------------


def test_header_fields_are_read() -> None:
    header = read_npy_header(io.BytesIO(npy_bytes(INT_HEADER, b"\x00" * 16)))
    assert header.version == (1, 0)
    assert header.descr == "<i4"
    assert header.fortran_order is False
    assert header.shape == (2, 2)
    assert header.holds_objects is False
    assert header.data_offset == 10 + len(INT_HEADER) + 1


@pytest.mark.parametrize(
    ("descr", "holds_objects"),
    [
        ("'<f8'", False),
        ("'|b1'", False),
        ("'<M8[ns]'", False),
        ("'<U12'", False),
        ("'float64'", False),
        ("'|O'", True),
        ("'O'", True),
        ("'object'", True),
        ("[('a', '<i4'), ('b', '<f8', (3,))]", False),
        ("[('a', '<i4'), ('b', [('c', '|O')])]", True),
        ("[(('title', 'a'), '|O')]", True),
        ("('|O', (2,))", True),
        ("'i4,O'", None),  # numpy parses this comma string into a structured dtype
        ("3", None),
    ],
)
def test_object_detection(descr: str, holds_objects: bool | None) -> None:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}"
    assert read_npy_header(io.BytesIO(npy_bytes(header))).holds_objects is holds_objects


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x93NUMPX\x01\x00", "no \\x93NUMPY magic"),
        (b"\x93NUMPY\x09\x00\x10\x00", "version 9.0 is unknown"),
        (b"\x93NUMPY\x02\x00\xff\xff\xff\xff", "exceeds the 65536-byte limit"),
        (b"\x93NUMPY\x01\x00\x40\x00{'descr'", "header is truncated"),
        (npy_bytes("__import__('os').system('id')"), "not a dict literal"),
        (npy_bytes("{'descr': __import__('os')}"), "not a valid Python literal"),
        (npy_bytes("{'descr': '<i4', 'shape': (1,)}"), "keys are {'descr', 'shape'}"),
        (npy_bytes("{'descr': '<i4', 'fortran_order': 0, 'shape': (1,)}"), "not a bool"),
        (npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}"), "non-negative"),
        (npy_bytes("{'descr': " + "[" * 500 + "]" * 500 + "}"), "not a valid Python literal"),
        (npy_bytes("{'descr': '\\d', 'shape': 1" + " " * 10), "not a valid Python literal"),
    ],
)
def test_hostile_headers_are_malformed(content: bytes, problem: str) -> None:
    with pytest.raises(MalformedFileError, match=problem.replace("\\", "\\\\").replace("{", "\\{")):
        read_npy_header(io.BytesIO(content))


def test_version_3_header_is_utf8() -> None:
    header = "{'descr': [('é', '<i4')], 'fortran_order': True, 'shape': (), }"
    text = header.encode("utf-8")
    content = b"\x93NUMPY\x03\x00" + struct.pack("<I", len(text)) + text
    parsed = read_npy_header(io.BytesIO(content))
    assert parsed.version == (3, 0)
    assert parsed.fortran_order is True
    assert parsed.holds_objects is False


def test_deeply_nested_descr_is_capped(monkeypatch) -> None:
    monkeypatch.setattr(numpy_file, "MAX_DESCR_DEPTH", 3)
    descr = "('<i4', (1,))"
    for _ in range(5):
        descr = f"({descr}, (1,))"
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,)}}"
    with pytest.raises(MalformedFileError, match="nests over 3 levels"):
        read_npy_header(io.BytesIO(npy_bytes(header)))


# --- analysis -------------------------------------------------------------------------------


def test_object_array_pickle_is_walked(tmp_path: Path) -> None:
    analysis = analyse_file(analyze_npy, npy_file(tmp_path / "a.npy", OBJECT_HEADER, EVIL_PICKLE))
    assert "posix.system" in high_callables(analysis)
    assert analysis.executable_on_load


def test_plain_array_data_is_never_walked(tmp_path: Path) -> None:
    analysis = analyse_file(analyze_npy, npy_file(tmp_path / "a.npy", INT_HEADER, EVIL_PICKLE))
    assert analysis == FileAnalysis(format="numpy")


def test_unknown_descr_is_walked_only_when_the_data_is_a_pickle(tmp_path: Path) -> None:
    header = "{'descr': 'i4,O', 'fortran_order': False, 'shape': (1,)}"
    walked = analyse_file(analyze_npy, npy_file(tmp_path / "a.npy", header, EVIL_PICKLE))
    assert "posix.system" in high_callables(walked)
    skipped = analyse_file(analyze_npy, npy_file(tmp_path / "b.npy", header, b"\x00" * 8))
    assert skipped.risks == ()
    assert skipped.problems == (
        ".npy data: dtype i4,O is not one numpy writes (numpy may refuse it)",
    )


def test_malformed_npy_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\xff\xff")
    analysis = analyse_file(analyze_npy, path)
    assert analysis.problems == (".npy header is truncated (0 of 65535 bytes)",)
    assert analysis.risks == ()


def _npz(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_names_the_member_with_the_object_pickle(tmp_path: Path, method: int) -> None:
    path = _npz(
        tmp_path / "arrays.npz",
        {
            "plain.npy": npy_bytes(INT_HEADER, bytes(16)),
            "evil.npy": npy_bytes(OBJECT_HEADER, EVIL_PICKLE),
            "notes.txt": EVIL_PICKLE,  # numpy returns non-.npy members as bytes, unpickled
        },
        method,
    )
    analysis = analyse_file(analyze_npz, path)
    assert analysis.format == "npz"
    assert {risk.member for risk in analysis.risks} == {"evil.npy"}
    assert "posix.system" in high_callables(analysis)
    assert analyze_path(path) == analysis


def test_npz_of_compressed_zeros_is_no_bomb_but_an_object_bomb_is(tmp_path: Path) -> None:
    zeros = npy_bytes(INT_HEADER.replace("(2, 2)", "(1048576,)"), bytes(4 * 1024 * 1024))
    plain = _npz(tmp_path / "zeros.npz", {"zeros.npy": zeros}, zipfile.ZIP_DEFLATED)
    assert analyse_file(analyze_npz, plain) == FileAnalysis(format="npz")
    objects = npy_bytes(OBJECT_HEADER, EVIL_PICKLE + bytes(4 * 1024 * 1024))
    bomb = _npz(tmp_path / "bomb.npz", {"objects.npy": objects}, zipfile.ZIP_DEFLATED)
    analysis = analyse_file(analyze_npz, bomb)
    assert [(r.kind, r.severity, r.member) for r in analysis.risks] == [
        (RiskKind.UNREADABLE, Severity.MEDIUM, "objects.npy")
    ]
    assert "a zip bomb, not read" in analysis.problems[0]
    assert analysis.imports == ()


def test_npz_bad_header_names_the_member(tmp_path: Path) -> None:
    path = _npz(tmp_path / "a.npz", {"bad.npy": b"\x93NUMPY\x07\x00"})
    assert analyse_file(analyze_npz, path).problems == (
        "member bad.npy: .npy format version 7.0 is unknown",
    )


def test_npz_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    path.write_bytes(b"not a zip")
    analysis = analyse_file(analyze_npz, path)
    assert analysis.problems == (
        "npz archive: no end-of-central-directory record: the zip is truncated or not a zip",
    )
    assert [r.kind for r in analysis.risks] == [RiskKind.UNREADABLE]


# --- fuzz -----------------------------------------------------------------------------------

_FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(st.binary(max_size=512), st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x03\x00"]))
def test_fuzz_npy(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    path = tmp_path / "fuzz.npy"
    path.write_bytes(prefix + data)
    assert isinstance(analyse_file(analyze_npy, path), FileAnalysis)


@_FUZZ
@given(st.text(max_size=200), st.binary(max_size=64))
def test_fuzz_npy_header_text(tmp_path: Path, header: str, data: bytes) -> None:
    path = tmp_path / "fuzz.npy"
    path.write_bytes(npy_bytes(header.encode("latin-1", "replace").decode("latin-1"), data))
    assert isinstance(analyse_file(analyze_npy, path), FileAnalysis)


@_FUZZ
@given(st.binary(max_size=1024))
def test_fuzz_npz(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.npz"
    path.write_bytes(b"PK\x03\x04" + data)
    assert isinstance(analyse_file(analyze_npz, path), FileAnalysis)
