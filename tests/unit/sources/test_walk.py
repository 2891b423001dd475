"""The walker: regular files only, nothing outside the root, problems reported."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from scanner.sources.walk import walk_target


def _issues(result: object) -> dict[str, str]:
    return {i.location: i.problem for i in result.issues}  # type: ignore[attr-defined]


def test_files_sorted_git_skipped_hf_metadata_separate(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/a.bin").write_bytes(b"\0" * 10)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/HEAD").write_text("ref")
    meta = tmp_path / ".cache/huggingface/download/b.txt.metadata"
    meta.parent.mkdir(parents=True)
    meta.write_text("x")
    result = walk_target(tmp_path)
    assert [f.relpath for f in result.files] == [PurePosixPath("b.txt"), PurePosixPath("sub/a.bin")]
    assert result.files[1].size == 10
    assert [f.relpath.as_posix() for f in result.hf_metadata] == [
        ".cache/huggingface/download/b.txt.metadata"
    ]
    assert result.issues == ()


def test_symlinks_inside_followed_outside_reported(tmp_path: Path) -> None:
    root = tmp_path / "model"
    root.mkdir()
    (root / "real.bin").write_bytes(b"weights")
    (root / "alias.bin").symlink_to("real.bin")
    outside = tmp_path / "secret"
    outside.write_text("do not read")
    (root / "escape").symlink_to(outside)
    (root / "relative-escape").symlink_to("../secret")
    (root / "dangling").symlink_to("missing")
    (root / "loop").symlink_to("loop")
    (root / "dirlink").symlink_to(root)
    result = walk_target(root)
    files = {f.relpath.as_posix(): f for f in result.files}
    assert set(files) == {"alias.bin", "real.bin"}
    assert files["alias.bin"].via_symlink
    assert files["alias.bin"].path == (root / "real.bin").resolve()
    issues = _issues(result)
    assert "outside the scanned folder" in issues["escape"]
    assert "outside the scanned folder" in issues["relative-escape"]
    assert "broken or looping" in issues["dangling"]
    assert "broken or looping" in issues["loop"]
    assert "folder not followed" in issues["dirlink"]


def test_special_files_reported_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    result = walk_target(tmp_path)
    assert result.files == ()
    assert _issues(result) == {"fifo": "special file (FIFO) not read"}


def test_unreadable_folder_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x").write_text("x")
    locked.chmod(0)
    try:
        result = walk_target(tmp_path)
    finally:
        locked.chmod(0o755)
    if os.geteuid() == 0:  # root reads anything; the walk still must not fail
        assert [f.relpath.as_posix() for f in result.files] == ["locked/x"]
    else:
        assert "cannot list folder" in _issues(result)["locked"]


def test_single_file_target(tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    target.write_bytes(b"GGUF")
    result = walk_target(target)
    assert [(f.relpath.as_posix(), f.size) for f in result.files] == [("model.gguf", 4)]
