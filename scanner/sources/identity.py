"""Who the scanned model is: from --name, the cache layout, download metadata or the folder.

Identity is never taken from ``_name_or_path`` or ``base_model``: those name where the model came
from, not what it is (a fine-tune is not its own base model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scanner.core.ids import HubId, parse_hub_id
from scanner.core.model import Evidence, ScanIssue, Severity
from scanner.formats.model.download_metadata import DownloadMetadata

_CACHE_REPO_DIR = re.compile(r"^models--(?P<ns>[^/]+?)--(?P<name>[^/]+)$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelIdentity:
    """The scanned model's name, Hub id when known, and revision."""

    name: str
    hub_id: HubId | None
    revision: str | None
    evidence: tuple[Evidence, ...]

    @property
    def label(self) -> str:
        """``ORG/NAME`` when the Hub id is known, else the plain name."""
        return self.hub_id.repo_id if self.hub_id else self.name

    @property
    def purl(self) -> str | None:
        """``pkg:huggingface/ORG/NAME[@commit]`` when the Hub id is known."""
        if self.hub_id is None:
            return None
        version = f"@{self.revision}" if self.revision else ""
        return f"pkg:huggingface/{self.hub_id.namespace}/{self.hub_id.name}{version}"


def identify(
    target: Path,
    explicit_name: str | None,
    downloads: tuple[tuple[PurePosixPath, DownloadMetadata], ...],
) -> tuple[ModelIdentity, tuple[ScanIssue, ...]]:
    """Name the model at ``target``; disagreeing download commits are reported, not guessed."""
    revision, revision_evidence, issues = _revision_from_downloads(downloads)
    folder = target.resolve() if target.is_dir() else target.resolve().parent
    snapshot_repo = _cache_snapshot(folder)
    if snapshot_repo is not None and revision is None:
        revision = folder.name
        revision_evidence = (
            Evidence(location=".", field="snapshot", value=folder.name, method="hf-cache-layout"),
        )
    if explicit_name:
        hub_id = parse_hub_id(explicit_name)
        evidence = Evidence(location=".", field="--name", value=explicit_name, method="user")
        name = hub_id.name if hub_id else explicit_name
    elif snapshot_repo is not None:
        hub_id = snapshot_repo
        name = hub_id.name
        evidence = Evidence(
            location=".", field="folder", value=hub_id.repo_id, method="hf-cache-layout"
        )
    else:
        hub_id, name = _from_folder_name(target)
        evidence = Evidence(
            location=".", field="folder", value=_folder_name(target), method="folder-name"
        )
    identity = ModelIdentity(
        name=name, hub_id=hub_id, revision=revision, evidence=(evidence, *revision_evidence)
    )
    return identity, issues


def _revision_from_downloads(
    downloads: tuple[tuple[PurePosixPath, DownloadMetadata], ...],
) -> tuple[str | None, tuple[Evidence, ...], tuple[ScanIssue, ...]]:
    commits = sorted({meta.commit for _, meta in downloads})
    if not commits:
        return None, (), ()
    evidence = tuple(
        Evidence(
            location=f".cache/huggingface/download/{path.as_posix()}.metadata",
            field="commit",
            value=meta.commit,
            method="download-metadata",
        )
        for path, meta in downloads
    )
    if len(commits) > 1:
        issue = ScanIssue(
            location=".cache/huggingface/download",
            problem=(
                "files were downloaded from different commits "
                f"({', '.join(c[:12] for c in commits)}); the revision is left unset"
            ),
            severity=Severity.MEDIUM,
        )
        return None, evidence, (issue,)
    return commits[0], evidence, ()


def _cache_snapshot(folder: Path) -> HubId | None:
    """``…/models--ORG--NAME/snapshots/<commit>`` → ORG/NAME."""
    if not _COMMIT.match(folder.name) or folder.parent.name != "snapshots":
        return None
    match = _CACHE_REPO_DIR.match(folder.parent.parent.name)
    if match is None:
        return None
    return parse_hub_id(f"{match['ns']}/{match['name']}")


def _folder_name(target: Path) -> str:
    """The resolved folder's or file's own name."""
    return target.resolve().name


def _from_folder_name(target: Path) -> tuple[HubId | None, str]:
    """``models--ORG--NAME`` or ``ORG__NAME`` (a flattened Hub id) → ORG/NAME; else the name.

    The name is the resolved folder's (or file's): a model reached through a symlink, or as
    ``.``, is named as itself, whatever path reached it.
    """
    folder = _folder_name(target)
    if target.resolve().is_file():
        folder = target.resolve().stem
    match = _CACHE_REPO_DIR.match(folder)
    if match:
        hub_id = parse_hub_id(f"{match['ns']}/{match['name']}")
        if hub_id:
            return hub_id, hub_id.name
    if folder.count("__") == 1:
        hub_id = parse_hub_id(folder.replace("__", "/"))
        if hub_id:
            return hub_id, hub_id.name
    return None, folder
