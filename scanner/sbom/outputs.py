"""Output formats: which one a file name asks for, and rendering a ScanResult in it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from pathlib import Path

from scanner.core.errors import UsageError
from scanner.core.model import ScanResult
from scanner.sbom.cyclonedx import BomOptions, render_cyclonedx
from scanner.sbom.markdown import render_markdown
from scanner.sbom.sarif import NO_RULES, RuleDescription, render_sarif
from scanner.sbom.summary import render_summary


class OutputFormat(StrEnum):
    """The ``--format`` choices."""

    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    SUMMARY = "summary"


#: File suffixes that choose a format by themselves (longest match wins).
SUFFIX_FORMATS: dict[str, OutputFormat] = {
    ".cdx.json": OutputFormat.CYCLONEDX_JSON,
    ".cdx.xml": OutputFormat.CYCLONEDX_XML,
    ".bom.json": OutputFormat.CYCLONEDX_JSON,
    ".bom.xml": OutputFormat.CYCLONEDX_XML,
    ".sarif": OutputFormat.SARIF,
    ".sarif.json": OutputFormat.SARIF,
    ".md": OutputFormat.MARKDOWN,
    ".txt": OutputFormat.SUMMARY,
}

#: Formats named in the output contract that this version cannot write yet.
PLANNED_SUFFIXES = {".spdx.json": "SPDX"}


def format_for_path(path: str, fallback: OutputFormat | None) -> OutputFormat:
    """The format a ``-o`` file asks for: by suffix, else ``--format``, else CycloneDX JSON."""
    name = Path(path).name.lower()
    for suffix, label in PLANNED_SUFFIXES.items():
        if name.endswith(suffix) and fallback is None:
            raise UsageError(f"{path}: {label} output is not available in this version yet")
    for suffix, fmt in sorted(SUFFIX_FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(suffix):
            return fmt
    if fallback is not None:
        return fallback
    if name.endswith(".xml"):
        return OutputFormat.CYCLONEDX_XML
    return OutputFormat.CYCLONEDX_JSON


def render(
    result: ScanResult,
    fmt: OutputFormat,
    options: BomOptions,
    rules: Mapping[str, RuleDescription] = NO_RULES,
    *,
    tier_rules: Mapping[str, Collection[str]] | None = None,
) -> str:
    """The document text; CycloneDX is schema-validated before it is returned.

    ``rules`` is the policy's rule table (``scanner.policy.rules.RULES``): it describes the
    findings' rules in SARIF, Markdown and the CycloneDX standards; ``tier_rules`` names the rules
    each tier applies, for the CycloneDX standards (see ``scanner.sbom.declarations``).
    """
    if fmt is OutputFormat.CYCLONEDX_JSON:
        return render_cyclonedx(result, "json", options, rules, tier_rules=tier_rules)
    if fmt is OutputFormat.CYCLONEDX_XML:
        return render_cyclonedx(result, "xml", options, rules, tier_rules=tier_rules)
    if fmt is OutputFormat.SARIF:
        return render_sarif(result, rules)
    if fmt is OutputFormat.MARKDOWN:
        return render_markdown(result, rules)
    return render_summary(result, rules)
