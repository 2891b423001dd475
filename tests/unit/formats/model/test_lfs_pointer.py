"""Tests for Git LFS pointer recognition."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.lfs_pointer import POINTER_MAX_BYTES, LfsPointer, read_lfs_pointer
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS = CORPUS_ROOT
VERSION = "version https://git-lfs.github.com/spec/v1\n"
OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"


def manifest_pointers() -> list[tuple[str, int, str]]:
    """(path, size, sha256) of every LFS pointer the corpus manifest documents."""
    manifest = CORPUS / "MANIFEST.md"
    if not manifest.is_file():
        return []
    rows = re.findall(
        r"^\| `(models/[^`]+)` \|.*Git LFS pointer \(text\), NOT the real file: real size "
        r"([\d,]+) bytes, sha256 ([0-9a-f]{64}) \|$",
        manifest.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    return [(path, int(size.replace(",", "")), sha256) for path, size, sha256 in rows]


def write(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- real pointers ---------------------------------------------------------------------------


def test_bge_pytorch_model_pointer() -> None:
    path = CORPUS / "models" / "BAAI__bge-large-zh-v1.5" / "pytorch_model.bin"
    if not path.is_file():
        pytest.skip("corpus is absent")
    assert read_lfs_pointer(path) == LfsPointer(
        sha256="bf84a56fb045c24e090495195584a3922c3e4204107f0bba8b79c11f67a207f2",
        size=1_302_220_525,
    )


def test_pointer_shipped_inside_an_sdist() -> None:
    path = CORPUS / "models" / "evilfreelancer__ruGPT-3.5-13B-lora" / "adapter_model.bin"
    if not path.is_file():
        pytest.skip("corpus is absent")
    assert read_lfs_pointer(path) == LfsPointer(
        sha256="a1563ed0c38f5e596b21307c2dfbe72227f9745ab85543ec412a33f20d59e45a",
        size=52_457_121,
    )


def test_manifest_documents_the_pointers() -> None:
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip("corpus is absent")
    assert len([row for row in manifest_pointers() if row[0].startswith("models/")]) >= 33


@pytest.mark.parametrize(("relative", "size", "sha256"), manifest_pointers(), ids=lambda v: str(v))
def test_every_corpus_pointer_matches_the_manifest(relative: str, size: int, sha256: str) -> None:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"{relative} is absent")
    assert read_lfs_pointer(path) == LfsPointer(sha256=sha256, size=size)


def test_corpus_files_that_are_not_pointers() -> None:
    models = CORPUS / "models"
    if not models.is_dir():
        pytest.skip("corpus is absent")
    pointer_paths = {CORPUS / relative for relative, _, _ in manifest_pointers()}
    others = [path for path in sorted(models.rglob("*")) if path.is_file()]
    assert others
    for path in others:
        if path not in pointer_paths:
            assert read_lfs_pointer(path) is None, path


# --- synthetic -------------------------------------------------------------------------------


def test_crlf_pointer_without_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path, f"{VERSION}oid sha256:{OID}\r\nsize 12")
    assert read_lfs_pointer(path) == LfsPointer(sha256=OID, size=12)


def test_extension_keys_are_tolerated(tmp_path: Path) -> None:
    text = f"{VERSION}ext-0-foo sha256:{'0' * 64}\noid sha256:{OID}\nsize 0\n"
    assert read_lfs_pointer(write(tmp_path, text)) == LfsPointer(sha256=OID, size=0)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"version https://git-lfs.github.com/spec/v2\noid sha256:x\n",
        b"Version https://git-lfs.github.com/spec/v1\n",
        b" version https://git-lfs.github.com/spec/v1\n",
        b"\x89HDF\r\n\x1a\n",
        b'{"model_type": "bert"}',
    ],
)
def test_other_small_files_are_not_pointers(tmp_path: Path, data: bytes) -> None:
    assert read_lfs_pointer(write(tmp_path, data)) is None


def test_file_over_1024_bytes_is_not_a_pointer(tmp_path: Path) -> None:
    text = f"{VERSION}oid sha256:{OID}\nsize 12\n"
    padded = text + "x" * (POINTER_MAX_BYTES + 1 - len(text))
    assert read_lfs_pointer(write(tmp_path, padded)) is None


def test_directory_is_not_a_pointer(tmp_path: Path) -> None:
    assert read_lfs_pointer(tmp_path) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"oid sha256:{OID[:-1]}\nsize 1\n", "is not sha256:<64 hex digits>"),
        (f"oid sha256:{OID.upper()}\nsize 1\n", "is not sha256:<64 hex digits>"),
        (f"oid sha1:{OID[:40]}\nsize 1\n", "is not sha256:<64 hex digits>"),
        (f"oid sha256:{OID} \nsize 1\n", "is not sha256:<64 hex digits>"),
        (f"oid sha256:{OID}\n", "has no size"),
        ("size 1\n", "has no oid"),
        ("", "has no oid"),
        (f"oid sha256:{OID}\nsize -1\n", "is not a byte count"),
        (f"oid sha256:{OID}\nsize 12a\n", "is not a byte count"),
        (f"oid sha256:{OID}\nsize {'9' * 21}\n", "is not a byte count"),
        (f"oid sha256:{OID}\noid sha256:{OID}\nsize 1\n", "repeats the key 'oid'"),
        (f"size 1\noid sha256:{OID}\n", "key 'oid' is out of order"),
        (f"oid sha256:{OID}\n\nsize 1\n", "line 3 is not 'key value'"),
        (f"OID sha256:{OID}\nsize 1\n", "line 2 is not 'key value'"),
    ],
)
def test_broken_pointers_are_malformed(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=re.escape(message)):
        read_lfs_pointer(write(tmp_path, VERSION + body))


def test_pointer_with_invalid_utf8_is_malformed(tmp_path: Path) -> None:
    data = VERSION.encode() + b"oid sha256:\xff\n"
    with pytest.raises(MalformedFileError, match=f"byte offset {len(VERSION) + 11}"):
        read_lfs_pointer(write(tmp_path, data))


# --- fuzz ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=1100), as_pointer=st.booleans())
def test_fuzz(tmp_path_factory: pytest.TempPathFactory, data: bytes, as_pointer: bool) -> None:
    content = VERSION.encode() + data if as_pointer else data
    path = write(tmp_path_factory.mktemp("fuzz"), content)
    try:
        pointer = read_lfs_pointer(path)
    except MalformedFileError:
        # Only what starts like a pointer may be called a broken one.
        assert content.startswith(VERSION.encode().rstrip(b"\n"))
        return
    if pointer is not None:
        assert re.fullmatch(r"[0-9a-f]{64}", pointer.sha256)
        assert pointer.size >= 0
