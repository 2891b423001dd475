"""The HTML report's text: self-contained, deterministic, and inert whatever the scan holds."""

from __future__ import annotations

from dataclasses import replace

from scanner.sbom.html_report import render_html
from tests.unit.sbom.assessed import INSTRUCT, assessed_result


def test_the_page_is_self_contained_and_deterministic() -> None:
    result = assessed_result()
    page = render_html(result)
    assert page == render_html(result)
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert '<svg class="lineage"' in page
    assert "Meta-Llama-3-8B-Instruct" in page


def test_scanned_text_is_escaped_everywhere() -> None:
    result = assessed_result()
    hostile = "</td><script>alert(1)</script><svg onload=alert(2)>"
    components = tuple(
        replace(c, name=hostile) if c.ref == INSTRUCT else c for c in result.components
    )
    findings = tuple(replace(f, message=hostile, remediation=hostile) for f in result.findings)
    page = render_html(replace(result, components=components, findings=findings))
    assert "<script" not in page
    assert "<svg onload" not in page
    assert "&lt;svg onload=alert(2)&gt;" in page  # shown, as text, where the finding is
    assert page.count("<svg") == 1  # the graph's own, no injected one
