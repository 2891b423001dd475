"""Tests for huggingface_hub local-dir download metadata."""

from __future__ import annotations

import contextlib
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.download_metadata import (
    DownloadMetadata,
    download_metadata_target,
    read_download_metadata,
)

COMMIT = "79e7739b6ab944e86d6171e44d24c997fc1e0116"
SHA256 = "bf84a56fb045c24e090495195584a3922c3e4204107f0bba8b79c11f67a207f2"


def write(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "pytorch_model.bin.metadata"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_reads_what_huggingface_hub_writes(tmp_path: Path) -> None:
    local_folder = pytest.importorskip("huggingface_hub._local_folder")
    local_folder.write_download_metadata(tmp_path, "1_Pooling/config.json", COMMIT, SHA256)
    written = (
        tmp_path / ".cache" / "huggingface" / "download" / "1_Pooling" / "config.json.metadata"
    )
    assert written.is_file()
    metadata = read_download_metadata(written)
    assert metadata.commit == COMMIT
    assert metadata.etag == SHA256
    assert metadata.timestamp > 1_600_000_000
    relative = PurePosixPath(written.relative_to(tmp_path).as_posix())
    assert download_metadata_target(relative) == PurePosixPath("1_Pooling/config.json")


def test_reads_three_lines(tmp_path: Path) -> None:
    path = write(tmp_path, f"{COMMIT.upper()}\r\n{SHA256}\r\n1712345678.25\r\n\r\n")
    assert read_download_metadata(path) == DownloadMetadata(
        commit=COMMIT, etag=SHA256, timestamp=1712345678.25
    )


def test_git_blob_etag(tmp_path: Path) -> None:
    metadata = read_download_metadata(write(tmp_path, f"{COMMIT}\n{COMMIT[::-1]}\n1\n"))
    assert metadata.etag == COMMIT[::-1]
    assert metadata.timestamp == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "0 lines where commit, etag and timestamp were expected"),
        (f"{COMMIT}\n{SHA256}\n", "2 lines"),
        (f"{COMMIT}\n{SHA256}\n1\nextra\n", "4 lines"),
        (f"main\n{SHA256}\n1\n", "commit 'main' is not 40 hex digits"),
        (f"{COMMIT}0\n{SHA256}\n1\n", "is not 40 hex digits"),
        (f"{COMMIT}\nan etag\n1\n", "etag 'an etag' is not a printable ASCII token"),
        (f"{COMMIT}\n\n1\n", "is not a printable ASCII token"),
        (f"{COMMIT}\n{'e' * 300}\n1\n", "is not a printable ASCII token"),
        (f"{COMMIT}\n{SHA256}\nnan\n", "timestamp 'nan' is not a number of seconds"),
        (f"{COMMIT}\n{SHA256}\ninf\n", "is not a number of seconds"),
        (f"{COMMIT}\n{SHA256}\n-5\n", "is not a number of seconds"),
        (f"{COMMIT}\n{SHA256}\n1_000\n", "is not a number of seconds"),
        (f"{COMMIT}\n{SHA256}\n1e999\n", "is out of range"),
    ],
)
def test_malformed_metadata(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_download_metadata(write(tmp_path, text))


def test_non_utf8_metadata(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="invalid UTF-8 at byte offset 0"):
        read_download_metadata(write(tmp_path, b"\xff" * 10))


def test_oversized_metadata(tmp_path: Path) -> None:
    with pytest.raises(MalformedFileError, match="exceeds the 4096-byte limit"):
        read_download_metadata(write(tmp_path, "x" * 5000))


# --- target mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata_path", "target"),
    [
        (".cache/huggingface/download/a/b.bin.metadata", "a/b.bin"),
        (".cache/huggingface/download/config.json.metadata", "config.json"),
        (".cache/huggingface/download/x.metadata.metadata", "x.metadata"),
    ],
)
def test_target_of_a_metadata_file(metadata_path: str, target: str) -> None:
    assert download_metadata_target(PurePosixPath(metadata_path)) == PurePosixPath(target)


@pytest.mark.parametrize(
    "metadata_path",
    [
        "a/b.bin.metadata",
        ".cache/huggingface/upload/a.bin.metadata",
        ".cache/huggingface/download/a.bin",
        "/.cache/huggingface/download/a.bin.metadata",
        ".cache/huggingface/download",
    ],
)
def test_paths_outside_the_download_dir_are_caller_errors(metadata_path: str) -> None:
    with pytest.raises(ValueError, match="is not a download metadata file"):
        download_metadata_target(PurePosixPath(metadata_path))


@pytest.mark.parametrize(
    "metadata_path",
    [
        ".cache/huggingface/download/.metadata",
        ".cache/huggingface/download/../../etc/passwd.metadata",
        ".cache/huggingface/download/a/..metadata",
    ],
)
def test_paths_that_name_no_file_are_malformed(metadata_path: str) -> None:
    with pytest.raises(MalformedFileError, match="does not name a file inside the folder"):
        download_metadata_target(PurePosixPath(metadata_path))


# --- fuzz ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), data)
    with contextlib.suppress(MalformedFileError):
        read_download_metadata(path)


@settings(max_examples=200, deadline=None)
@given(
    commit=st.text(alphabet="0123456789abcdefX", min_size=39, max_size=41),
    etag=st.text(max_size=70),
    timestamp=st.text(alphabet="0123456789.eE+-nif ", max_size=25),
)
def test_fuzz_three_lines(
    tmp_path_factory: pytest.TempPathFactory, commit: str, etag: str, timestamp: str
) -> None:
    path = write(tmp_path_factory.mktemp("fuzz"), f"{commit}\n{etag}\n{timestamp}\n")
    try:
        metadata = read_download_metadata(path)
    except MalformedFileError:
        return
    assert len(metadata.commit) == 40
    assert metadata.timestamp >= 0


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.sampled_from(["a", "..", ".", "b.metadata", ".metadata", "x"]), max_size=4)
)
def test_fuzz_target(parts: list[str]) -> None:
    path = PurePosixPath(".cache/huggingface/download", *parts)
    try:
        target = download_metadata_target(path)
    except (ValueError, MalformedFileError):
        return
    assert ".." not in target.parts
    assert not target.is_absolute()
