"""run(config, targets) → ScanResult: discover each target, then merge into one result."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.assess import Assessor
from scanner.core.config import ScanConfig
from scanner.core.model import Component, ComponentKind, Finding, Relation, ScanIssue, ScanResult
from scanner.core.progress import step
from scanner.hashing.digest_cache import HashCache
from scanner.sources.discovery import DiscoveryContext, discover
from scanner.sources.inventory import Inventory
from scanner.sources.inventory_builder import merge_components
from scanner.sources.model_digest import with_model_digests
from scanner.sources.targets import Target, TargetKind

if TYPE_CHECKING:
    from scanner.sources.python.components import PythonParts

_LOG = logging.getLogger(__name__)


def run(config: ScanConfig, targets: Sequence[Target]) -> ScanResult:
    """Scan every target; one bad file never stops the scan, it becomes a ScanIssue.

    Hub targets are scanned from the Hub and their lineage resolved there; local folders touch
    the network only with ``config.resolve`` (``--resolve``), to resolve the ancestors they name.
    """
    assessor = Assessor.from_config(config)
    ctx: DiscoveryContext | None = None
    try:
        with _hash_cache(config) as cache:
            ctx = DiscoveryContext(config=config, cache=cache)
            scanned = discover(targets, ctx)
        inventories = [inventory for _, inventory in scanned]
        hub_targets = any(target.kind is TargetKind.HUB for target in targets)
        if hub_targets or (config.resolve and inventories):
            from scanner.sources.lineage_walk import resolve_lineage

            client = ctx.hub_client
            with step("Resolving lineage", enabled=config.progress, unit="repos") as line:
                inventories = resolve_lineage(
                    client,
                    inventories,
                    hub=client.endpoint,
                    max_depth=config.max_depth,
                    progress=lambda _depth, repos: line.advance(repos - line.done),
                )
            stats = client.stats
            _LOG.info(
                "Hub: %d requests, %d bytes received, %d retries, %d cache hits",
                stats.requests,
                stats.bytes_received,
                stats.retries,
                stats.cache_hits,
            )
    finally:
        if ctx is not None:
            ctx.close()
    result = with_model_digests(merge(inventories))
    subjects = tuple(dict.fromkeys(inv.subject_ref for _, inv in scanned))
    roots = tuple(dict.fromkeys((inv.subject_ref, raw) for raw, inv in scanned))
    result = replace(result, subjects=subjects, roots=roots)
    if config.python is not None:
        result = _with_environment(result, config.python)
    result = _with_index_metadata(result, config, networked=hub_targets)
    return assessor.assess(result)


def _with_environment(result: ScanResult, python: Path) -> ScanResult:
    """The packages installed for ``python``, as dependencies of every subject."""
    from scanner.sources.python.components import python_parts
    from scanner.sources.python.environment import read_environment

    parts = python_parts([read_environment(python)], result.subjects)
    return merge_parts(result, parts)


def merge_parts(result: ScanResult, parts: PythonParts) -> ScanResult:
    """``result`` with library components, edges and issues added (components merged by ref)."""
    return replace(
        result,
        components=merged_components((*result.components, *parts.components)),
        relations=unique_relations((*result.relations, *parts.relations)),
        issues=tuple(
            sorted({*result.issues, *parts.issues}, key=lambda i: (i.location, i.problem))
        ),
    )


def _with_index_metadata(result: ScanResult, config: ScanConfig, *, networked: bool) -> ScanResult:
    """Library metadata from the package index: asked with --resolve, --index-url or a Hub
    target; otherwise (and with --offline) only what an earlier run cached."""
    if not any(c.kind is ComponentKind.LIBRARY for c in result.components):
        return result
    from scanner.resolve.package_index import PackageIndexClient
    from scanner.sources.python.library_metadata import enrich_libraries

    allowed = not config.offline and (networked or config.resolve or config.index_url is not None)
    with PackageIndexClient(
        config.index_url,
        cache_dir=config.cache_dir,
        offline=not allowed,
        use_cache=config.use_cache,
    ) as client:
        # Not asked to look packages up: a cache miss is expected, not worth an issue.
        enriched = enrich_libraries(result, client, report_cache_misses=config.offline)
        stats = client.stats
    _LOG.info("package index: %d requests, %d cache hits", stats.requests, stats.cache_hits)
    return enriched


@contextmanager
def _hash_cache(config: ScanConfig) -> Iterator[HashCache | None]:
    if not config.use_cache:
        yield None
        return
    cache = HashCache.open(config.cache_dir)
    try:
        yield cache
    finally:
        cache.close()


def merge(inventories: Sequence[Inventory]) -> ScanResult:
    """One result from several inventories; a component seen twice keeps all its evidence."""
    issues: dict[ScanIssue, None] = {}
    findings: dict[Finding, None] = {}
    for inventory in inventories:
        issues.update(dict.fromkeys(inventory.issues))
        findings.update(dict.fromkeys(inventory.findings))
    return ScanResult(
        subjects=tuple(dict.fromkeys(inventory.subject_ref for inventory in inventories)),
        components=merged_components(c for inv in inventories for c in inv.components),
        relations=unique_relations(r for inv in inventories for r in inv.relations),
        issues=tuple(sorted(issues, key=lambda i: (i.location, i.problem))),
        findings=tuple(findings),
    )


def merged_components(components: Iterable[Component]) -> tuple[Component, ...]:
    """One component per ref (sightings merged, every fact kept), sorted by ref."""
    by_ref: dict[str, Component] = {}
    for comp in components:
        seen = by_ref.get(comp.ref)
        by_ref[comp.ref] = comp if seen is None else merge_components(seen, comp)
    return tuple(sorted(by_ref.values(), key=lambda c: c.ref))


def unique_relations(relations: Iterable[Relation]) -> tuple[Relation, ...]:
    """One relation per (src, dst, kind), the first seen, sorted."""
    unique: dict[tuple[str, str, str], Relation] = {}
    for rel in relations:
        unique.setdefault((rel.src, rel.dst, rel.kind), rel)
    return tuple(sorted(unique.values(), key=lambda r: (r.src, r.dst, r.kind)))
