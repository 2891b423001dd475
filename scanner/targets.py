"""Parse the TARGET arguments of ``sovscan scan`` (DESIGN.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from scanner.errors import TargetError, UsageError


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


_HUB_PREFIXES = ("hf:", "https://huggingface.co/", "http://huggingface.co/")


def parse_target(raw: str) -> Target:
    """Classify a TARGET argument; local paths must exist and be readable."""
    if raw.startswith(_HUB_PREFIXES):
        return Target(kind=TargetKind.HUB, raw=raw)
    if raw.startswith("hf-cache:"):
        return Target(kind=TargetKind.HF_CACHE, raw=raw)
    path = Path(raw).expanduser()
    if not path.exists():
        raise TargetError(f"{raw}: no such file or folder")
    if not (path.is_dir() or path.is_file()):
        raise TargetError(f"{raw}: not a regular file or folder")
    return Target(kind=TargetKind.LOCAL, raw=raw, path=path)


def require_supported(target: Target) -> None:
    """Refuse targets this version cannot scan yet, with a clear message."""
    if target.kind is TargetKind.HUB:
        raise UsageError(
            f"{target.raw}: scanning Hugging Face repos is not available in this version yet; "
            "download the repo (e.g. `hf download ORG/NAME --local-dir DIR`) and scan DIR"
        )
    if target.kind is TargetKind.HF_CACHE:
        raise UsageError(
            f"{target.raw}: scanning the Hugging Face cache is not available in this version yet; "
            "scan a snapshot folder (…/models--ORG--NAME/snapshots/<commit>) instead"
        )
