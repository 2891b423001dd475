"""The exporter table: formats by suffix, --format names, and rendering through each row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scanner.core.errors import UsageError
from scanner.sbom.exporters import (
    EXPORTERS,
    FORMAT_NAMES,
    Exporter,
    exporter_for_path,
    exporter_named,
)
from scanner.sbom.rendering import RenderOptions
from tests.unit.sbom.assessed import RULES, assessed_result

FIXED = RenderOptions(timestamp=datetime(2024, 5, 1, tzinfo=UTC), rules=RULES)
BARE = RenderOptions(timestamp=datetime(2024, 5, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("out/x.sarif", exporter_named("sarif")),
        ("X.SARIF.JSON", exporter_named("sarif")),
        ("report.md", exporter_named("markdown")),
        ("bom.cdx.json", exporter_named("cyclonedx-json")),
        ("bom.cdx.xml", exporter_named("cyclonedx-xml")),
        ("bom.json", exporter_named("cyclonedx-json")),
        ("bom.xml", exporter_named("cyclonedx-xml")),
        ("summary.txt", exporter_named("summary")),
    ],
)
def test_suffixes_choose_the_format(path: str, expected: Exporter) -> None:
    assert exporter_for_path(path, None) is expected


def test_a_suffix_wins_over_format_and_format_names_the_rest() -> None:
    assert exporter_for_path("x.md", exporter_named("sarif")) is exporter_named("markdown")
    assert exporter_for_path("findings", exporter_named("sarif")) is exporter_named("sarif")


def test_spdx_is_still_planned() -> None:
    with pytest.raises(UsageError, match=r"x\.spdx\.json: SPDX output is not available"):
        exporter_for_path("x.spdx.json", None)
    assert exporter_for_path("x.spdx.json", exporter_named("sarif")) is exporter_named("sarif")


def test_render_passes_the_rules_to_every_format() -> None:
    result = assessed_result()
    sarif = json.loads(exporter_named("sarif").render(result, FIXED))
    names = {r["id"]: r["name"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert names["SOV001"] == "foreign-component"
    assert "NAT001 restrictive-foreign-licence" in exporter_named("markdown").render(result, FIXED)
    bom = json.loads(exporter_named("cyclonedx-json").render(result, FIXED))
    titles = [r.get("title") for s in bom["definitions"]["standards"] for r in s["requirements"]]
    assert "foreign-component" in titles
    tiered = RenderOptions(rules=RULES, tier_rules={"adversary": ["ADV001"]})
    xml = exporter_named("cyclonedx-xml").render(result, tiered)
    assert "requirement:adversary:ADV001" in xml
    assert exporter_named("summary").render(result, BARE).startswith("Model     ru-chat-lora")


def test_without_a_rule_table_rules_are_generic() -> None:
    sarif = json.loads(exporter_named("sarif").render(assessed_result(), BARE))
    names = {r["id"]: r["name"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert names["SOV001"] == "sov001"


@pytest.mark.parametrize("exporter", EXPORTERS, ids=FORMAT_NAMES)
def test_every_row_renders_and_is_chosen_by_its_name_and_suffixes(exporter: Exporter) -> None:
    assert exporter_named(exporter.name) is exporter
    for suffix in exporter.suffixes:
        assert exporter_for_path(f"out/report{suffix.upper()}", None) is exporter
    text = exporter.render(assessed_result(), FIXED)
    assert "ru-chat-lora" in text
    assert text == exporter.render(assessed_result(), FIXED)  # byte-stable


def test_every_suffix_belongs_to_one_row() -> None:
    suffixes = [suffix for exporter in EXPORTERS for suffix in exporter.suffixes]
    assert len(suffixes) == len(set(suffixes))


def test_unknown_format_name() -> None:
    with pytest.raises(UsageError, match=r"unknown format 'yaml'; choose from cyclonedx-json"):
        exporter_named("yaml")


@pytest.mark.parametrize("exporter", EXPORTERS, ids=lambda e: e.name)
def test_every_row_writes_what_it_renders(exporter: Exporter) -> None:
    import io

    options = RenderOptions(rules=RULES)
    out = io.StringIO()
    exporter.write(assessed_result(), options, out)
    assert out.getvalue() == exporter.render(assessed_result(), options)
