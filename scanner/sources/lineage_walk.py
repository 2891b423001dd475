"""Follow a model's declared ancestors across the Hub, pinning every repo to its commit.

Starting from scanned inventories, every unpinned Hub model they name through a lineage
relation (base_model, adapter base, ``base_model:*`` tags, ``_name_or_path`` hints) is scanned
in turn, level by level up to ``max_depth``, each level's repos concurrently. A repo is scanned
once however many children name it; cycles end the walk and are reported. Remote-code repos and
declared datasets are pinned (datasets also get their publisher). Whatever cannot be resolved
stays in the inventory marked ``unresolved`` and is explained by a ScanIssue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final

from scanner.core.model import (
    LINEAGE_RELATIONS,
    WEIGHTS_RELATIONS,
    Component,
    ComponentKind,
    Evidence,
    Relation,
    ScanIssue,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.types import HubProblem, HubRepoInfo
from scanner.sources.hf_repo import scan_hub_repo
from scanner.sources.inventory import Inventory

#: Default for ``--max-depth``: base_model hops followed from a scanned model.
DEFAULT_MAX_DEPTH: Final = 10
#: Repos asked for at once (the Hub rate-limits; a handful is enough to hide latency).
MAX_WORKERS: Final = 6
#: Most repos resolved in one scan (a safety stop against a hostile, endless lineage).
MAX_REPOS: Final = 500

_HUB_PURL: Final = "pkg:huggingface/"
_DATASET_REF: Final = "dataset:"
#: Components pinned to their repo's commit without following that repo's own lineage.
_PINNED_KINDS: Final = frozenset({ComponentKind.CODE, ComponentKind.MODEL})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pin:
    """What resolving a referenced repo adds to every sighting of its component."""

    version: str | None = None
    purl: str | None = None
    group: str | None = None
    licenses: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    unresolved: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    inventory: Inventory | None = None
    pin: _Pin | None = None
    issue: ScanIssue | None = None


def resolve_lineage(
    client: HubClient,
    inventories: Sequence[Inventory],
    *,
    hub: str,
    max_depth: int = DEFAULT_MAX_DEPTH,
    workers: int = MAX_WORKERS,
    progress: Callable[[int, int], None] | None = None,
) -> list[Inventory]:
    """``inventories`` plus one per resolved ancestor, with every resolved sighting pinned.

    ``progress(depth, repos)`` is called after each level of the lineage is resolved.
    """
    hub = hub.rstrip("/")
    found: list[Inventory] = list(inventories)
    pins: dict[str, _Pin] = {}
    issues: list[ScanIssue] = []
    seen: set[str] = {inv.subject_ref for inv in inventories}
    asked_extras: set[str] = set()
    level = list(inventories)
    depth = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sovscan-hub") as pool:
        while level:
            revisions = _ancestor_refs(level)
            parents = [ref for ref in revisions if ref not in seen]
            # A repo both named as an ancestor and as a code/tokenizer source is asked for once.
            extras = [
                ref
                for ref in _extra_refs(level)
                if ref not in asked_extras and ref not in seen and ref not in parents
            ]
            asked_extras.update(extras)
            if parents and depth >= max_depth:
                issues += [_depth_issue(hub, ref, max_depth) for ref in parents]
                parents = []
            if len(seen) + len(parents) > MAX_REPOS:
                issues.append(
                    ScanIssue(
                        location=hub,
                        problem=f"lineage larger than {MAX_REPOS} repos; the rest not followed",
                        severity=Severity.HIGH,
                    )
                )
                parents = parents[: max(0, MAX_REPOS - len(seen))]
            seen.update(parents)
            jobs = [(ref, revisions[ref], True) for ref in parents]
            jobs += [(ref, None, False) for ref in extras]
            outcomes = list(pool.map(lambda job: _resolve(client, hub, *job), jobs))
            level = []
            for (ref, _, _), outcome in zip(jobs, outcomes, strict=True):
                if outcome.inventory is not None:
                    level.append(outcome.inventory)
                    found.append(outcome.inventory)
                if outcome.pin is not None:
                    pins[ref] = _combine(pins.get(ref), outcome.pin)
                if outcome.issue is not None:
                    issues.append(outcome.issue)
            depth += 1
            if progress is not None and jobs:
                progress(depth, len(found))
    issues += _cycle_issues(hub, (rel for inv in found for rel in inv.relations))
    pinned = [_apply(inv, pins) for inv in found]
    if issues:
        pinned.append(
            Inventory(
                subject_ref=pinned[0].subject_ref if pinned else "",
                components=(),
                relations=(),
                issues=tuple(dict.fromkeys(issues)),
            )
        )
    return pinned


def _ancestor_refs(inventories: Iterable[Inventory]) -> dict[str, str | None]:
    """Hub models the inventories name as weights ancestors → the commit declared for them
    (an adapter's ``revision``), else None for the default branch; in a stable order."""
    refs: dict[str, str | None] = {}
    for inventory in inventories:
        by_ref = {c.ref: c for c in inventory.components}
        for rel in inventory.relations:
            target = by_ref.get(rel.dst)
            if rel.kind in WEIGHTS_RELATIONS and target is not None and _hub_repo(target):
                declared = target.version if "@" in (target.purl or "") else None
                refs[target.ref] = refs.get(target.ref) or declared
    return refs


def _extra_refs(inventories: Iterable[Inventory]) -> list[str]:
    """Remote-code repos, tokenizer sources and declared datasets to pin (not followed further).

    A Hub repo is keyed by its unpinned purl (a model's ref), a dataset by its ref.
    """
    refs: dict[str, None] = {}
    for inventory in inventories:
        for component in inventory.components:
            if component.kind in _PINNED_KINDS and component.purl and _unpinned_hub(component):
                refs[component.purl] = None
            elif (
                component.kind is ComponentKind.DATASET
                and component.ref.startswith(_DATASET_REF)
                and component.version is None
                and component.external_urls
            ):
                refs[component.ref] = None
    return list(refs)


def _hub_repo(component: Component) -> bool:
    return (component.purl or "").startswith(_HUB_PURL) and not component.unresolved


def _unpinned_hub(component: Component) -> bool:
    return _hub_repo(component) and "@" not in (component.purl or "")


def _resolve(
    client: HubClient, hub: str, ref: str, revision: str | None, is_ancestor: bool
) -> _Outcome:
    if ref.startswith(_DATASET_REF):
        return _resolve_dataset(client, hub, ref)
    purl = ref.split("@")[0]
    repo_id = purl.removeprefix(_HUB_PURL)
    info = client.repo_info(repo_id, revision)
    if isinstance(info, HubProblem):
        return _unresolved(hub, repo_id, info, "model")
    if not is_ancestor:
        return _Outcome(pin=_pin(info, purl))
    inventory = scan_hub_repo(client, info, hub, repo_id=repo_id)
    return _Outcome(inventory=inventory, pin=_pin(info, purl))


def _pin(info: HubRepoInfo, purl: str) -> _Pin:
    return _Pin(
        version=info.commit,
        purl=f"{purl}@{info.commit}",
        evidence=(Evidence(location=info.url, field="sha", value=info.commit, method="hub-api"),),
    )


def _resolve_dataset(client: HubClient, hub: str, ref: str) -> _Outcome:
    dataset_id = ref.removeprefix(_DATASET_REF)
    info = client.repo_info(dataset_id, repo_type="dataset")
    if isinstance(info, HubProblem):
        return _unresolved(hub, dataset_id, info, "dataset")
    license_value = info.card_data.get("license")
    licenses = (license_value,) if isinstance(license_value, str) and license_value else ()
    properties = [(PropertyName.DATASET_COMMIT, info.commit)]
    if info.author:
        properties.append((PropertyName.DATASET_AUTHOR, info.author))
    evidence = [Evidence(location=info.url, field="sha", value=info.commit, method="hub-api")]
    if info.author:
        evidence.append(
            Evidence(location=info.url, field="author", value=info.author, method="hub-api")
        )
    return _Outcome(
        pin=_Pin(
            version=info.commit,
            group=info.author,
            licenses=licenses,
            properties=tuple(properties),
            evidence=tuple(evidence),
        )
    )


def _unresolved(hub: str, repo_id: str, problem: HubProblem, what: str) -> _Outcome:
    offline = problem.kind == "offline-miss"
    prefix = f"{hub}/datasets" if what == "dataset" else hub
    reason = {
        "not-found": f"{what} {repo_id} does not exist on the Hub (deleted or private)",
        "gated": f"{what} {repo_id} is gated and its information was refused",
    }.get(problem.kind, f"{what} {repo_id} could not be resolved")
    issue = ScanIssue(
        location=f"{prefix}/{repo_id}",
        problem=f"{reason}; it stays unresolved: {problem.message}",
        severity=Severity.LOW if offline else Severity.HIGH,
    )
    return _Outcome(pin=_Pin(unresolved=True), issue=issue)


def _depth_issue(hub: str, ref: str, max_depth: int) -> ScanIssue:
    repo_id = ref.removeprefix(_HUB_PURL)
    return ScanIssue(
        location=f"{hub}/{repo_id}",
        problem=f"lineage not followed past --max-depth {max_depth}: {repo_id} is not resolved",
        severity=Severity.MEDIUM,
    )


def _combine(first: _Pin | None, second: _Pin) -> _Pin:
    if first is None:
        return second
    return _Pin(
        version=first.version or second.version,
        purl=first.purl or second.purl,
        group=first.group or second.group,
        licenses=tuple(dict.fromkeys((*first.licenses, *second.licenses))),
        properties=tuple(dict.fromkeys((*first.properties, *second.properties))),
        evidence=tuple(dict.fromkeys((*first.evidence, *second.evidence))),
        unresolved=first.unresolved or second.unresolved,
    )


def _apply(inventory: Inventory, pins: dict[str, _Pin]) -> Inventory:
    """Pin every component whose repo was resolved (model refs and code repos alike)."""
    components = []
    for component in inventory.components:
        pin = pins.get(component.ref)
        if pin is None and component.purl:
            pin = pins.get(component.purl)
        if pin is None:
            components.append(component)
            continue
        unpinned = component.purl is None or "@" not in component.purl
        components.append(
            replace(
                component,
                version=component.version or pin.version,
                purl=pin.purl if pin.purl and unpinned else component.purl,
                group=component.group or pin.group,
                licenses=component.licenses or pin.licenses,
                properties=tuple(dict.fromkeys((*component.properties, *pin.properties))),
                evidence=tuple(dict.fromkeys((*component.evidence, *pin.evidence))),
                unresolved=component.unresolved or pin.unresolved,
            )
        )
    return replace(inventory, components=tuple(components))


def _cycle_issues(hub: str, relations: Iterable[Relation]) -> list[ScanIssue]:
    """One issue per lineage cycle (a model that is, through its bases, its own ancestor)."""
    graph: dict[str, list[str]] = {}
    for rel in relations:
        if rel.kind in LINEAGE_RELATIONS:
            targets = graph.setdefault(rel.src, [])
            if rel.dst not in targets:
                targets.append(rel.dst)
    issues: list[ScanIssue] = []
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = pending.pop(0)
            if state.get(nxt) == 1:
                loop = [*path[path.index(nxt) :], nxt]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    names = " → ".join(ref.removeprefix(_HUB_PURL) for ref in loop)
                    issues.append(
                        ScanIssue(
                            location=f"{hub}/{loop[0].removeprefix(_HUB_PURL)}",
                            problem=f"lineage cycle: {names}; the walk stopped there",
                            severity=Severity.HIGH,
                        )
                    )
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph.get(nxt, ()))))
    return issues
