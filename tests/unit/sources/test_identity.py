"""Identity: from --name, the cache layout, download metadata or the folder; never lineage."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from scanner.formats.model.download_metadata import DownloadMetadata
from scanner.sources.identity import identify

COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


def _download(commit: str) -> tuple[PurePosixPath, DownloadMetadata]:
    return PurePosixPath("model.safetensors"), DownloadMetadata(
        commit=commit, etag="e" * 64, timestamp=1.0
    )


def test_plain_folder_name(tmp_path: Path) -> None:
    identity, issues = identify(tmp_path / "x", None, ())
    assert (identity.name, identity.hub_id, identity.purl) == ("x", None, None)
    assert issues == ()


def test_explicit_name_and_download_commit(tmp_path: Path) -> None:
    identity, _ = identify(tmp_path, "acme/model", (_download(COMMIT_A),))
    assert identity.label == "acme/model"
    assert identity.purl == f"pkg:huggingface/acme/model@{COMMIT_A}"


def test_conflicting_download_commits_leave_revision_unset(tmp_path: Path) -> None:
    other = (
        PurePosixPath("config.json"),
        DownloadMetadata(commit=COMMIT_B, etag="x", timestamp=1.0),
    )
    identity, issues = identify(tmp_path, "acme/model", (_download(COMMIT_A), other))
    assert identity.revision is None
    assert "different commits" in issues[0].problem


def test_cache_snapshot_layout(tmp_path: Path) -> None:
    snapshot = tmp_path / "models--Qwen--Qwen2.5-7B" / "snapshots" / COMMIT_A
    snapshot.mkdir(parents=True)
    identity, _ = identify(snapshot, None, ())
    assert identity.purl == f"pkg:huggingface/Qwen/Qwen2.5-7B@{COMMIT_A}"


def test_flattened_hub_id_folder(tmp_path: Path) -> None:
    folder = tmp_path / "IlyaGusev__saiga_llama3_8b"
    folder.mkdir()
    identity, _ = identify(folder, None, ())
    assert identity.label == "IlyaGusev/saiga_llama3_8b"
    assert identity.purl == "pkg:huggingface/IlyaGusev/saiga_llama3_8b"


def test_name_that_is_not_a_hub_id(tmp_path: Path) -> None:
    identity, _ = identify(tmp_path, "My Model", ())
    assert (identity.name, identity.purl) == ("My Model", None)
