"""A scanned model's lineage as a graph to draw: the Markdown report's Mermaid block and the
HTML report's SVG are both made from it.

Nodes are the model, every ancestor through weights relations (finetune, adapter, quantized,
merge, derived, submodel; recursively, capped), where its tokenizer comes from, and its
datasets. Each node has a label (the component and its origin) and a standing against the
jurisdiction: ``domestic`` (its country), ``foreign``, ``community`` (no single country) or
``unknown``; a node a deciding finding fails is marked ``failing``. An edge is ``detected``
when only a fingerprint found it. Node ids are numbers, never scanned text, and every label is
cut and stripped of characters the drawing languages read as syntax.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from scanner.core.detection import detection_confidence
from scanner.core.model import (
    WEIGHTS_RELATIONS,
    Component,
    ComponentKind,
    Origin,
    RelationKind,
    ScanResult,
    StewardKind,
    Verdict,
)
from scanner.sbom.summary import component_label, origin_label

#: Nodes drawn per model; the rest are counted in a last node.
MAX_NODES = 60
#: Characters of a label line.
MAX_LABEL_CHARS = 60
#: Relations drawn besides lineage: where the tokenizer comes from, what it was trained on.
_OTHER_RELATIONS = (RelationKind.TOKENIZER_FROM, RelationKind.TRAINED_ON)
#: Characters Mermaid or SVG text would read as syntax: replaced by a space.
_UNSAFE = re.compile(r"[^\w .,:/@()+'-]", re.UNICODE)


class Standing(StrEnum):
    """How a node stands against the jurisdiction (its colour)."""

    DOMESTIC = "domestic"
    FOREIGN = "foreign"
    COMMUNITY = "community"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Node:
    """One component drawn."""

    id: str
    title: str
    origin: str
    standing: Standing
    failing: bool
    is_subject: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    """``src`` (the derived side) → ``dst``, labelled with the relation."""

    src: str
    dst: str
    label: str
    detected: bool


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The drawing of one scanned model: nodes in breadth-first order, the model first."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    hidden: int = 0
    """Components left out past ``MAX_NODES``."""

    def depths(self) -> dict[str, int]:
        """Each node's distance from the model (its row when drawn top-down)."""
        out: dict[str, list[str]] = {}
        for edge in self.edges:
            out.setdefault(edge.src, []).append(edge.dst)
        depth = {self.nodes[0].id: 0} if self.nodes else {}
        queue = deque(depth)
        while queue:
            here = queue.popleft()
            for there in out.get(here, ()):
                if there not in depth:
                    depth[there] = depth[here] + 1
                    queue.append(there)
        return depth


def safe_label(text: str) -> str:
    """``text`` as one inert label line: no syntax characters, at most ``MAX_LABEL_CHARS``."""
    cleaned = " ".join(_UNSAFE.sub(" ", text).split())
    if len(cleaned) > MAX_LABEL_CHARS:
        cleaned = cleaned[: MAX_LABEL_CHARS - 1].rstrip() + "…"
    return cleaned or "?"


def standing(origin: Origin | None, jurisdiction: str | None) -> Standing:
    """The node's standing: its origin's country against the jurisdiction."""
    if origin is None:
        return Standing.UNKNOWN
    if origin.country is None:
        return Standing.COMMUNITY if origin.steward is StewardKind.COMMUNITY else Standing.UNKNOWN
    if jurisdiction and origin.country == jurisdiction:
        return Standing.DOMESTIC
    return Standing.FOREIGN


def lineage_graph(result: ScanResult, subject_ref: str) -> LineageGraph:
    """The graph of ``subject_ref``: its weights lineage, tokenizer sources and datasets."""
    by_ref = {component.ref: component for component in result.components}
    failing = _failing_refs(result)
    ids: dict[str, str] = {}
    nodes: list[Node] = []
    edges: list[Edge] = []
    hidden: set[str] = set()

    def node_id(component: Component) -> str | None:
        if component.ref in ids:
            return ids[component.ref]
        if len(nodes) >= MAX_NODES:
            hidden.add(component.ref)
            return None
        ids[component.ref] = f"n{len(nodes)}"
        nodes.append(
            Node(
                id=ids[component.ref],
                title=safe_label(component_label(component)),
                origin=safe_label(origin_label(component.origin)),
                standing=standing(component.origin, result.jurisdiction),
                failing=component.ref in failing,
                is_subject=component.ref == subject_ref,
            )
        )
        return ids[component.ref]

    subject = by_ref.get(subject_ref)
    if subject is None:
        return LineageGraph(nodes=(), edges=())
    node_id(subject)
    queue = deque([subject_ref])
    expanded = {subject_ref}
    while queue:
        ref = queue.popleft()
        for relation in result.relations_from(ref):
            target = by_ref.get(relation.dst)
            wanted = relation.kind in WEIGHTS_RELATIONS or (
                relation.kind in _OTHER_RELATIONS and ref == subject_ref
            )
            if target is None or not wanted:
                continue
            src, dst = ids.get(ref), node_id(target)
            if src is not None and dst is not None:
                label = relation.kind.value + (" (unresolved)" if target.unresolved else "")
                detected = detection_confidence(relation.evidence) is not None
                edges.append(Edge(src, dst, label, detected))
            # Past the cap the walk goes on, to count what is left out.
            if relation.kind in WEIGHTS_RELATIONS and relation.dst not in expanded:
                expanded.add(relation.dst)
                queue.append(relation.dst)
    # A tokenizer's sources (the tokenizer component itself is no node: its source is).
    for relation in result.relations_from(subject_ref):
        tokenizer = by_ref.get(relation.dst)
        if tokenizer is None or tokenizer.kind is not ComponentKind.TOKENIZER:
            continue
        for source in result.relations_from(tokenizer.ref):
            target = by_ref.get(source.dst)
            if source.kind is not RelationKind.TOKENIZER_FROM or target is None:
                continue
            dst = node_id(target)
            if dst is not None:
                detected = detection_confidence(source.evidence) is not None
                edges.append(Edge(ids[subject_ref], dst, "tokenizer-from", detected))
    return LineageGraph(nodes=tuple(nodes), edges=_merged(edges), hidden=len(hidden))


def _merged(edges: list[Edge]) -> tuple[Edge, ...]:
    """One edge per pair of nodes, its labels joined (an adapter whose base also gives the
    tokenizer: ``adapter, tokenizer-from``); detected only when every relation was."""
    pairs: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        pairs.setdefault((edge.src, edge.dst), []).append(edge)
    return tuple(
        Edge(
            src,
            dst,
            ", ".join(dict.fromkeys(e.label for e in group)),
            all(e.detected for e in group),
        )
        for (src, dst), group in pairs.items()
    )


def _failing_refs(result: ScanResult) -> frozenset[str]:
    """Components a finding fails in a tier whose verdict is FAIL."""
    failed = {v.tier for v in result.verdicts if v.verdict is Verdict.FAIL}
    return frozenset(
        f.component_ref
        for f in result.findings
        if f.accepted is None and any(tier in failed for tier in f.tiers)
    )


# --- Mermaid ---------------------------------------------------------------------------------

#: Fill, stroke and text colour of each standing (GitHub renders ``classDef``).
STANDING_STYLES: dict[Standing, tuple[str, str, str]] = {
    Standing.DOMESTIC: ("#d4edda", "#1e7e34", "#0b2e13"),
    Standing.FOREIGN: ("#f8d7da", "#b21f2d", "#491217"),
    Standing.COMMUNITY: ("#dbe9f6", "#1f5f99", "#0c2a44"),
    Standing.UNKNOWN: ("#eeeeee", "#6c757d", "#212529"),
}


def mermaid(graph: LineageGraph) -> list[str]:
    """The graph as the lines of a Mermaid flowchart (without the code fence)."""
    lines = ["flowchart TD"]
    for node in graph.nodes:
        title = f"<b>{node.title}</b>" if node.is_subject else node.title
        lines.append(f'  {node.id}["{title}<br/>{node.origin}"]')
    for edge in graph.edges:
        arrow = "-.->" if edge.detected else "-->"
        label = safe_label(f"{edge.label} (detected)" if edge.detected else edge.label)
        lines.append(f"  {edge.src} {arrow}|{label}| {edge.dst}")
    if graph.hidden:
        lines.append(f'  more["… {graph.hidden} more, see the BOM"]')
    for standing_, (fill, stroke, text) in STANDING_STYLES.items():
        lines.append(f"  classDef {standing_} fill:{fill},stroke:{stroke},color:{text}")
    lines.append("  classDef failing stroke-width:3px,stroke-dasharray:4 2")
    for standing_ in Standing:
        members = [n.id for n in graph.nodes if n.standing is standing_]
        if members:
            lines.append(f"  class {','.join(members)} {standing_}")
    failing = [n.id for n in graph.nodes if n.failing]
    if failing:
        lines.append(f"  class {','.join(failing)} failing")
    return lines
