"""The exporters, in one table: ``--format`` names, file suffixes and renderers.

A new output format is one module with a ``Renderer`` (``scanner.sbom.rendering``) and one row
here. Renderers are named, not imported: the CLI builds ``--format`` from this table without
loading any exporter (or cyclonedx-python-lib) until a document is rendered.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO, cast

from scanner.core.errors import UsageError

if TYPE_CHECKING:
    from scanner.core.model import ScanResult
    from scanner.sbom.rendering import Renderer, RenderOptions, Writer


@dataclass(frozen=True, slots=True, kw_only=True)
class Exporter:
    """One output format."""

    name: str
    """The ``--format`` value."""
    suffixes: tuple[str, ...]
    """File-name endings that choose this format by themselves (lower-case; longest wins)."""
    renderer: str
    """``module:function`` of its ``Renderer``, imported on first use."""
    summary: str
    """What it is, for ``--help``."""
    writer: str | None = None
    """``module:function`` of a ``Writer`` that streams the same text (large documents)."""

    def render(self, result: ScanResult, options: RenderOptions) -> str:
        """The document text (CycloneDX is schema-validated before it is returned)."""
        module, _, function = self.renderer.partition(":")
        renderer = cast("Renderer", getattr(importlib.import_module(module), function))
        return renderer(result, options)

    def write(self, result: ScanResult, options: RenderOptions, out: TextIO) -> None:
        """Write the text of ``render`` to ``out``, streamed when the format has a writer
        (validation comes first: a document that fails is not written at all)."""
        if self.writer is None:
            out.write(self.render(result, options))
            return
        module, _, function = self.writer.partition(":")
        writer = cast("Writer", getattr(importlib.import_module(module), function))
        writer(result, options, out)


EXPORTERS: Final[tuple[Exporter, ...]] = (
    Exporter(
        name="cyclonedx-json",
        suffixes=(".cdx.json", ".bom.json"),
        renderer="scanner.sbom.cyclonedx:render_cyclonedx_json",
        summary="CycloneDX ML-BOM, JSON",
        writer="scanner.sbom.cyclonedx:write_cyclonedx_json",
    ),
    Exporter(
        name="cyclonedx-xml",
        suffixes=(".cdx.xml", ".bom.xml"),
        renderer="scanner.sbom.cyclonedx:render_cyclonedx_xml",
        summary="CycloneDX ML-BOM, XML",
        writer="scanner.sbom.cyclonedx:write_cyclonedx_xml",
    ),
    Exporter(
        name="sarif",
        suffixes=(".sarif", ".sarif.json"),
        renderer="scanner.sbom.sarif:render_sarif",
        summary="SARIF 2.1.0 findings (GitHub code scanning)",
    ),
    Exporter(
        name="spdx3-json",
        suffixes=(".spdx3.json",),
        renderer="scanner.sbom.spdx3:render_spdx3",
        summary="SPDX 3.0.1 JSON-LD (AI, Dataset and Software profiles)",
    ),
    Exporter(
        name="markdown",
        suffixes=(".md",),
        renderer="scanner.sbom.markdown:render_markdown",
        summary="Markdown report",
    ),
    Exporter(
        name="html",
        suffixes=(".html", ".htm"),
        renderer="scanner.sbom.html_report:render_html",
        summary="self-contained HTML report with the lineage graph",
    ),
    Exporter(
        name="summary",
        suffixes=(".txt",),
        renderer="scanner.sbom.summary:render_summary",
        summary="plain-text summary (the terminal's default)",
    ),
)

_BY_NAME: Final = {exporter.name: exporter for exporter in EXPORTERS}
#: The ``--format`` choices.
FORMAT_NAMES: Final = tuple(_BY_NAME)
#: Written to standard output when neither ``-o`` nor ``--format`` names a format.
STDOUT_DEFAULT: Final = _BY_NAME["summary"]
#: A file whose name no suffix claims: XML if it ends in ``.xml``, else CycloneDX JSON.
FILE_DEFAULT: Final = _BY_NAME["cyclonedx-json"]
_XML_DEFAULT: Final = _BY_NAME["cyclonedx-xml"]

#: Formats named in the output contract that this version cannot write yet.
PLANNED_SUFFIXES: Final = {".spdx.json": "SPDX"}


def exporter_named(name: str) -> Exporter:
    """The exporter of a ``--format`` value.

    Raises:
        UsageError: no exporter has that name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UsageError(
            f"unknown format {name!r}; choose from {', '.join(FORMAT_NAMES)}"
        ) from None


def exporter_for_path(path: str, fallback: Exporter | None) -> Exporter:
    """The format a ``-o`` file asks for: by suffix, else ``--format``, else CycloneDX."""
    name = Path(path).name.lower()
    for suffix, label in PLANNED_SUFFIXES.items():
        if name.endswith(suffix) and fallback is None:
            raise UsageError(f"{path}: {label} output is not available in this version yet")
    claims = sorted(
        ((suffix, exporter) for exporter in EXPORTERS for suffix in exporter.suffixes),
        key=lambda item: -len(item[0]),
    )
    for suffix, exporter in claims:
        if name.endswith(suffix):
            return exporter
    if fallback is not None:
        return fallback
    return _XML_DEFAULT if name.endswith(".xml") else FILE_DEFAULT
