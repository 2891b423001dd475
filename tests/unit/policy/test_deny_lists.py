"""The shipped deny lists: sourced, well-formed, and never denying their own jurisdiction."""

from __future__ import annotations

import pytest

from scanner.core.errors import UsageError
from scanner.policy.deny_lists import DenyList, default_deny_list, parse_deny_lists

EU = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
}


def test_the_us_list_is_the_foreign_adversaries_of_15_cfr_791_4() -> None:
    us = default_deny_list("us")
    assert us is not None
    assert us.id == "us-15-cfr-791.4"
    assert set(us.countries) == {"CN", "CU", "HK", "IR", "KP", "MO", "RU", "VE"}
    assert us.source is not None
    assert us.source.startswith("https://www.ecfr.gov/")
    assert [doc.id for doc in us.documents] == ["86 FR 4909", "89 FR 58263", "89 FR 96872"]
    assert all(
        doc.url and doc.url.startswith("https://www.federalregister.gov/") for doc in us.documents
    )
    assert us.checked == "2026-12"


def test_the_ru_list_is_order_430_r_with_its_amendments() -> None:
    ru = default_deny_list("RU")
    assert ru is not None
    assert ru.id == "ru-order-430-r"
    codes = set(ru.countries)
    assert {"US", "GB", "JP", "KR", "UA", "CH", "TW", "SG", "AU", "CA", "NO"} <= codes
    assert codes >= EU
    assert {"BS", "GG", "IM"} <= codes  # added in July 2022
    assert {"BM", "KY", "GI", "VG", "FK"} <= codes  # British territories
    assert not codes & {"RU", "CN", "IN", "BY", "KZ"}
    assert len(ru.countries) == 64
    assert [doc.date for doc in ru.documents] == ["2022-03-05", "2022-07-24", "2022-10-30"]
    assert "publication.pravo.gov.ru" in (ru.source or "")


def test_other_jurisdictions_have_no_default() -> None:
    assert default_deny_list("DE") is None
    assert default_deny_list("CN") is None


def test_every_list_is_sorted_sourced_and_described() -> None:
    for code in ("US", "RU"):
        found = default_deny_list(code)
        assert found is not None
        assert list(found.countries) == sorted(found.countries)
        assert found.jurisdiction == code
        assert found.notes
        assert found.describe().startswith(f"{found.id}: {found.title} (")
    given = DenyList(id="--deny", title="countries given with --deny", countries=("CN",))
    assert given.describe() == "--deny: countries given with --deny"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "expected a mapping with a 'lists' list"),
        ({"lists": [{"jurisdiction": "US", "countries": []}]}, "non-empty list"),
        ({"lists": [{"jurisdiction": "US", "countries": ["US"]}]}, "denies US itself"),
        ({"lists": [{"jurisdiction": "US", "countries": ["XX"]}]}, "not an ISO 3166-1"),
        (
            {"lists": [{"jurisdiction": "US", "countries": ["CN"], "title": "t", "source": "s"}]},
            "id is required",
        ),
    ],
)
def test_malformed_lists_are_refused(data: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_deny_lists(data, "deny_lists.yaml")
