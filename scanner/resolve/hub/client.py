"""The Hugging Face Hub client: repo info, small files and header range reads; weights never.

Every call returns data or a ``HubProblem``; nothing here raises for an upstream failure. The wire
work goes through huggingface_hub (its shared httpx2 session, ``build_hf_headers`` and
``hf_raise_for_status`` for the error taxonomy), imported lazily so that ``sovscan --help`` does
not pay for it. Requests are made here rather than through ``HfApi.model_info`` so that every
response body is read under a byte cap, counted for the transfer statistics, and retried with
our policy (``model_info`` never retries; ``http_backoff`` cannot cap ``Retry-After``).

Answers at a commit never change, so they are cached on disk (``scanner.resolve.hub.cache``) and
asked for once. A branch is asked for again on every run (once per client); ``--offline`` uses
the last commit seen for it and says so in ``HubRepoInfo.note``.

The token is sent only as the ``Authorization`` header; it is never stored, logged or put in a
message (every message is scrubbed for it, defensively).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias
from urllib.parse import quote, urlsplit

from scanner.core.capped_io import parse_json_text
from scanner.core.config import DEFAULT_HUB
from scanner.core.errors import MalformedFileError, UsageError
from scanner.resolve.hub.cache import HubCache
from scanner.resolve.retry import (
    AttemptFailed,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
    with_retries,
)

if TYPE_CHECKING:
    from pathlib import Path

    import httpx2

_LOG = logging.getLogger("sovscan")

#: The Hub used when neither ``--hub-endpoint`` nor ``HF_ENDPOINT`` names one.
DEFAULT_ENDPOINT: Final = DEFAULT_HUB
#: Default cap for ``small_file``: the metadata JSON cap of ``scanner.core.capped_io``.
SMALL_FILE_MAX_BYTES: Final = 16 * 1024 * 1024
#: Largest repo-info answer read; the biggest real ones (datasets with ~100k files) are ~20 MB.
MAX_REPO_INFO_BYTES: Final = 64 * 1024 * 1024
#: Largest prefix ``header_bytes`` reads: a safetensors header is at most 25 MB + 8 bytes; GGUF
#: metadata with a large vocabulary is a few MB.
MAX_HEADER_READ_BYTES: Final = 64 * 1024 * 1024
#: Most of an error response's body read (only its message is of interest).
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
#: Most files a repo listing may hold; more is treated as a malformed answer.
MAX_LISTED_FILES: Final = 500_000
#: Longest file path kept from a listing.
MAX_PATH_CHARS: Final = 4096
#: Most tags kept from a repo's info.
MAX_TAGS: Final = 10_000
#: Longest revision name accepted (git allows longer; nobody uses them).
MAX_REVISION_CHARS: Final = 256
#: Longest server message quoted in a problem.
MAX_SERVER_MESSAGE_CHARS: Final = 300
#: Deepest JSON accepted from the Hub or the cache.
MAX_JSON_DEPTH: Final = 64

RepoType = Literal["model", "dataset"]
ProblemKind = Literal[
    "not-found",
    "gated",
    "revision-not-found",
    "rate-limited",
    "server-error",
    "network",
    "offline-miss",
    "malformed",
    "too-large",
]
#: A JSON value made read-only: objects are mappings, arrays are tuples.
FrozenJson: TypeAlias = (
    "bool | int | float | str | tuple[FrozenJson, ...] | Mapping[str, FrozenJson] | None"
)

_REPO_TYPES: Final = ("model", "dataset")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?", re.ASCII)
_UNSAFE_REVISION = re.compile(r"[\x00-\x20\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN_LIKE = re.compile(r"\b(?:hf_|api_org_)[A-Za-z0-9]{16,}")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_EMPTY_MAPPING: Final[Mapping[str, FrozenJson]] = MappingProxyType({})
_TRUE_VALUES: Final = frozenset({"1", "ON", "YES", "TRUE"})
_TRANSIENT_KINDS: Final = frozenset({"rate-limited", "server-error", "network"})
_USERINFO = re.compile(r"(//)[^/@]*@")


@dataclass(frozen=True, slots=True, kw_only=True)
class HubFile:
    """One file of a repo at a commit, as the Hub lists it."""

    path: str
    """POSIX path inside the repo (from the Hub: untrusted, never used as a local path)."""
    size: int | None
    """Size in bytes (the real content size for LFS files)."""
    sha256: str | None
    """LFS content SHA-256 (lowercase hex); None for files kept in git itself."""
    blob_id: str | None
    """Git blob object id (of the LFS pointer, for LFS files)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HubRepoInfo:
    """What the Hub says about a repo at one commit (``model_info(files_metadata=True)``)."""

    repo_id: str
    """The id the Hub answered with (canonical spelling; may differ from the one asked for)."""
    repo_type: RepoType
    commit: str
    author: str | None
    gated: bool | str
    """False, or the gating mode (``"auto"``, ``"manual"``; True if the Hub just says so)."""
    tags: tuple[str, ...]
    library_name: str | None
    pipeline_tag: str | None
    card_data: Mapping[str, FrozenJson]
    """The model card's YAML as the Hub parsed it (``cardData``); empty when there is none."""
    config: Mapping[str, FrozenJson] | None
    """The Hub's digest of config.json (``config``), when it gives one."""
    files: tuple[HubFile, ...]
    base_models_field: FrozenJson
    """The raw ``baseModels`` value (undocumented shape), or None when absent."""
    url: str
    """The repo's web page at the endpoint."""
    note: str | None = None
    """Set when offline and a branch was taken as its last-seen commit: what was assumed."""

    def file(self, path: str) -> HubFile | None:
        """The listed file at ``path``, or None."""
        return next((item for item in self.files if item.path == path), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class HubProblem:
    """Why something could not be read from the Hub; becomes a ScanIssue, never a traceback."""

    repo_id: str
    kind: ProblemKind
    message: str
    """Names the repo and the URL or file; never holds the token."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HubStats:
    """What a client has cost so far."""

    requests: int
    """HTTP requests sent, retries and followed redirects included."""
    bytes_received: int
    """Response body bytes received, as sent on the wire (before decompression)."""
    retries: int
    cache_hits: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class _Exchange:
    status: int
    headers: httpx2.Headers
    request: httpx2.Request
    body: bytes
    overflow: bool
    """More body was on its way than the cap allowed."""


class _MalformedAnswerError(Exception):
    """A Hub answer (or cache entry) that does not have the expected shape."""


class HubClient:
    """Reads repo metadata from a Hub endpoint through huggingface_hub, with retries and a cache.

    ``endpoint``: explicit, else ``HF_ENDPOINT`` (read now, not at import), else huggingface.co.
    ``token``: a string; True or None for ``HF_TOKEN``, then the user's stored login (None also
    honours ``HF_HUB_DISABLE_IMPLICIT_TOKEN``); False for none. ``offline`` (or
    ``HF_HUB_OFFLINE=1``): answers come from the cache only and no connection is ever opened.
    ``use_cache=False`` neither reads nor writes the disk cache. Safe to share between threads.
    """

    def __init__(
        self,
        *,
        endpoint: str | None,
        token: str | bool | None,
        cache_dir: Path,
        offline: bool,
        use_cache: bool = True,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number, not {timeout_s!r}")
        self.endpoint = resolve_endpoint(endpoint)
        self.offline = offline or _offline_from_environment()
        self._token_setting = token
        self._token: str | None = None
        self._token_resolved = False
        self._cache = HubCache(cache_dir, endpoint=self.endpoint) if use_cache else None
        self._policy = RetryPolicy(max_retries=max_retries, backoff_s=backoff_s)
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests = 0
        self._bytes_received = 0
        self._retries = 0
        self._cache_hits = 0
        # Within one client (one scan) a branch resolves once, so the whole scan sees one commit.
        self._refs: dict[tuple[str, str, str], str] = {}
        self._infos: dict[tuple[str, str, str], HubRepoInfo] = {}

    @property
    def stats(self) -> HubStats:
        """Requests, bytes, retries and cache hits so far."""
        with self._lock:
            return HubStats(
                requests=self._requests,
                bytes_received=self._bytes_received,
                retries=self._retries,
                cache_hits=self._cache_hits,
            )

    # -- repo info ---------------------------------------------------------------------------

    def repo_info(
        self, repo_id: str, revision: str | None = None, repo_type: str = "model"
    ) -> HubRepoInfo | HubProblem:
        """The repo's info at ``revision`` (default branch when None), files with their hashes.

        A commit already cached costs no request. Offline, a branch or tag is answered with the
        commit last seen for it online (``note`` says so); anything never seen is an
        ``offline-miss``.
        """
        kind = _repo_type(repo_type)
        label = _label(kind, repo_id, revision)
        if not _is_repo_id(repo_id):
            return self._problem(repo_id, "malformed", f"{label}: not a Hub repo id")
        if revision is not None and not _is_revision(revision):
            message = f"{label}: {revision!r} is not a valid revision name"
            return self._problem(repo_id, "malformed", message)
        commit = _as_commit(revision)
        if commit is not None:
            cached = self._cached_info(kind, repo_id, commit)
            if cached is not None:
                return cached
            if self.offline:
                return self._offline_miss(repo_id, f"the info of {label}")
            return self._fetch_info(kind, repo_id, revision)
        name = revision or ""
        known = self._refs.get((kind, repo_id.lower(), name))
        if known is not None and (cached := self._cached_info(kind, repo_id, known)) is not None:
            return cached
        if self.offline:
            return self._offline_info(kind, repo_id, name, label)
        return self._fetch_info(kind, repo_id, revision)

    def _fetch_info(
        self, repo_type: RepoType, repo_id: str, revision: str | None
    ) -> HubRepoInfo | HubProblem:
        label = _label(repo_type, repo_id, revision)
        url = f"{self.endpoint}/api/{repo_type}s/{repo_id}"
        if revision is not None:
            url += f"/revision/{quote(revision, safe='')}"
        reply = self._get(
            url,
            repo_id=repo_id,
            what=label,
            params={"blobs": "true"},
            max_body=MAX_REPO_INFO_BYTES,
        )
        if isinstance(reply, HubProblem):
            return reply
        try:
            document = parse_json_text(reply.body.decode("utf-8"), max_depth=MAX_JSON_DEPTH)
            info = _info_from_api(
                document, repo_type=repo_type, asked_id=repo_id, endpoint=self.endpoint
            )
        except (UnicodeDecodeError, MalformedFileError, _MalformedAnswerError) as exc:
            return self._problem(
                repo_id, "malformed", f"{label}: unusable answer from {url}: {exc}"
            )
        self._remember(info, asked_id=repo_id, revision=revision)
        return info

    def _offline_info(
        self, repo_type: RepoType, repo_id: str, name: str, label: str
    ) -> HubRepoInfo | HubProblem:
        ref = self._cache.get_ref(repo_type, repo_id, name) if self._cache else None
        info = self._cached_info(repo_type, repo_id, ref.commit) if ref else None
        if ref is None or info is None:
            return self._offline_miss(repo_id, f"the info of {label}")
        seen = datetime.fromtimestamp(ref.fetched_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        what = f"revision {name!r}" if name else "the default branch"
        note = (
            f"offline: {what} of {_label(repo_type, repo_id, None)} taken as commit "
            f"{ref.commit}, last seen online {seen}; it may have moved since"
        )
        return replace(info, note=note)

    def _cached_info(self, repo_type: RepoType, repo_id: str, commit: str) -> HubRepoInfo | None:
        key = (repo_type, repo_id.lower(), commit)
        info = self._infos.get(key)
        if info is None and self._cache is not None:
            stored = self._cache.get_info(repo_type, repo_id, commit)
            if stored is not None:
                try:
                    info = _info_from_cache(stored, repo_type=repo_type, endpoint=self.endpoint)
                except _MalformedAnswerError as exc:
                    _LOG.warning("Hub cache: ignoring the entry of %s@%s: %s", repo_id, commit, exc)
                if info is not None and info.commit == commit:
                    self._infos[key] = info
                else:
                    info = None
        if info is not None:
            with self._lock:
                self._cache_hits += 1
        return info

    def _remember(self, info: HubRepoInfo, *, asked_id: str, revision: str | None) -> None:
        for repo_id in {asked_id.lower(), info.repo_id.lower()}:
            self._infos[(info.repo_type, repo_id, info.commit)] = info
            if self._cache is not None:
                self._cache.put_info(info.repo_type, repo_id, info.commit, _info_to_cache(info))
        if _as_commit(revision) is None:
            name = revision or ""
            self._refs[(info.repo_type, asked_id.lower(), name)] = info.commit
            if self._cache is not None:
                self._cache.put_ref(info.repo_type, asked_id, name, info.commit)

    # -- files ---------------------------------------------------------------------------

    def small_file(
        self, info: HubRepoInfo, path: str, *, max_bytes: int = SMALL_FILE_MAX_BYTES
    ) -> bytes | HubProblem:
        """The whole content of a small, non-LFS file at ``info.commit``.

        Refuses (``too-large``, without a request) LFS files and files listed larger than
        ``max_bytes``; a body that grows past ``max_bytes`` is abandoned. Verified against the
        listed size and git blob id.
        """
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        where = f"{path} in {_label(info.repo_type, info.repo_id, info.commit)}"
        listed = info.file(path)
        refusal = self._check_file(info, path, listed, where)
        if refusal is not None:
            return refusal
        if listed is not None and listed.sha256 is not None:
            return self._problem(
                info.repo_id, "too-large", f"{where}: stored in LFS; sovscan never downloads it"
            )
        if listed is not None and listed.size is not None and listed.size > max_bytes:
            return self._problem(
                info.repo_id,
                "too-large",
                f"{where}: {listed.size} bytes, over the {max_bytes}-byte limit; not downloaded",
            )
        if self._cache is not None:
            cached = self._cache.get_file(info.repo_type, info.repo_id, info.commit, path)
            if cached is not None and _matches_listing(cached, listed):
                with self._lock:
                    self._cache_hits += 1
                return cached
        if self.offline:
            return self._offline_miss(info.repo_id, where)
        url = self._resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers={"Accept-Encoding": "identity"},
            max_body=max_bytes,
        )
        if isinstance(reply, HubProblem):
            return reply
        if not _matches_listing(reply.body, listed):
            return self._problem(
                info.repo_id,
                "malformed",
                f"{where}: the content from {url} does not match the size and git blob id the "
                "Hub listed for it",
            )
        if self._cache is not None:
            self._cache.put_file(info.repo_type, info.repo_id, info.commit, path, reply.body)
        return reply.body

    def header_bytes(self, info: HubRepoInfo, path: str, *, length: int) -> bytes | HubProblem:
        """The first ``length`` bytes of a file (fewer if it is shorter), by one Range request.

        The rest of the file is never transferred: reading stops at ``length`` bytes even if the
        server ignores the Range header. Prefixes are cached; a shorter read of a cached prefix
        costs nothing.
        """
        if not 0 < length <= MAX_HEADER_READ_BYTES:
            raise ValueError(f"length must be within 1..{MAX_HEADER_READ_BYTES}, not {length}")
        where = f"the first {length} bytes of {path} in "
        where += _label(info.repo_type, info.repo_id, info.commit)
        listed = info.file(path)
        refusal = self._check_file(info, path, listed, where)
        if refusal is not None:
            return refusal
        wanted = (
            min(length, listed.size) if listed is not None and listed.size is not None else length
        )
        if wanted == 0:
            return b""
        if self._cache is not None:
            cached = self._cache.get_prefix(info.repo_type, info.repo_id, info.commit, path)
            if cached is not None and len(cached) >= wanted:
                with self._lock:
                    self._cache_hits += 1
                return cached[:wanted]
        if self.offline:
            return self._offline_miss(info.repo_id, where)
        url = self._resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers={"Range": f"bytes=0-{wanted - 1}", "Accept-Encoding": "identity"},
            max_body=wanted,
            truncate=True,
        )
        if isinstance(reply, HubProblem):
            return reply
        problem = _range_problem(reply, wanted, listed)
        if problem is not None:
            return self._problem(info.repo_id, "malformed", f"{where}: {problem} (from {url})")
        if self._cache is not None:
            self._cache.put_prefix(info.repo_type, info.repo_id, info.commit, path, reply.body)
        return reply.body

    def range_bytes(
        self, info: HubRepoInfo, path: str, *, start: int, length: int
    ) -> bytes | HubProblem:
        """Bytes ``[start, start + length)`` of a file, by one Range request (``start`` 0 goes
        through ``header_bytes`` and its cache; other ranges are not cached).

        A server that ignores the range (answers from byte 0) or sends fewer bytes is a
        ``malformed`` problem: those are not the bytes asked for.
        """
        if start == 0:
            return self.header_bytes(info, path, length=length)
        if start < 0 or not 0 < length <= MAX_HEADER_READ_BYTES:
            raise ValueError(f"bad range: start {start}, length {length}")
        last = start + length - 1
        where = f"bytes {start}-{last} of {path} in "
        where += _label(info.repo_type, info.repo_id, info.commit)
        refusal = self._check_file(info, path, info.file(path), where)
        if refusal is not None:
            return refusal
        if self.offline:
            return self._problem(
                info.repo_id,
                "offline-miss",
                f"offline: {where} are not in the Hub cache (only the first bytes of a file "
                "are cached); a scan online would fetch them",
            )
        url = self._resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers={"Range": f"bytes={start}-{last}", "Accept-Encoding": "identity"},
            max_body=length,
            truncate=True,
        )
        if isinstance(reply, HubProblem):
            return reply
        answered = reply.headers.get("content-range", "").strip().lower()
        if reply.status != 206 or not answered.startswith(f"bytes {start}-"):
            return self._problem(
                info.repo_id,
                "malformed",
                f"{where}: the server did not answer with that range "
                f"(HTTP {reply.status}, {answered or 'no Content-Range'}) (from {url})",
            )
        if len(reply.body) < length:
            return self._problem(
                info.repo_id,
                "malformed",
                f"{where}: short read, {len(reply.body)} of {length} bytes (from {url})",
            )
        return reply.body

    def _check_file(
        self, info: HubRepoInfo, path: str, listed: HubFile | None, where: str
    ) -> HubProblem | None:
        if not _is_repo_path(path):
            return self._problem(info.repo_id, "malformed", f"{where}: not a safe repo path")
        if listed is None and info.files:
            return self._problem(
                info.repo_id, "not-found", f"{where}: no such file in the Hub's listing"
            )
        return None

    def _resolve_url(self, info: HubRepoInfo, path: str) -> str:
        from huggingface_hub import hf_hub_url  # lazy: keeps start-up light

        return hf_hub_url(
            info.repo_id,
            path,
            repo_type=None if info.repo_type == "model" else info.repo_type,
            revision=info.commit,
            endpoint=self.endpoint,
        )

    # -- the wire ----------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        *,
        repo_id: str,
        what: str,
        max_body: int,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        truncate: bool = False,
    ) -> _Reply | HubProblem:
        # Documented public API; the package's lazy exports hide it from mypy.
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

        import scanner

        token = self._auth_token()
        if token and token in url:
            # httpx and huggingface_hub log request URLs; such a URL must never be sent.
            message = f"{what}: refusing to request {url}: the URL contains the token"
            return self._problem(repo_id, "malformed", message)
        request_headers = build_hf_headers(
            token=token if token else False,
            library_name="sovscan",
            library_version=scanner.__version__,
        )
        request_headers.update(headers or {})

        retries = 0

        def attempt() -> _Reply | AttemptFailed[HubProblem]:
            return self._attempt(
                url,
                repo_id=repo_id,
                what=what,
                params=params,
                headers=request_headers,
                max_body=max_body,
                truncate=truncate,
            )

        def on_retry(retry_number: int, delay: float, failure: HubProblem) -> None:
            nonlocal retries
            retries = retry_number
            self._on_retry(retry_number, delay, failure)

        outcome = with_retries(attempt, self._policy, sleep=self._sleep, on_retry=on_retry)
        if isinstance(outcome, HubProblem) and retries and outcome.kind in _TRANSIENT_KINDS:
            tries = "retry" if retries == 1 else "retries"
            return replace(outcome, message=f"{outcome.message} (gave up after {retries} {tries})")
        return outcome

    def _attempt(
        self,
        url: str,
        *,
        repo_id: str,
        what: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        max_body: int,
        truncate: bool,
    ) -> _Reply | AttemptFailed[HubProblem]:
        import httpx2
        from huggingface_hub.errors import OfflineModeIsEnabled

        try:
            exchange = self._exchange(
                url, params=params, headers=headers, max_body=max_body, truncate=truncate
            )
        except OfflineModeIsEnabled:
            return AttemptFailed(failure=self._offline_miss(repo_id, what), retryable=False)
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
            message = f"{what}: {_describe_transport_error(exc)} ({url})"
            return AttemptFailed(failure=self._problem(repo_id, "network", message), retryable=True)
        except (httpx2.HTTPError, httpx2.InvalidURL, httpx2.StreamError, OSError) as exc:
            message = f"{what}: {_describe_transport_error(exc)} ({url})"
            problem = self._problem(repo_id, "network", message)
            return AttemptFailed(failure=problem, retryable=False)
        if 200 <= exchange.status < 300:
            if exchange.overflow:
                message = f"{what}: the answer from {url} exceeds {max_body} bytes"
                problem = self._problem(repo_id, "too-large", message)
                return AttemptFailed(failure=problem, retryable=False)
            return _Reply(status=exchange.status, headers=exchange.headers, body=exchange.body)
        problem = self._status_problem(exchange, repo_id=repo_id, what=what, url=url)
        return AttemptFailed(
            failure=problem,
            retryable=is_retryable_status(exchange.status),
            retry_after=parse_retry_after(exchange.headers),
        )

    def _exchange(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        max_body: int,
        truncate: bool,
    ) -> _Exchange:
        """One GET through huggingface_hub's shared session, its body read under a cap."""
        from huggingface_hub import get_session

        self._count(requests=1)
        with get_session().stream(
            "GET", url, params=params, headers=headers, timeout=self._timeout_s
        ) as response:
            self._count(requests=len(response.history))  # redirects followed
            try:
                limit = max_body if response.is_success else MAX_ERROR_BODY_BYTES
                body, overflow = _read_body(response, limit, truncate=truncate)
            finally:
                self._count(bytes_received=response.num_bytes_downloaded)
            return _Exchange(
                status=response.status_code,
                headers=response.headers,
                request=response.request,
                body=body,
                overflow=overflow,
            )

    def _status_problem(
        self, exchange: _Exchange, *, repo_id: str, what: str, url: str
    ) -> HubProblem:
        status, headers = exchange.status, exchange.headers
        kind = _classify_status(status, headers, exchange.request)
        reason = {
            "not-found": "not found (missing, or private and not visible with this token)",
            "gated": "access refused (gated or private; "
            + ("this token has no access)" if self._token else "no token was sent: set HF_TOKEN)"),
            "revision-not-found": "revision not found",
            "rate-limited": "rate limited by the Hub",
            "server-error": "the Hub failed",
            "malformed": "the Hub refused the request",
        }.get(kind, "request failed")
        if kind == "not-found" and headers.get("x-error-code") == "EntryNotFound":
            reason = "file not found"
        server = _server_message(headers, exchange.body)
        detail = f": {server}" if server else ""
        return self._problem(repo_id, kind, f"{what}: {reason} (HTTP {status} from {url}){detail}")

    def _on_retry(self, retry_number: int, delay: float, failure: HubProblem) -> None:
        with self._lock:
            self._retries += 1
        _LOG.info(
            "%s; retry %d of %d in %.1f s",
            failure.message,
            retry_number,
            self._policy.max_retries,
            delay,
        )

    def _count(self, *, requests: int = 0, bytes_received: int = 0) -> None:
        with self._lock:
            self._requests += requests
            self._bytes_received += bytes_received

    # -- token and messages ------------------------------------------------------------------

    def _auth_token(self) -> str | None:
        with self._lock:
            if not self._token_resolved:
                self._token = _resolve_token(self._token_setting)
                self._token_resolved = True
            return self._token

    def _scrub(self, text: str) -> str:
        secrets = {self._token} if self._token else set()
        if isinstance(self._token_setting, str) and self._token_setting:
            secrets.add(self._token_setting)
        for secret in secrets:
            text = text.replace(secret, "***")
        text = _BEARER.sub(r"\1***", text)
        return _TOKEN_LIKE.sub("***", text)

    def _problem(self, repo_id: str, kind: ProblemKind, message: str) -> HubProblem:
        return HubProblem(repo_id=repo_id, kind=kind, message=self._scrub(message))

    def _offline_miss(self, repo_id: str, what: str) -> HubProblem:
        cache = "" if self._cache is not None else " (the cache is disabled)"
        return self._problem(
            repo_id,
            "offline-miss",
            f"offline: {what} is not in the Hub cache{cache}; a scan online would fetch it",
        )


# -- configuration ---------------------------------------------------------------------------


def resolve_endpoint(explicit: str | None) -> str:
    """The Hub endpoint: ``explicit``, else ``$HF_ENDPOINT``, else huggingface.co (no final /).

    Raises:
        UsageError: not an http(s) URL with a host, or it carries credentials or a query.
    """
    raw = explicit if explicit else os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    value = raw.strip().rstrip("/")
    shown = repr(_USERINFO.sub(r"\1***@", value))  # a credential in the URL is never echoed
    if _USERINFO.search(value):
        # It would end up in messages and logs; the token belongs in HF_TOKEN.
        raise UsageError(f"Hub endpoint {shown} must not carry credentials; set HF_TOKEN instead")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"Hub endpoint {shown} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise UsageError(f"Hub endpoint {shown} must not have a query or fragment")
    return value


def _offline_from_environment() -> bool:
    return any(
        os.environ.get(name, "").strip().upper() in _TRUE_VALUES
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _resolve_token(setting: str | bool | None) -> str | None:
    if setting is False:
        return None
    if isinstance(setting, str):
        return setting.strip() or None
    from_env = os.environ.get("HF_TOKEN", "").strip()
    if from_env:
        return from_env
    from huggingface_hub import constants, get_token

    if setting is None and constants.HF_HUB_DISABLE_IMPLICIT_TOKEN:
        return None
    try:
        return get_token()
    except Exception as exc:  # a broken login must not stop a scan of public repos
        _LOG.warning(
            "could not read the Hugging Face login (%s); continuing without a token",
            type(exc).__name__,
        )
        return None


# -- validation ------------------------------------------------------------------------------


def _repo_type(value: str) -> RepoType:
    if value == "model":
        return "model"
    if value == "dataset":
        return "dataset"
    raise ValueError(f"repo_type must be one of {_REPO_TYPES}, not {value!r}")


def _is_repo_name(value: str) -> bool:
    return _REPO_NAME.fullmatch(value) is not None and "--" not in value and ".." not in value


def _is_repo_id(value: str) -> bool:
    """``namespace/name`` or a legacy un-namespaced ``name`` (``gpt2``), by the Hub's rules."""
    parts = value.split("/")
    return 1 <= len(parts) <= 2 and all(_is_repo_name(part) for part in parts)


def _is_revision(value: str) -> bool:
    return 0 < len(value) <= MAX_REVISION_CHARS and _UNSAFE_REVISION.search(value) is None


def _as_commit(revision: str | None) -> str | None:
    if revision is None:
        return None
    lowered = revision.lower()
    return lowered if _COMMIT.fullmatch(lowered) else None


def _is_repo_path(path: str) -> bool:
    """A relative POSIX path with no empty, "." or ".." segment, backslash or control char."""
    if not path or len(path) > MAX_PATH_CHARS or "\\" in path or _CONTROL.search(path):
        return False
    return all(segment not in {"", ".", ".."} for segment in path.split("/"))


def _label(repo_type: str, repo_id: str, revision: str | None) -> str:
    prefix = "dataset " if repo_type == "dataset" else ""
    return f"{prefix}{repo_id}@{revision}" if revision else f"{prefix}{repo_id}"


def _web_url(endpoint: str, repo_type: RepoType, repo_id: str) -> str:
    return f"{endpoint}/datasets/{repo_id}" if repo_type == "dataset" else f"{endpoint}/{repo_id}"


# -- responses -------------------------------------------------------------------------------


def _read_body(response: httpx2.Response, limit: int, *, truncate: bool) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; returns the body and whether more was on its way.

    With ``truncate`` the body is cut at ``limit`` (a header read); the stream is closed as soon
    as enough has arrived, so the rest of a file is never transferred.
    """
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        room = limit - total
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), not truncate
        chunks.append(chunk)
        total += len(chunk)
        if truncate and total == limit:
            break
    return b"".join(chunks), False


def _classify_status(status: int, headers: httpx2.Headers, request: httpx2.Request) -> ProblemKind:
    """The problem kind for an error status, by huggingface_hub's own error taxonomy."""
    import httpx2
    from huggingface_hub import hf_raise_for_status
    from huggingface_hub.errors import (
        BadRequestError,
        DisabledRepoError,
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    # Only the headers that drive the classification, and no body: the library's message
    # builder assumes a JSON object body and would fail on anything else.
    kept = {
        name: value
        for name in ("x-error-code", "x-error-message")
        if (value := headers.get(name)) is not None
    }
    try:
        hf_raise_for_status(httpx2.Response(status, headers=kept, content=b"", request=request))
    except GatedRepoError:  # before RepositoryNotFoundError: it is a subclass
        return "gated"
    except (RepositoryNotFoundError, DisabledRepoError, EntryNotFoundError):
        return "not-found"
    except RevisionNotFoundError:
        return "revision-not-found"
    except BadRequestError:
        return "malformed"
    except HfHubHTTPError:
        return _kind_for_status(status)
    return "malformed"  # a 1xx/3xx that was not followed: nothing usable came back


def _kind_for_status(status: int) -> ProblemKind:
    if status == 429:
        return "rate-limited"
    if status in {401, 403}:
        return "gated"
    if status in {404, 410}:
        return "not-found"
    if status == 408 or status >= 500:
        return "server-error"
    return "malformed"


def _server_message(headers: Mapping[str, str], body: bytes) -> str:
    message = headers.get("x-error-message") or ""
    if not message and body:
        try:
            document = parse_json_text(body.decode("utf-8"), max_depth=4)
        except (UnicodeDecodeError, MalformedFileError):
            document = None
        error = document.get("error") if isinstance(document, dict) else None
        message = error if isinstance(error, str) else ""
    printable = "".join(char if char.isprintable() else " " for char in message).strip()
    if len(printable) > MAX_SERVER_MESSAGE_CHARS:
        printable = printable[:MAX_SERVER_MESSAGE_CHARS] + "…"
    return printable


def _describe_transport_error(exc: BaseException) -> str:
    import httpx2

    if isinstance(exc, httpx2.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx2.ConnectError):
        return f"could not connect ({exc})"
    if isinstance(exc, httpx2.TooManyRedirects):
        return "too many redirects"
    return f"transfer failed ({type(exc).__name__}: {exc})"


def _range_problem(reply: _Reply, wanted: int, listed: HubFile | None) -> str | None:
    content_range = reply.headers.get("content-range")
    if (
        reply.status == 206
        and content_range is not None
        and not content_range.strip().lower().startswith("bytes 0-")
    ):
        return f"the server answered another range ({content_range})"
    if len(reply.body) < wanted and listed is not None and listed.size is not None:
        return f"short read: {len(reply.body)} of {wanted} bytes"
    return None


def _git_blob_id(data: bytes) -> str:
    header = f"blob {len(data)}\0".encode("ascii")
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def _matches_listing(data: bytes, listed: HubFile | None) -> bool:
    if listed is None:
        return True
    if listed.size is not None and len(data) != listed.size:
        return False
    return (
        listed.blob_id is None
        or not _COMMIT.fullmatch(listed.blob_id)
        or (_git_blob_id(data) == listed.blob_id)
    )


# -- the Hub's JSON and our cached form ------------------------------------------------------


def _info_from_api(
    document: object, *, repo_type: RepoType, asked_id: str, endpoint: str
) -> HubRepoInfo:
    if not isinstance(document, dict):
        raise _MalformedAnswerError("not a JSON object")
    commit = document.get("sha")
    if not isinstance(commit, str) or _COMMIT.fullmatch(commit.lower()) is None:
        raise _MalformedAnswerError("no commit sha")
    answered = document.get("id")
    repo_id = answered if isinstance(answered, str) and _is_repo_id(answered) else asked_id
    card = document.get("cardData")
    config = document.get("config")
    return HubRepoInfo(
        repo_id=repo_id,
        repo_type=repo_type,
        commit=commit.lower(),
        author=_optional_str(document.get("author")),
        gated=_gated(document.get("gated")),
        tags=_strings(document.get("tags")),
        library_name=_optional_str(document.get("library_name")),
        pipeline_tag=_optional_str(document.get("pipeline_tag")),
        card_data=_freeze_object(card) if isinstance(card, dict) else _EMPTY_MAPPING,
        config=_freeze_object(config) if isinstance(config, dict) else None,
        files=_files_from_siblings(document.get("siblings")),
        base_models_field=_freeze(document.get("baseModels")),
        url=_web_url(endpoint, repo_type, repo_id),
    )


def _files_from_siblings(siblings: object) -> tuple[HubFile, ...]:
    if siblings is None:
        return ()
    if not isinstance(siblings, list):
        raise _MalformedAnswerError("'siblings' is not a list")
    if len(siblings) > MAX_LISTED_FILES:
        raise _MalformedAnswerError(f"more than {MAX_LISTED_FILES} files listed")
    files: dict[str, HubFile] = {}
    for entry in siblings:
        item = _file_from_sibling(entry)
        if item is not None and item.path not in files:
            files[item.path] = item
    return tuple(files.values())


def _file_from_sibling(entry: object) -> HubFile | None:
    """One listed file; siblings use ``rfilename``/``blobId``, tree items ``path``/``oid``."""
    if not isinstance(entry, dict):
        return None
    path = entry.get("rfilename", entry.get("path"))
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS:
        return None
    lfs = entry.get("lfs")
    sha256: str | None = None
    size = _size(entry.get("size"))
    if isinstance(lfs, dict):
        digest = lfs.get("sha256", lfs.get("oid"))
        sha256 = (
            digest.lower()
            if isinstance(digest, str) and _SHA256.fullmatch(digest.lower())
            else None
        )
        size = _size(lfs.get("size")) if _size(lfs.get("size")) is not None else size
    blob = entry.get("blobId", entry.get("oid"))
    blob_id = blob.lower() if isinstance(blob, str) and _COMMIT.fullmatch(blob.lower()) else None
    return HubFile(path=path, size=size, sha256=sha256, blob_id=blob_id)


def _size(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value[:MAX_TAGS] if isinstance(item, str))


def _gated(value: object) -> bool | str:
    if isinstance(value, str) and value and value.lower() != "false":
        return value[:32]
    return value is True


def _freeze(value: object, depth: int = 0) -> FrozenJson:
    if depth > MAX_JSON_DEPTH:
        raise _MalformedAnswerError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return MappingProxyType({str(key): _freeze(item, depth + 1) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, depth + 1) for item in value)
    raise _MalformedAnswerError(f"unexpected {type(value).__name__} in JSON")


def _freeze_object(value: dict[object, object]) -> Mapping[str, FrozenJson]:
    frozen = _freeze(value)
    assert isinstance(frozen, Mapping)  # noqa: S101  (a dict freezes to a mapping)
    return frozen


def thaw_json(value: FrozenJson) -> object:
    """A plain, mutable copy of a frozen JSON value (dicts and lists), e.g. for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {key: thaw_json(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw_json(item) for item in value]
    return value


def _info_to_cache(info: HubRepoInfo) -> dict[str, object]:
    return {
        "repo_id": info.repo_id,
        "repo_type": info.repo_type,
        "commit": info.commit,
        "author": info.author,
        "gated": info.gated,
        "tags": list(info.tags),
        "library_name": info.library_name,
        "pipeline_tag": info.pipeline_tag,
        "card_data": thaw_json(info.card_data),
        "config": None if info.config is None else thaw_json(info.config),
        "files": [[item.path, item.size, item.sha256, item.blob_id] for item in info.files],
        "base_models_field": thaw_json(info.base_models_field),
    }


def _info_from_cache(
    document: dict[str, object], *, repo_type: RepoType, endpoint: str
) -> HubRepoInfo:
    """Rebuild a HubRepoInfo from ``_info_to_cache`` output, checking every field's type."""
    repo_id, commit = document.get("repo_id"), document.get("commit")
    if not (isinstance(repo_id, str) and _is_repo_id(repo_id)):
        raise _MalformedAnswerError("bad repo_id")
    if document.get("repo_type") != repo_type:
        raise _MalformedAnswerError("another repo type")
    if not (isinstance(commit, str) and _COMMIT.fullmatch(commit)):
        raise _MalformedAnswerError("bad commit")
    gated, tags = document.get("gated"), document.get("tags")
    if not isinstance(gated, bool | str) or not (
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
    ):
        raise _MalformedAnswerError("bad gated or tags")
    card, config = document.get("card_data"), document.get("config")
    if not isinstance(card, dict) or not (config is None or isinstance(config, dict)):
        raise _MalformedAnswerError("bad card_data or config")
    text_fields = [document.get(name) for name in ("author", "library_name", "pipeline_tag")]
    if not all(value is None or isinstance(value, str) for value in text_fields):
        raise _MalformedAnswerError("bad text field")
    author, library_name, pipeline_tag = (
        value if isinstance(value, str) else None for value in text_fields
    )
    return HubRepoInfo(
        repo_id=repo_id,
        repo_type=repo_type,
        commit=commit,
        author=author,
        gated=gated,
        tags=tuple(tags),
        library_name=library_name,
        pipeline_tag=pipeline_tag,
        card_data=_freeze_object(card),
        config=None if config is None else _freeze_object(config),
        files=_files_from_cache(document.get("files")),
        base_models_field=_freeze(document.get("base_models_field")),
        url=_web_url(endpoint, repo_type, repo_id),
    )


def _files_from_cache(value: object) -> tuple[HubFile, ...]:
    if not isinstance(value, list) or len(value) > MAX_LISTED_FILES:
        raise _MalformedAnswerError("bad files")
    files: list[HubFile] = []
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 4):
            raise _MalformedAnswerError("bad file entry")
        path, size, sha256, blob_id = entry
        if not (
            isinstance(path, str)
            and (size is None or _size(size) is not None)
            and (sha256 is None or (isinstance(sha256, str) and _SHA256.fullmatch(sha256)))
            and (blob_id is None or (isinstance(blob_id, str) and _COMMIT.fullmatch(blob_id)))
        ):
            raise _MalformedAnswerError("bad file entry")
        files.append(HubFile(path=path, size=size, sha256=sha256, blob_id=blob_id))
    return tuple(files)
