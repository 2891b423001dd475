"""The Hugging Face Hub client: repo info, small files and byte-range reads; weights never.

Every call returns data or a ``HubProblem``; nothing here raises for an upstream failure. The
wire protocol (URLs, headers, what answers mean) is ``scanner.resolve.hub.api``; requests go
through ``scanner.resolve.http``, which reads every body under a byte cap, retries with our
policy, counts the transfer statistics and scrubs the token from every message. This module
decides what to ask and when: it answers from the cache, keeps one commit per branch within a
scan, and never opens a connection offline.

Answers at a commit never change, so they are cached on disk (``scanner.resolve.hub.cache``) and
asked for once. A branch is asked for again on every run (once per client); ``--offline`` uses
the last commit seen for it and says so in ``HubRepoInfo.note``.

The token is sent only as the ``Authorization`` header; it is never stored, logged or put in a
message (every message is scrubbed for it, defensively).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from scanner.core.capped_io import parse_json_text
from scanner.core.errors import MalformedFileError
from scanner.resolve.http import (
    BodyTooLargeError,
    ClientOverHttp,
    HttpClient,
    HttpError,
    HttpStatusError,
    OfflineBlockedError,
    Reply,
    RetryPolicy,
    UnsafeRequestError,
)
from scanner.resolve.hub import api
from scanner.resolve.hub.cache import HubCache
from scanner.resolve.hub.types import HubFile, HubProblem, HubRepoInfo, ProblemKind, RepoType

if TYPE_CHECKING:
    from pathlib import Path

_LOG = logging.getLogger(__name__)

#: Default cap for ``small_file``: the metadata JSON cap of ``scanner.core.capped_io``.
SMALL_FILE_MAX_BYTES: Final = 16 * 1024 * 1024
#: Longest prefix of a file kept in the cache from reads in several ranges (headers, the first
#: bytes the load analysis checks); a single first read may keep more.
MAX_PREFIX_KEPT: Final = 8 * 1024 * 1024
#: Most redirects followed (the Hub sends LFS content through one to its CDN).
MAX_REDIRECTS: Final = 10

_TRUE_VALUES: Final = frozenset({"1", "ON", "YES", "TRUE"})


class HubClient(ClientOverHttp):
    """Reads repo metadata and file bytes from a Hub endpoint, with retries and a cache.

    ``endpoint``: explicit, else ``HF_ENDPOINT`` (read now, not at import), else huggingface.co.
    ``token``: a string; True or None for ``HF_TOKEN``, then the user's stored login (None also
    honours ``HF_HUB_DISABLE_IMPLICIT_TOKEN``); False for none. ``offline`` (or
    ``HF_HUB_OFFLINE=1``): answers come from the cache only and no connection is ever opened.
    ``use_cache=False`` neither reads nor writes the disk cache. Safe to share between threads;
    ``close()`` (or ``with``) releases its connections.

    Raises:
        UsageError: an unusable endpoint (see ``api.resolve_endpoint``).
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
        self._http = HttpClient(
            retry=RetryPolicy(max_retries=max_retries, backoff_s=backoff_s),
            timeout_s=timeout_s,
            max_redirects=MAX_REDIRECTS,
            use_netrc=False,  # a netrc entry must never replace the token
            sleep=sleep,
        )
        self.endpoint = api.resolve_endpoint(endpoint)
        self.offline = offline or _offline_from_environment()
        self._token_setting = token
        if isinstance(token, str):
            self._http.add_secret(token.strip())
        self._token: str | None = None
        self._token_resolved = False
        self._cache = HubCache(cache_dir, endpoint=self.endpoint) if use_cache else None
        self._lock = threading.Lock()
        # Within one client (one scan) a branch resolves once, so the whole scan sees one commit.
        self._refs: dict[tuple[str, str, str], str] = {}
        self._infos: dict[tuple[str, str, str], HubRepoInfo] = {}

    # -- repo info -------------------------------------------------------------------------------

    def repo_info(
        self, repo_id: str, revision: str | None = None, repo_type: str = "model"
    ) -> HubRepoInfo | HubProblem:
        """The repo's info at ``revision`` (default branch when None), files with their hashes.

        A commit already cached costs no request. Offline, a branch or tag is answered with the
        commit last seen for it online (``note`` says so); anything never seen is an
        ``offline-miss``.
        """
        kind = api.repo_type_of(repo_type)
        label = api.label(kind, repo_id, revision)
        if not api.is_repo_id(repo_id):
            return self._problem(repo_id, "malformed", f"{label}: not a Hub repo id")
        if revision is not None and not api.is_revision(revision):
            message = f"{label}: {revision!r} is not a valid revision name"
            return self._problem(repo_id, "malformed", message)
        commit = api.as_commit(revision)
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
        label = api.label(repo_type, repo_id, revision)
        url, params = api.info_url(self.endpoint, repo_type, repo_id, revision)
        reply = self._get(
            url, repo_id=repo_id, what=label, params=params, max_body=api.MAX_REPO_INFO_BYTES
        )
        if isinstance(reply, HubProblem):
            return reply
        try:
            document = parse_json_text(reply.body.decode("utf-8"), max_depth=api.MAX_JSON_DEPTH)
            info = api.info_from_api(
                document, repo_type=repo_type, asked_id=repo_id, endpoint=self.endpoint
            )
        except (UnicodeDecodeError, MalformedFileError, api.MalformedAnswerError) as exc:
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
            f"offline: {what} of {api.label(repo_type, repo_id, None)} taken as commit "
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
                    info = api.info_from_cache(stored, repo_type=repo_type, endpoint=self.endpoint)
                except api.MalformedAnswerError as exc:
                    _LOG.warning("Hub cache: ignoring the entry of %s@%s: %s", repo_id, commit, exc)
                if info is not None and info.commit == commit:
                    self._infos[key] = info
                else:
                    info = None
        if info is not None:
            self._http.count_cache_hit()
        return info

    def _remember(self, info: HubRepoInfo, *, asked_id: str, revision: str | None) -> None:
        for repo_id in {asked_id.lower(), info.repo_id.lower()}:
            self._infos[(info.repo_type, repo_id, info.commit)] = info
            if self._cache is not None:
                self._cache.put_info(info.repo_type, repo_id, info.commit, api.info_to_cache(info))
        if api.as_commit(revision) is None:
            name = revision or ""
            self._refs[(info.repo_type, asked_id.lower(), name)] = info.commit
            if self._cache is not None:
                self._cache.put_ref(info.repo_type, asked_id, name, info.commit)

    # -- files -----------------------------------------------------------------------------------

    def resolve_url(self, info: HubRepoInfo, path: str) -> str:
        """The URL the client reads ``path`` at ``info.commit`` from (no token in it)."""
        return api.resolve_url(self.endpoint, info, path)

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
        where = f"{path} in {api.label(info.repo_type, info.repo_id, info.commit)}"
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
            if cached is not None and api.matches_listing(cached, listed):
                self._http.count_cache_hit()
                return cached
        if self.offline:
            return self._offline_miss(info.repo_id, where)
        url = self.resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers={"Accept-Encoding": "identity"},
            max_body=max_bytes,
        )
        if isinstance(reply, HubProblem):
            return reply
        if not api.matches_listing(reply.body, listed):
            return self._problem(
                info.repo_id,
                "malformed",
                f"{where}: the content from {url} does not match the size and git blob id the "
                "Hub listed for it",
            )
        if self._cache is not None:
            self._cache.put_file(info.repo_type, info.repo_id, info.commit, path, reply.body)
        return reply.body

    def cached_prefix(self, info: HubRepoInfo, path: str) -> bytes:
        """The longest prefix of ``path`` at ``info.commit`` in the cache (b"" when none).

        What ``header_bytes`` would answer without a request, offline included.
        """
        if self._cache is None or not api.is_repo_path(path):
            return b""
        cached = self._cache.get_prefix(info.repo_type, info.repo_id, info.commit, path)
        if not cached:
            return b""
        self._http.count_cache_hit()
        listed = info.file(path)
        if listed is not None and listed.size is not None:
            return cached[: listed.size]
        return cached

    def extend_cached_prefix(self, info: HubRepoInfo, path: str, prefix: bytes) -> None:
        """Keep ``prefix`` (bytes of ``path`` from its first, read online in several ranges) as
        the file's cached prefix when it is longer than the one kept, so that a scan offline
        reads a header as far as one online did."""
        if self._cache is not None and api.is_repo_path(path) and len(prefix) <= MAX_PREFIX_KEPT:
            self._cache.put_prefix(info.repo_type, info.repo_id, info.commit, path, prefix)

    def header_bytes(self, info: HubRepoInfo, path: str, *, length: int) -> bytes | HubProblem:
        """The first ``length`` bytes of a file (fewer if it is shorter), by one Range request.

        The rest of the file is never transferred: reading stops at ``length`` bytes even if the
        server ignores the Range header. Prefixes are cached; a shorter read of a cached prefix
        costs nothing.
        """
        if not 0 < length <= api.MAX_HEADER_READ_BYTES:
            raise ValueError(f"length must be within 1..{api.MAX_HEADER_READ_BYTES}, not {length}")
        where = f"the first {length} bytes of {path} in "
        where += api.label(info.repo_type, info.repo_id, info.commit)
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
                self._http.count_cache_hit()
                return cached[:wanted]
        if self.offline:
            return self._offline_miss(info.repo_id, where)
        url = self.resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers=api.range_headers(0, wanted - 1),
            max_body=wanted,
            truncate=True,
        )
        if isinstance(reply, HubProblem):
            return reply
        problem = api.prefix_problem(reply, wanted, listed)
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
        if start < 0 or not 0 < length <= api.MAX_HEADER_READ_BYTES:
            raise ValueError(f"bad range: start {start}, length {length}")
        last = start + length - 1
        where = f"bytes {start}-{last} of {path} in "
        where += api.label(info.repo_type, info.repo_id, info.commit)
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
        url = self.resolve_url(info, path)
        reply = self._get(
            url,
            repo_id=info.repo_id,
            what=where,
            headers=api.range_headers(start, last),
            max_body=length,
            truncate=True,
        )
        if isinstance(reply, HubProblem):
            return reply
        problem = api.range_problem(reply, start, length)
        if problem is not None:
            return self._problem(info.repo_id, "malformed", f"{where}: {problem} (from {url})")
        return reply.body

    def _check_file(
        self, info: HubRepoInfo, path: str, listed: HubFile | None, where: str
    ) -> HubProblem | None:
        if not api.is_repo_path(path):
            return self._problem(info.repo_id, "malformed", f"{where}: not a safe repo path")
        if listed is None and info.files:
            return self._problem(
                info.repo_id, "not-found", f"{where}: no such file in the Hub's listing"
            )
        return None

    # -- the wire --------------------------------------------------------------------------------

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
    ) -> Reply | HubProblem:
        request_headers = api.hf_headers(self._auth_token())
        request_headers.update(headers or {})
        try:
            return self._http.get(
                url,
                what=what,
                max_body=max_body,
                truncate=truncate,
                params=params,
                headers=request_headers,
            )
        except HttpError as failure:
            return self._failure(failure, repo_id=repo_id, what=what)

    def _failure(self, failure: HttpError, *, repo_id: str, what: str) -> HubProblem:
        kind: ProblemKind
        if isinstance(failure, OfflineBlockedError):
            return self._offline_miss(repo_id, what)
        if isinstance(failure, HttpStatusError):
            kind, reason = api.status_problem(failure, token_sent=self._token is not None)
            server = failure.server_message
            detail = f": {server}" if server else ""
            message = f"{what}: {reason} (HTTP {failure.status} from {failure.url}){detail}"
        elif isinstance(failure, UnsafeRequestError):
            kind, message = "malformed", failure.message
        elif isinstance(failure, BodyTooLargeError):
            kind, message = "too-large", failure.message
        else:  # TransportError: no whole answer came
            kind, message = "network", failure.message
        return self._problem(repo_id, kind, message + failure.retry_note)

    # -- token and messages ----------------------------------------------------------------------

    def _auth_token(self) -> str | None:
        with self._lock:
            if not self._token_resolved:
                self._token = _resolve_token(self._token_setting)
                self._token_resolved = True
                self._http.add_secret(self._token)
            return self._token

    def _problem(self, repo_id: str, kind: ProblemKind, message: str) -> HubProblem:
        return HubProblem(repo_id=repo_id, kind=kind, message=self._http.scrub(message))

    def _offline_miss(self, repo_id: str, what: str) -> HubProblem:
        cache = "" if self._cache is not None else " (the cache is disabled)"
        return self._problem(
            repo_id,
            "offline-miss",
            f"offline: {what} is not in the Hub cache{cache}; a scan online would fetch it",
        )


# -- configuration -------------------------------------------------------------------------------


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
