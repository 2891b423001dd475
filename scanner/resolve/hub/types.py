"""What the Hub client answers with: a repo's info and files, or the problem that stopped it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

RepoType = Literal["model", "dataset"]
#: Why something could not be read: not-found (repo, revision or file; also private), gated
#: (401/403), revision-not-found, rate-limited and server-error (after the retries), network
#: (no answer), offline-miss (offline and not cached), malformed (an unusable request or answer),
#: too-large (over a byte cap; weights are never downloaded).
ProblemKind = Literal[
    "not-found",
    "gated",
    "revision-not-found",
    "rate-limited",
    "server-error",
    "network",
    "offline-miss",
    "malformed",
    "too-large",
]
#: A JSON value made read-only: objects are mappings, arrays are tuples.
FrozenJson: TypeAlias = (
    "bool | int | float | str | tuple[FrozenJson, ...] | Mapping[str, FrozenJson] | None"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HubFile:
    """One file of a repo at a commit, as the Hub lists it."""

    path: str
    """POSIX path inside the repo (from the Hub: untrusted, never used as a local path)."""
    size: int | None
    """Size in bytes (the real content size for LFS files)."""
    sha256: str | None
    """LFS content SHA-256 (lowercase hex); None for files kept in git itself."""
    blob_id: str | None
    """Git blob object id (of the LFS pointer, for LFS files)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HubRepoInfo:
    """What the Hub says about a repo at one commit (``model_info(files_metadata=True)``)."""

    repo_id: str
    """The id the Hub answered with (canonical spelling; may differ from the one asked for)."""
    repo_type: RepoType
    commit: str
    author: str | None
    gated: bool | str
    """False, or the gating mode (``"auto"``, ``"manual"``; True if the Hub just says so)."""
    tags: tuple[str, ...]
    library_name: str | None
    pipeline_tag: str | None
    card_data: Mapping[str, FrozenJson]
    """The model card's YAML as the Hub parsed it (``cardData``); empty when there is none."""
    config: Mapping[str, FrozenJson] | None
    """The Hub's digest of config.json (``config``), when it gives one."""
    files: tuple[HubFile, ...]
    base_models_field: FrozenJson
    """The raw ``baseModels`` value (undocumented shape), or None when absent."""
    url: str
    """The repo's web page at the endpoint."""
    note: str | None = None
    """Set when offline and a branch was taken as its last-seen commit: what was assumed."""

    def file(self, path: str) -> HubFile | None:
        """The listed file at ``path``, or None."""
        return next((item for item in self.files if item.path == path), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class HubProblem:
    """Why something could not be read from the Hub; becomes a ScanIssue, never a traceback."""

    repo_id: str
    kind: ProblemKind
    message: str
    """Names the repo and the URL or file; never holds the token."""


def thaw_json(value: FrozenJson) -> object:
    """A plain, mutable copy of a frozen JSON value (dicts and lists), e.g. for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {key: thaw_json(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw_json(item) for item in value]
    return value
