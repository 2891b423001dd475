"""The short human summary printed when no ``-o`` is given."""

from __future__ import annotations

from scanner.model import (
    LINEAGE_RELATIONS,
    Component,
    ComponentKind,
    RelationKind,
    ScanResult,
)

#: Issues listed in full before the rest are counted.
MAX_ISSUES_SHOWN = 20
MAX_DATASETS_SHOWN = 12


def human_size(size: int) -> str:
    """1536 → '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _label(comp: Component) -> str:
    name = f"{comp.group}/{comp.name}" if comp.group else comp.name
    return f"{name}@{comp.version[:12]}" if comp.version else name


def render_summary(result: ScanResult) -> str:
    """Model, lineage, tokenizer, code, datasets, files and issues, one block per subject."""
    lines: list[str] = []
    for subject_ref in result.subjects:
        lines += _subject_block(result, subject_ref)
        lines.append("")
    if result.issues:
        lines.append(f"Issues ({len(result.issues)}): the scan went on without these")
        lines += [
            f"  [{issue.severity}] {issue.location}: {issue.problem}"
            for issue in result.issues[:MAX_ISSUES_SHOWN]
        ]
        if len(result.issues) > MAX_ISSUES_SHOWN:
            lines.append(f"  … and {len(result.issues) - MAX_ISSUES_SHOWN} more (see the BOM)")
    else:
        lines.append("Issues: none")
    return "\n".join(lines) + "\n"


def _subject_block(result: ScanResult, ref: str) -> list[str]:
    subject = result.component(ref)
    by_ref = {c.ref: c for c in result.components}
    relations = result.relations_from(ref)
    lines = [f"Model     {_label(subject)}  ({subject.kind})"]
    if subject.licenses:
        lines.append(f"License   {', '.join(subject.licenses)}")
    card = subject.model_card
    if card and (card.architecture or card.task):
        parts = [p for p in (card.architecture, card.architecture_family, card.task) if p]
        lines.append(f"Arch      {' · '.join(parts)}")
    lineage = [r for r in relations if r.kind in LINEAGE_RELATIONS]
    lines.append("Lineage" if lineage else "Lineage   none declared")
    lines += _lineage_tree(result, ref, by_ref, depth=1, seen={ref})
    tokenizer_sources = [
        r
        for tok in relations
        if by_ref[tok.dst].kind is ComponentKind.TOKENIZER
        for r in result.relations_from(tok.dst)
        if r.kind is RelationKind.TOKENIZER_FROM
    ]
    if tokenizer_sources:
        lines.append(
            "Tokenizer from " + ", ".join(_label(by_ref[r.dst]) for r in tokenizer_sources)
        )
    code = [by_ref[r.dst] for r in relations if by_ref[r.dst].kind is ComponentKind.CODE]
    if code:
        lines.append(f"Code      {len(code)} module(s) run with trust_remote_code:")
        lines += [
            f"  - {c.group + '/' if c.group else ''}{c.name}"
            + ("  (from another repo)" if c.purl else "")
            for c in code
        ]
    datasets = [by_ref[r.dst] for r in relations if r.kind is RelationKind.TRAINED_ON]
    if datasets:
        shown = ", ".join(_label(d) for d in datasets[:MAX_DATASETS_SHOWN])
        more = (
            f" … +{len(datasets) - MAX_DATASETS_SHOWN}"
            if len(datasets) > MAX_DATASETS_SHOWN
            else ""
        )
        lines.append(f"Datasets  {len(datasets)}: {shown}{more}")
    files = [by_ref[r.dst] for r in relations if r.kind is RelationKind.CONTAINS]
    total = sum(f.size or 0 for f in files)
    pointers = sum(1 for f in files if ("sovscan:file:lfs-pointer", "true") in f.properties)
    cached = sum(1 for f in files if ("sovscan:file:hash-source", "cache") in f.properties)
    extra = []
    if pointers:
        extra.append(f"{pointers} LFS pointer(s)")
    if cached:
        extra.append(f"{cached} hash(es) from cache")
    detail = f" ({', '.join(extra)})" if extra else ""
    lines.append(f"Files     {len(files)}, {human_size(total)}{detail}")
    return lines


def _lineage_tree(
    result: ScanResult, ref: str, by_ref: dict[str, Component], depth: int, seen: set[str]
) -> list[str]:
    lines = []
    for rel in result.relations_from(ref):
        if rel.kind not in LINEAGE_RELATIONS:
            continue
        base = by_ref[rel.dst]
        sources = sorted({e.location for e in rel.evidence})
        unresolved = "  (unresolved)" if ("sovscan:unresolved", "true") in base.properties else ""
        lines.append(
            f"{'  ' * depth}└─ {rel.kind}: {_label(base)}{unresolved}  [{', '.join(sources)}]"
        )
        if rel.dst not in seen:
            lines += _lineage_tree(result, rel.dst, by_ref, depth + 1, seen | {rel.dst})
    return lines
