"""Python package metadata from an index's JSON API (PyPI's ``/pypi/NAME[/VERSION]/json``).

Every call returns ``PackageMetadata`` or an ``IndexProblem``; nothing here raises for an upstream
failure. Requests go through ``requests`` (a caller's session, or one shared by the client's
threads). Each response body is read under a byte cap and a total transfer deadline, counted for
the statistics, and retried on 429, 5xx and timeouts with ``scanner.resolve.retry`` (which honours
a capped ``Retry-After``).

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
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypeAlias
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scanner.core.capped_io import decode_utf8, parse_json_text
from scanner.core.errors import MalformedFileError, UsageError
from scanner.core.offline import NetworkBlockedError
from scanner.formats.python.records import PackageMetadata
from scanner.resolve.hub.cache import HubCache
from scanner.resolve.hub.client import HubStats
from scanner.resolve.retry import (
    AttemptFailed,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
    with_retries,
)

if TYPE_CHECKING:
    import requests

_LOG = logging.getLogger("sovscan")

#: The index used when neither ``--index-url`` nor ``SOVSCAN_INDEX_URL`` names one.
DEFAULT_INDEX_URL: Final = "https://pypi.org"
#: Environment variable naming the index (same rules as ``--index-url``).
INDEX_URL_ENV: Final = "SOVSCAN_INDEX_URL"
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
#: Most of an error response's body read (only its message is of interest).
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
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
#: Longest server message quoted in a problem.
MAX_SERVER_MESSAGE_CHARS: Final = 300
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
#: What a client has cost so far: the Hub client's record, reused.
IndexStats: TypeAlias = HubStats
IndexResult: TypeAlias = "PackageMetadata | IndexProblem"

_READ_CHUNK: Final = 64 * 1024
_MIN_SECRET_CHARS: Final = 6  # shorter credentials are not scrubbed from text (would garble it)
_TRANSIENT_KINDS: Final = frozenset({"unreachable", "rate-limited", "server-error"})
_NAME = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?", re.IGNORECASE | re.ASCII)  # PEP 508
_VERSION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.+!_-]*[A-Za-z0-9])?", re.ASCII)
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")
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


def index_url_from_env() -> str | None:
    """``$SOVSCAN_INDEX_URL`` (stripped), or None when unset or empty."""
    value = os.environ.get(INDEX_URL_ENV, "").strip()
    return value or None


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


def strip_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    return _USERINFO.sub("", text)


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


class _TransferTooSlowError(Exception):
    """The body did not arrive within the transfer deadline."""


class PackageIndexClient:
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
        for label, value in (("timeout_s", timeout_s), ("transfer_timeout_s", transfer_timeout_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{label} must be a positive number, not {value!r}")
        if not (math.isfinite(project_ttl_s) and project_ttl_s >= 0):
            raise ValueError(f"project_ttl_s must be a finite number >= 0, not {project_ttl_s!r}")
        self._location = parse_index_url(index_url)
        self.index_url = self._location.root
        """The JSON API root in use, without credentials."""
        self.offline = offline
        self._cache = (
            HubCache(cache_dir / INDEX_CACHE_SUBDIR, endpoint=self.index_url) if use_cache else None
        )
        self._policy = RetryPolicy(max_retries=max_retries, backoff_s=backoff_s)
        self._timeout_s = timeout_s
        self._transfer_timeout_s = transfer_timeout_s
        self._project_ttl_s = project_ttl_s
        self._sleep = sleep
        self._clock = clock
        self._given_session = session
        self._own_session: requests.Session | None = None
        self._secrets = tuple(
            secret
            for secret in (self._location.username, self._location.password)
            if secret and len(secret) >= _MIN_SECRET_CHARS
        )
        self._lock = threading.Lock()
        self._memo: dict[_Key, IndexResult] = {}
        self._flights: dict[_Key, threading.Lock] = {}
        self._requests = 0
        self._bytes_received = 0
        self._retries = 0
        self._cache_hits = 0

    def __enter__(self) -> PackageIndexClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session the client made (never a caller's)."""
        with self._lock:
            session, self._own_session = self._own_session, None
        if session is not None:
            session.close()

    @property
    def stats(self) -> IndexStats:
        """Requests, bytes, retries and cache hits so far."""
        with self._lock:
            return HubStats(
                requests=self._requests,
                bytes_received=self._bytes_received,
                retries=self._retries,
                cache_hits=self._cache_hits,
            )

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
                    self._cache_hits += 1
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
            self._count(cache_hits=1)
            return cached.metadata
        if self.offline:
            return self._offline_miss(url, what)
        result = self._fetch(key, url, what=what, max_body=max_body)
        if isinstance(result, PackageMetadata):
            self._store(key, result)
        elif cached is not None and result.kind in _TRANSIENT_KINDS:
            _LOG.warning("%s; using the cached copy of %s", result.message, what)
            self._count(cache_hits=1)
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

    # -- the wire ----------------------------------------------------------------------------

    def _fetch(self, key: _Key, url: str, *, what: str, max_body: int) -> IndexResult:
        reply = self._get(url, what=what, max_body=max_body)
        if isinstance(reply, IndexProblem):
            return reply
        try:
            return parse_index_json(reply, source=url, name=key.name, version=key.version or None)
        except MalformedFileError as exc:
            return self._problem("malformed", f"{what}: unusable answer from {url}: {exc}", url)

    def _get(self, url: str, *, what: str, max_body: int) -> bytes | IndexProblem:
        retries = 0

        def attempt() -> bytes | AttemptFailed[IndexProblem]:
            return self._attempt(url, what=what, max_body=max_body)

        def on_retry(retry_number: int, delay: float, failure: IndexProblem) -> None:
            nonlocal retries
            retries = retry_number
            with self._lock:
                self._retries += 1
            _LOG.info(
                "%s; retry %d of %d in %.1f s",
                failure.message,
                retry_number,
                self._policy.max_retries,
                delay,
            )

        outcome = with_retries(attempt, self._policy, sleep=self._sleep, on_retry=on_retry)
        if isinstance(outcome, IndexProblem) and retries and outcome.kind in _TRANSIENT_KINDS:
            tries = "retry" if retries == 1 else "retries"
            return replace(outcome, message=f"{outcome.message} (gave up after {retries} {tries})")
        return outcome

    def _attempt(
        self, url: str, *, what: str, max_body: int
    ) -> bytes | AttemptFailed[IndexProblem]:
        import requests
        import urllib3

        session = self._session()
        deadline = time.monotonic() + self._transfer_timeout_s
        self._count(requests=1)
        try:
            response = session.get(
                url,
                headers={"Accept": _ACCEPT, "User-Agent": _user_agent()},
                auth=self._location.auth,
                timeout=(self._timeout_s, self._timeout_s),
                stream=True,
                allow_redirects=True,
            )
        except requests.RequestException as exc:
            return self._transport_failure(exc, url, what)
        with response:
            self._count(
                requests=len(response.history),
                bytes_received=sum(_wire_bytes(earlier) for earlier in response.history),
            )
            status = response.status_code
            success = 200 <= status < 300
            try:
                body, overflow = _read_capped(
                    response, max_body if success else MAX_ERROR_BODY_BYTES, deadline
                )
            except _TransferTooSlowError:
                message = (
                    f"{what}: the answer from {url} took longer than {self._transfer_timeout_s:g} s"
                )
                problem = self._problem("unreachable", message, url)
                return AttemptFailed(failure=problem, retryable=True)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                return self._transport_failure(exc, url, what)
            finally:
                self._count(bytes_received=_wire_bytes(response))
            headers = response.headers
        if success and overflow:
            message = f"{what}: the answer from {url} exceeds {max_body} bytes; not read"
            return AttemptFailed(failure=self._problem("too-large", message, url), retryable=False)
        if success:
            return body
        problem = self._status_problem(status, b"" if overflow else body, url, what)
        return AttemptFailed(
            failure=problem,
            retryable=is_retryable_status(status),
            retry_after=parse_retry_after(headers),
        )

    def _session(self) -> requests.Session:
        if self._given_session is not None:
            return self._given_session
        with self._lock:
            if self._own_session is None:
                import requests
                from requests.adapters import HTTPAdapter

                session = requests.Session()
                session.max_redirects = MAX_REDIRECTS
                # Retries are ours (with Retry-After); the pool fits fetch_many's threads.
                adapter = HTTPAdapter(pool_maxsize=MAX_WORKERS, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                self._own_session = session
            return self._own_session

    def _status_problem(self, status: int, body: bytes, url: str, what: str) -> IndexProblem:
        kind: ProblemKind
        if status in {404, 410}:
            kind, reason = "not-found", "not on the index"
        elif status in {401, 403}:
            hint = (
                "the credentials in the index URL were refused"
                if self._location.auth is not None
                else "the index wants credentials: put them in the index URL"
            )
            kind, reason = "denied", f"access refused ({hint})"
        elif status == 429:
            kind, reason = "rate-limited", "rate limited by the index"
        elif status == 408 or status >= 500:
            kind, reason = "server-error", "the index failed"
        else:
            kind, reason = "refused", "the index refused the request"
        server = _server_message(body)
        detail = f": {server}" if server else ""
        return self._problem(kind, f"{what}: {reason} (HTTP {status} from {url}){detail}", url)

    def _transport_failure(
        self, exc: BaseException, url: str, what: str
    ) -> AttemptFailed[IndexProblem]:
        import requests
        import urllib3

        if _caused_by(exc, NetworkBlockedError):
            message = f"{what}: offline mode refused the connection to {url}"
            return AttemptFailed(
                failure=self._problem("offline-miss", message, url), retryable=False
            )
        detail = _clip_message(str(exc))
        retryable = True
        if isinstance(exc, requests.exceptions.SSLError):
            reason, retryable = f"TLS failed ({detail})", False
        elif isinstance(exc, requests.Timeout) or _caused_by(exc, urllib3.exceptions.TimeoutError):
            reason = "timed out"
        elif isinstance(exc, requests.TooManyRedirects):
            problem = self._problem("refused", f"{what}: too many redirects ({url})", url)
            return AttemptFailed(failure=problem, retryable=False)
        elif isinstance(
            exc,
            requests.ConnectionError
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError
            | urllib3.exceptions.HTTPError
            | OSError,
        ):
            reason = f"could not connect, or the transfer broke ({detail})"
        else:
            reason, retryable = f"request failed ({type(exc).__name__}: {detail})", False
        problem = self._problem("unreachable", f"{what}: {reason} ({url})", url)
        return AttemptFailed(failure=problem, retryable=retryable)

    # -- bookkeeping and messages ------------------------------------------------------------

    def _count(self, *, requests: int = 0, bytes_received: int = 0, cache_hits: int = 0) -> None:
        with self._lock:
            self._requests += requests
            self._bytes_received += bytes_received
            self._cache_hits += cache_hits

    def _scrub(self, text: str) -> str:
        text = strip_userinfo(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _problem(self, kind: ProblemKind, message: str, url: str) -> IndexProblem:
        return IndexProblem(kind=kind, message=self._scrub(message), url=self._scrub(url))

    def _invalid(self, message: str) -> IndexProblem:
        return self._problem("invalid-name", f"{message}; not looked up", self.index_url)

    def _offline_miss(self, url: str, what: str) -> IndexProblem:
        cache = "" if self._cache is not None else " (the cache is disabled)"
        message = (
            f"offline: the index metadata of {what} is not in the cache{cache}; "
            f"a scan online would fetch {url}"
        )
        return self._problem("offline-miss", message, url)


# -- helpers of the wire -------------------------------------------------------------------------


def _user_agent() -> str:
    import scanner

    return f"sovscan/{scanner.__version__}"


def _read_capped(response: requests.Response, limit: int, deadline: float) -> tuple[bytes, bool]:
    """The body, read one network read at a time; (b"", True) once it grows past ``limit``."""
    declared = _content_length(response.headers)
    if declared is not None and declared > limit:
        return b"", True
    # read1 returns after a single recv, so the deadline is checked while a server trickles;
    # urllib3 < 2.3 lacks it, and read() then waits for a whole chunk between checks.
    read = getattr(response.raw, "read1", None) or response.raw.read
    chunks: list[bytes] = []
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise _TransferTooSlowError
        chunk = read(_READ_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks), False
        total += len(chunk)
        if total > limit:
            return b"", True
        chunks.append(chunk)


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None


def _wire_bytes(response: requests.Response) -> int:
    """Body bytes received on the wire (before decompression), as urllib3 counts them."""
    tell = getattr(response.raw, "tell", None)
    try:
        count = tell() if callable(tell) else 0
    except (OSError, ValueError):
        return 0
    return count if isinstance(count, int) else 0


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is anywhere in the chain (causes, contexts, urllib3 reasons, args)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        pending.extend(current.args)
    return False


def _server_message(body: bytes) -> str:
    if not body:
        return ""
    try:
        document: Any = parse_json_text(body.decode("utf-8"), max_depth=4)
    except (UnicodeDecodeError, MalformedFileError):
        return ""
    message = document.get("message") if isinstance(document, dict) else None
    return _clip_message(message) if isinstance(message, str) else ""


def _clip_message(text: str) -> str:
    printable = "".join(char if char.isprintable() else " " for char in text).strip()
    if len(printable) > MAX_SERVER_MESSAGE_CHARS:
        return printable[:MAX_SERVER_MESSAGE_CHARS] + "…"
    return printable


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
