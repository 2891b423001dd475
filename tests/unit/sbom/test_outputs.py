"""Output formats by suffix and dispatch to the renderers, with the rule table passed along."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scanner.core.errors import UsageError
from scanner.sbom.cyclonedx import BomOptions
from scanner.sbom.outputs import OutputFormat, format_for_path, render
from tests.unit.sbom.assessed import RULES, assessed_result

FIXED = BomOptions(timestamp=datetime(2024, 5, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("out/x.sarif", OutputFormat.SARIF),
        ("X.SARIF.JSON", OutputFormat.SARIF),
        ("report.md", OutputFormat.MARKDOWN),
        ("bom.cdx.json", OutputFormat.CYCLONEDX_JSON),
        ("bom.cdx.xml", OutputFormat.CYCLONEDX_XML),
        ("bom.json", OutputFormat.CYCLONEDX_JSON),
        ("bom.xml", OutputFormat.CYCLONEDX_XML),
        ("summary.txt", OutputFormat.SUMMARY),
    ],
)
def test_suffixes_choose_the_format(path: str, expected: OutputFormat) -> None:
    assert format_for_path(path, None) is expected


def test_a_suffix_wins_over_format_and_format_names_the_rest() -> None:
    assert format_for_path("x.md", OutputFormat.SARIF) is OutputFormat.MARKDOWN
    assert format_for_path("findings", OutputFormat.SARIF) is OutputFormat.SARIF


def test_spdx_is_still_planned() -> None:
    with pytest.raises(UsageError, match=r"x\.spdx\.json: SPDX output is not available"):
        format_for_path("x.spdx.json", None)
    assert format_for_path("x.spdx.json", OutputFormat.SARIF) is OutputFormat.SARIF


def test_render_passes_the_rules_to_every_format() -> None:
    result = assessed_result()
    sarif = json.loads(render(result, OutputFormat.SARIF, FIXED, RULES))
    names = {r["id"]: r["name"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert names["SOV001"] == "foreign-component"
    assert "NAT001 restrictive-foreign-licence" in render(
        result, OutputFormat.MARKDOWN, FIXED, RULES
    )
    bom = json.loads(render(result, OutputFormat.CYCLONEDX_JSON, FIXED, RULES))
    titles = [r.get("title") for s in bom["definitions"]["standards"] for r in s["requirements"]]
    assert "foreign-component" in titles
    xml = render(
        result, OutputFormat.CYCLONEDX_XML, FIXED, RULES, tier_rules={"adversary": ["ADV001"]}
    )
    assert "requirement:adversary:ADV001" in xml
    assert render(result, OutputFormat.SUMMARY, FIXED).startswith("Model     ru-chat-lora")


def test_without_a_rule_table_rules_are_generic() -> None:
    sarif = json.loads(render(assessed_result(), OutputFormat.SARIF, FIXED))
    names = {r["id"]: r["name"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert names["SOV001"] == "sov001"
