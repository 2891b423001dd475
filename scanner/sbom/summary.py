"""The short human summary printed when no ``-o`` is given.

A file whose loading runs dangerous code heads the summary. Then, per scanned model: its
origin, the lineage tree with each node's organisation and country, the tokenizer, remote code
and datasets with theirs, the files; the verdict of every tier (the first reason; ``(chosen)``
marks the ``--policy`` tier); what to do: every finding that decides a verdict, once, with the
tiers it affects and its remediation; the accepted findings; and the issues. Text read from
scanned files is stripped of control characters: a model card must not be able to drive the
terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

import scanner
from scanner.core.detection import detected_signals, detection_confidence
from scanner.core.model import (
    WEIGHTS_RELATIONS,
    Component,
    ComponentKind,
    Finding,
    Origin,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.core.properties import PropertyName
from scanner.sbom.finding_order import (
    DANGEROUS_CODE_RULE,
    action_findings,
    analysis_failed,
    tiers_label,
)
from scanner.sbom.rendering import PLAIN, RenderOptions, RuleDescription

#: Issues listed in full before the rest are counted.
MAX_ISSUES_SHOWN = 20
#: Findings listed under "To do" before the rest are counted.
MAX_ACTIONS_SHOWN = 15
MAX_DATASETS_SHOWN = 12
MAX_CODE_SHOWN = 12

#: C0 and C1 controls, DEL, and the line/paragraph separators: never printed as they are.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

#: Who stands behind a component whose organisation is not known, by steward kind.
_NAMELESS = {
    StewardKind.ORGANIZATION: "unknown organisation",
    StewardKind.COMMUNITY: "community project",
    StewardKind.INDIVIDUAL: "an individual",
    StewardKind.UNKNOWN: "origin unknown",
}


def human_size(size: int) -> str:
    """1536 → '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def plain(text: str) -> str:
    """``text`` on one line without control characters (each run becomes one space)."""
    return _CONTROLS.sub(" ", text).strip()


def component_label(comp: Component) -> str:
    """``group/name@revision`` (revision cut to 12), the way people name Hub repos."""
    name = f"{comp.group}/{comp.name}" if comp.group else comp.name
    return plain(f"{name}@{comp.version[:12]}" if comp.version else name)


def origin_label(origin: Origin | None) -> str:
    """``Meta Platforms, Inc. (US)``; a community has no single country; None: not attributed."""
    if origin is None:
        return "origin not attributed"
    who = origin.organization or _NAMELESS[origin.steward]
    if origin.country:
        where = origin.country
    elif origin.steward is StewardKind.COMMUNITY:
        where = "no single country"
    else:
        where = "country unknown"
    return plain(f"{who} ({where})")


def render_summary(result: ScanResult, options: RenderOptions = PLAIN) -> str:
    """Dangerous code first; models with their lineage and origins, verdicts, what to do,
    accepted findings and issues."""
    rules = options.rules
    lines: list[str] = dangerous_code_lines(result)
    if lines:
        lines.append("")
    for subject_ref in result.subjects:
        lines += _subject_block(result, subject_ref)
        lines.append("")
    if result.verdicts:
        lines += _verdict_block(result)
        lines.append("")
    actions = action_findings(result)
    if actions:
        lines += _action_block(result, actions, rules)
        lines.append("")
    accepted = [f for f in result.findings if f.accepted is not None]
    if accepted:
        lines += _accepted_block(accepted)
        lines.append("")
    if result.findings:
        lines.append(_findings_line(result))
        lines.append("")
    if result.issues:
        lines.append(f"Issues ({len(result.issues)}): the scan went on without these")
        lines += [
            f"  [{issue.severity}] {plain(issue.location)}: {plain(issue.problem)}"
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
    heading = "Project" if subject.kind is ComponentKind.APPLICATION else "Model  "
    lines = [f"{heading}   {component_label(subject)}  ({subject.kind})"]
    lines.append(f"Origin    {origin_label(subject.origin)}")
    lines += [f"  hint: {_hint(hint)}" for hint in subject.origin_hints]
    if subject.licenses:
        lines.append(f"License   {plain(', '.join(subject.licenses))}")
    card = subject.model_card
    if card and (card.architecture or card.task):
        parts = [p for p in (card.architecture, card.architecture_family, card.task) if p]
        lines.append(f"Arch      {plain(' · '.join(parts))}")
    lineage = [r for r in relations if r.kind in WEIGHTS_RELATIONS]
    lines.append("Lineage" if lineage else "Lineage   none declared")
    lines += _lineage_tree(result, ref, by_ref, depth=1, seen={ref})
    tokenizer_sources = [
        (by_ref[r.dst], detection_confidence(r.evidence))
        for tok in relations
        if by_ref[tok.dst].kind is ComponentKind.TOKENIZER
        for r in result.relations_from(tok.dst)
        if r.kind is RelationKind.TOKENIZER_FROM
    ]
    lines += [
        f"Tokenizer from {component_label(source)} — {origin_label(source.origin)}"
        + (f"  [detected: vocabulary fingerprint, {found} confidence]" if found else "")
        for source, found in tokenizer_sources
    ]
    code = [by_ref[r.dst] for r in relations if by_ref[r.dst].kind is ComponentKind.CODE]
    if code:
        lines.append(f"Code      {len(code)} module(s) run with trust_remote_code:")
        lines += [
            f"  - {component_label(c)}"
            + ("  (from another repo)" if c.purl else "")
            + f" — {origin_label(c.origin)}"
            for c in code[:MAX_CODE_SHOWN]
        ]
        lines += _more(len(code), MAX_CODE_SHOWN)
    datasets = [by_ref[r.dst] for r in relations if r.kind is RelationKind.TRAINED_ON]
    if datasets:
        lines.append(f"Datasets  {len(datasets)}:")
        lines += [
            f"  - {component_label(d)} — {origin_label(d.origin)}"
            for d in datasets[:MAX_DATASETS_SHOWN]
        ]
        lines += _more(len(datasets), MAX_DATASETS_SHOWN)
    lines += _python_lines(result, ref, by_ref)
    lines += _digest_lines(subject)
    files = [by_ref[r.dst] for r in relations if r.kind is RelationKind.CONTAINS]
    total = sum(f.size or 0 for f in files)
    pointers = sum(1 for f in files if (PropertyName.FILE_LFS_POINTER, "true") in f.properties)
    detail = f" ({pointers} LFS pointer(s))" if pointers else ""
    lines.append(f"Files     {len(files)}, {human_size(total)}{detail}")
    lines += _on_load_lines(result, files)
    return lines


def _digest_lines(subject: Component) -> list[str]:
    """``Digest    sha256:… (sovscan-manifest-v1 over 9 files)``, or why there is none."""
    properties = dict(subject.properties)
    digest = next((h.value for h in subject.hashes if h.alg == "SHA-256"), None)
    if digest is not None and PropertyName.MODEL_DIGEST in properties:
        return [f"Digest    sha256:{digest} ({plain(properties[PropertyName.MODEL_DIGEST])})"]
    if PropertyName.MODEL_DIGEST_UNAVAILABLE in properties:
        return [f"Digest    none: {plain(properties[PropertyName.MODEL_DIGEST_UNAVAILABLE])}"]
    return []


def _on_load_lines(result: ScanResult, files: list[Component]) -> list[str]:
    """``Security  2 file(s) run code on load: pytorch_model.bin (posix.system), …``, then the
    files that could not be analysed (they are unknown, not known to run code)."""
    executable = [
        f for f in files if (PropertyName.SECURITY_EXECUTABLE_ON_LOAD, "true") in f.properties
    ]
    failed = analysis_failed(result)
    risky = [f for f in executable if f.ref not in failed]
    unknown = [f for f in executable if f.ref in failed]
    lines = []
    if risky:
        lines.append(f"Security  {len(risky)} file(s) run code when loaded (never loaded here):")
        for file in risky[:MAX_CODE_SHOWN]:
            imports = [
                value for name, value in file.properties if name == PropertyName.SECURITY_IMPORT
            ][:3]
            what = f" ({plain(', '.join(imports))})" if imports else ""
            lines.append(f"  - {plain(file.path or file.name)}{what}")
        lines += _more(len(risky), MAX_CODE_SHOWN)
    if unknown:
        lines.append(f"Security  {len(unknown)} file(s) could not be analysed (never loaded here):")
        lines += [f"  - {plain(f.path or f.name)}" for f in unknown[:MAX_CODE_SHOWN]]
        lines += _more(len(unknown), MAX_CODE_SHOWN)
    return lines


def dangerous_code_lines(result: ScanResult) -> list[str]:
    """The headline for files whose loading runs dangerous code (SEC100, not accepted)."""
    dangerous = [
        f for f in result.findings if f.rule_id == DANGEROUS_CODE_RULE and f.accepted is None
    ]
    if not dangerous:
        return []
    lines = [
        f"DANGEROUS  {len(dangerous)} file(s) run dangerous code when loaded; every tier FAILs:"
    ]
    lines += [f"  - {plain(finding.message)}" for finding in dangerous[:MAX_CODE_SHOWN]]
    lines += _more(len(dangerous), MAX_CODE_SHOWN)
    return lines


def _action_block(
    result: ScanResult, actions: list[Finding], rules: Mapping[str, RuleDescription]
) -> list[str]:
    """Every finding that decides a verdict, once, with its tiers and what to do."""
    lines = [f"To do     {len(actions)} finding(s) decide the verdicts (each listed once):"]
    for finding in actions[:MAX_ACTIONS_SHOWN]:
        rule = rules.get(finding.rule_id)
        name = f" {rule.name}" if rule is not None else ""
        lines.append(
            f"  [{tiers_label(result, finding)}] {finding.rule_id}{name}: {plain(finding.message)}"
        )
        if finding.remediation:
            lines.append(f"      → {plain(finding.remediation)}")
    if len(actions) > MAX_ACTIONS_SHOWN:
        lines.append(
            f"  … and {len(actions) - MAX_ACTIONS_SHOWN} more (-o report.md or x.sarif lists them)"
        )
    return lines


def _accepted_block(accepted: list[Finding]) -> list[str]:
    lines = [f"Accepted  {len(accepted)} finding(s) accepted by --accept (reported, not counted):"]
    for finding in accepted[:MAX_ACTIONS_SHOWN]:
        waiver = finding.accepted
        assert waiver is not None  # noqa: S101  (filtered by the caller)
        lines.append(
            f"  - {finding.rule_id} {plain(finding.message)} — {plain(waiver.reason)} "
            f"({plain(waiver.accepted_by)}, until {waiver.expires}; {plain(waiver.source)} "
            f"entry {waiver.entry})"
        )
    lines += _more(len(accepted), MAX_ACTIONS_SHOWN)
    return lines


def _python_lines(result: ScanResult, ref: str, by_ref: dict[str, Component]) -> list[str]:
    """``Python    N packages (D direct): US 12, no single country 30, …`` per subject."""
    needed = {
        r.dst
        for r in result.relations_from(ref)
        if r.kind is RelationKind.DEPENDS_ON and by_ref[r.dst].kind is ComponentKind.LIBRARY
    }
    if not needed:
        return []
    needs: dict[str, list[str]] = {}
    for rel in result.relations:
        if by_ref[rel.dst].kind is ComponentKind.LIBRARY:
            needs.setdefault(rel.src, []).append(rel.dst)
    seen = set(needed)
    pending = list(needed)
    while pending:
        for dst in needs.get(pending.pop(), ()):
            if dst not in seen:
                seen.add(dst)
                pending.append(dst)
    where = Counter(_country_label(by_ref[r].origin) for r in seen)
    tally = ", ".join(f"{label} {count}" for label, count in where.most_common())
    asked = sum(1 for r in seen if (PropertyName.PYTHON_DIRECT, "true") in by_ref[r].properties)
    return [f"Python    {len(seen)} package(s) ({asked} direct): {tally}"]


def _country_label(origin: Origin | None) -> str:
    if origin is not None and origin.country:
        return origin.country
    if origin is not None and origin.steward is StewardKind.COMMUNITY:
        return "no single country"
    return "unknown"


def _more(count: int, shown: int) -> list[str]:
    return [f"  … and {count - shown} more (see the BOM)"] if count > shown else []


def _hint(hint: Origin) -> str:
    seen = f" {hint.evidence[0].value}" if hint.evidence else ""
    return plain(f"{hint.basis}{seen} → {origin_label(hint)}")


def _lineage_tree(
    result: ScanResult, ref: str, by_ref: dict[str, Component], depth: int, seen: set[str]
) -> list[str]:
    lines = []
    for rel in result.relations_from(ref):
        if rel.kind not in WEIGHTS_RELATIONS:
            continue
        base = by_ref[rel.dst]
        sources = plain(", ".join(sorted({e.location for e in rel.evidence})))
        unresolved = "  (unresolved)" if base.unresolved else ""
        where = f"  [{sources}]" if sources else ""
        found = detection_confidence(rel.evidence)
        if found is not None:
            signals = detected_signals(rel.evidence)
            where = f"  [detected: {signals} fingerprint, {found} confidence; {sources}]"
        lines.append(
            f"{'  ' * depth}└─ {rel.kind}: {component_label(base)}{unresolved}"
            f" — {origin_label(base.origin)}{where}"
        )
        if rel.dst not in seen:
            lines += _lineage_tree(result, rel.dst, by_ref, depth + 1, seen | {rel.dst})
    return lines


def _verdict_block(result: ScanResult) -> list[str]:
    scope = f" for {plain(result.jurisdiction)}" if result.jurisdiction else ""
    lines = [f"Verdicts{scope}"]
    for verdict in result.verdicts:
        chosen = " (chosen)" if verdict.tier == result.policy else ""
        first = (
            plain(verdict.reasons[0]).removeprefix(f"{verdict.verdict}: ")
            if verdict.reasons
            else ""
        )
        reason = f" — {first}" if first else ""
        more = f" (+{len(verdict.reasons) - 1} more)" if len(verdict.reasons) > 1 else ""
        lines.append(f"  {plain(verdict.tier)}{chosen}: {verdict.verdict}{reason}{more}")
        if verdict.basis:
            lines.append(f"    against {plain(verdict.basis)}")
    return lines


def _findings_line(result: ScanResult) -> str:
    per_tier: Counter[str] = Counter()
    for finding in result.findings:
        untiered = "lineage" if finding.rule_id.startswith("LIN") else "file analysis"
        per_tier.update(finding.tiers or (untiered,))
    counts = ", ".join(f"{plain(tier)} {count}" for tier, count in per_tier.items())
    return f"Findings  {len(result.findings)} ({counts}); -o report.md or x.sarif lists them"


def finding_component(finding: Finding, by_ref: Mapping[str, Component]) -> str:
    """The label of the component a finding is about (its ref when the scan lacks it)."""
    component = by_ref.get(finding.component_ref)
    return component_label(component) if component is not None else plain(finding.component_ref)


def run_facts(result: ScanResult, strong: Callable[[str], str]) -> list[str]:
    """The run's facts for a report's heading: the tool, the jurisdiction and the policy
    (``strong`` marks a value up and escapes it for the report's language)."""
    facts = [f"sovscan {scanner.__version__}"]
    if result.jurisdiction:
        facts.append(f"jurisdiction {strong(result.jurisdiction)}")
    if result.policy:
        facts.append(f"policy {strong(result.policy)} (decides the exit code)")
    else:
        facts.append("no policy chosen: report only")
    return facts
