"""The HTML report (``-o report.html``): one self-contained page to read on a laptop.

The verdicts, each scanned model's lineage drawn as inline SVG (``lineage_svg``) with its
origins, the findings that decide a verdict with what to do, and what evidence is missing. No
script, no external reference: a Content-Security-Policy allows inline styles only, so the page
loads nothing and runs nothing, and every text taken from a scan is escaped. Deterministic
for a given result; long lists are cut with a count (the BOM and SARIF carry everything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from scanner.core.model import Component, Finding, ScanResult, Verdict
from scanner.sbom.finding_order import DANGEROUS_CODE_RULE, action_findings, tiers_label
from scanner.sbom.lineage_graph import STANDING_STYLES, Standing, lineage_graph
from scanner.sbom.lineage_svg import lineage_svg
from scanner.sbom.rendering import PLAIN, RenderOptions, RuleDescription, describe_rule
from scanner.sbom.summary import component_label, finding_component, origin_label, plain, run_facts

#: Rows shown per table.
MAX_ROWS = 300

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#212529;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}.facts{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px}
th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5}td{overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.PASS{background:#d4edda;color:#0b2e13}.FAIL{background:#f8d7da;color:#491217}
.UNKNOWN{background:#fff3cd;color:#533f03}.NOT-APPLICABLE{background:#eee;color:#333}
.graph{overflow-x:auto;background:#fff;border:1px solid #ddd;padding:8px}
svg.lineage text{font-size:12px}svg.lineage text.origin{font-size:11px}
svg.lineage text.edge-label{font-size:11px;fill:#444}
.legend span{display:inline-block;margin-right:14px}.swatch{display:inline-block;width:12px;
height:12px;border:1px solid #888;vertical-align:middle;margin-right:4px}
.alert{background:#f8d7da;border:1px solid #b21f2d;padding:10px 14px;border-radius:6px}
.more{color:#666;font-style:italic}
"""

_LEGEND_TEXT = {
    Standing.DOMESTIC: "from the jurisdiction",
    Standing.FOREIGN: "foreign",
    Standing.COMMUNITY: "community project (no single country)",
    Standing.UNKNOWN: "origin unknown",
}


def render_html(result: ScanResult, options: RenderOptions = PLAIN) -> str:
    """The report's HTML text (deterministic for a given result)."""
    by_ref = {component.ref: component for component in result.components}
    names = ", ".join(component_label(by_ref[r]) for r in result.subjects if r in by_ref)
    body = [
        f"<h1>sovscan report: {escape(names or 'nothing scanned')}</h1>",
        f'<p class="facts">{_facts(result)}</p>',
        *_dangerous(result),
        *_verdicts(result),
        *(part for ref in result.subjects for part in _model(result, ref, by_ref)),
        *_findings(result, options.rules, by_ref),
        *_missing(result),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>sovscan report: {escape(names or 'nothing scanned')}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _facts(result: ScanResult) -> str:
    return " · ".join(escape(f) if i == 0 else f for i, f in enumerate(run_facts(result, _bold)))


def _bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def _dangerous(result: ScanResult) -> list[str]:
    found = [f for f in result.findings if f.rule_id == DANGEROUS_CODE_RULE and f.accepted is None]
    if not found:
        return []
    items = "".join(f"<li>{escape(plain(f.message))}</li>" for f in found[:MAX_ROWS])
    return [
        f'<div class="alert"><b>Dangerous code: {len(found)} file(s) run dangerous code when '
        f"loaded; every tier FAILs.</b> Nothing was loaded to find this.<ul>{items}</ul></div>"
    ]


def _badge(verdict: Verdict) -> str:
    return f'<span class="badge {escape(verdict.value)}">{escape(verdict.value)}</span>'


def _verdicts(result: ScanResult) -> list[str]:
    if not result.verdicts:
        return ["<h2>Verdicts</h2>", "<p>No policy tier was evaluated.</p>"]
    rows = [
        (
            escape(v.tier) + (" (chosen)" if v.tier == result.policy else ""),
            _badge(v.verdict),
            "<br>".join(escape(plain(reason)) for reason in v.reasons) or "none given",
        )
        for v in result.verdicts
    ]
    return ["<h2>Verdicts</h2>", _table(("Tier", "Verdict", "Reasons"), rows)]


def _model(result: ScanResult, ref: str, by_ref: Mapping[str, Component]) -> list[str]:
    subject = by_ref.get(ref)
    if subject is None:
        return []
    graph = lineage_graph(result, ref)
    parts = [f"<h2>{escape(component_label(subject))}</h2>", "<h3>Lineage</h3>"]
    if len(graph.nodes) > 1:
        legend = "".join(
            f'<span><span class="swatch" style="background:{fill};border-color:{stroke}">'
            f"</span>{escape(text)}</span>"
            for standing, text in _LEGEND_TEXT.items()
            for fill, stroke, _ in (STANDING_STYLES[standing],)
        )
        hidden = (
            f'<p class="more">{graph.hidden} more components, see the BOM.</p>'
            if graph.hidden
            else ""
        )
        parts += [
            f'<div class="graph">{lineage_svg(graph)}</div>',
            f'<p class="legend">{legend}<span>dashed border: named by a failing tier</span>'
            "<span>dotted arrow: found by fingerprint</span></p>",
            hidden,
        ]
    rows = [
        (escape(node.title), escape(node.origin), escape(node.standing.value))
        for node in graph.nodes
    ] or [(escape(component_label(subject)), escape(origin_label(subject.origin)), "")]
    parts.append(_table(("Component", "Origin", "Standing"), rows))
    return parts


def _findings(
    result: ScanResult, rules: Mapping[str, RuleDescription], by_ref: Mapping[str, Component]
) -> list[str]:
    deciding = action_findings(result)
    if not deciding:
        return ["<h2>Findings</h2>", "<p>No finding decides a verdict.</p>"]
    rows = [
        (
            escape(tiers_label(result, f)),
            _rule(f, rules),
            escape(finding_component(f, by_ref)),
            escape(plain(f.message)),
            escape(plain(f.remediation or "")) or "none given",
            escape(_evidence(f)),
        )
        for f in deciding
    ]
    header = ("Tiers", "Rule", "Component", "Finding", "What to do", "Evidence")
    return [f"<h2>Findings that decide a verdict ({len(deciding)})</h2>", _table(header, rows)]


def _rule(finding: Finding, rules: Mapping[str, RuleDescription]) -> str:
    rule = describe_rule(rules, finding.rule_id, finding.severity)
    return f"{escape(rule.id)} {escape(rule.name)}"


def _evidence(finding: Finding) -> str:
    seen = [
        f"{plain(e.location)}{f':{e.line}' if e.line else ''} ({plain(e.field)})"
        for e in finding.evidence[:3]
    ]
    return "; ".join(seen) or "-"


def _missing(result: ScanResult) -> list[str]:
    unknown = [v for v in result.verdicts if v.verdict is Verdict.UNKNOWN]
    issues = [f"{plain(i.location)}: {plain(i.problem)}" for i in result.issues]
    if not unknown and not issues:
        return []
    parts = ["<h2>Missing evidence</h2>"]
    for verdict in unknown:
        items = "".join(f"<li>{escape(plain(r))}</li>" for r in verdict.reasons)
        parts.append(f"<h3>{escape(verdict.tier)}: UNKNOWN</h3><ul>{items}</ul>")
    if issues:
        parts.append("<h3>Not read</h3>" + _list(issues))
    return parts


def _list(items: Sequence[str]) -> str:
    shown = "".join(f"<li>{escape(item)}</li>" for item in items[:MAX_ROWS])
    more = f'<li class="more">{len(items) - MAX_ROWS} more</li>' if len(items) > MAX_ROWS else ""
    return f"<ul>{shown}{more}</ul>"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of cells that are already HTML (escaped by the caller)."""
    listed = list(rows)
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in listed[:MAX_ROWS]
    )
    more = (
        f'<tr><td class="more" colspan="{len(header)}">{len(listed) - MAX_ROWS} more rows</td></tr>'
        if len(listed) > MAX_ROWS
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"
