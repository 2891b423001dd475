"""Python package metadata from an index's JSON API (PyPI's ``/pypi/NAME[/VERSION]/json``).

Every call returns ``PackageMetadata`` or an ``IndexProblem``; nothing here raises for an upstream
failure. Requests go through ``scanner.resolve.http`` over a ``requests`` session (a caller's,
or one shared by the client's threads): each response body is read under a byte cap and a total
transfer deadline, counted for the statistics, and retried on 429, 5xx and timeouts with a capped
``Retry-After``; credentials are scrubbed from every message. This module owns the JSON API: its
URLs, what its statuses mean, parsing its answers, and the cache.

**Index URL rule.** ``index_url`` may be given the way pip takes it or the way the JSON API is
rooted; the client derives the JSON API root from it:

1. None or empty: ``DEFAULT_INDEX_URL`` (https://pypi.org).
2. It must be an http(s) URL with a host and no query or fragment (else ``UsageError``).
3. Credentials in it (``https://user:token@host/…``) are taken out of the URL and sent as HTTP
   Basic auth; they never appear in messages, logs, ``source`` or cache keys.
4. Trailing slashes are dropped; then a last path segment ``simple`` (pip's ``--index-url``:
   https://pypi.org/simple/, Artifactory ``…/api/pypi/REPO/simple``, Nexus
   ``…/repository/REPO/simple``) is dropped, or else a last segment ``pypi`` (PyPI's own
   https://pypi.org/pypi). What remains is the root: ``{root}/pypi/NAME/json``. An index whose
   root itself ends in ``/pypi`` (an Artifactory repository named "pypi") must be given in its
   ``/simple`` spelling.

**Cache.** Answers are stored under ``<cache_dir>/package-index/`` (see ``INDEX_CACHE_SUBDIR``;
the storage is ``scanner.resolve.hub.cache.HubCache``, keyed by the root without credentials, the
kind of answer, the canonical name and the version). A release's metadata is immutable and kept
for good. A project's latest release is asked again once its entry is older than
``project_ttl_s`` (24 h); if that fails for a transient reason the stale copy is used. Offline,
any cached copy is used and nothing else: no connection is ever opened. Only the normalised
metadata is stored, never request headers.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, TypeAlias
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scanner.core.capped_io import decode_utf8, parse_json_text
from scanner.core.errors import MalformedFileError, UsageError
from scanner.formats.python.records import PackageMetadata
from scanner.resolve.http import (
    BodyTooLargeError,
    ClientOverHttp,
    HttpClient,
    HttpError,
    HttpStatusError,
    OfflineBlockedError,
    RetryPolicy,
    TooManyRedirectsError,
    UnsafeRequestError,
    strip_userinfo,
)
from scanner.resolve.hub.cache import HubCache

if TYPE_CHECKING:
    import requests

_LOG = logging.getLogger(__name__)

#: The index used when neither ``--index-url`` nor ``SOVSCAN_INDEX_URL`` names one.
DEFAULT_INDEX_URL: Final = "https://pypi.org"
#: Directory, under the cache directory, holding index answers.
INDEX_CACHE_SUBDIR: Final = Path("package-index")
#: How long a project's latest-release answer is trusted online, in seconds.
PROJECT_TTL_S: Final = 24 * 60 * 60
#: Largest ``/pypi/NAME/VERSION/json`` answer read; real ones are a few KB to ~200 KB (the
#: description dominates).
MAX_RELEASE_BYTES: Final = 8 * 1024 * 1024
#: Largest ``/pypi/NAME/json`` answer read: it lists every file of every release (boto3's is a few
#: MB). Pin versions to use the small versioned endpoint instead.
MAX_PROJECT_BYTES: Final = 16 * 1024 * 1024
#: Longest a whole transfer (headers and body) may take, in seconds; the per-read timeout alone
#: would let a server that trickles bytes hold a scan indefinitely.
TRANSFER_TIMEOUT_S: Final = 60.0
#: Deepest JSON accepted (PyPI's answers nest 4 levels).
MAX_JSON_DEPTH: Final = 32
#: Longest package name and version accepted.
MAX_NAME_CHARS: Final = 200
MAX_VERSION_CHARS: Final = 128
#: Longest free-text field kept (summary, author, emails, requires_python …); longer is clipped.
MAX_TEXT_CHARS: Final = 2048
#: Longest licence text kept; whole licence texts (35 KB for the GPL) are clipped to this.
MAX_LICENSE_CHARS: Final = 4096
#: Most project URLs kept, and the longest label and URL (longer entries are dropped).
MAX_PROJECT_URLS: Final = 64
MAX_LABEL_CHARS: Final = 256
MAX_URL_CHARS: Final = 2048
#: Most classifiers kept, and the longest one (longer ones are dropped).
MAX_CLASSIFIERS: Final = 512
MAX_CLASSIFIER_CHARS: Final = 256
#: Most Requires-Dist entries kept (apache-airflow has ~700), and the longest one.
MAX_REQUIRES_DIST: Final = 2000
MAX_REQUIREMENT_CHARS: Final = 2048
#: Most redirects followed (PyPI redirects a non-normalised name once).
MAX_REDIRECTS: Final = 5
#: Most threads ``fetch_many`` runs.
MAX_WORKERS: Final = 32
#: Label of the index's own page of the project (the JSON API's ``project_url``).
INDEX_PAGE_LABEL: Final = "Package index"

#: not-found (404/410), offline-miss (offline and not cached, or the offline guard refused a
#: connection), unreachable (connect/TLS/timeout/broken transfer), rate-limited (429 after the
#: retries), server-error (5xx/408 after the retries), denied (401/403), refused (another 4xx or
#: too many redirects), too-large (over the body cap), malformed (not the JSON API's answer for
#: that release), invalid-name (a name or version that cannot be a distribution's; not asked).
ProblemKind = Literal[
    "not-found",
    "offline-miss",
    "unreachable",
    "rate-limited",
    "server-error",
    "denied",
    "refused",
    "too-large",
    "malformed",
    "invalid-name",
]
IndexResult: TypeAlias = "PackageMetadata | IndexProblem"

_TRANSIENT_KINDS: Final = frozenset({"unreachable", "rate-limited", "server-error"})
_NAME = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?", re.IGNORECASE | re.ASCII)  # PEP 508
_VERSION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.+!_-]*[A-Za-z0-9])?", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_KEEP_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s")
_ACCEPT: Final = "application/json"
_UNKNOWN: Final = "UNKNOWN"  # what old setuptools wrote for every unset field


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexProblem:
    """Why metadata could not be had from the index; becomes a ScanIssue, never a traceback."""

    kind: ProblemKind
    message: str
    """Names the package, the URL and the problem; never holds credentials."""
    url: str
    """The URL asked (or that would have been asked), without credentials."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexLocation:
    """Where the index's JSON API is, and the credentials its URL carried."""

    root: str
    """``{root}/pypi/NAME/json``; no credentials, no trailing slash."""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def auth(self) -> tuple[str, str] | None:
        """HTTP Basic credentials, when the URL carried any."""
        return None if self.username is None else (self.username, self.password or "")


def parse_index_url(index_url: str | None) -> IndexLocation:
    """The JSON API root and credentials for ``index_url`` (see the module doc for the rule).

    Raises:
        UsageError: not an http(s) URL with a host, or it has a query, a fragment or spaces.
    """
    raw = (index_url or "").strip() or DEFAULT_INDEX_URL
    shown = repr(strip_userinfo(raw)[:MAX_URL_CHARS])
    if len(raw) > MAX_URL_CHARS or _CONTROL.search(raw) or _WHITESPACE.search(raw):
        raise UsageError(f"index URL {shown} is too long or contains spaces or control characters")
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise UsageError(f"index URL {shown} is not a valid URL") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"index URL {shown} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise UsageError(f"index URL {shown} must not have a query or fragment")
    path = parts.path.rstrip("/")
    last = path.rpartition("/")[2]
    if last in {"simple", "pypi"}:
        path = path[: -len(last) - 1].rstrip("/")
    host = parts.netloc.rpartition("@")[2]
    root = urlunsplit((parts.scheme.lower(), host, path, "", ""))
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return IndexLocation(root=root, username=username, password=password)


# -- parsing the JSON API ------------------------------------------------------------------------


def parse_index_json(
    body: bytes, *, source: str, name: str | None = None, version: str | None = None
) -> PackageMetadata:
    """The metadata in one JSON API answer (``{"info": {...}, ...}``), clipped to the caps.

    ``name`` and ``version``, when given, must match what the answer describes (a proxy that
    answers for another release is caught). Unset fields (``""``, null, ``UNKNOWN``) are None;
    control characters are removed (line breaks are kept in the licence only); fields of the wrong
    type are ignored; over-long list entries are dropped rather than clipped.

    Raises:
        MalformedFileError: not UTF-8 JSON, no ``info`` object, or another package or version.
    """
    document = parse_json_text(decode_utf8(body), max_depth=MAX_JSON_DEPTH)
    if not isinstance(document, dict):
        raise MalformedFileError("the answer is not a JSON object")
    info = document.get("info")
    if not isinstance(info, dict):
        raise MalformedFileError("the answer has no 'info' object")
    _check_identity(info, name=name, version=version)
    return _metadata_from_info(info, source=source)


def _check_identity(info: Mapping[str, object], *, name: str | None, version: str | None) -> None:
    answered = info.get("name")
    if (
        name is not None
        and isinstance(answered, str)
        and not (_NAME.fullmatch(answered) and canonicalize_name(answered) == _canonical(name))
    ):
        raise MalformedFileError(f"the answer describes {answered[:100]!r}, not {name!r}")
    answered_version = info.get("version")
    if (
        version is not None
        and isinstance(answered_version, str)
        and not _same_version(answered_version, version)
    ):
        raise MalformedFileError(
            f"the answer describes version {answered_version[:100]!r}, not {version!r}"
        )


def _same_version(left: str, right: str) -> bool:
    if left == right:
        return True
    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return False


def _metadata_from_info(info: Mapping[str, object], *, source: str) -> PackageMetadata:
    return PackageMetadata(
        summary=_text(info.get("summary"), MAX_TEXT_CHARS),
        author=_text(info.get("author"), MAX_TEXT_CHARS),
        author_email=_text(info.get("author_email"), MAX_TEXT_CHARS),
        maintainer=_text(info.get("maintainer"), MAX_TEXT_CHARS),
        maintainer_email=_text(info.get("maintainer_email"), MAX_TEXT_CHARS),
        home_page=_url(info.get("home_page")),
        project_urls=_project_urls(info.get("project_urls"), info.get("project_url")),
        license=_text(info.get("license"), MAX_LICENSE_CHARS, keep_lines=True),
        license_expression=_text(info.get("license_expression"), MAX_TEXT_CHARS),
        classifiers=_strings(info.get("classifiers"), MAX_CLASSIFIERS, MAX_CLASSIFIER_CHARS),
        requires_dist=_strings(info.get("requires_dist"), MAX_REQUIRES_DIST, MAX_REQUIREMENT_CHARS),
        requires_python=_text(info.get("requires_python"), MAX_TEXT_CHARS),
        source=source,
    )


def _text(value: object, limit: int, *, keep_lines: bool = False) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = _CONTROL_KEEP_LINES.sub("", value) if keep_lines else _CONTROL.sub(" ", value)
    cleaned = cleaned.strip()[:limit].rstrip()
    return cleaned if cleaned and cleaned != _UNKNOWN else None


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or url == _UNKNOWN or len(url) > MAX_URL_CHARS or _WHITESPACE.search(url):
        return None
    return None if _CONTROL.search(url) else url


def _strings(value: object, max_items: int, max_chars: int) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    kept: list[str] = []
    for item in value:  # the body cap bounds the list; the first max_items usable ones are kept
        text = _text(item, max_chars + 1)
        if text is not None and len(text) <= max_chars:
            kept.append(text)
            if len(kept) == max_items:
                break
    return tuple(kept)


def _project_urls(value: object, index_page: object) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for label, target in list(value.items())[:MAX_PROJECT_URLS]:
            clean_label, url = _text(label, MAX_LABEL_CHARS + 1), _url(target)
            if clean_label is not None and len(clean_label) <= MAX_LABEL_CHARS and url is not None:
                pairs.append((clean_label, url))
    page = _url(index_page)
    if (
        page is not None
        and len(pairs) < MAX_PROJECT_URLS
        and all(url != page and label != INDEX_PAGE_LABEL for label, url in pairs)
    ):
        pairs.append((INDEX_PAGE_LABEL, page))
    return tuple(pairs)


def _metadata_to_info(metadata: PackageMetadata) -> dict[str, object]:
    """The metadata back in the JSON API's ``info`` shape (what the cache stores).

    ``project_urls`` is a list of pairs: the cache writes objects with sorted keys, which would
    lose the order the project gave.
    """
    return {
        "summary": metadata.summary,
        "author": metadata.author,
        "author_email": metadata.author_email,
        "maintainer": metadata.maintainer,
        "maintainer_email": metadata.maintainer_email,
        "home_page": metadata.home_page,
        "project_urls": [list(pair) for pair in metadata.project_urls],
        "license": metadata.license,
        "license_expression": metadata.license_expression,
        "classifiers": list(metadata.classifiers),
        "requires_dist": list(metadata.requires_dist),
        "requires_python": metadata.requires_python,
    }


def _canonical(name: object) -> str | None:
    """The PEP 503 name, or None when ``name`` is not a valid distribution name."""
    stripped = name.strip() if isinstance(name, str) else ""
    if len(stripped) > MAX_NAME_CHARS or not _NAME.fullmatch(stripped):
        return None
    return canonicalize_name(stripped)


# -- the client ----------------------------------------------------------------------------------


class _Key(NamedTuple):
    kind: Literal["release", "project"]
    name: str
    version: str
    """The version asked for; "" for a project's latest release."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _CacheEntry:
    metadata: PackageMetadata
    fetched_at: float


class PackageIndexClient(ClientOverHttp):
    """Reads package metadata from a PyPI-style JSON API, with retries and an on-disk cache.

    ``index_url``: see the module doc (None: https://pypi.org). ``offline``: answers come from
    the cache only and no connection is ever opened. ``use_cache=False`` neither reads nor writes
    the disk cache (answers are still remembered for the client's lifetime). ``session``: a
    ``requests.Session`` to send requests through (the caller keeps ownership); by default the
    client makes one, shared by its threads. Safe to use from several threads; ``close()`` (or
    ``with``) releases the client's own session.

    Raises:
        UsageError: an unusable ``index_url`` (see ``parse_index_url``).
    """

    def __init__(
        self,
        index_url: str | None,
        *,
        cache_dir: Path,
        offline: bool,
        use_cache: bool,
        session: requests.Session | None = None,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        transfer_timeout_s: float = TRANSFER_TIMEOUT_S,
        project_ttl_s: float = PROJECT_TTL_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(project_ttl_s) and project_ttl_s >= 0):
            raise ValueError(f"project_ttl_s must be a finite number >= 0, not {project_ttl_s!r}")
        self._location = parse_index_url(index_url)
        self.index_url = self._location.root
        """The JSON API root in use, without credentials."""
        self.offline = offline
        self._cache = (
            HubCache(cache_dir / INDEX_CACHE_SUBDIR, endpoint=self.index_url) if use_cache else None
        )
        self._http = HttpClient(
            retry=RetryPolicy(max_retries=max_retries, backoff_s=backoff_s),
            timeout_s=timeout_s,
            transfer_timeout_s=transfer_timeout_s,
            session=session,
            pool_size=MAX_WORKERS,
            max_redirects=MAX_REDIRECTS,
            sleep=sleep,
        )
        self._http.add_secret(self._location.username)
        self._http.add_secret(self._location.password)
        self._project_ttl_s = project_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._memo: dict[_Key, IndexResult] = {}
        self._flights: dict[_Key, threading.Lock] = {}

    # -- public look-ups --------------------------------------------------------------------

    def release(self, name: str, version: str) -> PackageMetadata | IndexProblem:
        """The metadata of release ``version`` of ``name`` (``/pypi/NAME/VERSION/json``).

        Cached for good once read. Offline, anything not cached is an ``offline-miss``.
        """
        canonical = _canonical(name)
        if canonical is None:
            return self._invalid(f"{_shown(name)} is not a valid package name")
        clean = version.strip()
        if len(clean) > MAX_VERSION_CHARS or not _VERSION.fullmatch(clean):
            return self._invalid(f"{canonical}: {_shown(version)} is not a valid version")
        url = f"{self.index_url}/pypi/{canonical}/{quote(clean, safe='')}/json"
        return self._lookup(
            _Key("release", canonical, clean),
            url,
            what=f"{canonical} {clean}",
            max_body=MAX_RELEASE_BYTES,
        )

    def project(self, name: str) -> PackageMetadata | IndexProblem:
        """The metadata of the latest release of ``name`` (``/pypi/NAME/json``).

        Online, a cached answer younger than ``project_ttl_s`` is used; offline, any cached one.
        """
        canonical = _canonical(name)
        if canonical is None:
            return self._invalid(f"{_shown(name)} is not a valid package name")
        url = f"{self.index_url}/pypi/{canonical}/json"
        return self._lookup(
            _Key("project", canonical, ""),
            url,
            what=f"{canonical} (latest release)",
            max_body=MAX_PROJECT_BYTES,
        )

    def fetch_many(
        self, pairs: Iterable[tuple[str, str | None]], workers: int = 8
    ) -> dict[tuple[str, str | None], PackageMetadata | IndexProblem]:
        """``release(name, version)`` (``project(name)`` when version is None) for every pair.

        Keyed by the pairs as given (duplicates asked once); up to ``workers`` threads.
        """
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be within 1..{MAX_WORKERS}, not {workers}")
        unique = list(dict.fromkeys(pairs))

        def one(pair: tuple[str, str | None]) -> IndexResult:
            name, version = pair
            return self.project(name) if version is None else self.release(name, version)

        if workers == 1 or len(unique) < 2 or self.offline:
            return {pair: one(pair) for pair in unique}
        with ThreadPoolExecutor(
            max_workers=min(workers, len(unique)), thread_name_prefix="sovscan-index"
        ) as pool:
            return dict(zip(unique, pool.map(one, unique), strict=True))

    # -- memo, cache and single flight -------------------------------------------------------

    def _lookup(self, key: _Key, url: str, *, what: str, max_body: int) -> IndexResult:
        with self._flight(key):
            with self._lock:
                remembered = self._memo.get(key)
            if isinstance(remembered, PackageMetadata):
                self._http.count_cache_hit()
            if remembered is not None:
                return remembered
            result = self._resolve(key, url, what=what, max_body=max_body)
            if isinstance(result, PackageMetadata) or result.kind not in _TRANSIENT_KINDS:
                with self._lock:
                    self._memo[key] = result
            return result

    def _resolve(self, key: _Key, url: str, *, what: str, max_body: int) -> IndexResult:
        cached = self._cached(key)
        if cached is not None and (self.offline or self._fresh(key, cached)):
            self._http.count_cache_hit()
            return cached.metadata
        if self.offline:
            return self._offline_miss(url, what)
        result = self._fetch(key, url, what=what, max_body=max_body)
        if isinstance(result, PackageMetadata):
            self._store(key, result)
        elif cached is not None and result.kind in _TRANSIENT_KINDS:
            _LOG.warning("%s; using the cached copy of %s", result.message, what)
            self._http.count_cache_hit()
            return cached.metadata
        return result

    @contextlib.contextmanager
    def _flight(self, key: _Key) -> Iterator[None]:
        """One look-up per key at a time: a second thread waits and takes the first's answer."""
        with self._lock:
            lock = self._flights.setdefault(key, threading.Lock())
        with lock:
            yield

    def _fresh(self, key: _Key, entry: _CacheEntry) -> bool:
        if key.kind == "release":
            return True
        age = self._clock() - entry.fetched_at
        return 0 <= age <= self._project_ttl_s

    def _cached(self, key: _Key) -> _CacheEntry | None:
        if self._cache is None:
            return None
        stored = self._cache.get_info(key.kind, key.name, key.version)
        if stored is None:
            return None
        entry = _entry_from_cache(stored)
        if entry is None:
            _LOG.warning("package index cache: ignoring a damaged entry for %s", key.name)
        return entry

    def _store(self, key: _Key, metadata: PackageMetadata) -> None:
        if self._cache is not None:
            value = {
                "fetched_at": self._clock(),
                "source": metadata.source,
                "info": _metadata_to_info(metadata),
            }
            self._cache.put_info(key.kind, key.name, key.version, value)

    # -- the wire ------------------------------------------------------------------------------

    def _fetch(self, key: _Key, url: str, *, what: str, max_body: int) -> IndexResult:
        try:
            reply = self._http.get(
                url,
                what=what,
                max_body=max_body,
                headers={"Accept": _ACCEPT},
                auth=self._location.auth,
            )
        except HttpError as failure:
            return self._failure(failure, what)
        try:
            return parse_index_json(
                reply.body, source=url, name=key.name, version=key.version or None
            )
        except MalformedFileError as exc:
            return self._problem("malformed", f"{what}: unusable answer from {url}: {exc}", url)

    def _failure(self, failure: HttpError, what: str) -> IndexProblem:
        kind: ProblemKind
        url = failure.url
        if isinstance(failure, OfflineBlockedError):
            kind, message = "offline-miss", failure.message
        elif isinstance(failure, HttpStatusError):
            kind, reason = self._status_reason(failure.status)
            server = failure.server_message
            detail = f": {server}" if server else ""
            message = f"{what}: {reason} (HTTP {failure.status} from {url}){detail}"
        elif isinstance(failure, BodyTooLargeError):
            kind, message = "too-large", failure.message
        elif isinstance(failure, TooManyRedirectsError | UnsafeRequestError):
            kind, message = "refused", failure.message
        else:  # TransportError: no whole answer came
            kind, message = "unreachable", failure.message
        return self._problem(kind, message + failure.retry_note, url)

    def _status_reason(self, status: int) -> tuple[ProblemKind, str]:
        if status in {404, 410}:
            return "not-found", "not on the index"
        if status in {401, 403}:
            hint = (
                "the credentials in the index URL were refused"
                if self._location.auth is not None
                else "the index wants credentials: put them in the index URL"
            )
            return "denied", f"access refused ({hint})"
        if status == 429:
            return "rate-limited", "rate limited by the index"
        if status == 408 or status >= 500:
            return "server-error", "the index failed"
        return "refused", "the index refused the request"

    # -- bookkeeping and messages ------------------------------------------------------------

    def _problem(self, kind: ProblemKind, message: str, url: str) -> IndexProblem:
        scrub = self._http.scrub
        return IndexProblem(kind=kind, message=scrub(message), url=scrub(url))

    def _invalid(self, message: str) -> IndexProblem:
        return self._problem("invalid-name", f"{message}; not looked up", self.index_url)

    def _offline_miss(self, url: str, what: str) -> IndexProblem:
        cache = "" if self._cache is not None else " (the cache is disabled)"
        message = (
            f"offline: the index metadata of {what} is not in the cache{cache}; "
            f"a scan online would fetch {url}"
        )
        return self._problem("offline-miss", message, url)


# -- helpers ------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    return repr(value)[:100]


def _entry_from_cache(value: Mapping[str, object]) -> _CacheEntry | None:
    fetched_at, source, info = value.get("fetched_at"), value.get("source"), value.get("info")
    if not (
        isinstance(fetched_at, int | float)
        and not isinstance(fetched_at, bool)
        and math.isfinite(fetched_at)
        and isinstance(source, str)
        and isinstance(info, dict)
    ):
        return None
    pairs = info.get("project_urls")
    if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs)):
        return None
    info = {**info, "project_urls": dict(pairs)}
    return _CacheEntry(
        metadata=_metadata_from_info(info, source=source), fetched_at=float(fetched_at)
    )
