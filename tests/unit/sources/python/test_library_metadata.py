"""enrich_libraries against the loopback fake index: what is asked, what is added, what is told."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Layer,
    ScanIssue,
    ScanResult,
    Severity,
)
from scanner.resolve.package_index import PackageIndexClient
from scanner.sources.python.components import INDEX_METADATA_METHOD, INSTALLED_METADATA_METHOD
from scanner.sources.python.library_metadata import enrich_libraries
from tests.fakes.package_index import FakePackageIndex, Fault, default_projects

SUBJECT = Component(ref="model:m", kind=ComponentKind.MODEL, name="m")
DECLARED = Evidence(
    location="requirements.txt", field="requirement", value="x", method="requirements-txt"
)


@pytest.fixture
def index() -> Iterator[FakePackageIndex]:
    with FakePackageIndex(default_projects()) as fake:
        yield fake


def library(
    name: str,
    version: str | None = None,
    *,
    purl: str | None = None,
    evidence: tuple[Evidence, ...] = (DECLARED,),
    licenses: tuple[str, ...] = (),
    description: str | None = None,
) -> Component:
    if purl is None:
        purl = f"pkg:pypi/{name.lower()}" + (f"@{version}" if version else "")
    return Component(
        ref=purl,
        kind=ComponentKind.LIBRARY,
        name=name,
        version=version,
        purl=purl,
        licenses=licenses,
        description=description,
        layer=Layer.PYTHON,
        evidence=evidence,
    )


def scan(*components: Component, issues: tuple[ScanIssue, ...] = ()) -> ScanResult:
    return ScanResult(subjects=(SUBJECT.ref,), components=(SUBJECT, *components), issues=issues)


def client(
    url: str | None, tmp_path: Path, *, offline: bool = False, use_cache: bool = True
) -> PackageIndexClient:
    return PackageIndexClient(
        url,
        cache_dir=tmp_path / "cache",
        offline=offline,
        use_cache=use_cache,
        max_retries=0,
        backoff_s=0.0,
    )


def enrich(
    result: ScanResult,
    url: str | None,
    tmp_path: Path,
    *,
    offline: bool = False,
    report_cache_misses: bool = False,
    workers: int = 8,
) -> ScanResult:
    with client(url, tmp_path, offline=offline) as index_client:
        return enrich_libraries(
            result, index_client, report_cache_misses=report_cache_misses, workers=workers
        )


def index_evidence(component: Component) -> dict[str, str]:
    return {e.field: e.value for e in component.evidence if e.method == INDEX_METADATA_METHOD}


# --- what is asked and what is added -------------------------------------------------------------


def test_a_pinned_library_gets_its_release_metadata(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    result = enrich(scan(library("requests", "2.31.0")), index.url, tmp_path)
    assert index.request_lines() == ["GET /pypi/requests/2.31.0/json 200"]
    requests = result.component("pkg:pypi/requests@2.31.0")
    assert requests.licenses == ("Apache 2.0",)  # 2.31.0's License field, not the latest's
    assert requests.description == "Python HTTP for Humans."
    assert ("vcs", "https://github.com/psf/requests") in requests.external_urls
    assert index_evidence(requests)["author_email"] == "me@kennethreitz.org"
    release_url = f"{index.url}/pypi/requests/2.31.0/json"
    assert {e.location for e in requests.evidence if e.method == INDEX_METADATA_METHOD} == {
        release_url
    }
    assert requests.evidence[0] == DECLARED  # what the scan read stays first
    assert result.issues == ()


def test_an_unpinned_library_gets_the_latest_release(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    result = enrich(scan(library("requests")), index.url, tmp_path)
    assert index.request_lines() == ["GET /pypi/requests/json 200"]
    assert result.component("pkg:pypi/requests").licenses == ("Apache-2.0",)


def test_names_are_asked_normalised_and_duplicates_once(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    a = library("PyYAML", "6.0.2", purl="pkg:pypi/pyyaml@6.0.2")
    b = library("pyyaml", "6.0.2", purl="pkg:pypi/pyyaml@6.0.2?extra=1")
    result = enrich(scan(a, b), index.url, tmp_path)
    assert index.request_lines() == ["GET /pypi/pyyaml/6.0.2/json 200"]
    assert [c.licenses for c in result.components[1:]] == [("MIT",), ("MIT",)]


def test_what_the_scan_already_knows_is_kept(index: FakePackageIndex, tmp_path: Path) -> None:
    declared = library(
        "requests", "2.31.0", licenses=("MIT-from-lockfile",), description="from the lockfile"
    )
    result = enrich(scan(declared), index.url, tmp_path)
    requests = result.component("pkg:pypi/requests@2.31.0")
    assert requests.licenses == ("MIT-from-lockfile",)
    assert requests.description == "from the lockfile"
    assert index_evidence(requests)  # the index's authors and URLs are still added


@pytest.mark.parametrize(
    "component",
    [
        library(
            "requests",
            "2.31.0",
            evidence=(
                Evidence(
                    location="site-packages/requests-2.31.0.dist-info/METADATA",
                    field="author",
                    value="Kenneth Reitz",
                    method=INSTALLED_METADATA_METHOD,
                ),
            ),
        ),
        library(
            "requests",
            "2.31.0",
            purl="pkg:pypi/requests@2.31.0?vcs_url=git%2Bhttps://github.com/psf/requests",
        ),
        library("requests", "2.31.0", purl="pkg:npm/requests@2.31.0"),
        Component(ref="pkg:pypi/requests@2.31.0", kind=ComponentKind.CODE, name="requests"),
        Component(ref="lib:requests", kind=ComponentKind.LIBRARY, name="requests"),
    ],
    ids=["installed-metadata", "vcs", "not-pypi", "not-a-library", "no-purl"],
)
def test_libraries_the_index_cannot_describe_are_not_asked(
    index: FakePackageIndex, tmp_path: Path, component: Component
) -> None:
    before = scan(component)
    assert enrich(before, index.url, tmp_path) is before
    assert index.requests == []


def test_only_wanted_libraries_change_and_order_is_kept(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    vcs = library("torch", "2.5.1", purl="pkg:pypi/torch@2.5.1?vcs_url=git%2Bhttps://x/torch")
    components = (library("torch", "2.5.1"), vcs, library("packaging", "25.0"))
    result = enrich(scan(*components), index.url, tmp_path)
    assert [c.ref for c in result.components] == [SUBJECT.ref, *(c.ref for c in components)]
    assert result.component(vcs.ref) == vcs
    assert result.component("pkg:pypi/packaging@25.0").licenses == ("Apache-2.0 OR BSD-2-Clause",)
    assert result.component("pkg:pypi/torch@2.5.1").licenses == ("BSD-3-Clause",)
    assert sorted(r.route for r in index.requests) == [
        "/pypi/packaging/25.0/json",
        "/pypi/torch/2.5.1/json",
    ]


def test_sequential_and_parallel_runs_agree(index: FakePackageIndex, tmp_path: Path) -> None:
    result = scan(library("requests", "2.31.0"), library("torch", "2.5.1"), library("PyYAML"))
    parallel = enrich(result, index.url, tmp_path / "a")
    sequential = enrich(result, index.url, tmp_path / "b", workers=1)
    assert parallel == sequential
    assert index.count() == 6


@pytest.mark.parametrize(
    "purl",
    [
        "pkg:pypi/requests@2.31.0?repository_url=https://pkgs.acme.example/simple",
        "pkg:pypi/requests@2.31.0?download_url=https://files.acme.example/requests-2.31.0.tar.gz",
    ],
    ids=["other-index", "direct-archive"],
)
def test_a_package_from_elsewhere_is_not_described_by_this_index(
    index: FakePackageIndex, tmp_path: Path, purl: str
) -> None:
    component = library("requests", "2.31.0", purl=purl)
    result = enrich(scan(component), index.url, tmp_path)
    assert index.requests == []
    assert result.component(purl) == component


# --- failures become issues ----------------------------------------------------------------------


def test_a_package_not_on_the_index_is_a_low_issue_naming_the_url(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    missing = library("acme-internal-tools", "1.0")
    result = enrich(scan(missing), index.url, tmp_path)
    url = f"{index.url}/pypi/acme-internal-tools/1.0/json"
    (issue,) = result.issues
    assert (issue.location, issue.severity) == (url, Severity.LOW)
    assert issue.problem.startswith("acme-internal-tools 1.0: not on the index (HTTP 404")
    assert result.component(missing.ref) == missing


def test_an_index_failure_is_a_medium_issue(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault("/pypi/torch/2.5.1/json", Fault(kind="server-error", status=503, times=None))
    index.add_fault("/pypi/packaging/25.0/json", Fault(kind="malformed", body=b"{", times=None))
    result = enrich(
        scan(library("torch", "2.5.1"), library("packaging", "25.0"), library("requests")),
        index.url,
        tmp_path,
    )
    by_location = {i.location: i for i in result.issues}
    assert set(by_location) == {
        f"{index.url}/pypi/packaging/25.0/json",
        f"{index.url}/pypi/torch/2.5.1/json",
    }
    assert {i.severity for i in result.issues} == {Severity.MEDIUM}
    assert "HTTP 503" in by_location[f"{index.url}/pypi/torch/2.5.1/json"].problem
    assert result.component("pkg:pypi/torch@2.5.1").licenses == ()
    assert result.component("pkg:pypi/requests").licenses == ("Apache-2.0",)


def test_a_hostile_version_is_never_sent(index: FakePackageIndex, tmp_path: Path) -> None:
    hostile = library("requests", "2.31.0/../../admin?x=1", purl="pkg:pypi/requests@evil")
    result = enrich(scan(hostile), index.url, tmp_path)
    assert index.requests == []
    (issue,) = result.issues
    assert issue.location == index.url
    assert "is not a valid version; not looked up" in issue.problem


def test_issues_are_merged_sorted_and_deduplicated(index: FakePackageIndex, tmp_path: Path) -> None:
    url = f"{index.url}/pypi/zzz-gone/1.0/json"
    earlier = (
        ScanIssue(location="z-last", problem="kept"),
        ScanIssue(location="a-first", problem="kept"),
    )
    once = enrich(scan(library("zzz-gone", "1.0"), issues=earlier), index.url, tmp_path / "1")
    assert [i.location for i in once.issues] == ["a-first", url, "z-last"]
    # The same failure reported again (a second enrichment of the result) is not duplicated.
    twice = enrich(once, index.url, tmp_path / "2")
    assert twice.issues == once.issues


# --- offline: the cache only ---------------------------------------------------------------------


def test_offline_cache_misses_are_one_summary_issue(tmp_path: Path) -> None:
    names = [f"pkg-{letter}" for letter in "mlkjihgfedcba"]  # 13, given out of order
    result = scan(*(library(name, "1.0") for name in names), library("pkg-a", "2.0"))
    reported = enrich(result, None, tmp_path, offline=True, report_cache_misses=True)
    (issue,) = reported.issues
    assert issue.location == "https://pypi.org"
    assert issue.severity is Severity.LOW
    assert issue.problem.startswith(
        "no cached metadata from this index for 13 package(s) "
        "(pkg-a, pkg-b, pkg-c, pkg-d, pkg-e, pkg-f, pkg-g, pkg-h, pkg-i, pkg-j and 3 more); "
    )
    assert "--resolve" in issue.problem
    assert reported.components == result.components
    quiet = enrich(result, None, tmp_path, offline=True, report_cache_misses=False)
    assert quiet.issues == ()


def test_offline_uses_what_an_online_run_cached(index: FakePackageIndex, tmp_path: Path) -> None:
    result = scan(library("requests", "2.31.0"), library("PyYAML", "6.0.2"))
    online = enrich(result, index.url, tmp_path)
    index.reset_log()
    offline = enrich(result, index.url, tmp_path, offline=True, report_cache_misses=True)
    assert index.requests == []
    assert offline.issues == ()
    assert offline.components == online.components
    assert offline.component("pkg:pypi/pyyaml@6.0.2").licenses == ("MIT",)


def test_a_package_pinned_to_this_index_is_described(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    purl = f"pkg:pypi/requests@2.31.0?repository_url={index.url}/simple"
    result = enrich(scan(library("requests", "2.31.0", purl=purl)), index.url, tmp_path)
    assert index.requests != []
    assert result.component(purl).licenses != ()
