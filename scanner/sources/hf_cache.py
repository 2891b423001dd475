"""Scan a local Hugging Face cache: every model snapshot in it becomes one inventory.

The identity comes from the cache layout (``models--ORG--NAME/snapshots/<commit>``), never from
what the files say. A snapshot's files are symlinks into the repo's ``blobs/`` folder; a link is
followed only when its first hop is a file directly in that repo's ``blobs/`` and its final
target stays in that folder (or in the cache-wide shared blob store huggingface_hub keeps for
Xet files, ``<cache>/blobs/``). LFS blobs are named by the SHA-256 of their content, so that
name is taken as the file's digest without reading it (``hash-source`` = ``hf-cache-blob-name``);
``verify`` reads them all the same and reports blobs whose content does not match their name,
and, with a Hub client, compares them with the Hub's hashes at the snapshot's commit.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.config import DEFAULT_HUB, ScanConfig
from scanner.core.errors import TargetError
from scanner.core.ids import HubId, parse_hub_id
from scanner.core.model import Component, ComponentKind, Evidence, ScanIssue, Severity
from scanner.core.properties import PropertyName
from scanner.hashing.digest import HashRequest, hash_files
from scanner.hashing.digest_cache import HashCache
from scanner.sources.folder_facts import read_folder_facts
from scanner.sources.identity import ModelIdentity
from scanner.sources.inventory import FileDigest, Inventory, build_inventory
from scanner.sources.load_analysis import with_load_analysis
from scanner.sources.walk import FileEntry, WalkResult

if TYPE_CHECKING:
    from huggingface_hub import CachedRepoInfo, CachedRevisionInfo

    from scanner.resolve.hub.client import HubClient

_LOG = logging.getLogger(__name__)

#: ``sovscan:file:hash-source`` of a digest taken from an LFS blob's file name.
HASH_SOURCE_BLOB_NAME = "hf-cache-blob-name"
#: Most files taken from one snapshot: a hostile cache must not make a scan endless.
MAX_SNAPSHOT_FILES = 200_000
#: Most snapshots scanned in one cache.
MAX_SNAPSHOTS = 10_000

_SHA256 = re.compile(r"[0-9a-f]{64}")


def default_hf_cache() -> Path:
    """huggingface_hub's cache folder, from the environment as it is now (not at import time)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        explicit = os.environ.get(name)
        if explicit:
            return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedSnapshot:
    """One model revision found in the cache."""

    repo_id: str
    commit: str
    refs: tuple[str, ...]
    repo_path: Path
    snapshot_path: Path
    file_paths: tuple[Path, ...]


def list_snapshots(cache_dir: Path) -> tuple[list[CachedSnapshot], list[ScanIssue]]:
    """Every model snapshot in the cache (sorted), and the cache's corrupted repos as issues."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, ValueError, OSError) as exc:
        raise TargetError(f"{cache_dir}: not a readable Hugging Face cache: {exc}") from exc
    issues = [
        ScanIssue(location=".", problem=f"cache entry skipped: {warning}", severity=Severity.HIGH)
        for warning in info.warnings
    ]
    snapshots: list[CachedSnapshot] = []
    for repo in sorted(info.repos, key=lambda r: (r.repo_type, r.repo_id)):
        if repo.repo_type != "model":
            _LOG.info("hf-cache: %s %s not scanned (models only)", repo.repo_type, repo.repo_id)
            continue
        snapshots += [_snapshot(repo, revision) for revision in repo.revisions]
    snapshots.sort(key=lambda s: (s.repo_id, s.commit))
    if len(snapshots) > MAX_SNAPSHOTS:
        issues.append(
            ScanIssue(
                location=".",
                problem=f"only the first {MAX_SNAPSHOTS} of {len(snapshots)} snapshots scanned",
                severity=Severity.HIGH,
            )
        )
        snapshots = snapshots[:MAX_SNAPSHOTS]
    return snapshots, issues


def _snapshot(repo: CachedRepoInfo, revision: CachedRevisionInfo) -> CachedSnapshot:
    return CachedSnapshot(
        repo_id=repo.repo_id,
        commit=revision.commit_hash,
        refs=tuple(sorted(revision.refs)),
        repo_path=Path(repo.repo_path),
        snapshot_path=Path(revision.snapshot_path),
        file_paths=tuple(sorted(Path(f.file_path) for f in revision.files)),
    )


def scan_hf_cache(
    cache_dir: Path,
    config: ScanConfig,
    cache: HashCache | None,
    hub: HubClient | None = None,
    display: str | None = None,
) -> list[tuple[str, Inventory]]:
    """One (display, inventory) per model snapshot in the cache at ``cache_dir``.

    ``hub`` (with ``config.verify``): compare the LFS files with the Hub's hashes at the commit.
    """
    shown = display if display is not None else f"hf-cache:{cache_dir.as_posix()}"
    snapshots, cache_issues = list_snapshots(cache_dir)
    root = cache_dir.resolve()
    revisions = Counter(snapshot.repo_id for snapshot in snapshots)
    scanned: list[tuple[str, Inventory]] = []
    for snapshot in snapshots:
        where = f"{shown.rstrip('/')}/{snapshot.repo_path.name}/snapshots/{snapshot.commit}"
        inventory = scan_snapshot(snapshot, root, config, cache, hub)
        if revisions[snapshot.repo_id] > 1:
            inventory = _pinned_refs(inventory, snapshot)
        scanned.append((where, _located(inventory, where)))
    if cache_issues and scanned:
        first_where, first = scanned[0]
        located = [replace(i, location=shown) for i in cache_issues]
        scanned[0] = (first_where, replace(first, issues=(*first.issues, *located)))
    elif cache_issues:
        raise TargetError(
            f"{shown}: no model could be read from the cache: {cache_issues[0].problem}"
        )
    elif not scanned:
        raise TargetError(f"{shown}: no model in this Hugging Face cache")
    return scanned


def _pinned_refs(inventory: Inventory, snapshot: CachedSnapshot) -> Inventory:
    """Refs of a snapshot's own components made commit-specific, so that two cached revisions
    of one repo stay two subjects instead of merging into one with two sets of files."""
    label = snapshot.repo_id
    own_prefixes = (f"file:{label}/", f"code:{label}/")

    def pinned(ref: str) -> str:
        if ref == inventory.subject_ref:
            return f"{ref}@{snapshot.commit}"
        if ref == f"tokenizer:{label}":
            return f"{ref}@{snapshot.commit}"
        for prefix in own_prefixes:
            if ref.startswith(prefix):
                return f"{prefix[:-1]}@{snapshot.commit}/{ref.removeprefix(prefix)}"
        return ref

    return replace(
        inventory,
        subject_ref=pinned(inventory.subject_ref),
        components=tuple(replace(c, ref=pinned(c.ref)) for c in inventory.components),
        relations=tuple(
            replace(r, src=pinned(r.src), dst=pinned(r.dst)) for r in inventory.relations
        ),
    )


def _located(inventory: Inventory, where: str) -> Inventory:
    def locate(location: str) -> str:
        return where if location in {"", "."} else f"{where}/{location}"

    issues = {replace(i, location=locate(i.location)) for i in inventory.issues}
    return replace(inventory, issues=tuple(sorted(issues, key=lambda i: (i.location, i.problem))))


# --- one snapshot ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _CacheFile:
    entry: FileEntry
    blob_sha256: str | None
    """The SHA-256 the blob's name declares (LFS blobs), else None."""


def scan_snapshot(
    snapshot: CachedSnapshot,
    cache_root: Path,
    config: ScanConfig,
    cache: HashCache | None,
    hub: HubClient | None = None,
) -> Inventory:
    """The inventory of one snapshot: files through safe links, headers, digests, checks."""
    files, issues = _snapshot_files(snapshot, cache_root)
    walk = WalkResult(files=tuple(f.entry for f in files), hf_metadata=(), issues=())
    facts = read_folder_facts(walk)
    identity = _identity(snapshot)
    digests, hash_issues, verified = _digests(files, config, cache)
    issues += hash_issues
    inventory = build_inventory(
        identity,
        facts,
        [(f.entry.relpath, f.entry.size) for f in files],
        digests,
        hub=config.hub_endpoint or DEFAULT_HUB,
    )
    from_name = {
        f.entry.relpath for f in files if f.blob_sha256 and f.entry.relpath not in verified
    }
    hub_marks: dict[PurePosixPath, bool] = {}
    if config.verify:
        hub_marks, hub_issues = _hub_check(snapshot, files, digests, hub)
        issues += hub_issues
    inventory = with_load_analysis(inventory, walk.files, facts)
    components = tuple(
        _mark_file(comp, from_name, verified, hub_marks) for comp in inventory.components
    )
    return replace(
        inventory,
        components=components,
        issues=(*facts.issues, *issues, *inventory.issues),
    )


def _identity(snapshot: CachedSnapshot) -> ModelIdentity:
    hub_id: HubId | None = parse_hub_id(snapshot.repo_id)
    name = hub_id.name if hub_id else snapshot.repo_id
    evidence = (
        Evidence(location=".", field="folder", value=snapshot.repo_id, method="hf-cache-layout"),
        Evidence(location=".", field="snapshot", value=snapshot.commit, method="hf-cache-layout"),
    )
    return ModelIdentity(name=name, hub_id=hub_id, revision=snapshot.commit, evidence=evidence)


def _snapshot_files(
    snapshot: CachedSnapshot, cache_root: Path
) -> tuple[list[_CacheFile], list[ScanIssue]]:
    blobs = (snapshot.repo_path / "blobs").resolve()
    shared = cache_root / "blobs"
    snapshot_root = snapshot.snapshot_path.resolve()
    files: list[_CacheFile] = []
    issues: list[ScanIssue] = []
    for path in snapshot.file_paths[:MAX_SNAPSHOT_FILES]:
        try:
            rel = PurePosixPath(path.relative_to(snapshot.snapshot_path).as_posix())
        except ValueError:
            continue
        found = _cache_file(path, rel, blobs, shared, snapshot_root)
        if isinstance(found, ScanIssue):
            issues.append(found)
        else:
            files.append(found)
    if len(snapshot.file_paths) > MAX_SNAPSHOT_FILES:
        issues.append(
            ScanIssue(
                location=".",
                problem=f"only the first {MAX_SNAPSHOT_FILES} files of the snapshot were read",
                severity=Severity.HIGH,
            )
        )
    files.sort(key=lambda f: f.entry.relpath.as_posix())
    return files, issues


def _cache_file(
    path: Path, rel: PurePosixPath, blobs: Path, shared: Path, snapshot_root: Path
) -> _CacheFile | ScanIssue:
    """A snapshot file, or why it is not followed."""
    try:
        link = path.readlink() if path.is_symlink() else None
        # The first hop, normalised but not resolved: it must name a file in the repo's blobs.
        first_hop = Path(os.path.normpath(path.parent / link)) if link is not None else None
        resolved = path.resolve(strict=True)
        st = resolved.stat()
    except (OSError, RuntimeError) as exc:
        return ScanIssue(
            location=rel.as_posix(),
            problem=f"broken or looping link not followed: {exc}",
            severity=Severity.MEDIUM,
        )
    if first_hop is not None:
        hop = first_hop.parent.resolve() / first_hop.name
        in_blobs = hop.parent == blobs and (
            resolved.parent == blobs or resolved.is_relative_to(shared.resolve())
        )
        if not in_blobs:
            return ScanIssue(
                location=rel.as_posix(),
                problem=f"symlink points outside the repo's blobs folder ({link}); not followed",
                severity=Severity.HIGH,
            )
        blob_name = hop.name
    elif resolved.is_relative_to(snapshot_root):
        blob_name = ""
    else:
        return ScanIssue(
            location=rel.as_posix(),
            problem="file reached through a linked folder outside the snapshot; not followed",
            severity=Severity.HIGH,
        )
    if not stat.S_ISREG(st.st_mode):
        return ScanIssue(location=rel.as_posix(), problem="not a regular file; not read")
    entry = FileEntry(
        relpath=rel, path=resolved, size=st.st_size, via_symlink=first_hop is not None
    )
    return _CacheFile(entry=entry, blob_sha256=blob_name if _SHA256.fullmatch(blob_name) else None)


def _digests(
    files: Sequence[_CacheFile], config: ScanConfig, cache: HashCache | None
) -> tuple[dict[PurePosixPath, FileDigest], list[ScanIssue], dict[PurePosixPath, bool]]:
    """Digests by path, hashing issues, and (``verify``) whether each LFS blob matches its name.

    Without ``verify`` LFS blobs are never read. With it they are read afresh (no hash cache).
    """
    digests: dict[PurePosixPath, FileDigest] = {}
    issues: list[ScanIssue] = []
    verified: dict[PurePosixPath, bool] = {}
    lfs = [f for f in files if f.blob_sha256 is not None]
    other = [f for f in files if f.blob_sha256 is None]
    if not config.verify:
        for f in lfs:
            if f.blob_sha256 is not None:
                digests[f.entry.relpath] = FileDigest(sha256=f.blob_sha256, from_cache=True)
        lfs = []
    for group, group_cache in ((other, cache), (lfs, None)):
        read, failed = _hash(group, config, group_cache)
        digests.update(read)
        issues += failed
    for f in lfs:
        digest = digests.get(f.entry.relpath)
        if digest is None or f.blob_sha256 is None:
            continue
        verified[f.entry.relpath] = digest.sha256 == f.blob_sha256
        if digest.sha256 != f.blob_sha256:
            issues.append(
                ScanIssue(
                    location=f.entry.relpath.as_posix(),
                    problem=f"modified in the cache: the blob is named {f.blob_sha256[:12]}… but "
                    f"its content hashes to {digest.sha256[:12]}…",
                    severity=Severity.HIGH,
                )
            )
    return digests, issues, verified


def _hash(
    files: Sequence[_CacheFile], config: ScanConfig, cache: HashCache | None
) -> tuple[dict[PurePosixPath, FileDigest], list[ScanIssue]]:
    if not files:
        return {}, []
    outcomes = hash_files(
        [HashRequest(path=f.entry.path, size=f.entry.size) for f in files],
        jobs=config.jobs,
        cache=cache,
        progress=config.progress,
    )
    digests: dict[PurePosixPath, FileDigest] = {}
    issues: list[ScanIssue] = []
    for f in files:
        outcome = outcomes.get(f.entry.path)
        if outcome is None or outcome.sha256 is None:
            reason = outcome.error if outcome is not None else "not hashed"
            issues.append(
                ScanIssue(
                    location=f.entry.relpath.as_posix(),
                    problem=f"cannot hash: {reason}",
                    severity=Severity.HIGH,
                )
            )
            continue
        digests[f.entry.relpath] = FileDigest(sha256=outcome.sha256, from_cache=outcome.from_cache)
    return digests, issues


def _hub_check(
    snapshot: CachedSnapshot,
    files: Iterable[_CacheFile],
    digests: dict[PurePosixPath, FileDigest],
    hub: HubClient | None,
) -> tuple[dict[PurePosixPath, bool], list[ScanIssue]]:
    """Whether each LFS file's content matches the Hub's SHA-256 at the snapshot's commit."""
    from scanner.resolve.hub.types import HubProblem

    if hub is None or hub.offline:
        return {}, [
            ScanIssue(
                location=".",
                problem="offline: the files could not be compared with the Hub's hashes",
                severity=Severity.LOW,
            )
        ]
    info = hub.repo_info(snapshot.repo_id, snapshot.commit)
    if isinstance(info, HubProblem):
        return {}, [
            ScanIssue(
                location=".",
                problem=f"could not compare with the Hub: {info.message}",
                severity=Severity.MEDIUM,
            )
        ]
    marks: dict[PurePosixPath, bool] = {}
    issues: list[ScanIssue] = []
    for f in files:
        rel = f.entry.relpath
        listed = info.file(rel.as_posix())
        digest = digests.get(rel)
        if f.blob_sha256 is None or digest is None:
            continue
        if listed is None or listed.sha256 is None:
            issues.append(
                ScanIssue(
                    location=rel.as_posix(),
                    problem=f"not listed as an LFS file on the Hub at commit {snapshot.commit}",
                    severity=Severity.MEDIUM,
                )
            )
            continue
        marks[rel] = listed.sha256 == digest.sha256
        if not marks[rel]:
            issues.append(
                ScanIssue(
                    location=rel.as_posix(),
                    problem=f"differs from the Hub: content {digest.sha256[:12]}…, the Hub has "
                    f"{listed.sha256[:12]}… at commit {snapshot.commit[:12]}",
                    severity=Severity.HIGH,
                )
            )
    return marks, issues


def _mark_file(
    comp: Component,
    from_name: set[PurePosixPath],
    verified: dict[PurePosixPath, bool],
    hub_marks: dict[PurePosixPath, bool],
) -> Component:
    """Label where a file's digest came from and what was checked."""
    if comp.kind is not ComponentKind.FILE or comp.path is None:
        return comp
    rel = PurePosixPath(comp.path)
    properties = list(comp.properties)
    if rel in from_name:
        properties = [p for p in properties if p[0] != PropertyName.FILE_HASH_SOURCE]
        properties.append((PropertyName.FILE_HASH_SOURCE, HASH_SOURCE_BLOB_NAME))
    if rel in verified:
        properties.append((PropertyName.FILE_VERIFIED, str(verified[rel]).lower()))
    if rel in hub_marks:
        properties.append((PropertyName.FILE_HUB_VERIFIED, str(hub_marks[rel]).lower()))
    if properties == list(comp.properties):
        return comp
    return replace(comp, properties=tuple(properties))
