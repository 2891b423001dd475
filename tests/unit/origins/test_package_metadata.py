"""Library origins from package metadata: organisational mail, project URLs, family entries."""

from __future__ import annotations

import pytest

from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    OriginBasis,
    ScanResult,
    StewardKind,
)
from scanner.origins.attribute import attribute
from scanner.origins.knowledge import KnowledgeBase, load_builtin
from scanner.origins.package_metadata import library_origin_from_metadata

METADATA = "site-packages/x-1.0.dist-info/METADATA"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_builtin()


def _library(name: str, *fields: tuple[str, str], method: str = "installed-metadata") -> Component:
    return Component(
        ref=f"pkg:pypi/{name}@1.0",
        kind=ComponentKind.LIBRARY,
        name=name,
        version="1.0",
        purl=f"pkg:pypi/{name}@1.0",
        evidence=tuple(
            Evidence(location=METADATA, field=field, value=value, method=method)
            for field, value in fields
        ),
    )


def test_organizational_author_mail_names_the_organization(kb: KnowledgeBase) -> None:
    component = _library("ru-tool", ("author_email", "Dev Team <ml@yandex-team.ru>"))
    origin, hints = library_origin_from_metadata(component, kb)
    assert origin is not None
    assert origin.country == "RU"
    assert origin.basis is OriginBasis.EMAIL_DOMAIN
    assert any(e.value == "ml@yandex-team.ru" and e.location == METADATA for e in origin.evidence)
    assert hints == ()


def test_consumer_mail_names_nobody_but_the_github_org_does(kb: KnowledgeBase) -> None:
    component = _library(
        "some-tool",
        ("author_email", "someone@gmail.com"),
        ("project_url:Source", "https://github.com/huggingface/some-tool"),
    )
    origin, _ = library_origin_from_metadata(component, kb)
    assert origin is not None
    assert origin.country == "US"
    assert origin.basis is OriginBasis.URL


def test_a_cctld_alone_is_only_a_hint(kb: KnowledgeBase) -> None:
    component = _library("tiny", ("maintainer_email", "dev@some-unknown-lab.ru"))
    origin, hints = library_origin_from_metadata(component, kb)
    assert origin is None
    assert [(h.country, h.steward) for h in hints] == [("RU", StewardKind.UNKNOWN)]


def test_attribution_prefers_the_curated_entry_over_metadata(kb: KnowledgeBase) -> None:
    torch = _library("torch", ("author_email", "someone@yandex-team.ru"))
    result = attribute(ScanResult(subjects=(), components=(torch,)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert origin.basis is OriginBasis.CURATED
    assert origin.country == "US"


def test_nvidia_family_entry_applies_when_nothing_better_is_known(kb: KnowledgeBase) -> None:
    wheel = _library("nvidia-cusparselt-cu13")
    result = attribute(ScanResult(subjects=(), components=(wheel,)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert (origin.organization, origin.country) == ("NVIDIA Corporation", "US")
    assert origin.note is not None
    assert "family 'nvidia-*' by its name only" in origin.note
    # Anyone may publish under the prefix: the family names a likely publisher, never proof.
    assert origin.confidence is Confidence.LOW


@pytest.mark.parametrize(
    ("name", "organization"),
    [
        ("google-cloud-made-up-service", "Google LLC"),
        ("azure-mgmt-made-up", "Microsoft Corporation"),
        ("opentelemetry-instrumentation-made-up", "OpenTelemetry (CNCF project)"),
        ("apache-airflow-providers-made-up", "Apache Software Foundation"),
        ("cuda-made-up", "NVIDIA Corporation"),
    ],
)
def test_publisher_families_name_a_bare_name_at_low_confidence(
    kb: KnowledgeBase, name: str, organization: str
) -> None:
    result = attribute(ScanResult(subjects=(), components=(_library(name),)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert origin.organization == organization
    assert origin.confidence is Confidence.LOW


def test_a_family_never_overrides_a_specific_entry(kb: KnowledgeBase) -> None:
    # google-cloud-storage has an entry of its own (high confidence, its release's metadata).
    result = attribute(ScanResult(subjects=(), components=(_library("google-cloud-storage"),)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert origin.confidence is not Confidence.LOW
    assert "family" not in (origin.note or "")


def test_a_family_name_whose_own_metadata_names_someone_else_is_unknown(
    kb: KnowledgeBase,
) -> None:
    """A squatter's package under a publisher's prefix: its metadata names a private address,
    so the prefix is no evidence at all."""
    squatted = _library(
        "azure-storage-helper-tools",
        ("author", "Someone"),
        ("author_email", "someone@example.net"),
        ("project_url:Source", "https://git.example.net/someone/azure-helper"),
    )
    result = attribute(ScanResult(subjects=(), components=(squatted,)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert origin.steward is StewardKind.UNKNOWN
    assert origin.country is None
    assert "matches the family 'azure-*', but its own metadata does not" in (origin.note or "")


def test_unknown_package_without_metadata_is_unknown_not_foreign(kb: KnowledgeBase) -> None:
    result = attribute(ScanResult(subjects=(), components=(_library("no-such-package-xyz"),)), kb)
    origin = result.components[0].origin
    assert origin is not None
    assert origin.country is None
    assert origin.steward is StewardKind.UNKNOWN


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        (  # cffi 2.1.1's own metadata: its source org has no entry, its mailing list is a group
            "cffi",
            (
                ("author", "Armin Rigo, Maciej Fijalkowski"),
                ("project_url:Source Code", "https://github.com/python-cffi/cffi"),
                ("project_url:Contact", "https://groups.google.com/forum/#!forum/python-cffi"),
            ),
        ),
        (  # ninja 1.13.2: a googlegroups.com list address and a group's URL
            "ninja",
            (
                ("author_email", "Jean-Christophe Fillion-Robin <scikit-build@googlegroups.com>"),
                (
                    "project_url:Mailing list",
                    "https://groups.google.com/forum/#!forum/scikit-build",
                ),
            ),
        ),
        (  # imageio 2.38.0: the index's old address as its download URL
            "imageio",
            (("project_url:download", "http://pypi.python.org/pypi/imageio"),),
        ),
    ],
)
def test_hosting_addresses_name_nobody(
    kb: KnowledgeBase, name: str, fields: tuple[tuple[str, str], ...]
) -> None:
    """A Google Group or the package index hosts anyone's project: neither is an author."""
    origin, _ = library_origin_from_metadata(_library(name, *fields), kb)
    assert origin is None
