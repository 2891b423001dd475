"""Output formats: which one a file name asks for, and rendering a ScanResult in it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from sbom.cyclonedx import BomOptions, render_cyclonedx
from scanner.errors import UsageError
from scanner.model import ScanResult


class OutputFormat(StrEnum):
    """The ``--format`` choices."""

    CYCLONEDX_JSON = "cyclonedx-json"
    CYCLONEDX_XML = "cyclonedx-xml"
    SUMMARY = "summary"


#: File suffixes that choose a format by themselves (longest match wins).
SUFFIX_FORMATS: dict[str, OutputFormat] = {
    ".cdx.json": OutputFormat.CYCLONEDX_JSON,
    ".cdx.xml": OutputFormat.CYCLONEDX_XML,
    ".bom.json": OutputFormat.CYCLONEDX_JSON,
    ".bom.xml": OutputFormat.CYCLONEDX_XML,
    ".txt": OutputFormat.SUMMARY,
}

#: Formats named in the output contract that this version cannot write yet.
PLANNED_SUFFIXES = {".spdx.json": "SPDX", ".sarif": "SARIF", ".md": "Markdown"}


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


def render(result: ScanResult, fmt: OutputFormat, options: BomOptions) -> str:
    """The document text; CycloneDX is schema-validated before it is returned."""
    if fmt is OutputFormat.CYCLONEDX_JSON:
        return render_cyclonedx(result, "json", options)
    if fmt is OutputFormat.CYCLONEDX_XML:
        return render_cyclonedx(result, "xml", options)
    from sbom.summary import render_summary

    return render_summary(result)
