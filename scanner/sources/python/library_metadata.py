"""Add what the package index says (authors, project URLs, licence) to library components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import canonicalize_name

from scanner.core.model import Component, ComponentKind, ScanIssue, ScanResult, Severity
from scanner.resolve.package_index import IndexProblem, PackageIndexClient
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
    wanted = [c for c in result.components if _wants_metadata(c)]
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


def _wants_metadata(component: Component) -> bool:
    return (
        component.kind is ComponentKind.LIBRARY
        and component.purl is not None
        and component.purl.startswith("pkg:pypi/")
        and "vcs_url=" not in component.purl
        and not any(e.method == INSTALLED_METADATA_METHOD for e in component.evidence)
    )


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
