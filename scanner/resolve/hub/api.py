"""The Hub's wire protocol: endpoints, URLs, request headers, and checking what comes back.

Nothing here performs I/O: it says what to ask (``info_url``, ``resolve_url``, ``hf_headers``)
and what an answer means (``info_from_api``, ``status_problem``, ``range_problem``,
``matches_listing``). The JSON of repo info is validated field by field and frozen; anything of
the wrong shape is a ``MalformedAnswerError``. ``info_to_cache`` and ``info_from_cache`` are the
form a ``HubRepoInfo`` takes in ``scanner.resolve.hub.cache``. huggingface_hub is imported only
by the functions that need it (its URL quoting, its headers and its error taxonomy).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit

from scanner.core.config import DEFAULT_HUB
from scanner.core.errors import UsageError
from scanner.resolve.hub.types import (
    FrozenJson,
    HubFile,
    HubRepoInfo,
    ProblemKind,
    RepoType,
    thaw_json,
)

if TYPE_CHECKING:
    from scanner.resolve.http import HttpStatusError, Reply

#: The Hub used when neither ``--hub-endpoint`` nor ``HF_ENDPOINT`` names one.
DEFAULT_ENDPOINT: Final = DEFAULT_HUB
#: Largest repo-info answer read; the biggest real ones (datasets with ~100k files) are ~20 MB.
MAX_REPO_INFO_BYTES: Final = 64 * 1024 * 1024
#: Largest single range read: a safetensors header is at most 25 MB + 8 bytes; GGUF metadata
#: with a large vocabulary is a few MB.
MAX_HEADER_READ_BYTES: Final = 64 * 1024 * 1024
#: Most files a repo listing may hold; more is treated as a malformed answer.
MAX_LISTED_FILES: Final = 500_000
#: Longest file path kept from a listing.
MAX_PATH_CHARS: Final = 4096
#: Most tags kept from a repo's info.
MAX_TAGS: Final = 10_000
#: Longest revision name accepted (git allows longer; nobody uses them).
MAX_REVISION_CHARS: Final = 256
#: Deepest JSON accepted from the Hub or the cache.
MAX_JSON_DEPTH: Final = 64

REPO_TYPES: Final = ("model", "dataset")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?", re.ASCII)
_UNSAFE_REVISION = re.compile(r"[\x00-\x20\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USERINFO = re.compile(r"(//)[^/@]*@")
_EMPTY_MAPPING: Final[Mapping[str, FrozenJson]] = MappingProxyType({})


class MalformedAnswerError(Exception):
    """A Hub answer (or cache entry) that does not have the expected shape."""


# -- endpoint ------------------------------------------------------------------------------------


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


# -- names, revisions and paths ------------------------------------------------------------------


def repo_type_of(value: str) -> RepoType:
    """``value`` as a repo type; a caller's bug (ValueError) when it is not one."""
    if value == "model":
        return "model"
    if value == "dataset":
        return "dataset"
    raise ValueError(f"repo_type must be one of {REPO_TYPES}, not {value!r}")


def _is_repo_name(value: str) -> bool:
    return _REPO_NAME.fullmatch(value) is not None and "--" not in value and ".." not in value


def is_repo_id(value: str) -> bool:
    """``namespace/name`` or a legacy un-namespaced ``name`` (``gpt2``), by the Hub's rules."""
    parts = value.split("/")
    return 1 <= len(parts) <= 2 and all(_is_repo_name(part) for part in parts)


def is_revision(value: str) -> bool:
    """A revision name that can be put in a URL (no spaces or control characters)."""
    return 0 < len(value) <= MAX_REVISION_CHARS and _UNSAFE_REVISION.search(value) is None


def as_commit(revision: str | None) -> str | None:
    """``revision`` lowercased when it is a full commit id, else None."""
    if revision is None:
        return None
    lowered = revision.lower()
    return lowered if _COMMIT.fullmatch(lowered) else None


def is_repo_path(path: str) -> bool:
    """A relative POSIX path with no empty, "." or ".." segment, backslash or control char."""
    if not path or len(path) > MAX_PATH_CHARS or "\\" in path or _CONTROL.search(path):
        return False
    return all(segment not in {"", ".", ".."} for segment in path.split("/"))


def label(repo_type: str, repo_id: str, revision: str | None) -> str:
    """How messages name a repo: ``acme/x@main``, ``dataset acme/y``."""
    prefix = "dataset " if repo_type == "dataset" else ""
    return f"{prefix}{repo_id}@{revision}" if revision else f"{prefix}{repo_id}"


def web_url(endpoint: str, repo_type: RepoType, repo_id: str) -> str:
    """The repo's web page."""
    return f"{endpoint}/datasets/{repo_id}" if repo_type == "dataset" else f"{endpoint}/{repo_id}"


# -- requests ------------------------------------------------------------------------------------


def info_url(
    endpoint: str, repo_type: RepoType, repo_id: str, revision: str | None
) -> tuple[str, dict[str, str]]:
    """The URL and query of ``model_info``/``dataset_info`` with file hashes (``blobs=true``)."""
    url = f"{endpoint}/api/{repo_type}s/{repo_id}"
    if revision is not None:
        url += f"/revision/{quote(revision, safe='')}"
    return url, {"blobs": "true"}


def resolve_url(endpoint: str, info: HubRepoInfo, path: str) -> str:
    """The ``/resolve/`` URL of ``path`` at ``info.commit`` (huggingface_hub's quoting)."""
    from huggingface_hub import hf_hub_url  # lazy: keeps start-up light

    return hf_hub_url(
        info.repo_id,
        path,
        repo_type=None if info.repo_type == "model" else info.repo_type,
        revision=info.commit,
        endpoint=endpoint,
    )


def hf_headers(token: str | None) -> dict[str, str]:
    """huggingface_hub's headers: its ``User-Agent`` and, with a token, ``Authorization``."""
    # Documented public API; the package's lazy exports hide it from mypy.
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    import scanner

    headers: dict[str, str] = build_hf_headers(
        token=token if token else False,
        library_name="sovscan",
        library_version=scanner.__version__,
    )
    return headers


def range_headers(start: int, last: int) -> dict[str, str]:
    """Headers of a read of bytes ``start..last`` (inclusive), never compressed."""
    return {"Range": f"bytes={start}-{last}", "Accept-Encoding": "identity"}


# -- answers -------------------------------------------------------------------------------------


def status_problem(error: HttpStatusError, *, token_sent: bool) -> tuple[ProblemKind, str]:
    """The problem kind of an error answer, by huggingface_hub's own error taxonomy, and why."""
    kind = _classify_status(error.status, error.headers, error.url)
    reason = {
        "not-found": "not found (missing, or private and not visible with this token)",
        "gated": "access refused (gated or private; "
        + ("this token has no access)" if token_sent else "no token was sent: set HF_TOKEN)"),
        "revision-not-found": "revision not found",
        "rate-limited": "rate limited by the Hub",
        "server-error": "the Hub failed",
        "malformed": "the Hub refused the request",
    }.get(kind, "request failed")
    if kind == "not-found" and error.headers.get("x-error-code") == "EntryNotFound":
        reason = "file not found"
    return kind, reason


def _classify_status(status: int, headers: Mapping[str, str], url: str) -> ProblemKind:
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
    request = httpx2.Request("GET", url)
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


def prefix_problem(reply: Reply, wanted: int, listed: HubFile | None) -> str | None:
    """What is wrong with the answer to a read of the first ``wanted`` bytes, if anything.

    A 200 (the server ignored the range) is fine: the body was cut at ``wanted`` bytes.
    """
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


def range_problem(reply: Reply, start: int, length: int) -> str | None:
    """What is wrong with the answer to a read of ``length`` bytes from ``start``, if anything.

    A server that ignores the range (answers 200 from byte 0) or sends fewer bytes did not send
    the bytes asked for.
    """
    answered = reply.headers.get("content-range", "").strip().lower()
    if reply.status != 206 or not answered.startswith(f"bytes {start}-"):
        return (
            "the server did not answer with that range "
            f"(HTTP {reply.status}, {answered or 'no Content-Range'})"
        )
    if len(reply.body) < length:
        return f"short read, {len(reply.body)} of {length} bytes"
    return None


def git_blob_id(data: bytes) -> str:
    """The git object id of ``data`` stored as a blob (the Hub's ``blobId``)."""
    header = f"blob {len(data)}\0".encode("ascii")
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def matches_listing(data: bytes, listed: HubFile | None) -> bool:
    """Whether ``data`` has the size and git blob id the listing gives (when it gives them)."""
    if listed is None:
        return True
    if listed.size is not None and len(data) != listed.size:
        return False
    return (
        listed.blob_id is None
        or not _COMMIT.fullmatch(listed.blob_id)
        or (git_blob_id(data) == listed.blob_id)
    )


# -- the Hub's JSON and our cached form ----------------------------------------------------------


def info_from_api(
    document: object, *, repo_type: RepoType, asked_id: str, endpoint: str
) -> HubRepoInfo:
    """A ``HubRepoInfo`` from the JSON of ``model_info``/``dataset_info`` (with ``blobs``).

    Raises:
        MalformedAnswerError: not an object, no commit, or a field of an unusable shape.
    """
    if not isinstance(document, dict):
        raise MalformedAnswerError("not a JSON object")
    commit = document.get("sha")
    if not isinstance(commit, str) or _COMMIT.fullmatch(commit.lower()) is None:
        raise MalformedAnswerError("no commit sha")
    answered = document.get("id")
    repo_id = answered if isinstance(answered, str) and is_repo_id(answered) else asked_id
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
        url=web_url(endpoint, repo_type, repo_id),
    )


def _files_from_siblings(siblings: object) -> tuple[HubFile, ...]:
    if siblings is None:
        return ()
    if not isinstance(siblings, list):
        raise MalformedAnswerError("'siblings' is not a list")
    if len(siblings) > MAX_LISTED_FILES:
        raise MalformedAnswerError(f"more than {MAX_LISTED_FILES} files listed")
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
        raise MalformedAnswerError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return MappingProxyType({str(key): _freeze(item, depth + 1) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, depth + 1) for item in value)
    raise MalformedAnswerError(f"unexpected {type(value).__name__} in JSON")


def _freeze_object(value: dict[object, object]) -> Mapping[str, FrozenJson]:
    frozen = _freeze(value)
    assert isinstance(frozen, Mapping)  # noqa: S101  (a dict freezes to a mapping)
    return frozen


def info_to_cache(info: HubRepoInfo) -> dict[str, object]:
    """The JSON object the cache stores for ``info`` (``info_from_cache`` reads it back)."""
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


def info_from_cache(
    document: dict[str, object], *, repo_type: RepoType, endpoint: str
) -> HubRepoInfo:
    """Rebuild a HubRepoInfo from ``info_to_cache`` output, checking every field's type.

    Raises:
        MalformedAnswerError: a field is missing or of the wrong type.
    """
    repo_id, commit = document.get("repo_id"), document.get("commit")
    if not (isinstance(repo_id, str) and is_repo_id(repo_id)):
        raise MalformedAnswerError("bad repo_id")
    if document.get("repo_type") != repo_type:
        raise MalformedAnswerError("another repo type")
    if not (isinstance(commit, str) and _COMMIT.fullmatch(commit)):
        raise MalformedAnswerError("bad commit")
    gated, tags = document.get("gated"), document.get("tags")
    if not isinstance(gated, bool | str) or not (
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
    ):
        raise MalformedAnswerError("bad gated or tags")
    card, config = document.get("card_data"), document.get("config")
    if not isinstance(card, dict) or not (config is None or isinstance(config, dict)):
        raise MalformedAnswerError("bad card_data or config")
    text_fields = [document.get(name) for name in ("author", "library_name", "pipeline_tag")]
    if not all(value is None or isinstance(value, str) for value in text_fields):
        raise MalformedAnswerError("bad text field")
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
        url=web_url(endpoint, repo_type, repo_id),
    )


def _files_from_cache(value: object) -> tuple[HubFile, ...]:
    if not isinstance(value, list) or len(value) > MAX_LISTED_FILES:
        raise MalformedAnswerError("bad files")
    files: list[HubFile] = []
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 4):
            raise MalformedAnswerError("bad file entry")
        path, size, sha256, blob_id = entry
        if not (
            isinstance(path, str)
            and (size is None or _size(size) is not None)
            and (sha256 is None or (isinstance(sha256, str) and _SHA256.fullmatch(sha256)))
            and (blob_id is None or (isinstance(blob_id, str) and _COMMIT.fullmatch(blob_id)))
        ):
            raise MalformedAnswerError("bad file entry")
        files.append(HubFile(path=path, size=size, sha256=sha256, blob_id=blob_id))
    return tuple(files)
