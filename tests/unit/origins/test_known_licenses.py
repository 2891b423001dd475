"""Licences from the knowledge base for packages without metadata of their own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.core.model import Component, ComponentKind, Confidence, Evidence, ScanResult
from scanner.core.properties import PropertyName
from scanner.origins.knowledge import (
    EntryKind,
    KnowledgeBase,
    LicenseChange,
    OriginEntry,
    _InvalidDocument,
    _parse_document,
)
from scanner.origins.known_licenses import known_license, with_known_licenses


def entry(ident: str, **extra: object) -> OriginEntry:
    fields: dict[str, object] = {
        "id": ident,
        "kind": EntryKind.PYPI_PACKAGE,
        "organization": "Elastic N.V.",
        "country": "US",
        "source": "https://example.org/x",
        "confidence": Confidence.HIGH,
        "verified": "checked",
        "as_of": "2026-12",
    }
    fields.update(extra)
    return OriginEntry(**fields)  # type: ignore[arg-type]


#: A project that moved from Apache-2.0 to a source-available licence at 8.0, the other way
#: round at 9.0; and one whose licence never changed.
KB = KnowledgeBase(
    (
        entry(
            "search-engine",
            license="AGPL-3.0-only OR Elastic-2.0 OR SSPL-1.0",
            license_release="9.1.0",
            license_changes=(
                LicenseChange(versions="<8.0", license="Apache-2.0"),
                LicenseChange(versions=">=8.0,<9.0", license="Elastic-2.0 OR SSPL-1.0"),
            ),
        ),
        entry("plain-lib", license="MIT", license_release="2.0"),
        entry("nolicence-lib"),
        entry("family-*", license=None),
    )
)


def package(name: str, version: str | None = "1.0", **extra: object) -> Component:
    ref = f"pkg:pypi/{name}@{version}" if version else f"pkg:pypi/{name}"
    fields: dict[str, object] = {
        "ref": ref,
        "kind": ComponentKind.LIBRARY,
        "name": name,
        "version": version,
        "purl": ref,
    }
    fields.update(extra)
    return Component(**fields)  # type: ignore[arg-type]


def licensed(component: Component) -> Component:
    result = with_known_licenses(ScanResult(subjects=(), components=(component,)), KB)
    return result.components[0]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("7.17.3", "Apache-2.0"),
        ("8.0.0", "Elastic-2.0 OR SSPL-1.0"),
        ("8.19.1rc1", "Elastic-2.0 OR SSPL-1.0"),
        ("9.1.0", "AGPL-3.0-only OR Elastic-2.0 OR SSPL-1.0"),
        ("12.0", "AGPL-3.0-only OR Elastic-2.0 OR SSPL-1.0"),
        (None, None),  # unpinned: it may be either
        ("not a version", None),
    ],
)
def test_a_changed_licence_follows_the_version(version: str | None, expected: str | None) -> None:
    assert known_license(KB.entries[0], version) == expected
    got = licensed(package("search-engine", version))
    assert got.licenses == ((expected,) if expected else ())


def test_a_package_without_metadata_gets_the_entrys_licence_with_its_basis_and_date() -> None:
    got = licensed(package("Plain_Lib", "1.0"))  # any spelling PyPI accepts
    assert got.licenses == ("MIT",)
    assert (PropertyName.LICENSE_BASIS, "knowledge-base") in got.properties
    assert (PropertyName.LICENSE_AS_OF, "2026-12") in got.properties
    [evidence] = got.evidence
    assert (evidence.field, evidence.value) == ("license", "MIT")
    assert evidence.method == "knowledge-base (plain-lib: release 2.0, as of 2026-12)"
    assert licensed(package("plain-lib", None)).licenses == ("MIT",)  # no change recorded


@pytest.mark.parametrize("method", ["installed-metadata", "package-index"])
def test_metadata_of_the_release_wins_even_without_a_licence(method: str) -> None:
    seen = Evidence(location="METADATA", field="author", value="x", method=method)
    got = licensed(package("plain-lib", evidence=(seen,)))
    assert got.licenses == ()
    assert got.properties == ()


@pytest.mark.parametrize(
    "component",
    [
        package("plain-lib", licenses=("BSD-3-Clause",)),  # its own licence
        package("family-thing"),  # a family entry: a publisher, not a licence
        package("nolicence-lib"),  # an entry without a licence
        package("unknown-lib"),
        replace(package("plain-lib"), kind=ComponentKind.CODE),
        replace(package("plain-lib"), purl="pkg:npm/plain-lib@1.0"),
        # The same name from another index, a VCS or a URL may hold anything.
        replace(
            package("plain-lib"),
            purl="pkg:pypi/plain-lib@1.0?repository_url=https://pypi.internal.example/simple",
        ),
        replace(
            package("plain-lib"),
            purl="pkg:pypi/plain-lib?vcs_url=git%2Bhttps://github.com/someone/plain-lib",
        ),
        replace(
            package("plain-lib"),
            purl="pkg:pypi/plain-lib?download_url=https://example.org/plain_lib-9.whl",
        ),
    ],
)
def test_nothing_else_gets_a_licence(component: Component) -> None:
    assert licensed(component) == component


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "hf-namespace", "license": "MIT"}, "pypi-package entry of one package"),
        ({"id": "fam-*", "license": "MIT"}, "pypi-package entry of one package"),
        ({"license_changes": [{"versions": "<1", "license": "MIT"}]}, "needs the current"),
        ({"license": "MIT", "license_changes": [{"versions": "<1"}]}, "versions and license"),
        ({"license": "MIT", "license_changes": "<1: MIT"}, "must be a list"),
    ],
)
def test_a_malformed_licence_is_refused(fields: dict[str, object], problem: str) -> None:
    raw = {
        "id": "lib",
        "kind": "pypi-package",
        "organisation": "X",
        "confidence": "high",
        **fields,
    }
    with pytest.raises(_InvalidDocument, match=problem):
        _parse_document([raw], user=True, defined_in="mine.yaml")
