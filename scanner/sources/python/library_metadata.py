"""Add what the package index says (authors, project URLs, licence) to library components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

from packaging.utils import canonicalize_name

from scanner.core.errors import UsageError
from scanner.core.model import Component, ComponentKind, ScanIssue, ScanResult, Severity
from scanner.resolve.package_index import IndexProblem, PackageIndexClient, parse_index_url
from scanner.sources.python.components import INSTALLED_METADATA_METHOD, with_index_metadata

#: Concurrent index requests (PyPI's CDN serves these in parallel without complaint).
INDEX_WORKERS = 8


def enrich_libraries(
    result: ScanResult,
    client: PackageIndexClient,
    *,
    report_cache_misses: bool,
    workers: int = INDEX_WORKERS,
) -> ScanResult:
    """``result`` with index metadata on every PyPI library that has no installed metadata.

    Pinned packages ask for their release (immutable, cached for good); unpinned ones for the
    project's latest release, which still tells who makes it. Cache misses of a client that may
    not ask the index become one summary issue when ``report_cache_misses`` (an ``--offline``
    run); every other failure is an issue naming its URL.
    """
    wanted = [c for c in result.components if _wants_metadata(c, client.index_url)]
    if not wanted:
        return result
    keys = sorted({_key(c) for c in wanted}, key=lambda key: (key[0], key[1] or ""))
    answers = client.fetch_many(keys, workers=workers)
    components = {c.ref: c for c in result.components}
    issues: list[ScanIssue] = []
    missed: list[str] = []
    for component in wanted:
        answer = answers[_key(component)]
        if isinstance(answer, IndexProblem):
            if answer.kind == "offline-miss":
                missed.append(component.name)
            else:
                issues.append(_issue(answer))
            continue
        components[component.ref] = with_index_metadata(component, answer)
    if missed and report_cache_misses:
        issues.append(_offline_summary(missed, client.index_url))
    return replace(
        result,
        components=tuple(components[c.ref] for c in result.components),
        issues=tuple(sorted({*result.issues, *issues}, key=lambda i: (i.location, i.problem))),
    )


def _wants_metadata(component: Component, index_url: str) -> bool:
    """Whether the index describes ``component``: a PyPI library without installed metadata
    that comes from this index (a package from a VCS, an archive URL or another index is a
    different project that may share the name: never described by this one)."""
    if (
        component.kind is not ComponentKind.LIBRARY
        or component.purl is None
        or not component.purl.startswith("pkg:pypi/")
        or any(e.method == INSTALLED_METADATA_METHOD for e in component.evidence)
    ):
        return False
    qualifiers = parse_qs(urlsplit(component.purl.partition("#")[0]).query)
    if "vcs_url" in qualifiers or "download_url" in qualifiers:
        return False
    elsewhere = qualifiers.get("repository_url", [])
    return all(_same_index(url, index_url) for url in elsewhere)


def _same_index(repository_url: str, index_root: str) -> bool:
    """Whether a purl's ``repository_url`` names the index asked (by the client's URL rule)."""
    try:
        root = parse_index_url(unquote(repository_url)).root
    except UsageError:
        return False
    return root.lower() == index_root.lower()


def _key(component: Component) -> tuple[str, str | None]:
    return str(canonicalize_name(component.name)), component.version


def _issue(problem: IndexProblem) -> ScanIssue:
    severity = Severity.LOW if problem.kind == "not-found" else Severity.MEDIUM
    return ScanIssue(location=problem.url, problem=problem.message, severity=severity)


def _offline_summary(names: Sequence[str], index_url: str) -> ScanIssue:
    unique = sorted(set(names))
    shown = ", ".join(unique[:10]) + (f" and {len(unique) - 10} more" if len(unique) > 10 else "")
    return ScanIssue(
        location=index_url,
        problem=f"no cached metadata from this index for {len(unique)} package(s) ({shown}); "
        "their origin rests on the built-in knowledge base only (scan once online with "
        "--resolve or the same --index-url to cache it)",
        severity=Severity.LOW,
    )
