"""Tests for the zip reader: zip64, prepended bytes, caps, lying sizes, corrupt data."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.analysis.zip_archive import read_zip
from scanner.core.model import Severity
from tests.unit.analysis.archives import (
    EVIL_PICKLE,
    analyze_archive,
    build_zip,
    high_callables,
    kinds,
    torch_zip,
)


def test_prepended_bytes_shift_every_offset(tmp_path: Path) -> None:
    plain = build_zip(tmp_path / "plain.zip", {"data.pkl": EVIL_PICKLE})
    shifted = tmp_path / "shifted.zip"
    shifted.write_bytes(b"#!/bin/sh\nexit 0\n" + plain.read_bytes())
    assert "posix.system" in high_callables(analyze_archive(shifted))


def test_zip64_records_and_extra_fields_are_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 8)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    path = build_zip(tmp_path / "big.zip", {"pad.bin": bytes(40), "data.pkl": EVIL_PICKLE})
    monkeypatch.undo()
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<2H2L", data, end + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with path.open("rb") as stream:
        archive = read_zip(stream)
        sizes = {member.name: member.size for member in archive.members}
    assert sizes == {"pad.bin": 40, "data.pkl": len(EVIL_PICKLE)}
    assert "posix.system" in high_callables(analyze_archive(path))


def test_entry_count_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.zip_archive.MAX_ENTRIES", 5)
    path = build_zip(tmp_path / "many.zip", {f"m{i}": b"x" for i in range(6)})
    analysis = analyze_archive(path)
    assert analysis.problems == ("zip archive: 6 entries exceed the 5-entry limit",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}
    five = build_zip(tmp_path / "five.zip", {f"m{i}": b"x" for i in range(5)})
    assert analyze_archive(five).problems == ()


def test_entry_count_cap_holds_when_the_end_record_lies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.zip_archive.MAX_ENTRIES", 5)
    path = build_zip(tmp_path / "many.zip", {f"m{i}": b"x" for i in range(6)})
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<2H", data, end + 8, 1, 1)
    path.write_bytes(bytes(data))
    assert analyze_archive(path).problems == ("zip archive: more than 5 entries (the limit)",)


def test_central_directory_size_cap(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.zip_archive.MAX_CENTRAL_DIRECTORY_BYTES", 100)
    path = build_zip(tmp_path / "m.zip", {f"member-{i}.bin": b"x" for i in range(4)})
    (problem,) = analyze_archive(path).problems
    assert "exceeds the 100-byte limit" in problem


def test_truncated_zip_is_a_problem(tmp_path: Path) -> None:
    whole = torch_zip(tmp_path / "whole.pt", EVIL_PICKLE).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole[: len(whole) // 2])
    analysis = analyze_path(cut)
    assert analysis is not None
    assert analysis.problems == (
        "zip archive: no end-of-central-directory record: the zip is truncated or not a zip",
    )
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}


def test_member_past_the_end_is_refused(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"data.pkl": EVIL_PICKLE})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<2L", data, central + 20, 10**6, 10**6)  # both sizes
    path.write_bytes(bytes(data))
    analysis = analyze_archive(path)
    assert analysis.problems == (
        "member data.pkl runs past the end of the file (truncated archive)",
    )


def test_member_stream_never_exceeds_its_cap(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"big.bin": bytes(range(256)) * 40})
    with path.open("rb") as stream:
        archive = read_zip(stream)
        (member,) = archive.members
        reader = archive.open_member(member, max_bytes=100)
        assert len(reader.readall()) == 100
        assert reader.capped


def test_declared_size_bounds_a_lying_deflate_stream(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"x.bin": bytes(5000)}, method=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, 10)  # declared uncompressed size: 10 bytes
    path.write_bytes(bytes(data))
    with path.open("rb") as stream:
        archive = read_zip(stream)
        reader = archive.open_member(archive.members[0], max_bytes=10**6)
        assert reader.readall() == bytes(10)


def test_corrupt_deflate_data_is_reported(tmp_path: Path) -> None:
    payload = EVIL_PICKLE * 50
    path = build_zip(tmp_path / "m.zip", {"data.pkl": payload}, method=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    start = data.find(b"data.pkl") + len(b"data.pkl")  # the local name, then the data
    data[start] = 0xFF  # a final block of the reserved type 3
    path.write_bytes(bytes(data))
    analysis = analyze_archive(path)
    assert (
        "member data.pkl: its compressed data is corrupt (Error -3 while decompressing data: "
        "invalid block type)" in analysis.problems
    )
    assert (RiskKind.UNREADABLE, Severity.MEDIUM) in kinds(analysis)


def test_archive_read_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("scanner.analysis.zip_archive.MAX_TOTAL_READ_BYTES", len(EVIL_PICKLE))
    path = build_zip(tmp_path / "m.zip", {"a.pkl": EVIL_PICKLE, "b.pkl": EVIL_PICKLE})
    analysis = analyze_archive(path)
    assert {r.member for r in analysis.risks if r.severity is Severity.HIGH} == {"a.pkl"}
    assert analysis.problems == (
        f"member b.pkl not read: the {len(EVIL_PICKLE)}-byte read budget for this archive is spent",
    )
