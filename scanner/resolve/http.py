"""The one HTTP layer of sovscan's upstream clients (the Hub's and the package index's).

``HttpClient`` owns what both clients need from the wire, and nothing of either protocol:

- the session: ``requests`` (a caller's session, or one of ours sized for the clients' threads,
  with no retries of its own);
- every response body read under a byte cap (a header read stops at the cap instead) and, when
  asked, within a deadline for the whole transfer;
- retries on 429, 5xx, timeouts and broken connections, with exponential backoff that honours a
  capped ``Retry-After`` (``RetryPolicy``); huggingface_hub's ``http_backoff`` is not used: it
  waits ``Retry-After + 1`` seconds with no upper bound, ignores the HTTP-date form and cannot
  stop reading a body at a byte cap;
- transport failures turned into sovscan errors (the tree below), never a library exception;
- secrets (registered credentials, ``user:password@`` in URLs, ``Authorization`` and ``Bearer``
  values, Hub-token-shaped strings) scrubbed from every message and URL it produces; a URL that
  holds a registered secret is never requested (libraries log request URLs);
- transfer statistics: requests (retries and followed redirects included), bytes received (as
  sent on the wire, before decompression), retries, and the cache hits its owner reports.

Errors, each with a scrubbed ``message`` naming what was asked and the URL::

    UpstreamError                   scanner.core.errors
    └── HttpError                   a request gave no usable answer
        ├── UnsafeRequestError      refused before sending: the URL holds a secret
        ├── OfflineBlockedError     the offline guard (scanner.core.offline) refused to connect
        ├── TransportError          no whole answer: connect, TLS, timeout, broken transfer
        │   └── TooManyRedirectsError
        ├── BodyTooLargeError       a successful answer larger than the byte cap
        └── HttpStatusError         an answer whose status is not 2xx (headers, capped body)

``requests`` is imported when the first request is made, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from scanner.core.capped_io import parse_json_text
from scanner.core.errors import MalformedFileError, UpstreamError
from scanner.core.offline import NetworkBlockedError

if TYPE_CHECKING:
    import requests

_LOG = logging.getLogger(__name__)

#: Longest wait a ``Retry-After`` header can impose, in seconds; beyond it we wait this long.
MAX_RETRY_AFTER_S: Final = 30.0
#: Longest wait between two attempts when backing off exponentially, in seconds.
MAX_BACKOFF_S: Final = 8.0
#: Most retries a policy may ask for; more only multiplies the time a dead server costs.
MAX_RETRIES: Final = 10
#: Most of an error response's body read (only its message is of interest).
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
#: Longest server message quoted in an error.
MAX_SERVER_MESSAGE_CHARS: Final = 300
#: Shortest secret scrubbed from text; shorter ones would garble every message they occur in.
MIN_SECRET_CHARS: Final = 6
#: Connections our own session keeps per host: enough for the clients' worker threads.
DEFAULT_POOL_SIZE: Final = 32
#: Most redirects followed by default.
DEFAULT_MAX_REDIRECTS: Final = 10

#: Longest ``Retry-After`` value examined (a number or an HTTP-date fits well within it).
_MAX_RETRY_AFTER_CHARS: Final = 64
#: Answers worth asking again: timeouts, rate limits and server-side failures. 501 (not
#: implemented) and 505 (HTTP version) will not change on retry.
_RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504, *range(506, 600)})
_READ_CHUNK: Final = 64 * 1024
_MAX_CAUSE_DEPTH: Final = 32
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")
_AUTHORIZATION = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n]+")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_TOKEN_LIKE = re.compile(r"\b(?:hf_|api_org_)[A-Za-z0-9]{16,}")


# -- the retry policy ----------------------------------------------------------------------------


def is_retryable_status(status: int) -> bool:
    """True for HTTP statuses that a later attempt may turn into success."""
    return status in _RETRYABLE_STATUS


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the ``Retry-After`` header asks us to wait (delay-seconds or HTTP-date), or None.

    A malformed, negative or non-finite value is ignored (None); a date in the past gives 0.
    """
    raw = headers.get("retry-after")
    if raw is None:
        return None
    value = raw.strip()
    if not value or len(value) > _MAX_RETRY_AFTER_CHARS:
        return None
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means it said so implicitly
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(tz=UTC))).total_seconds()
    return max(delta, 0.0) if math.isfinite(delta) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How many times to retry and how long to wait in between."""

    max_retries: int = 4
    """Retries after the first attempt (0 disables retrying)."""
    backoff_s: float = 0.5
    """Wait before the first retry; doubled on each further retry up to ``MAX_BACKOFF_S``."""
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    """Cap on a server's ``Retry-After``."""

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= MAX_RETRIES:
            raise ValueError(f"max_retries must be within 0..{MAX_RETRIES}, not {self.max_retries}")
        for name in ("backoff_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")

    def delay(self, retry_index: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry_index`` (0-based).

        The server's ``Retry-After`` wins when given (capped); otherwise exponential backoff.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return min(self.backoff_s * 2.0**retry_index, max(MAX_BACKOFF_S, self.backoff_s))


# -- secrets -------------------------------------------------------------------------------------


def strip_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    return _USERINFO.sub("", text)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials: URL userinfo, ``secrets``, auth header values, Hub tokens."""
    text = strip_userinfo(text)
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _AUTHORIZATION.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _TOKEN_LIKE.sub("***", text)


# -- records and errors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStats:
    """What a client has cost so far."""

    requests: int
    """HTTP requests sent, retries and followed redirects included."""
    bytes_received: int
    """Response body bytes received, as sent on the wire (before decompression)."""
    retries: int
    cache_hits: int
    """Answers taken from a cache instead of the network (counted by the client)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A successful (2xx) answer, its body read whole or up to the cap of a truncated read."""

    status: int
    headers: Mapping[str, str]
    """Case-insensitive."""
    body: bytes


class HttpError(UpstreamError):
    """A request gave no usable answer. ``message`` and ``url`` hold no secret.

    ``retryable``: a later attempt may succeed. ``retries``: how many were made before giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.retryable = retryable
        self.retry_after = retry_after
        self.retries = 0

    @property
    def retry_note(self) -> str:
        """`` (gave up after N retries)`` for a transient failure that was retried, else ""."""
        if not (self.retryable and self.retries):
            return ""
        return f" (gave up after {self.retries} {'retry' if self.retries == 1 else 'retries'})"


class UnsafeRequestError(HttpError):
    """Not sent: the URL holds a registered secret, and libraries log request URLs."""


class OfflineBlockedError(HttpError):
    """The offline guard refused the connection (``scanner.core.offline.network_blocked``)."""


class TransportError(HttpError):
    """No whole answer arrived: the connection, TLS, a timeout or the transfer failed."""


class TooManyRedirectsError(TransportError):
    """The server redirected more often than allowed (a loop, usually)."""


class BodyTooLargeError(HttpError):
    """A successful answer was larger than the byte cap; it was abandoned unread."""


class HttpStatusError(HttpError):
    """An answer whose status is not 2xx; ``body`` is its first ``MAX_ERROR_BODY_BYTES``."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        retryable: bool,
        retry_after: float | None,
    ) -> None:
        super().__init__(message, url=url, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def server_message(self) -> str:
        """The server's explanation, clipped and printable: ``X-Error-Message``, else the JSON
        body's ``error`` (the Hub) or ``message`` (PyPI); "" when there is none."""
        return server_message(self.headers, self.body)


def server_message(headers: Mapping[str, str], body: bytes) -> str:
    """What an error answer says about itself (see ``HttpStatusError.server_message``)."""
    message = headers.get("x-error-message") or ""
    if not message and body:
        try:
            document: Any = parse_json_text(body.decode("utf-8"), max_depth=4)
        except (UnicodeDecodeError, MalformedFileError):
            document = None
        if isinstance(document, dict):
            found = document.get("error", document.get("message"))
            message = found if isinstance(found, str) else ""
    return clip_message(message)


def clip_message(text: str) -> str:
    """``text`` made printable, stripped and clipped to ``MAX_SERVER_MESSAGE_CHARS``."""
    printable = "".join(char if char.isprintable() else " " for char in text).strip()
    if len(printable) > MAX_SERVER_MESSAGE_CHARS:
        return printable[:MAX_SERVER_MESSAGE_CHARS] + "…"
    return printable


def user_agent() -> str:
    """sovscan's ``User-Agent``."""
    import scanner

    return f"sovscan/{scanner.__version__}"


def make_session(
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    use_netrc: bool = True,
) -> requests.Session:
    """A ``requests.Session`` that never retries by itself (``HttpClient`` does, with backoff).

    ``use_netrc=False`` keeps ``~/.netrc`` credentials out of the requests: they would replace an
    ``Authorization`` header the caller set (proxies and CA bundles from the environment stay).
    """
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.max_redirects = max_redirects
    adapter = HTTPAdapter(pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if not use_netrc:
        session.auth = _keep_request  # set, so requests does not look for netrc credentials
    return session


def _keep_request(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class _TransferTooSlowError(Exception):
    """The body did not arrive within the transfer deadline."""


# -- the client ----------------------------------------------------------------------------------


class HttpClient:
    """GETs with capped bodies, retries, sovscan errors, scrubbed messages and statistics.

    ``session``: a caller's ``requests.Session`` (the caller keeps it; ``close()`` leaves it
    open), else one made on first use by ``make_session(pool_size=…, max_redirects=…,
    use_netrc=…)``. ``timeout_s`` applies to connecting and to each read; ``transfer_timeout_s``
    (None: no limit) to a whole answer, so that a server trickling bytes cannot hold a scan.
    Safe to use from several threads.
    """

    def __init__(
        self,
        *,
        retry: RetryPolicy,
        timeout_s: float,
        transfer_timeout_s: float | None = None,
        session: requests.Session | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        use_netrc: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for label, value in (("timeout_s", timeout_s), ("transfer_timeout_s", transfer_timeout_s)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{label} must be a positive number, not {value!r}")
        self.retry = retry
        self._timeout_s = timeout_s
        self._transfer_timeout_s = transfer_timeout_s
        self._given_session = session
        self._own_session: requests.Session | None = None
        self._pool_size = pool_size
        self._max_redirects = max_redirects
        self._use_netrc = use_netrc
        self._sleep = sleep
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self._requests = 0
        self._bytes_received = 0
        self._retries = 0
        self._cache_hits = 0

    def close(self) -> None:
        """Close the session the client made (never a caller's)."""
        with self._lock:
            session, self._own_session = self._own_session, None
        if session is not None:
            session.close()

    # -- secrets and statistics ----------------------------------------------------------------

    def add_secret(self, secret: str | None) -> None:
        """Scrub ``secret`` from every message from now on and never send it in a URL.

        Secrets shorter than ``MIN_SECRET_CHARS`` are ignored (they would garble text).
        """
        if secret and len(secret) >= MIN_SECRET_CHARS:
            with self._lock:
                # Longest first, so that a secret containing another is replaced whole.
                known = {*self._secrets, secret}
                self._secrets = tuple(sorted(known, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` without the registered secrets or anything else that looks like one."""
        return scrub(text, self._secrets)

    @property
    def stats(self) -> TransferStats:
        """Requests, bytes, retries and cache hits so far."""
        with self._lock:
            return TransferStats(
                requests=self._requests,
                bytes_received=self._bytes_received,
                retries=self._retries,
                cache_hits=self._cache_hits,
            )

    def count_cache_hit(self) -> None:
        """Record an answer the owner took from its cache instead of asking."""
        self._count(cache_hits=1)

    def _count(
        self, *, requests: int = 0, bytes_received: int = 0, retries: int = 0, cache_hits: int = 0
    ) -> None:
        with self._lock:
            self._requests += requests
            self._bytes_received += bytes_received
            self._retries += retries
            self._cache_hits += cache_hits

    # -- requests ------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        what: str,
        max_body: int,
        truncate: bool = False,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        """GET ``url`` (retrying per the policy) and read its body under ``max_body`` bytes.

        ``what`` names the request in messages (``"acme/x@main"``, ``"requests 2.32.3"``). With
        ``truncate`` the body is cut at ``max_body`` bytes and the rest is never transferred (a
        header read); otherwise a longer body is a ``BodyTooLargeError``. Headers are sent as
        given, after a sovscan ``User-Agent`` they may replace.

        Raises:
            HttpError: a subclass saying why no usable answer came (see the module doc); after
                the retries, ``retries`` says how many were made.
        """
        if max_body <= 0:
            raise ValueError(f"max_body must be positive, not {max_body}")
        if any(secret in url for secret in self._secrets):
            message = f"{what}: refusing to request {url}: the URL contains a credential"
            raise self._error(UnsafeRequestError, message, url)
        request_headers = {"User-Agent": user_agent(), **(headers or {})}
        retries = 0
        while True:
            try:
                return self._attempt(
                    url,
                    what=what,
                    max_body=max_body,
                    truncate=truncate,
                    params=params,
                    headers=request_headers,
                    auth=auth,
                )
            except HttpError as failure:
                failure.retries = retries
                if not failure.retryable or retries >= self.retry.max_retries:
                    raise
                delay = self.retry.delay(retries, failure.retry_after)
                retries += 1
                self._count(retries=1)
                _LOG.info(
                    "%s; retry %d of %d in %.1f s",
                    failure.message,
                    retries,
                    self.retry.max_retries,
                    delay,
                )
                self._sleep(delay)

    def _attempt(
        self,
        url: str,
        *,
        what: str,
        max_body: int,
        truncate: bool,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        auth: tuple[str, str] | None,
    ) -> Reply:
        import requests
        import urllib3

        session = self._session()
        deadline = (
            None
            if self._transfer_timeout_s is None
            else time.monotonic() + self._transfer_timeout_s
        )
        self._count(requests=1)
        try:
            response = session.get(
                url,
                params=params,
                headers=headers,
                auth=auth,
                timeout=(self._timeout_s, self._timeout_s),
                stream=True,
                allow_redirects=True,
            )
        except requests.RequestException as exc:
            raise self._transport_error(exc, url, what) from exc
        with response:
            self._count(
                requests=len(response.history),
                bytes_received=sum(_wire_bytes(earlier) for earlier in response.history),
            )
            status = response.status_code
            success = 200 <= status < 300
            try:
                body, overflow = _read_capped(
                    response,
                    max_body if success else MAX_ERROR_BODY_BYTES,
                    deadline,
                    truncate=truncate or not success,
                )
            except _TransferTooSlowError:
                message = (
                    f"{what}: the answer from {url} took longer than {self._transfer_timeout_s:g} s"
                )
                raise self._error(TransportError, message, url, retryable=True) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._transport_error(exc, url, what) from exc
            finally:
                self._count(bytes_received=_wire_bytes(response))
            answered = response.headers
        if success and overflow:
            message = f"{what}: the answer from {url} exceeds {max_body} bytes"
            raise self._error(BodyTooLargeError, message, url)
        if success:
            return Reply(status=status, headers=answered, body=body)
        server = server_message(answered, body)
        detail = f": {server}" if server else ""
        raise HttpStatusError(
            self.scrub(f"{what}: HTTP {status} from {url}{detail}"),
            url=self.scrub(url),
            status=status,
            headers=answered,
            body=body,
            retryable=is_retryable_status(status),
            retry_after=parse_retry_after(answered),
        )

    def _session(self) -> requests.Session:
        if self._given_session is not None:
            return self._given_session
        with self._lock:
            if self._own_session is None:
                self._own_session = make_session(
                    pool_size=self._pool_size,
                    max_redirects=self._max_redirects,
                    use_netrc=self._use_netrc,
                )
            return self._own_session

    def _error(
        self, kind: type[HttpError], message: str, url: str, *, retryable: bool = False
    ) -> HttpError:
        return kind(self.scrub(message), url=self.scrub(url), retryable=retryable)

    def _transport_error(self, exc: BaseException, url: str, what: str) -> HttpError:
        import requests
        import urllib3

        if _caused_by(exc, NetworkBlockedError):
            message = f"{what}: offline mode refused the connection to {url}"
            return self._error(OfflineBlockedError, message, url)
        if isinstance(exc, requests.TooManyRedirects):
            return self._error(TooManyRedirectsError, f"{what}: too many redirects ({url})", url)
        detail = clip_message(str(exc))
        retryable = True
        if isinstance(exc, requests.exceptions.SSLError):
            reason, retryable = f"TLS failed ({detail})", False
        elif isinstance(exc, requests.Timeout) or _caused_by(exc, urllib3.exceptions.TimeoutError):
            reason = "timed out"
        elif isinstance(exc, requests.ConnectionError):
            reason = f"could not connect, or the connection broke ({detail})"
        elif isinstance(
            exc,
            requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError
            | urllib3.exceptions.HTTPError
            | OSError,
        ):
            reason = f"the transfer broke ({detail})"
        else:
            reason, retryable = f"request failed ({type(exc).__name__}: {detail})", False
        return self._error(TransportError, f"{what}: {reason} ({url})", url, retryable=retryable)


# -- reading bodies ------------------------------------------------------------------------------


def _read_capped(
    response: requests.Response, limit: int, deadline: float | None, *, truncate: bool
) -> tuple[bytes, bool]:
    """The body, read one network read at a time; returns it and whether it was too long.

    With ``truncate`` the body is cut at ``limit`` and reading stops there; otherwise a body
    growing past ``limit`` gives ``(b"", True)`` as soon as that is known (from Content-Length,
    before reading anything, when the server declares it).
    """
    if not truncate:
        declared = _content_length(response.headers)
        if declared is not None and declared > limit:
            return b"", True
    # read1 returns after a single recv, so the deadline is checked while a server trickles;
    # urllib3 < 2.3 lacks it, and read() then waits for a whole chunk between checks.
    read = getattr(response.raw, "read1", None) or response.raw.read
    chunks: list[bytes] = []
    total = 0
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise _TransferTooSlowError
        wanted = min(_READ_CHUNK, limit - total) if truncate else _READ_CHUNK
        if wanted <= 0:
            return b"".join(chunks), False
        chunk = read(wanted, decode_content=True)
        if not chunk:
            return b"".join(chunks), False
        if truncate:
            chunk = chunk[: limit - total]
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
    while pending and len(seen) < _MAX_CAUSE_DEPTH:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        pending.extend(current.args)
    return False


class ClientOverHttp:
    """What a client built on an ``HttpClient`` (``self._http``) shares: ``with`` support,
    ``close`` and the transfer statistics."""

    _http: HttpClient

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections the client opened (never a caller's session); it can still be
        used and opens new ones."""
        self._http.close()

    @property
    def stats(self) -> TransferStats:
        """Requests, bytes, retries and cache hits so far."""
        return self._http.stats
