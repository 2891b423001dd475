"""ScanConfig: everything a scan needs to know, decided once by the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from scanner.core.errors import UsageError

#: The Hugging Face Hub used when neither ``--hub-endpoint`` nor ``HF_ENDPOINT`` names one.
DEFAULT_HUB = "https://huggingface.co"


def default_cache_dir() -> Path:
    """``$SOVSCAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/sovscan``, else ``~/.cache/sovscan``."""
    explicit = os.environ.get("SOVSCAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sovscan"


def source_date_epoch() -> datetime | None:
    """The ``SOURCE_DATE_EPOCH`` timestamp (reproducible builds), or None when unset."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw.strip() == "":
        return None
    try:
        return datetime.fromtimestamp(int(raw.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a Unix timestamp") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanConfig:
    """How to scan: fixed before the pipeline starts, never changed by it."""

    offline: bool = False
    """Nothing may touch the network."""
    use_cache: bool = True
    """Use the persistent caches (file hashes, later Hub responses)."""
    cache_dir: Path
    jobs: int
    name: str | None = None
    """The scanned model's name from ``--name`` (identity is never taken from lineage hints)."""
    progress: bool = True
    """Show progress bars on stderr when it is a terminal."""
    hub_endpoint: str | None = None
    max_depth: int = 10
    """``--max-depth``: base_model hops followed on the Hub from a scanned model."""
    resolve: bool = False
    """``--resolve``: also resolve the Hub ancestors named by local folders (off: no network)."""
    verify: bool = False
    """``--verify``: rehash Hugging Face cache blobs instead of trusting their names."""
    index_url: str | None = None
    """``--index-url`` / ``SOVSCAN_INDEX_URL``: the package index asked for library metadata
    (naming one also allows the lookups, as ``--resolve`` does)."""
    python: Path | None = None
    """``--python``: an interpreter whose installed distributions are scanned too."""
    jurisdiction: str = "RU"
    """ISO 3166-1 alpha-2 the tiers are evaluated for."""
    policy: str | None = None
    """``--policy``: a built-in tier name or a profile file; decides the exit code."""
    deny: tuple[str, ...] | None = None
    """``--deny``: the adversary screen's country list (None: the profile's default)."""
    origins_file: Path | None = None
    attestation_file: Path | None = None
    registry_file: Path | None = None
    accept_file: Path | None = None
    """``--accept``: waivers for reviewed load-analysis findings."""
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    """The date waivers' expiry is compared with (the clock, injected for tests)."""


_ALPHA2 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def country_code(value: str, what: str) -> str:
    """Normalise an ISO 3166-1 alpha-2 code (``ru`` → ``RU``) or raise UsageError."""
    code = value.strip().upper()
    if len(code) != 2 or not set(code) <= _ALPHA2:
        raise UsageError(f"{what}: {value!r} is not an ISO 3166-1 alpha-2 country code")
    return code
