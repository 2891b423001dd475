"""The discovery stage: one ``Source`` per kind of target, in one table.

A source turns a target into inventories (one per model it finds), each with the display of the
root its locations are relative to. ``discover`` runs them in table order — local folders, then
the Hugging Face cache, then Hub repos — sharing one ``DiscoveryContext``: the settings, the hash
cache and a Hub client created the first time a source needs it. A new kind of target is one
new source plus one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Final, Protocol

from scanner.core.errors import UpstreamError
from scanner.sources.local_dir import scan_local
from scanner.sources.targets import Target, TargetKind

if TYPE_CHECKING:
    # The Hub modules (and huggingface_hub behind them) load only when a scan needs the Hub.
    from scanner.core.config import ScanConfig
    from scanner.hashing.digest_cache import HashCache
    from scanner.resolve.hub.client import HubClient
    from scanner.sources.inventory import Inventory

#: (the display of the root locations are relative to, the inventory of one model)
Found = tuple[str, "Inventory"]


@dataclass(slots=True)
class DiscoveryContext:
    """What every source may use: the settings, the hash cache, the Hub client."""

    config: ScanConfig
    cache: HashCache | None
    _hub: HubClient | None = field(default=None, init=False)

    @property
    def hub_client(self) -> HubClient:
        """The Hub client of this scan, created on first use."""
        if self._hub is None:
            from scanner.resolve.hub.client import HubClient

            config = self.config
            self._hub = HubClient(
                endpoint=config.hub_endpoint,
                token=None,
                cache_dir=config.cache_dir,
                offline=config.offline,
                use_cache=config.use_cache,
            )
        return self._hub

    @property
    def hub_used(self) -> bool:
        """Whether a source asked for the Hub client."""
        return self._hub is not None

    def close(self) -> None:
        """Close the Hub client's connections, if one was made."""
        if self._hub is not None:
            self._hub.close()


class Source(Protocol):
    """Discovers the models of one kind of target."""

    def discover(self, target: Target, ctx: DiscoveryContext) -> list[Found]:
        """The inventories ``target`` holds.

        Raises:
            TargetError: the target cannot be scanned at all.
            UpstreamError: a Hub target cannot be read, so there is nothing to report.
        """
        ...


class LocalSource:
    """A model folder or a single model file."""

    def discover(self, target: Target, ctx: DiscoveryContext) -> list[Found]:
        """The folder's (or the file's folder's) inventory."""
        if target.path is None:
            return []
        root = target.display
        if target.path.is_file():
            root = PurePosixPath(target.display).parent.as_posix()
        return [(root, scan_local(target.path, ctx.config, ctx.cache, target.display))]


class HfCacheSource:
    """Every model snapshot of a Hugging Face cache; the Hub is asked only with ``--verify``."""

    def discover(self, target: Target, ctx: DiscoveryContext) -> list[Found]:
        """One inventory per snapshot."""
        if target.path is None:
            return []
        from scanner.sources.hf_cache import scan_hf_cache

        config = ctx.config
        client = ctx.hub_client if config.verify and not config.offline else None
        return scan_hf_cache(target.path, config, ctx.cache, client, target.display)


class HubSource:
    """A Hub repo (model or dataset) at a revision, from its metadata."""

    def discover(self, target: Target, ctx: DiscoveryContext) -> list[Found]:
        """The entry repo's inventory; if even it cannot be read there is nothing to report."""
        assert target.repo_id is not None  # noqa: S101  (parse_target sets it for Hub targets)
        from scanner.resolve.hub.types import HubProblem
        from scanner.sources.hf_repo import scan_hub_dataset, scan_hub_repo

        client = ctx.hub_client
        info = client.repo_info(target.repo_id, target.revision, repo_type=target.repo_type)
        if isinstance(info, HubProblem):
            hint = (
                "; it is not in the cache: scan it once without --offline"
                if info.kind == "offline-miss"
                else ""
            )
            raise UpstreamError(f"{target.raw}: {info.message}{hint}; nothing to report")
        if target.repo_type == "dataset":
            inventory = scan_hub_dataset(info, client.endpoint, repo_id=target.repo_id)
        else:
            inventory = scan_hub_repo(client, info, client.endpoint, repo_id=target.repo_id)
        return [(target.display, inventory)]


#: The source of each kind of target, in the order their targets are discovered.
SOURCES: Final[tuple[tuple[TargetKind, Source], ...]] = (
    (TargetKind.LOCAL, LocalSource()),
    (TargetKind.HF_CACHE, HfCacheSource()),
    (TargetKind.HUB, HubSource()),
)


def discover(targets: Sequence[Target], ctx: DiscoveryContext) -> list[Found]:
    """Every target's inventories, source by source in table order, targets in their order."""
    found: list[Found] = []
    for kind, source in SOURCES:
        for target in targets:
            if target.kind is kind:
                found += source.discover(target, ctx)
    return found
