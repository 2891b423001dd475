"""Licence classes: the data table, spellings, expressions, classifiers and caps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.policy.licenses import (
    MAX_LICENSE_CHARS,
    LicenseClass,
    _table,
    classify_licenses,
    explain_license,
)

OPEN, RESTRICTIVE, UNKNOWN = LicenseClass.OPEN, LicenseClass.RESTRICTIVE, LicenseClass.UNKNOWN


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        ("apache-2.0", OPEN),
        ("Apache-2.0", OPEN),
        ("mit", OPEN),
        ("MIT License", OPEN),
        ("BSD-3-Clause", OPEN),
        ("bsd-2-clause", OPEN),
        ("mpl-2.0", OPEN),
        ("LGPL-2.1-or-later", OPEN),
        ("GPL-3.0-only", OPEN),
        ("GPLv3+", OPEN),
        ("isc", OPEN),
        ("Apache Software License", OPEN),
        ("cc-by-4.0", OPEN),
        ("cc-by-sa-4.0", OPEN),
        ("cc0-1.0", OPEN),
        ("odc-by", OPEN),
        ("bigscience-openrail-m", RESTRICTIVE),
        ("creativeml-openrail-m", RESTRICTIVE),
        ("openrail", RESTRICTIVE),
        ("openrail++", RESTRICTIVE),
        ("cc-by-nc-4.0", RESTRICTIVE),
        ("cc-by-nc-sa-4.0", RESTRICTIVE),
        ("cc-by-nd-4.0", RESTRICTIVE),
        ("llama2", RESTRICTIVE),
        ("llama3", RESTRICTIVE),
        ("llama3.1", RESTRICTIVE),
        ("llama4", RESTRICTIVE),
        ("gemma", RESTRICTIVE),
        ("qwen-research", RESTRICTIVE),
        ("tongyi-qianwen", RESTRICTIVE),
        ("deepseek", RESTRICTIVE),
        ("other", RESTRICTIVE),
        ("NVIDIA Proprietary Software", RESTRICTIVE),
        ("LicenseRef-Proprietary", RESTRICTIVE),
        ("unknown", UNKNOWN),
        ("cc", UNKNOWN),
        ("exaone-but-misspelt", UNKNOWN),
        ("", UNKNOWN),
        (None, UNKNOWN),
    ],
)
def test_classes(license: str | None, expected: LicenseClass) -> None:
    assert explain_license(license).license_class is expected


def test_reasons_come_from_the_table() -> None:
    other = explain_license("other")
    assert other.reason.startswith("licence 'other' with no recognised name")
    assert other.license == "other"
    assert "use-based restrictions" in explain_license("creativeml-openrail-m").reason
    assert explain_license(None).reason == "no licence declared"
    assert explain_license("whatever").reason == "not a licence sovscan recognises"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MIT OR Apache-2.0", OPEN),
        ("MIT OR llama3", OPEN),  # the licensee may choose MIT
        ("llama3 OR whatever", UNKNOWN),
        ("MIT AND llama3", RESTRICTIVE),
        ("MIT AND whatever", UNKNOWN),
        ("(MIT OR gemma) AND cc-by-nc-4.0", RESTRICTIVE),
        ("gemma OR (MIT AND Apache-2.0)", OPEN),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", OPEN),
        ("Apache Software License OR MIT License", OPEN),
        ("MIT OR", UNKNOWN),
        ("(MIT", UNKNOWN),
        ("MIT)", UNKNOWN),
        ("AND", UNKNOWN),
    ],
)
def test_expressions(expression: str, expected: LicenseClass) -> None:
    assert explain_license(expression).license_class is expected


@pytest.mark.parametrize(
    ("classifier", "expected"),
    [
        ("License :: OSI Approved :: MIT License", OPEN),
        ("License :: OSI Approved :: Some New License", OPEN),
        ("License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)", OPEN),
        ("License :: Other/Proprietary License", RESTRICTIVE),
        ("License :: Public Domain", OPEN),
        ("License :: Freely Distributable", UNKNOWN),
    ],
)
def test_trove_classifiers(classifier: str, expected: LicenseClass) -> None:
    assert explain_license(classifier).license_class is expected


def test_caps() -> None:
    assert explain_license("mit " * (MAX_LICENSE_CHARS // 3)).license_class is UNKNOWN
    assert "64 tokens" in explain_license(" OR ".join(["MIT"] * 40)).reason
    nested = "(" * 20 + "MIT" + ")" * 20
    assert explain_license(nested).license_class is UNKNOWN
    assert explain_license("(" * 3 + "MIT" + ")" * 3).license_class is OPEN


def test_several_licenses_combine_worst_first() -> None:
    assert classify_licenses(()).license_class is UNKNOWN
    assert classify_licenses(("mit", "apache-2.0")).license_class is OPEN
    worst = classify_licenses(("apache-2.0", "llama3", "unknown"))
    assert (worst.license_class, worst.license) == (RESTRICTIVE, "llama3")
    assert classify_licenses(("mit", "whatever")).license_class is UNKNOWN


def test_table_is_well_formed() -> None:
    table = _table()
    assert len(table) > 100
    assert all(entry.reason for entry in table.values())
    assert all(key == key.lower().strip() for key in table)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_fuzz_never_raises(text: str) -> None:
    assert isinstance(explain_license(text).license_class, LicenseClass)
