"""What a Python package's own metadata says about who makes it (author mail, project URLs)."""

from __future__ import annotations

from urllib.parse import unquote

from scanner.core.model import Component, Evidence, Origin, StewardKind
from scanner.origins.inference import Inference, infer_email, infer_url
from scanner.origins.knowledge import KnowledgeBase

#: Evidence methods that carry package metadata (installed METADATA, the index's JSON API).
METADATA_METHODS = frozenset({"installed-metadata", "package-index"})
#: Most addresses read from one metadata field (a maintainers list can be long).
MAX_ADDRESSES = 16
_EMAIL_FIELDS = ("author_email", "maintainer_email")
_URL_FIELD_PREFIX = "project_url:"
#: Project-URL labels that point at the code's home, tried before the others.
_SOURCE_LABELS = frozenset({"source", "source code", "repository", "code", "github", "homepage"})


#: Prefix of a Python package's purl.
PYPI_PURL_PREFIX = "pkg:pypi/"


def pypi_name(purl: str) -> str:
    """The package name of a ``pkg:pypi/`` purl (percent-decoded, without version or
    qualifiers)."""
    name = purl.removeprefix(PYPI_PURL_PREFIX)
    for separator in ("@", "?", "#"):
        name = name.split(separator, 1)[0]
    return unquote(name)


def is_pypi_release(purl: str) -> bool:
    """Whether ``purl`` names a release of PyPI itself: qualifiers (``repository_url``,
    ``vcs_url``, ``download_url``) name another index, a VCS or a URL, which may hold anything
    under the same name, so the name says nothing of who made it."""
    return purl.startswith(PYPI_PURL_PREFIX) and "?" not in purl


def is_metadata_evidence(evidence: Evidence) -> bool:
    """Whether ``evidence`` is a field of a package's metadata."""
    return evidence.method in METADATA_METHODS


def library_origin_from_metadata(
    component: Component, kb: KnowledgeBase
) -> tuple[Origin | None, tuple[Origin, ...]]:
    """The organisation the metadata names, and weaker hints.

    Author then maintainer addresses on an organisational domain come first (consumer mail
    such as gmail.com names nobody), then project URLs, the code's home first
    (``github.com/ORG`` → the github-org entry). A ccTLD or hosting service is only a hint.
    """
    hints: list[Origin] = []
    for inference in _inferences(component, kb):
        origin = inference.origin
        if origin is None:
            continue
        if origin.steward is StewardKind.UNKNOWN:
            hints.append(origin)
            continue
        return origin, tuple(dict.fromkeys(hints))
    return None, tuple(dict.fromkeys(hints))


def _inferences(component: Component, kb: KnowledgeBase) -> list[Inference]:
    metadata = [e for e in component.evidence if is_metadata_evidence(e)]
    found: list[Inference] = []
    for name in _EMAIL_FIELDS:
        for evidence in metadata:
            if evidence.field != name:
                continue
            from email.utils import getaddresses  # only packages carry addresses

            for _, address in getaddresses([evidence.value])[:MAX_ADDRESSES]:
                if address:
                    found.append(infer_email(address, kb, location=evidence.location))
    urls = [e for e in metadata if e.field == "home_page" or e.field.startswith(_URL_FIELD_PREFIX)]
    urls.sort(key=lambda e: _url_rank(e.field))
    found.extend(infer_url(e.value, kb, location=e.location) for e in urls)
    return found


def _url_rank(field: str) -> int:
    label = field.removeprefix(_URL_FIELD_PREFIX).strip().lower()
    return 0 if label in _SOURCE_LABELS or field == "home_page" else 1
