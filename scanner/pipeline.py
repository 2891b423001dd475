"""run(config, targets) → ScanResult: discover each target, then merge into one result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath

from scanner.assess import Assessor
from scanner.config import ScanConfig
from scanner.hash_cache import HashCache
from scanner.model import Component, Relation, ScanIssue, ScanResult
from scanner.sources.builder import merge_components
from scanner.sources.inventory import Inventory
from scanner.sources.local_dir import scan_local
from scanner.targets import Target, TargetKind, require_supported


def run(config: ScanConfig, targets: Sequence[Target]) -> ScanResult:
    """Scan every target; one bad file never stops the scan, it becomes a ScanIssue."""
    for target in targets:
        require_supported(target)
    assessor = Assessor.from_config(config)
    with _hash_cache(config) as cache:
        scanned = [
            (
                _root_display(target.raw, target.path),
                scan_local(target.path, config, cache, target.raw),
            )
            for target in targets
            if target.kind is TargetKind.LOCAL and target.path is not None
        ]
    result = merge([inventory for _, inventory in scanned])
    roots = tuple(dict.fromkeys((inv.subject_ref, raw) for raw, inv in scanned))
    return assessor.assess(replace(result, roots=roots))


def _root_display(raw: str, path: Path) -> str:
    """The folder evidence locations are relative to, as the user typed it."""
    return PurePosixPath(raw).parent.as_posix() if path.is_file() else raw


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
    components: dict[str, Component] = {}
    relations: dict[tuple[str, str, str], Relation] = {}
    issues: dict[ScanIssue, None] = {}
    subjects: list[str] = []
    for inventory in inventories:
        if inventory.subject_ref not in subjects:
            subjects.append(inventory.subject_ref)
        for comp in inventory.components:
            seen = components.get(comp.ref)
            components[comp.ref] = comp if seen is None else merge_components(seen, comp)
        for rel in inventory.relations:
            relations.setdefault((rel.src, rel.dst, rel.kind), rel)
        issues.update(dict.fromkeys(inventory.issues))
    return ScanResult(
        subjects=tuple(subjects),
        components=tuple(sorted(components.values(), key=lambda c: c.ref)),
        relations=tuple(sorted(relations.values(), key=lambda r: (r.src, r.dst, r.kind))),
        issues=tuple(sorted(issues, key=lambda i: (i.location, i.problem))),
    )
