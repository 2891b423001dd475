"""A loopback fake of the Hugging Face Hub that speaks the wire protocol huggingface_hub 2.4 uses.

The fake is driven by a declarative :class:`World` of :class:`FakeRepo` entries and serves, on
``127.0.0.1:<ephemeral port>``, exactly the requests the real client sends (request lines checked
against huggingface_hub 2.4.0):

- ``GET /api/{models|datasets}/{id}[/revision/{quote(rev, safe='')}]`` with ``blobs=true``,
  ``securityStatus=true`` or ``expand=a&expand=b``  (``model_info`` / ``dataset_info``);
- ``GET /api/{models|datasets}/{id}/tree/{rev}[/{quote(path, safe='')}]?recursive=&expand=``
  paged with ``Link: <…>; rel="next"``  (``list_repo_tree``);
- ``GET /api/{models|datasets}/{id}/refs``  (``list_repo_refs``);
- ``HEAD`` and ``GET /[datasets/]{id}/resolve/{rev}/{quote(path)}`` with ``X-Repo-Commit``, a
  quoted ``ETag`` (git blob SHA-1, or the SHA-256 for LFS files plus ``X-Linked-Etag`` and
  ``X-Linked-Size``), ``Accept-Ranges`` and single ``Range: bytes=…`` requests answered with 206
  (``get_hf_file_metadata``, ``hf_hub_download``, header range reads).

Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``,
``GatedRepo``) or ``X-Error-Message`` (disabled repos) and a ``{"error": …}`` JSON body, because
over plain http ``hf_raise_for_status`` maps errors from those headers only. ``X-Xet-Hash`` is
never sent, so the client never switches to Xet. Every request is recorded with the body bytes
sent; a GET of a whole LFS file is flagged as a weight download so tests can assert none happened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import yaml

from tests.fakes.loopback import LoopbackHandler, LoopbackServer

MAIN: Final = "main"
REPO_TYPES: Final = ("model", "dataset")
DEFAULT_CREATED_AT: Final = "2024-03-01T09:00:00.000Z"
DEFAULT_LAST_MODIFIED: Final = "2024-06-01T12:00:00.000Z"

# Extensions the Hub's default .gitattributes stores in LFS; other files are plain git blobs.
LFS_EXTENSIONS: Final = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gguf", ".gz", ".h5", ".joblib", ".mlmodel",
    ".model", ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl",
    ".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip",
    ".zst",
)  # fmt: skip
GITATTRIBUTES: Final = "".join(
    f"*{ext} filter=lfs diff=lfs merge=lfs -text\n" for ext in LFS_EXTENSIONS
).encode()

# The subset of config.json the Hub repeats in model_info's "config" (``_name_or_path`` is not in
# it: a client has to fetch config.json to see it, as on the real Hub).
API_CONFIG_KEYS: Final = ("architectures", "model_type", "auto_map", "quantization_config")
API_PEFT_KEYS: Final = ("base_model_name_or_path", "task_type")

# What `expand=` accepts (the Literal lists of huggingface_hub 2.4.0, hf_api.py); anything else
# is a 400, like on the Hub.
MODEL_EXPAND_KEYS: Final = frozenset(
    {
        "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt",
        "disabled", "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
        "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token",
        "model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha",
        "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
        "widgetData",
    }
)  # fmt: skip
DATASET_EXPAND_KEYS: Final = frozenset(
    {
        "author", "cardData", "citation", "createdAt", "description", "disabled", "downloads",
        "downloadsAllTime", "gated", "lastModified", "likes", "mainSize", "paperswithcode_id",
        "private", "resourceGroup", "sha", "siblings", "tags", "trendingScore", "usedStorage",
    }
)  # fmt: skip

TREE_EXPAND_PAGE_SIZE: Final = 50  # the Hub's page size for tree listings with expand=true
STREAM_CHUNK: Final = 64 * 1024
#: Length of the safetensors header a content-less ``.safetensors`` entry's filler starts with.
_SAFETENSORS_HEADER_BYTES: Final = 128
SHUTDOWN_POLL_S: Final = 0.01  # serve_forever's default (0.5 s) would make every close() slow

_SHA1 = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_TRUE = frozenset({"true", "True", "1"})


def git_blob_sha1(data: bytes) -> str:
    """The git object id of ``data`` stored as a blob (what the Hub calls a blobId / ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The Git LFS pointer file committed in place of an LFS object."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
    ).encode()


def fake_sha256(*parts: str) -> str:
    """A deterministic SHA-256-shaped digest for declared-but-unserved LFS content."""
    return hashlib.sha256("\0".join(("sovscan-fake", *parts)).encode()).hexdigest()


def card_markdown(card_data: Mapping[str, Any], body: str = "") -> bytes:
    """A README.md with ``card_data`` as YAML front matter, as the Hub stores a model card."""
    front = yaml.safe_dump(dict(card_data), sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}".encode()


# --- declarative world ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FakeFile:
    """One file of a repo at its single commit.

    ``content`` given: the bytes served. ``content=None``: an LFS entry declared by ``size`` (and
    ``lfs_sha256``, derived from the path and size when absent) whose bytes the Hub would serve
    from LFS; a GET of it returns deterministic filler bytes (not matching the SHA-256).
    ``lfs=None`` decides from the extension (the Hub's default .gitattributes); a file with
    content may be LFS too, its SHA-256 then defaults to the real digest of the content (give
    another one to model a tampered upload: the client does not verify content hashes).
    """

    path: str
    content: bytes | None = None
    size: int | None = None
    lfs_sha256: str | None = None
    lfs: bool | None = None

    def __post_init__(self) -> None:
        _check_repo_path(self.path)
        if self.content is None:
            if self.size is None or self.size < 0:
                raise ValueError(f"{self.path}: an entry without content needs its size")
            if self.lfs is False:
                raise ValueError(f"{self.path}: an entry without content can only be LFS")
            object.__setattr__(self, "lfs", True)
            if self.lfs_sha256 is None:
                object.__setattr__(self, "lfs_sha256", fake_sha256(self.path, str(self.size)))
        else:
            if self.size is None:
                object.__setattr__(self, "size", len(self.content))
            elif self.size != len(self.content):
                raise ValueError(f"{self.path}: size {self.size} != {len(self.content)} bytes")
            if self.lfs is None:
                is_lfs = self.lfs_sha256 is not None or self.path.lower().endswith(LFS_EXTENSIONS)
                object.__setattr__(self, "lfs", is_lfs)
            if self.lfs and self.lfs_sha256 is None:
                object.__setattr__(self, "lfs_sha256", hashlib.sha256(self.content).hexdigest())
            if not self.lfs and self.lfs_sha256 is not None:
                raise ValueError(f"{self.path}: lfs_sha256 given for a non-LFS file")
        if self.lfs_sha256 is not None and not _SHA256.fullmatch(self.lfs_sha256):
            raise ValueError(f"{self.path}: lfs_sha256 must be 64 lowercase hex digits")

    @property
    def length(self) -> int:
        """Size in bytes of the file's content (the LFS object for LFS files)."""
        assert self.size is not None  # set by __post_init__
        return self.size

    @property
    def pointer(self) -> bytes:
        """The LFS pointer committed to git (empty for a plain git file)."""
        return lfs_pointer(self.lfs_sha256, self.length) if self.lfs_sha256 else b""

    @property
    def blob_id(self) -> str:
        """The git blob id: of the content, or of the pointer for LFS files."""
        if self.lfs:
            return git_blob_sha1(self.pointer)
        assert self.content is not None  # non-LFS files always have content
        return git_blob_sha1(self.content)

    @property
    def etag(self) -> str:
        """The ETag /resolve/ answers with: the SHA-256 for LFS files, else the git blob id."""
        return self.lfs_sha256 if self.lfs_sha256 else self.blob_id

    @property
    def filler_head(self) -> bytes:
        """What a content-less entry's filler starts with: a header of the format its name
        says (a safetensors header holding one tensor over the rest of the file, a GGUF header
        with no tensors), so that a check of its first bytes finds the format it claims."""
        if self.content is not None:
            return b""
        size = self.length
        if self.path.endswith(".safetensors") and size >= 8 + _SAFETENSORS_HEADER_BYTES:
            body = size - 8 - _SAFETENSORS_HEADER_BYTES
            header = json.dumps(
                {"filler": {"dtype": "U8", "shape": [body], "data_offsets": [0, body]}}
            ).encode()
            padded = header.ljust(_SAFETENSORS_HEADER_BYTES)
            return _SAFETENSORS_HEADER_BYTES.to_bytes(8, "little") + padded
        if self.path.endswith(".gguf") and size >= 24:
            return b"GGUF" + (3).to_bytes(4, "little") + bytes(16)
        return b""

    def chunks(self, start: int, length: int) -> Iterator[bytes]:
        """The bytes [start, start+length) of the file: its content, or deterministic filler."""
        if self.content is not None:
            yield self.content[start : start + length]
            return
        end = start + length
        head = self.filler_head
        if start < len(head):
            yield head[start:end]
            start = min(end, len(head))
        pattern = hashlib.sha256(f"filler:{self.path}".encode()).digest()
        block = pattern * (STREAM_CHUNK // len(pattern) + 2)
        offset = start
        while offset < end:
            take = min(STREAM_CHUNK, end - offset)
            skew = offset % len(pattern)
            yield block[skew : skew + take]
            offset += take


def _check_repo_path(path: str) -> None:
    parts = path.split("/")
    if not path or any(part in {"", ".", ".."} for part in parts):
        raise ValueError(f"not a relative repo path: {path!r}")


@dataclass(frozen=True, slots=True)
class FakeRepo:
    """A Hub repo at one commit.

    ``sha`` defaults to a SHA-1 derived from the type and id. ``card_data`` becomes a README.md
    (YAML front matter + ``card_body``) and ``config`` a config.json unless those files are given;
    when only the files are given, cardData/config are parsed back from them. ``gated`` (True means
    "manual") keeps metadata public and refuses every /resolve/ (401 anonymous, 403 with a token,
    ``X-Error-Code: GatedRepo``). ``disabled`` refuses everything (``DisabledRepoError``). Hub tags
    (``base_model:…``, ``dataset:…``, ``license:…``, ``region:us``) are derived from the card unless
    ``derive_tags=False``. ``extra`` is merged into the info JSON last (``baseModels``, ``gguf``,
    ``safetensors`` …).
    """

    repo_id: str
    repo_type: str = "model"
    sha: str = ""
    files: tuple[FakeFile, ...] = ()
    card_data: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()
    gated: bool | str = False
    library_name: str | None = None
    pipeline_tag: str | None = None
    author: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    disabled: bool = False
    derive_tags: bool = True
    card_body: str = ""
    created_at: str = DEFAULT_CREATED_AT
    last_modified: str = DEFAULT_LAST_MODIFIED
    downloads: int = 0
    likes: int = 0

    def __post_init__(self) -> None:
        if self.repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, not {self.repo_type!r}")
        if not _REPO_ID.fullmatch(self.repo_id) or "--" in self.repo_id or ".." in self.repo_id:
            raise ValueError(f"not a Hub repo id: {self.repo_id!r}")
        sha = (
            self.sha
            or hashlib.sha1(
                f"{self.repo_type}:{self.repo_id}".encode(), usedforsecurity=False
            ).hexdigest()
        )
        if not _SHA1.fullmatch(sha):
            raise ValueError(f"{self.repo_id}: sha must be 40 lowercase hex digits")
        object.__setattr__(self, "sha", sha)
        gated = "manual" if self.gated is True else self.gated
        if gated not in (False, "auto", "manual"):
            raise ValueError(f"{self.repo_id}: gated must be False, True, 'auto' or 'manual'")
        object.__setattr__(self, "gated", gated)
        object.__setattr__(self, "tags", tuple(self.tags))
        if self.author is None and "/" in self.repo_id:
            object.__setattr__(self, "author", self.repo_id.split("/")[0])
        object.__setattr__(self, "files", self._complete_files(tuple(self.files)))

    def _complete_files(self, files: tuple[FakeFile, ...]) -> tuple[FakeFile, ...]:
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"{self.repo_id}: duplicate file paths")
        added: list[FakeFile] = []
        if ".gitattributes" not in paths:
            added.append(FakeFile(".gitattributes", GITATTRIBUTES))
        if "README.md" not in paths and (self.card_data is not None or self.card_body):
            added.append(FakeFile("README.md", card_markdown(self.card_data or {}, self.card_body)))
        if "config.json" not in paths and self.config is not None:
            added.append(FakeFile("config.json", json.dumps(self.config, indent=2).encode()))
        return tuple(sorted((*files, *added), key=lambda f: f.path))

    @property
    def key(self) -> str:
        """``"{repo_type}:{repo_id}"``, the key of this repo in :attr:`World.repos`."""
        return f"{self.repo_type}:{self.repo_id}"

    def file(self, path: str) -> FakeFile | None:
        """The file at ``path``, if the repo has one."""
        return next((f for f in self.files if f.path == path), None)

    def hub_card_data(self) -> dict[str, Any] | None:
        """The cardData the Hub reports: the declared card, else the README front matter."""
        if self.card_data is not None:
            return dict(self.card_data)
        readme = self.file("README.md")
        if readme is None or readme.content is None:
            return None
        match = re.match(rb"---\r?\n(.*?)\r?\n---", readme.content, flags=re.DOTALL)
        if match is None:
            return None
        try:
            data = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) else None

    def config_json(self) -> dict[str, Any] | None:
        """The declared config, else config.json parsed (None when absent or not an object)."""
        if self.config is not None:
            return dict(self.config)
        return _json_object(self.file("config.json"))

    def hub_config(self) -> dict[str, Any] | None:
        """model_info's "config": the API subset of config.json plus "peft" for adapters."""
        config = self.config_json() or {}
        view: dict[str, Any] = {key: config[key] for key in API_CONFIG_KEYS if key in config}
        adapter = _json_object(self.file("adapter_config.json"))
        if adapter is not None:
            view["peft"] = {key: adapter.get(key) for key in API_PEFT_KEYS}
        return view or None

    def base_models(self) -> tuple[str, ...]:
        """The card's base_model ids (a string or a list in the YAML)."""
        base = (self.hub_card_data() or {}).get("base_model")
        if isinstance(base, str):
            return (base,)
        if isinstance(base, list):
            return tuple(b for b in base if isinstance(b, str))
        return ()

    def base_model_relation(self) -> str | None:
        """The card's base_model_relation, else what the Hub infers from files and parents."""
        declared = (self.hub_card_data() or {}).get("base_model_relation")
        if isinstance(declared, str):
            return declared
        if not self.base_models():
            return None
        if self.file("adapter_config.json") is not None:
            return "adapter"
        quantized_config = "quantization_config" in (self.config_json() or {})
        if quantized_config or any(f.path.endswith(".gguf") for f in self.files):
            return "quantized"
        return "merge" if len(self.base_models()) > 1 else "finetune"

    def hub_tags(self) -> list[str]:
        """The tags list as the Hub reports it."""
        if not self.derive_tags:
            return list(self.tags)
        card = self.hub_card_data() or {}
        config = self.config_json() or {}
        derived: list[str] = [*self.tags]
        derived += [t for t in (self.library_name, self.pipeline_tag) if t]
        derived += [
            fmt
            for fmt, ext in (("safetensors", ".safetensors"), ("gguf", ".gguf"))
            if any(f.path.endswith(ext) for f in self.files)
        ]
        if isinstance(config.get("model_type"), str):
            derived.append(config["model_type"])
        relation = self.base_model_relation()
        for base in self.base_models():
            derived += [f"base_model:{base}", f"base_model:{relation}:{base}"]
        derived += [f"dataset:{d}" for d in _str_list(card.get("datasets"))]
        derived += [f"license:{lic}" for lic in _str_list(card.get("license"))]
        derived.append("region:us")
        return list(dict.fromkeys(derived))


def _json_object(file: FakeFile | None) -> dict[str, Any] | None:
    if file is None or file.content is None:
        return None
    try:
        data = json.loads(file.content)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageEdge:
    """Ground truth a world declares: ``child`` derives from / depends on ``parent``.

    ``relation`` is a Hub base_model_relation (finetune, adapter, merge, quantized) or
    ``dataset`` (card datasets) or ``remote_code`` (config auto_map into another repo).
    """

    child: str
    parent: str
    relation: str
    parent_type: str = "model"


@dataclass(slots=True)
class World:
    """Everything the fake Hub knows; mutable so tests can tweak a ready-made world.

    ``repos`` is keyed ``"model:ORG/NAME"`` / ``"dataset:ORG/NAME"`` (re-keyed from the repos
    themselves, so any keys given are ignored); a repo not in it is a 404 ``RepoNotFound``.
    ``rate_limit`` and ``fail_5xx`` map a raw request-path prefix (matched on whole segments, e.g.
    ``"/api/models/Qwen/Qwen2.5-7B"`` matches that repo and its ``/revision/…`` but not
    ``…-Instruct``) to how many requests get a 429 (with ``Retry-After: retry_after_s``) or a 503
    before the path succeeds; the counters are consumed as they are served. ``latency_s`` is
    slept before answering each request. Filler bodies (LFS files without content) are cut after
    ``max_filler_bytes`` and the connection closed, so a stray weight download fails instead of
    streaming gigabytes; the default leaves room for HfFileSystem's 5 MiB block reads.
    ``entry`` names the repo a scan of a ready-made world starts from and ``lineage`` its ground
    truth.
    """

    repos: dict[str, FakeRepo] = field(default_factory=dict)
    rate_limit: dict[str, int] = field(default_factory=dict)
    fail_5xx: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    retry_after_s: int = 0
    tree_page_size: int = 1000
    max_filler_bytes: int = 8 << 20
    entry: str | None = None
    lineage: tuple[LineageEdge, ...] = ()

    def __post_init__(self) -> None:
        given = list(self.repos.values())
        self.repos = {}
        self.add(*given)

    def add(self, *repos: FakeRepo) -> World:
        """Add repos (an identical re-add is a no-op, a conflicting one a ValueError)."""
        for repo in repos:
            known = self.repos.get(repo.key)
            if known is not None and known != repo:
                raise ValueError(f"{repo.key} is already in the world with other content")
            self.repos[repo.key] = repo
        return self

    def get(self, repo_type: str, repo_id: str) -> FakeRepo | None:
        """The repo of that type and id, if the world has it."""
        return self.repos.get(f"{repo_type}:{repo_id}")


# --- recording -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request the fake answered.

    ``path`` is the raw request path as sent (percent-encoding kept, query excluded), ``query``
    the raw query string, ``headers`` the request headers with lowercased names, ``bytes_sent``
    the response body bytes written (0 for HEAD). ``route`` is one of ``model_info``,
    ``dataset_info``, ``tree``, ``refs``, ``resolve``, ``unknown``. ``weight_download`` marks a
    GET answered with a whole LFS file.
    """

    method: str
    path: str
    query: str
    status: int
    bytes_sent: int
    headers: Mapping[str, str]
    route: str
    repo_type: str | None = None
    repo_id: str | None = None
    file_path: str | None = None
    weight_download: bool = False

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string parsed (repeated keys keep every value)."""
        return parse_qs(self.query, keep_blank_values=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Route:
    kind: str
    repo_type: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    file_path: str | None = None


@dataclass(slots=True, kw_only=True)
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: FakeFile | None = None  # body taken from this file instead of ``body``
    stream_start: int = 0
    stream_length: int = 0  # declared length; the bytes sent may be cut at max_filler_bytes
    stream_sent: int = 0
    weight_download: bool = False
    route: _Route = field(default_factory=lambda: _Route(kind="unknown"))

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> _Answer:
        body = json.dumps(payload).encode()
        return cls(
            status=status,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            body=body,
        )

    @classmethod
    def error(cls, status: int, message: str, code: str | None = None, **headers: str) -> _Answer:
        extra = {"X-Error-Message": message, **headers}
        if code is not None:
            extra["X-Error-Code"] = code
        return cls.json(status, {"error": message}, extra)

    @property
    def declared_length(self) -> int:
        return self.stream_length if self.stream is not None else len(self.body)


# --- the server ----------------------------------------------------------------------------------


class FakeHub:
    """The fake Hub: a ThreadingHTTPServer on 127.0.0.1 in a daemon thread; a context manager.

    Point the real client at :attr:`url` (``HfApi(endpoint=hub.url, token=False)``,
    ``hf_hub_download(…, endpoint=hub.url, token=False)``). The request log is thread-safe.
    """

    def __init__(self, world: World | None = None) -> None:
        self.world = world if world is not None else World()
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._served = 0
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="fake-hub",
            daemon=True,
        )
        self._started = False

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> FakeHub:
        """Start serving (idempotent)."""
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self) -> None:
        """Stop serving and drop open keep-alive connections."""
        if self._started:
            self._server.shutdown()
            self._thread.join()
            self._started = False
        self._server.drop_connections()
        self._server.server_close()

    # -- log ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests answered so far, in order."""
        with self._lock:
            return list(self._log)

    def bytes_sent(self) -> int:
        """Response body bytes sent since the last :meth:`reset_log`."""
        return sum(r.bytes_sent for r in self.requests)

    def weight_downloads(self) -> list[RecordedRequest]:
        """GETs that were answered with a whole LFS file."""
        return [r for r in self.requests if r.weight_download]

    def reset_log(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._log.clear()

    def request_lines(self) -> list[str]:
        """``"METHOD /path?query STATUS"`` for each request: handy in assertion messages."""
        return [
            f"{r.method} {r.path}{'?' + r.query if r.query else ''} {r.status}"
            for r in self.requests
        ]

    def resolve_url(
        self, repo_id: str, path: str, *, revision: str = MAIN, repo_type: str = "model"
    ) -> str:
        """The /resolve/ URL huggingface_hub builds for a file (hf_hub_url's quoting)."""
        prefix = "datasets/" if repo_type == "dataset" else ""
        return f"{self.url}/{prefix}{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"

    # -- answering ----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> _Answer:
        """Compute the response to one request (the HTTP layer only writes it)."""
        if self.world.latency_s > 0:
            time.sleep(self.world.latency_s)
        split = urlsplit(target)
        route = self._route(split.path)
        with self._lock:
            self._served += 1
            request_id = f"fake-{self._served}"
            limited = _consume(self.world.rate_limit, split.path)
            failing = not limited and _consume(self.world.fail_5xx, split.path)
        answer = self._dispatch(method, route, split.path, split.query, headers, limited, failing)
        answer.headers["X-Request-Id"] = request_id
        answer.route = route
        return answer

    def record(self, method: str, target: str, headers: Mapping[str, str], answer: _Answer) -> None:
        """Log one answered request, before its bytes go out, so a returning client sees it."""
        split = urlsplit(target)
        route = answer.route
        sent = answer.stream_sent if answer.stream is not None else len(answer.body)
        entry = RecordedRequest(
            method=method,
            path=split.path,
            query=split.query,
            status=answer.status,
            bytes_sent=0 if method == "HEAD" else sent,
            headers={k.lower(): v for k, v in headers.items()},
            route=route.kind,
            repo_type=route.repo_type,
            repo_id=route.repo_id,
            file_path=route.file_path,
            weight_download=answer.weight_download and method == "GET",
        )
        with self._lock:
            self._log.append(entry)

    def _dispatch(
        self,
        method: str,
        route: _Route,
        path: str,
        query: str,
        headers: Mapping[str, str],
        limited: bool,
        failing: bool,
    ) -> _Answer:
        if limited:
            return _too_many_requests(path, self.world.retry_after_s)
        if failing:
            return _Answer.json(503, {"error": "Service Unavailable"})
        allowed = ("GET", "HEAD") if route.kind == "resolve" else ("GET",)
        if route.kind == "unknown" or method not in allowed:
            return _Answer.json(404, {"error": "Sorry, we can't find that page."})
        repo = self.world.get(route.repo_type or "", route.repo_id or "")
        refusal = _refusal(repo, route, headers)
        if refusal is not None:
            return refusal
        assert repo is not None  # _refusal answers for a missing repo
        params = parse_qs(query, keep_blank_values=True)
        if route.kind == "resolve":
            return _resolve(repo, route, method, headers, self.world.max_filler_bytes)
        if route.kind == "tree":
            return self._tree(repo, route, params)
        if route.kind == "refs":
            return _refs(repo, params)
        return _info(repo, params)

    def _route(self, raw_path: str) -> _Route:
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        if len(segments) >= 3 and segments[0] == "api" and segments[1] in {"models", "datasets"}:
            return self._api_route(segments[1][:-1], segments[2:])
        if segments and segments[0] == "datasets":
            return self._resolve_route("dataset", segments[1:])
        return self._resolve_route("model", segments)

    def _split_repo_id(self, repo_type: str, segs: list[str], markers: set[str]) -> int:
        """How many leading segments form the repo id (legacy ids like "gpt2" have one)."""
        if len(segs) >= 2 and segs[1] in markers:
            two = f"{segs[0]}/{segs[1]}"
            return 2 if self.world.get(repo_type, two) is not None else 1
        return 2 if len(segs) >= 2 else 1

    def _api_route(self, repo_type: str, segs: list[str]) -> _Route:
        n = self._split_repo_id(repo_type, segs, {"revision", "tree", "refs"})
        repo_id, tail = "/".join(segs[:n]), segs[n:]
        base = {"repo_type": repo_type, "repo_id": repo_id}
        if not tail:
            return _Route(kind=f"{repo_type}_info", **base)
        if tail[0] == "revision" and len(tail) == 2:
            return _Route(kind=f"{repo_type}_info", revision=tail[1], **base)
        if tail[0] == "tree" and len(tail) >= 2:
            return _Route(kind="tree", revision=tail[1], file_path="/".join(tail[2:]), **base)
        if tail == ["refs"]:
            return _Route(kind="refs", **base)
        return _Route(kind="unknown")

    def _resolve_route(self, repo_type: str, segs: list[str]) -> _Route:
        n = self._split_repo_id(repo_type, segs, {"resolve"})
        tail = segs[n:]
        if len(tail) < 3 or tail[0] != "resolve" or "" in segs[:n]:
            return _Route(kind="unknown")
        return _Route(
            kind="resolve",
            repo_type=repo_type,
            repo_id="/".join(segs[:n]),
            revision=tail[1],
            file_path="/".join(tail[2:]),
        )

    def _tree(self, repo: FakeRepo, route: _Route, params: dict[str, list[str]]) -> _Answer:
        entries = _tree_entries(repo, route.file_path or "", params.get("recursive") == ["true"])
        if entries is None:
            return _entry_not_found(repo)
        expand = params.get("expand", ["false"])[-1] in _TRUE
        if expand:
            commit = {"id": repo.sha, "title": "Upload folder", "date": repo.last_modified}
            entries = [{**e, "lastCommit": commit} for e in entries]
        page_size = self.world.tree_page_size
        if expand:
            page_size = min(page_size, TREE_EXPAND_PAGE_SIZE)
        offset = _decode_cursor(params.get("cursor", [""])[-1])
        if offset is None:
            return _Answer.error(400, "Invalid cursor")
        page = entries[offset : offset + page_size]
        headers: dict[str, str] = {}
        if offset + page_size < len(entries):
            next_params = {k: v[-1] for k, v in params.items() if k != "cursor"}
            next_params["cursor"] = _encode_cursor(offset + page_size)
            path = quote(route.file_path or "", safe="")
            next_url = (
                f"{self.url}/api/{repo.repo_type}s/{repo.repo_id}/tree/"
                f"{quote(route.revision or MAIN, safe='')}{'/' + path if path else ''}"
                f"?{urlencode(next_params)}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        return _Answer.json(200, page, headers)


def _consume(counters: dict[str, int], path: str) -> bool:
    for prefix, remaining in counters.items():
        stem = prefix.rstrip("/")
        if remaining > 0 and (path == stem or path.startswith(stem + "/")):
            counters[prefix] = remaining - 1
            return True
    return False


def _too_many_requests(path: str, retry_after_s: int) -> _Answer:
    resource = "api" if path.startswith("/api/") else "resolvers"
    return _Answer.json(
        429,
        {"error": "Too Many Requests"},
        {
            "Retry-After": str(retry_after_s),
            "RateLimit": f'"{resource}";r=0;t={retry_after_s}',
            "RateLimit-Policy": f'"fixed window";"{resource}";q=1000;w=300',
        },
    )


def _refusal(repo: FakeRepo | None, route: _Route, headers: Mapping[str, str]) -> _Answer | None:
    """The error a request for ``repo`` gets before any content is looked at, if any."""
    if repo is None:
        return _Answer.error(404, "Repository not found", "RepoNotFound")
    if repo.disabled:
        return _Answer.error(403, "Access to this resource is disabled.")
    if route.kind == "resolve" and repo.gated:
        return _gated(repo, authenticated="authorization" in {k.lower() for k in headers})
    if route.revision is not None and route.revision not in (MAIN, repo.sha):
        return _Answer.error(404, f"Invalid rev id: {route.revision}", "RevisionNotFound")
    return None


def _entry_not_found(repo: FakeRepo) -> _Answer:
    # X-Repo-Commit lets hf_hub_download cache the absence under .no_exist/<commit>/.
    return _Answer.error(404, "Entry not found", "EntryNotFound", **{"X-Repo-Commit": repo.sha})


def _gated(repo: FakeRepo, *, authenticated: bool) -> _Answer:
    kind = repo.repo_type
    if authenticated:
        message = (
            f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized"
            f" list. Visit https://huggingface.co/{repo.repo_id} to ask for access."
        )
        return _Answer.error(403, message, "GatedRepo")
    message = (
        f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be"
        " authenticated to access it. Please log in."
    )
    return _Answer.error(401, message, "GatedRepo")


def _resolve(
    repo: FakeRepo, route: _Route, method: str, headers: Mapping[str, str], max_filler: int
) -> _Answer:
    file = repo.file(route.file_path or "")
    if file is None:
        return _entry_not_found(repo)
    base = {
        "X-Repo-Commit": repo.sha,
        "ETag": f'"{file.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    if file.lfs:
        base |= {"X-Linked-Etag": f'"{file.etag}"', "X-Linked-Size": str(file.length)}
    start, length, status = 0, file.length, 200
    wanted = _parse_range(_header(headers, "range"), file.length) if method == "GET" else None
    if wanted == "unsatisfiable":
        return _Answer(status=416, headers={**base, "Content-Range": f"bytes */{file.length}"})
    if isinstance(wanted, tuple):
        start, end = wanted
        length, status = end - start + 1, 206
        base["Content-Range"] = f"bytes {start}-{end}/{file.length}"
    sent = length if file.content is not None else min(length, max_filler)
    return _Answer(
        status=status,
        headers=base,
        stream=file,
        stream_start=start,
        stream_length=length,
        stream_sent=sent,
        weight_download=bool(file.lfs) and status == 200,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive, "unsatisfiable", or None to ignore the header (RFC 9110 §14.2)."""
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, size - 1 if last == "" else min(int(last), size - 1)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    if not cursor:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error):
        return None
    return offset if offset >= 0 else None


def _sibling(file: FakeFile, blobs: bool) -> dict[str, Any]:
    if not blobs:
        return {"rfilename": file.path}
    entry: dict[str, Any] = {"rfilename": file.path, "size": file.length, "blobId": file.blob_id}
    if file.lfs:
        entry["lfs"] = {
            "sha256": file.lfs_sha256,
            "size": file.length,
            "pointerSize": len(file.pointer),
        }
    return entry


def info_json(repo: FakeRepo, *, blobs: bool = False, security: bool = False) -> dict[str, Any]:
    """The full /api/models|datasets JSON the fake serves for ``repo`` (before ``expand``)."""
    data: dict[str, Any] = {
        "_id": repo.sha[:24],
        "id": repo.repo_id,
        "author": repo.author,
        "sha": repo.sha,
        "lastModified": repo.last_modified,
        "createdAt": repo.created_at,
        "private": False,
        "gated": repo.gated,
        "disabled": repo.disabled,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "tags": repo.hub_tags(),
        "cardData": repo.hub_card_data(),
        "siblings": [_sibling(f, blobs) for f in repo.files],
        "usedStorage": sum(f.length for f in repo.files),
    }
    if repo.repo_type == "model":
        data |= {
            "modelId": repo.repo_id,
            "library_name": repo.library_name,
            "pipeline_tag": repo.pipeline_tag,
            "config": repo.hub_config(),
            "spaces": [],
        }
    if security:
        data["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
    data |= dict(repo.extra)
    return {key: value for key, value in data.items() if value is not None}


def _info(repo: FakeRepo, params: dict[str, list[str]]) -> _Answer:
    expand = params.get("expand", [])
    blobs = params.get("blobs", ["false"])[-1] in _TRUE
    security = params.get("securityStatus", ["false"])[-1] in _TRUE
    if expand and (blobs or security):
        return _Answer.error(400, "expand cannot be combined with blobs or securityStatus")
    allowed = MODEL_EXPAND_KEYS if repo.repo_type == "model" else DATASET_EXPAND_KEYS
    unknown = sorted(set(expand) - allowed)
    if unknown:
        return _Answer.error(400, f'"expand" contains unsupported values: {unknown}')
    full = info_json(repo, blobs=blobs, security=security)
    if expand:
        full = {k: v for k, v in full.items() if k in {"_id", "id", *expand}}
    return _Answer.json(200, full)


def _refs(repo: FakeRepo, params: dict[str, list[str]]) -> _Answer:
    refs: dict[str, Any] = {
        "branches": [{"name": MAIN, "ref": f"refs/heads/{MAIN}", "targetCommit": repo.sha}],
        "converts": [],
        "tags": [],
    }
    if params.get("include_prs", ["0"])[-1] in _TRUE:
        refs["pullRequests"] = []
    return _Answer.json(200, refs)


def _tree_entries(repo: FakeRepo, folder: str, recursive: bool) -> list[dict[str, Any]] | None:
    """Tree items under ``folder`` (None when it is not a folder of the repo)."""
    prefix = f"{folder}/" if folder else ""
    under = [f for f in repo.files if f.path.startswith(prefix)]
    if folder and not under:
        return None
    entries: dict[str, dict[str, Any]] = {}
    for file in under:
        parts = file.path[len(prefix) :].split("/")
        depth = len(parts) if recursive else 1
        for i in range(1, min(depth, len(parts) - 1) + 1):
            directory = prefix + "/".join(parts[:i])
            oid = git_blob_sha1(f"tree:{repo.sha}:{directory}".encode())
            entries[directory] = {"type": "directory", "oid": oid, "size": 0, "path": directory}
        if recursive or len(parts) == 1:
            entries[file.path] = _tree_file(file)
    return [entries[path] for path in sorted(entries)]


def _tree_file(file: FakeFile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "file",
        "oid": file.blob_id,
        "size": file.length,
        "path": file.path,
    }
    if file.lfs:
        entry["lfs"] = {
            "oid": file.lfs_sha256,
            "size": file.length,
            "pointerSize": len(file.pointer),
        }
    return entry


class _Server(LoopbackServer):
    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        super().__init__(_Handler)


class _Handler(LoopbackHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if not self.drain_request_body():
            return
        headers = dict(self.headers.items())
        hub = self.server.hub
        try:
            answer = hub.answer(self.command, self.path, headers)
        except Exception as error:  # a broken world must get an answer, not a hang-up
            answer = _Answer.json(500, {"error": f"fake hub failure: {error!r}"})
        hub.record(self.command, self.path, headers, answer)
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(answer.declared_length))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if answer.stream is None:
                self.wfile.write(answer.body)
                return
            for chunk in answer.stream.chunks(answer.stream_start, answer.stream_sent):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if answer.stream_sent < answer.stream_length:
            self.close_connection = True  # a cut filler body: the client sees a short read
