"""Walk a target folder: regular files only, nothing outside the root, problems as issues."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scanner.core.model import ScanIssue, Severity
from scanner.core.progress import step

#: Folders that are never part of a model's content.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
#: Where huggingface_hub keeps its bookkeeping inside a ``local_dir`` download.
HF_LOCAL_CACHE = PurePosixPath(".cache/huggingface")
#: Cap on the number of entries visited: a hostile tree must not make the walk endless.
MAX_ENTRIES = 2_000_000
#: Cap on directory depth.
MAX_DEPTH = 64
#: The issue of a virtual environment inside the folder (not walked: scan it with --python).
VIRTUALENV_NOT_WALKED = (
    "virtual environment (pyvenv.cfg) not walked; scan its packages with --python"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEntry:
    """A regular file inside the target."""

    relpath: PurePosixPath
    """Path relative to the root, as the user sees it (a symlink keeps its own name)."""
    path: Path
    """What to open: the file itself, or the in-tree target of a symlink."""
    size: int
    via_symlink: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkResult:
    """Files found (sorted by path), huggingface_hub bookkeeping files, and problems."""

    files: tuple[FileEntry, ...]
    hf_metadata: tuple[FileEntry, ...]
    issues: tuple[ScanIssue, ...]


def walk_target(target: Path, *, progress: bool = False) -> WalkResult:
    """Walk ``target`` (a folder, or a single file) without leaving it; with ``progress``, the
    files found so far are counted on a terminal's status line.

    Symlinks are followed only when they resolve inside the root (and only to files); one that
    points outside, dangles or loops is reported and never opened. FIFOs, sockets and devices are
    reported, never opened. ``.git`` and similar folders are skipped; ``.cache/huggingface`` is
    collected separately as download provenance, not as model content.
    """
    if target.is_file():
        st = target.stat()
        entry = FileEntry(relpath=PurePosixPath(target.name), path=target, size=st.st_size)
        return WalkResult(files=(entry,), hf_metadata=(), issues=())
    root = target.resolve()
    files: list[FileEntry] = []
    hf_metadata: list[FileEntry] = []
    issues: list[ScanIssue] = []
    with step("Walking", enabled=progress) as line:
        for item in _walk(root, issues):
            line.advance()
            if _is_under(item.relpath, HF_LOCAL_CACHE):
                hf_metadata.append(item)
            else:
                files.append(item)
    files.sort(key=lambda f: f.relpath.as_posix())
    hf_metadata.sort(key=lambda f: f.relpath.as_posix())
    issues.sort(key=lambda i: (i.location, i.problem))
    return WalkResult(files=tuple(files), hf_metadata=tuple(hf_metadata), issues=tuple(issues))


def _is_under(path: PurePosixPath, folder: PurePosixPath) -> bool:
    return path.parts[: len(folder.parts)] == folder.parts


def _walk(root: Path, issues: list[ScanIssue]) -> Iterator[FileEntry]:
    stack: list[tuple[Path, PurePosixPath, int]] = [(root, PurePosixPath(), 0)]
    visited = 0
    while stack:
        folder, rel_folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            issues.append(_issue(rel_folder, f"cannot list folder: {exc.strerror or exc}"))
            continue
        for entry in listing:
            visited += 1
            if visited > MAX_ENTRIES:
                issues.append(
                    _issue(PurePosixPath(), f"stopped after {MAX_ENTRIES} entries", Severity.HIGH)
                )
                return
            rel = rel_folder / entry.name
            found = _classify(root, entry, rel, depth, issues)
            if isinstance(found, FileEntry):
                yield found
            elif found is not None:
                stack.append((Path(entry.path), rel, depth + 1))


def _classify(
    root: Path, entry: os.DirEntry[str], rel: PurePosixPath, depth: int, issues: list[ScanIssue]
) -> FileEntry | bool | None:
    """A FileEntry for a file, True for a folder to descend into, None to skip."""
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError as exc:
        issues.append(_issue(rel, f"cannot stat: {exc.strerror or exc}"))
        return None
    if stat.S_ISLNK(st.st_mode):
        return _follow_symlink(root, entry, rel, issues)
    if stat.S_ISDIR(st.st_mode):
        if entry.name in SKIPPED_DIRS:
            return None
        if _is_virtualenv(Path(entry.path)):
            issues.append(_issue(rel, VIRTUALENV_NOT_WALKED, Severity.INFO))
            return None
        if depth + 1 > MAX_DEPTH:
            issues.append(_issue(rel, f"folder nesting deeper than {MAX_DEPTH}; not entered"))
            return None
        return True
    if stat.S_ISREG(st.st_mode):
        return FileEntry(relpath=rel, path=Path(entry.path), size=st.st_size)
    issues.append(_issue(rel, f"special file ({_file_type(st.st_mode)}) not read", Severity.MEDIUM))
    return None


def _follow_symlink(
    root: Path, entry: os.DirEntry[str], rel: PurePosixPath, issues: list[ScanIssue]
) -> FileEntry | None:
    link = Path(entry.path)
    try:
        destination = link.readlink()
        resolved = link.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        issues.append(_issue(rel, f"broken or looping symlink not followed: {exc}"))
        return None
    if not resolved.is_relative_to(root):
        issues.append(
            _issue(
                rel,
                f"symlink points outside the scanned folder ({destination}); not followed",
                Severity.HIGH,
            )
        )
        return None
    try:
        st = resolved.stat()
    except OSError as exc:
        issues.append(_issue(rel, f"cannot stat symlink target: {exc.strerror or exc}"))
        return None
    if stat.S_ISDIR(st.st_mode):
        # A loader follows it: what it holds is unknown to this scan, which cannot pass on it.
        issues.append(_issue(rel, "symlink to a folder not followed: what it holds is not scanned"))
        return None
    if not stat.S_ISREG(st.st_mode):
        issues.append(_issue(rel, f"symlink to a {_file_type(st.st_mode)} not followed"))
        return None
    return FileEntry(relpath=rel, path=resolved, size=st.st_size, via_symlink=True)


def _is_virtualenv(folder: Path) -> bool:
    """Whether ``folder`` holds ``pyvenv.cfg``; an unreadable folder is not one (listing it
    reports the problem)."""
    try:
        return (folder / "pyvenv.cfg").is_file()
    except OSError:
        return False


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "non-regular file"


def _issue(rel: PurePosixPath, problem: str, severity: Severity = Severity.MEDIUM) -> ScanIssue:
    return ScanIssue(location=rel.as_posix() or ".", problem=problem, severity=severity)
