"""Tests for what every zip analyser reports of members: encrypted, tampered, hostile
or duplicate names."""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest

from scanner.analysis.load_risk import RiskKind
from scanner.core.model import Severity
from tests.unit.analysis.archives import (
    EVIL_PICKLE,
    analyze_archive,
    build_zip,
    corpus_file,
    high_callables,
    kinds,
    set_flag_bits,
)


@pytest.mark.parametrize(
    "relative",
    ["modelscan/password_protected.zip", "picklescan/data/benign_password_protected.zip"],
)
def test_password_protected_zip_is_reported_not_crashed(relative: str) -> None:
    analysis = analyze_archive(corpus_file(relative))
    assert analysis.problems == ("encrypted member test.txt cannot be analysed",)
    assert [(r.kind, r.severity, r.member) for r in analysis.risks] == [
        (RiskKind.UNREADABLE, Severity.MEDIUM, "test.txt")
    ]
    assert not analysis.executable_on_load


def test_encrypted_flag_on_non_pickle_is_unreadable(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.zip", {"weights.bin": b"\x01\x02\x03" * 10})
    set_flag_bits(path, 0x1)
    analysis = analyze_archive(path)
    assert analysis.problems == ("encrypted member weights.bin cannot be analysed",)
    assert kinds(analysis) == {(RiskKind.UNREADABLE, Severity.MEDIUM)}


def test_crc_tampered_member_is_walked_and_reported(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "m.pt", {"data.pkl": EVIL_PICKLE})
    data = path.read_bytes().replace(b"X\x02\x00\x00\x00id", b"X\x02\x00\x00\x00ls", 1)
    path.write_bytes(data)
    with pytest.raises(zipfile.BadZipFile, match="CRC"):  # what zipfile-based scanners hit
        zipfile.ZipFile(path).read("data.pkl")
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert analysis.problems == (
        "member data.pkl fails its CRC-32 check (altered after zipping; zipfile refuses it, "
        "loaders that skip the check do not): walked anyway",
    )


def test_hostile_member_names_are_reported_never_used(tmp_path: Path) -> None:
    names = ["/etc/passwd.pkl", "../../escape.pkl", "dir\\win.pkl", "nulX.pkl", "C:/x.pkl"]
    path = build_zip(tmp_path / "m.zip", dict.fromkeys(names, EVIL_PICKLE))
    path.write_bytes(path.read_bytes().replace(b"nulX.pkl", b"nul\x00.pkl"))
    before = sorted(p.name for p in tmp_path.iterdir())
    analysis = analyze_archive(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert set(analysis.problems) == {
        "member name /etc/passwd.pkl is hostile (absolute path)",
        "member name ../../escape.pkl is hostile (parent-directory component)",
        "member name dir\\win.pkl is hostile (backslash)",
        "member name nul\\x00.pkl is hostile (control characters)",
        "member name C:/x.pkl is hostile (absolute path)",
    }
    assert {r.member for r in analysis.risks} == {
        "/etc/passwd.pkl",
        "../../escape.pkl",
        "dir\\win.pkl",
        "nul\\x00.pkl",
        "C:/x.pkl",
    }


def test_duplicate_member_names_are_each_analysed(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.pkl", pickle.dumps(OrderedDict(), protocol=2))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("data.pkl", EVIL_PICKLE)
    analysis = analyze_archive(path)
    assert "posix.system" in high_callables(analysis)
    assert analysis.problems[0].startswith("member name data.pkl appears 2 times")
