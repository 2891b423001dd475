"""The Markdown report (``-o report.md``): what a compliance engineer reads and checks.

Sections: the scanned models; the verdict of every tier with its reasons; per model, the lineage
tree with each node's organisation, country, basis and confidence, then its tokenizer, remote
code, datasets and Python packages with theirs; the findings grouped by tier (rule, component,
message, evidence as ``file:line``); the missing evidence (UNKNOWN reasons, components without a
known origin, scan issues); the files. Every text taken from a scan is escaped, so a hostile
model card cannot inject links, HTML or table cells. Long lists are cut (caps below) with a
count of the rest: the BOM and SARIF carry everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from scanner.core.detection import detected_signals, detection_confidence
from scanner.core.model import (
    WEIGHTS_RELATIONS,
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Origin,
    RelationKind,
    ScanResult,
    StewardKind,
    TierVerdict,
    Verdict,
)
from scanner.sbom.finding_order import DANGEROUS_CODE_RULE, action_findings, tiers_label
from scanner.sbom.lineage_graph import lineage_graph, mermaid
from scanner.sbom.rendering import PLAIN, RenderOptions, RuleDescription, describe_rule
from scanner.sbom.summary import (
    component_label,
    finding_component,
    human_size,
    origin_label,
    plain,
    run_facts,
)

MAX_FINDINGS_SHOWN = 500
MAX_EVIDENCE_SHOWN = 5
"""Evidence entries shown per finding."""
MAX_LIST_SHOWN = 100
"""Datasets, code modules, packages, origin gaps and issues shown, each."""
MAX_FILES_SHOWN = 200
MAX_VALUE_CHARS = 160
"""Characters of an evidence value shown (a knowledge-base entry cites long sources)."""
MAX_LINEAGE_DEPTH = 32

#: Characters that Markdown (or the HTML it allows) would read as syntax where scanned text
#: stands (never at the start of a line): emphasis, code, links, HTML, table cells, escapes.
_SYNTAX = re.compile(r"([\\`*_\[\]<>|~])")
#: An ``&`` that would start a character reference (``&lt;``, ``&#60;``).
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")

#: Under the graph: what its colours and lines mean.
_LEGEND = (
    "Green: from the jurisdiction; red: foreign; blue: a community project (no single "
    "country); grey: origin unknown. A thick dashed border: a component a failing tier "
    "names. A dotted arrow: found by fingerprint, declared by no file."
)

#: How each verdict shows in the table: the ones that need action stand out.
_VERDICT_MARKS = {
    Verdict.FAIL: "**FAIL**",
    Verdict.UNKNOWN: "**UNKNOWN**",
    Verdict.PASS: "PASS",
    Verdict.NOT_APPLICABLE: "NOT-APPLICABLE",
}


def md(text: str) -> str:
    """``text`` as inert Markdown: one line, no controls, syntax characters escaped."""
    return _ENTITY.sub("&amp;", _SYNTAX.sub(r"\\\1", plain(text)))


def render_markdown(result: ScanResult, options: RenderOptions = PLAIN) -> str:
    """The report's Markdown text (deterministic for a given result)."""
    rules = options.rules
    by_ref = {component.ref: component for component in result.components}
    sections = [
        _heading(result),
        _dangerous(result),
        _models(result, by_ref),
        _verdicts(result),
        *(_subject_section(result, ref, by_ref) for ref in result.subjects),
        _findings(result, rules, by_ref),
        _missing(result),
        _files(result, by_ref),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def _heading(result: ScanResult) -> list[str]:
    names = ", ".join(md(component_label(c)) for c in _subjects(result))
    facts = run_facts(result, lambda text: f"**{md(text)}**")
    return [f"# sovscan report: {names or 'nothing scanned'}", "", " · ".join(facts)]


def _dangerous(result: ScanResult) -> list[str]:
    """A warning ahead of everything when loading a file would run dangerous code."""
    dangerous = [
        f for f in result.findings if f.rule_id == DANGEROUS_CODE_RULE and f.accepted is None
    ]
    if not dangerous:
        return []
    lines = [
        f"> **Dangerous code: {len(dangerous)} file(s) run dangerous code when loaded; every "
        "tier FAILs.** Nothing was loaded to find this.",
        ">",
    ]
    lines += [f"> - {md(f.message)}" for f in dangerous[:MAX_LIST_SHOWN]]
    return lines


def _subjects(result: ScanResult) -> list[Component]:
    by_ref = {component.ref: component for component in result.components}
    return [by_ref[ref] for ref in result.subjects if ref in by_ref]


def _models(result: ScanResult, by_ref: Mapping[str, Component]) -> list[str]:
    targets = dict(result.roots)
    lines = [
        "## Scanned models",
        "",
        "| Model | Kind | Target | Licence | Origin |",
        "| --- | --- | --- | --- | --- |",
    ]
    for ref in result.subjects:
        subject = by_ref.get(ref)
        if subject is None:
            continue
        licenses = ", ".join(subject.licenses) or "none declared"
        lines.append(
            f"| {md(component_label(subject))} | {subject.kind} | {md(targets.get(ref, ''))} "
            f"| {md(licenses)} | {_origin_detail(subject.origin)} |"
        )
    return lines


def _verdicts(result: ScanResult) -> list[str]:
    if not result.verdicts:
        return ["## Verdicts", "", "No policy tier was evaluated."]
    lines = ["## Verdicts", "", "| Tier | Verdict | Reasons |", "| --- | --- | --- |"]
    for verdict in result.verdicts:
        chosen = " (chosen)" if verdict.tier == result.policy else ""
        reasons = "<br>".join(md(reason) for reason in verdict.reasons) or "none given"
        if verdict.basis:
            reasons += f"<br>Against {md(verdict.basis)}"
        lines.append(
            f"| {md(verdict.tier)}{chosen} | {_VERDICT_MARKS[verdict.verdict]} | {reasons} |"
        )
    return lines


# --- one scanned model ---------------------------------------------------------------------


def _subject_section(result: ScanResult, ref: str, by_ref: Mapping[str, Component]) -> list[str]:
    subject = by_ref.get(ref)
    if subject is None:
        return []
    lines = [f"## {md(component_label(subject))}", "", "### Lineage", ""]
    graph = lineage_graph(result, ref)
    if len(graph.nodes) > 1:
        lines += ["```mermaid", *mermaid(graph), "```", "", _LEGEND, ""]
    lines.append(
        f"- **{md(component_label(subject))}** ({subject.kind}) — {_origin_detail(subject.origin)}"
    )
    lines += [f"  - hint: {_hint(hint)}" for hint in subject.origin_hints]
    lines += _lineage(result, ref, by_ref, depth=1, seen={ref})
    relations = result.relations_from(ref)
    related = [by_ref[r.dst] for r in relations if r.dst in by_ref]
    tokenizers = [
        (
            tokenizer,
            [
                (by_ref[r.dst], detection_confidence(r.evidence))
                for r in result.relations_from(tokenizer.ref)
                if r.kind is RelationKind.TOKENIZER_FROM and r.dst in by_ref
            ],
        )
        for tokenizer in related
        if tokenizer.kind is ComponentKind.TOKENIZER
    ]
    lines += ["", "### Tokenizer, remote code, datasets and packages", ""]
    body: list[str] = []
    for tokenizer, sources in tokenizers:
        if sources:
            body += [
                f"- tokenizer from {md(component_label(s))} — {_origin_detail(s.origin)}"
                + (
                    f" (detected by its vocabulary's fingerprint, {found} confidence)"
                    if found
                    else ""
                )
                for s, found in sources
            ]
        else:
            body.append(
                f"- tokenizer {md(component_label(tokenizer))} — {_origin_detail(tokenizer.origin)}"
            )
    for label, kind in (("code", ComponentKind.CODE), ("library", ComponentKind.LIBRARY)):
        body += _capped(
            [
                f"- {label} {md(component_label(c))} — {_origin_detail(c.origin)}"
                for c in related
                if c.kind is kind
            ],
            MAX_LIST_SHOWN,
        )
    datasets = [
        by_ref[r.dst] for r in relations if r.kind is RelationKind.TRAINED_ON and r.dst in by_ref
    ]
    body += _capped(
        [f"- dataset {md(component_label(d))} — {_origin_detail(d.origin)}" for d in datasets],
        MAX_LIST_SHOWN,
    )
    return lines + (body or ["None declared."])


def _lineage(
    result: ScanResult,
    ref: str,
    by_ref: Mapping[str, Component],
    depth: int,
    seen: set[str],
) -> list[str]:
    lines: list[str] = []
    if depth > MAX_LINEAGE_DEPTH:
        return lines
    for relation in result.relations_from(ref):
        base = by_ref.get(relation.dst)
        if relation.kind not in WEIGHTS_RELATIONS or base is None:
            continue
        unresolved = " (unresolved)" if base.unresolved else ""
        found = detection_confidence(relation.evidence)
        detected = (
            f" _(detected: {detected_signals(relation.evidence)} fingerprint, {found} confidence)_"
            if found is not None
            else ""
        )
        lines.append(
            f"{'  ' * depth}- {relation.kind} → {md(component_label(base))}{unresolved} — "
            f"{_origin_detail(base.origin)}{detected}"
        )
        if relation.dst not in seen:
            lines += _lineage(result, relation.dst, by_ref, depth + 1, seen | {relation.dst})
    return lines


def _origin_detail(origin: Origin | None) -> str:
    """``Meta Platforms, Inc. (US), curated, high``, with parent and note when there are."""
    if origin is None:
        return "origin not attributed"
    parts = [md(origin_label(origin)), origin.basis.value, origin.confidence.value]
    if origin.parent:
        parts.append(f"parent {md(origin.parent)}")
    if origin.note:
        parts.append(md(origin.note))
    return ", ".join(parts)


def _hint(hint: Origin) -> str:
    seen = f" {hint.evidence[0].value}" if hint.evidence else ""
    return f"{md(hint.basis.value + seen)} → {md(origin_label(hint))}, {hint.confidence}"


# --- findings, gaps, files -----------------------------------------------------------------


def _findings(
    result: ScanResult, rules: Mapping[str, RuleDescription], by_ref: Mapping[str, Component]
) -> list[str]:
    lines = ["## Findings", ""]
    if not result.findings:
        return [*lines, "No findings."]

    def deciding(finding: Finding) -> list[str]:
        return [
            md(tiers_label(result, finding)),
            _rule_cell(finding, rules),
            md(finding_component(finding, by_ref)),
            md(finding.message),
            md(finding.remediation) or "none given",
            _evidence_cell(finding),
        ]

    def accepted(finding: Finding) -> list[str]:
        waiver = finding.accepted
        assert waiver is not None  # noqa: S101  (only accepted findings are listed)
        return [
            _rule_cell(finding, rules),
            md(finding_component(finding, by_ref)),
            md(finding.message),
            md(waiver.accepted_by),
            md(waiver.reason),
            f"{md(waiver.expires)} ({md(waiver.source)} entry {waiver.entry})",
        ]

    def analysed(finding: Finding) -> list[str]:
        status = " (accepted)" if finding.accepted is not None else ""
        return [
            _rule_cell(finding, rules) + status,
            md(finding_component(finding, by_ref)),
            md(finding.message),
            _evidence_cell(finding),
        ]

    tables = (
        (
            "What to do",
            "Each finding that decides a verdict is listed once, with the tiers it affects.",
            ("Tiers", "Rule", "Component", "Finding", "What to do", "Evidence"),
            action_findings(result),
            deciding,
        ),
        (
            "Accepted",
            "Accepted by an --accept waiver: reported here, counted in no verdict.",
            ("Rule", "Component", "Finding", "Accepted by", "Reason", "Until"),
            [f for f in result.findings if f.accepted is not None],
            accepted,
        ),
        (
            "File analysis: what loading a file would run",
            "",
            ("Rule", "File", "Finding", "Evidence"),
            sorted(
                (f for f in result.findings if not f.tiers),
                key=lambda f: (f.rule_id, f.component_ref, f.key, f.message),
            ),
            analysed,
        ),
    )
    budget = MAX_FINDINGS_SHOWN
    listed = 0
    for title, intro, header, findings, cells in tables:
        if not findings:
            continue
        listed += len(findings)
        lines += [f"### {title} ({len(findings)})", ""]
        lines += [intro, ""] if intro else []
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        lines += ["| " + " | ".join(cells(f)) + " |" for f in findings[:budget]]
        budget -= min(len(findings), budget)
        lines.append("")
    if listed > MAX_FINDINGS_SHOWN:
        lines.append(f"… and {listed - MAX_FINDINGS_SHOWN} more findings (see the SARIF or BOM).")
    return lines[:-1] if lines[-1] == "" else lines


def _rule_cell(finding: Finding, rules: Mapping[str, RuleDescription]) -> str:
    rule = describe_rule(rules, finding.rule_id, finding.severity)
    return f"{md(finding.rule_id)} {md(rule.name)} ({finding.severity})"


def _evidence_cell(finding: Finding) -> str:
    evidence = "<br>".join(_evidence(e) for e in finding.evidence[:MAX_EVIDENCE_SHOWN])
    if len(finding.evidence) > MAX_EVIDENCE_SHOWN:
        evidence += f"<br>… +{len(finding.evidence) - MAX_EVIDENCE_SHOWN}"
    return evidence or "none"


def _evidence(seen: Evidence) -> str:
    where = seen.location if seen.line is None else f"{seen.location}:{seen.line}"
    value = seen.value if len(seen.value) <= MAX_VALUE_CHARS else seen.value[:MAX_VALUE_CHARS] + "…"
    return f"{md(where)} ({md(seen.field)}={md(value)})"


def _missing(result: ScanResult) -> list[str]:
    lines = ["## Missing evidence", ""]
    for verdict in result.verdicts:
        lines += [
            f"- **{md(verdict.tier)}** ({verdict.verdict}): {md(reason)}"
            for reason in _missing_reasons(verdict)
        ]
    gaps = [c for c in result.components if c.kind is not ComponentKind.FILE and _unknown(c)]
    lines += _capped(
        [f"- no known country of origin: {c.kind} {md(component_label(c))}" for c in gaps],
        MAX_LIST_SHOWN,
    )
    lines += _capped(
        [
            f"- could not read [{issue.severity}] {md(issue.location)}: {md(issue.problem)}"
            for issue in result.issues
        ],
        MAX_LIST_SHOWN,
    )
    if len(lines) == 2:
        lines.append("Nothing: every tier had the evidence it needs.")
    return lines


def _missing_reasons(verdict: TierVerdict) -> list[str]:
    """Every reason of an UNKNOWN tier; of another tier, those that say ``UNKNOWN: …`` (a FAIL
    can hide missing evidence too). The ``UNKNOWN:`` lead is dropped: the line says it."""
    reasons = []
    for reason in verdict.reasons:
        head, colon, rest = reason.partition(":")
        marked = bool(colon) and head.strip().upper() == Verdict.UNKNOWN.value
        if marked:
            reasons.append(rest.strip())
        elif verdict.verdict is Verdict.UNKNOWN:
            reasons.append(reason)
    if verdict.verdict is Verdict.UNKNOWN and not reasons:
        reasons.append("no reason given")
    return reasons


def _unknown(component: Component) -> bool:
    """No country of origin, and not a community (which is known to have none)."""
    origin = component.origin
    return origin is None or (
        origin.country is None and origin.steward is not StewardKind.COMMUNITY
    )


def _files(result: ScanResult, by_ref: Mapping[str, Component]) -> list[str]:
    files = _subject_files(result, by_ref)
    total = sum(f.size or 0 for f in files)
    lines = ["## Files", "", f"{len(files)} files, {human_size(total)}."]
    if not files:
        return lines
    lines += ["", "| File | Size | SHA-256 |", "| --- | ---: | --- |"]
    for file in files[:MAX_FILES_SHOWN]:
        digest = next((h.value for h in file.hashes if h.alg == "SHA-256"), "")
        size = human_size(file.size) if file.size is not None else ""
        lines.append(f"| {md(file.path or file.name)} | {size} | {md(digest)} |")
    lines += _capped([], 0, len(files) - MAX_FILES_SHOWN)
    return lines


def _subject_files(result: ScanResult, by_ref: Mapping[str, Component]) -> list[Component]:
    """The files the scanned models contain, in subject order then by path."""
    files: list[Component] = []
    for ref in result.subjects:
        contained = [
            by_ref[r.dst]
            for r in result.relations_from(ref)
            if r.kind is RelationKind.CONTAINS and r.dst in by_ref
        ]
        files += sorted(
            (c for c in contained if c.kind is ComponentKind.FILE),
            key=lambda c: c.path or c.name,
        )
    return files


def _capped(lines: Sequence[str], cap: int, hidden: int | None = None) -> list[str]:
    """``lines`` cut to ``cap``, with a line counting the rest."""
    rest = len(lines) - cap if hidden is None else hidden
    shown = list(lines[:cap])
    if rest > 0:
        shown.append(f"- … and {rest} more (see the BOM)")
    return shown
