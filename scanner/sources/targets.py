"""Parse the TARGET arguments of ``sovscan scan``.

Each target also gets a canonical ``display``: how reports name it, the same whichever way the
user spelt it (a relative or absolute path, a path through a symlink, ``hf:`` or a Hub URL), so
that one model gives the same bytes whatever path reached it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote

from scanner.core.errors import TargetError


class TargetKind(StrEnum):
    """Where a target's bytes are."""

    LOCAL = "local"
    HUB = "hub"
    HF_CACHE = "hf-cache"


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One thing to scan, as the user named it."""

    kind: TargetKind
    raw: str
    path: Path | None = None
    repo_id: str | None = None
    """For Hub targets: ``ORG/NAME``."""
    revision: str | None = None
    """For Hub targets: the branch, tag or commit asked for (None: the default branch)."""
    repo_type: str = "model"
    """For Hub targets: ``model``, or ``dataset`` when asked for as ``hf:datasets/ORG/NAME``."""

    @property
    def display(self) -> str:
        """The target as reports name it: a local path resolved (symlinks followed) and made
        relative to the working directory when inside it; a Hub repo as ``hf:[datasets/]ORG/NAME
        [@REV]``; a cache as ``hf-cache:DIR`` (resolved)."""
        if self.kind is TargetKind.HUB:
            kind = "datasets/" if self.repo_type == "dataset" else ""
            revision = f"@{self.revision}" if self.revision else ""
            return f"hf:{kind}{self.repo_id}{revision}"
        if self.path is None:
            return self.raw
        shown = canonical_path(self.path)
        return f"hf-cache:{shown}" if self.kind is TargetKind.HF_CACHE else shown


def canonical_path(path: Path) -> str:
    """``path`` resolved, POSIX, relative to the resolved working directory when inside it
    (``.`` for the directory itself), else absolute."""
    resolved = path.resolve()
    try:
        here = Path.cwd().resolve()
    except OSError:  # the working directory was removed under us
        return resolved.as_posix()
    if resolved == here:
        return "."
    if resolved.is_relative_to(here):
        return Path(os.path.relpath(resolved, here)).as_posix()
    return resolved.as_posix()


_HUB_PREFIXES = ("hf:", "https://huggingface.co/", "http://huggingface.co/")
_HUB_URL_PREFIXES = _HUB_PREFIXES[1:]
_HUB_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?", re.ASCII)
_HUB_REPO_ID = re.compile(rf"(?:{_HUB_NAME.pattern}/)?{_HUB_NAME.pattern}", re.ASCII)
_DATASETS_PREFIX = "datasets/"
_REVISION = re.compile(r"[^\x00-\x20\x7f]{1,256}")
#: ``scheme://`` at the start of a target: a URL, which is no local path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def parse_target(raw: str) -> Target:
    """Classify a TARGET argument; local paths must exist and be readable."""
    if not raw.strip():
        raise TargetError(
            f"{raw!r}: an empty target; give a folder, a file, hf:ORG/NAME or hf-cache:"
        )
    if raw.startswith(_HUB_PREFIXES):
        repo_type, repo_id, revision = _hub_reference(raw)
        return Target(
            kind=TargetKind.HUB, raw=raw, repo_id=repo_id, revision=revision, repo_type=repo_type
        )
    if raw.startswith("hf-cache:"):
        return Target(kind=TargetKind.HF_CACHE, raw=raw, path=_hf_cache_dir(raw))
    if _URL.match(raw):
        raise TargetError(
            f"{raw}: not a Hugging Face URL (https://huggingface.co/ORG/NAME[/tree/REV]); "
            "other hubs are named with --hub-endpoint and hf:ORG/NAME"
        )
    path = Path(raw).expanduser()
    if not path.exists():
        raise TargetError(f"{raw}: no such file or folder")
    if not (path.is_dir() or path.is_file()):
        raise TargetError(f"{raw}: not a regular file or folder")
    _check_readable(raw, path)
    # A file reached through a symlink is scanned as the file itself (its name, its bytes).
    return Target(kind=TargetKind.LOCAL, raw=raw, path=path.resolve() if path.is_file() else path)


def _check_readable(raw: str, path: Path) -> None:
    """Open the folder or file once: an unreadable target is a usage error, not a scan."""
    try:
        if path.is_dir():
            with os.scandir(path):
                pass
        else:
            with path.open("rb"):
                pass
    except OSError as exc:
        raise TargetError(f"{raw}: cannot read: {exc.strerror or exc}") from exc


def _hf_cache_dir(raw: str) -> Path:
    """``hf-cache:`` → huggingface_hub's cache (per the environment now); ``hf-cache:DIR``: DIR."""
    from scanner.sources.hf_cache import default_hf_cache

    given = raw.removeprefix("hf-cache:")
    path = Path(given).expanduser() if given else default_hf_cache()
    if not path.is_dir():
        raise TargetError(f"{raw}: no Hugging Face cache folder at {path}")
    return path


def _hub_reference(raw: str) -> tuple[str, str, str | None]:
    """A Hub target's (repo type, id, revision).

    ``hf:[datasets/]ORG/NAME[@REV]`` or ``https://huggingface.co/[datasets/]ORG/NAME[/tree/REV]``.
    """
    if raw.startswith("hf:"):
        rest = raw.removeprefix("hf:")
        repo_type, rest = _repo_type_prefix(rest)
        repo_id, _, revision = rest.partition("@")
        revision_or_none: str | None = revision if revision else None
        if "@" in rest and not revision:
            raise TargetError(f"{raw}: empty revision after '@'")
    else:
        rest = next(raw.removeprefix(p) for p in _HUB_URL_PREFIXES if raw.startswith(p))
        rest = rest.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        repo_type, rest = _repo_type_prefix(rest)
        parts = rest.split("/")
        if len(parts) >= 4 and parts[2] == "tree":
            repo_id, revision_or_none = "/".join(parts[:2]), unquote("/".join(parts[3:]))
        elif len(parts) <= 2:
            repo_id, revision_or_none = rest, None
        else:
            raise TargetError(
                f"{raw}: not a Hub repo URL (https://huggingface.co/[datasets/]ORG/NAME[/tree/REV])"
            )
    if not _HUB_REPO_ID.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id:
        raise TargetError(f"{raw}: {repo_id!r} is not a Hugging Face repo id (ORG/NAME)")
    if revision_or_none is not None and not _REVISION.fullmatch(revision_or_none):
        raise TargetError(f"{raw}: {revision_or_none!r} is not a valid revision")
    return repo_type, repo_id, revision_or_none


def _repo_type_prefix(rest: str) -> tuple[str, str]:
    """``datasets/ORG/NAME…`` → (``dataset``, ``ORG/NAME…``); anything else is a model."""
    if rest.startswith(_DATASETS_PREFIX):
        return "dataset", rest.removeprefix(_DATASETS_PREFIX)
    if rest.split("@", 1)[0] == _DATASETS_PREFIX.rstrip("/"):
        return "dataset", ""  # the Hub's dataset listing, not a repo: refused as an empty id
    return "model", rest
