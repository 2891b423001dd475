"""A loopback fake of a Python package index that speaks PyPI's JSON API.

The fake is built from :class:`FakeProject` entries and serves, on ``127.0.0.1:<ephemeral port>``
under an optional path ``prefix`` (a private index such as ``/artifactory/api/pypi/pypi-remote``):

- ``GET /pypi/{name}/json``: the project's latest release (newest non-yanked final release) as
  ``{"info", "last_serial", "releases", "urls", "vulnerabilities"}``;
- ``GET /pypi/{name}/{version}/json``: one release as ``{"info", "last_serial", "urls",
  "vulnerabilities"}`` (PyPI dropped ``releases`` from this endpoint in 2023).

As on PyPI, names are looked up PEP 503-normalised and a request for a non-normalised spelling is
answered ``301`` to the normalised path (``/pypi/PyYAML/json`` → ``/pypi/pyyaml/json``); versions
match exactly, else by their canonical form (``2.32.3.0`` finds ``2.32.3``); anything unknown is a
``404`` with PyPI's body ``{"message": "Not Found"}``. With ``credentials`` set, every request
without that HTTP Basic ``Authorization`` is a ``401``.

The ``info`` objects carry every key PyPI sends, with PyPI's empty values (``""`` or null) for
fields a release does not set; the projects below copy real PyPI metadata, but file digests are
synthetic (derived from the file name). Faults are queued per path (:class:`Fault`): a 429 with
``Retry-After``, a 5xx, a malformed or oversize body, a slow or trickled answer, a dropped
connection, a redirect. Every request is recorded (path, headers, status, body bytes sent).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from tests.fakes.loopback import LoopbackHandler, LoopbackServer

FILES_HOST: Final = "https://files.pythonhosted.org"
DEFAULT_UPLOAD_TIME: Final = "2024-05-29T15:37:47"
NOT_FOUND: Final = {"message": "Not Found"}
SHUTDOWN_POLL_S: Final = 0.01  # serve_forever's default (0.5 s) would make every close() slow
TRICKLE_CHUNK: Final = 16
STREAM_CHUNK: Final = 64 * 1024

#: Every key of PyPI's ``info`` object with the value PyPI shows when a release leaves it unset.
INFO_DEFAULTS: Final[Mapping[str, Any]] = {
    "author": "",
    "author_email": "",
    "bugtrack_url": None,
    "classifiers": [],
    "description": "",
    "description_content_type": None,
    "docs_url": None,
    "download_url": "",
    "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
    "dynamic": None,
    "home_page": "",
    "keywords": "",
    "license": "",
    "license_expression": None,
    "license_files": None,
    "maintainer": "",
    "maintainer_email": "",
    "platform": None,
    "project_urls": None,
    "provides_extra": None,
    "requires_dist": None,
    "requires_python": "",
    "summary": "",
}

FaultKind = Literal[
    "rate-limit", "server-error", "malformed", "oversize", "slow", "trickle", "drop", "redirect"
]


# --- declarative projects ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FakeDistFile:
    """One file of a release as listed in ``urls`` (digests are synthetic, from the name)."""

    filename: str
    size: int
    requires_python: str | None = None
    upload_time: str = DEFAULT_UPLOAD_TIME

    @property
    def packagetype(self) -> str:
        """``bdist_wheel`` or ``sdist``, from the file name."""
        return "bdist_wheel" if self.filename.endswith(".whl") else "sdist"

    @property
    def python_version(self) -> str:
        """The wheel's python tag, or ``source`` for an sdist (as PyPI reports it)."""
        if self.packagetype == "sdist":
            return "source"
        return self.filename.removesuffix(".whl").split("-")[-3]

    def listing(self) -> dict[str, Any]:
        """The file as an entry of ``urls`` / ``releases[version]``."""
        seed = f"sovscan-fake-dist:{self.filename}".encode()
        blake = hashlib.blake2b(seed, digest_size=32).hexdigest()
        md5 = hashlib.md5(seed, usedforsecurity=False).hexdigest()
        return {
            "comment_text": "",
            "digests": {
                "blake2b_256": blake,
                "md5": md5,
                "sha256": hashlib.sha256(seed).hexdigest(),
            },
            "downloads": -1,
            "filename": self.filename,
            "has_sig": False,
            "md5_digest": md5,
            "packagetype": self.packagetype,
            "python_version": self.python_version,
            "requires_python": self.requires_python,
            "size": self.size,
            "upload_time": self.upload_time,
            "upload_time_iso_8601": f"{self.upload_time}.000000Z",
            "url": f"{FILES_HOST}/packages/{blake[:2]}/{blake[2:4]}/{blake[4:]}/{self.filename}",
            "yanked": False,
            "yanked_reason": None,
        }


@dataclass(frozen=True, slots=True)
class FakeRelease:
    """One release: ``info`` holds the fields it sets (any key, any JSON value, taken as is)."""

    version: str
    info: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[FakeDistFile, ...] = ()
    yanked: bool = False
    yanked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class FakeProject:
    """A project: ``name`` is its display name (``info.name``, e.g. ``PyYAML``)."""

    name: str
    releases: tuple[FakeRelease, ...]

    def __post_init__(self) -> None:
        canonicalize_name(self.name, validate=True)
        versions = [release.version for release in self.releases]
        if not versions or len(set(versions)) != len(versions):
            raise ValueError(f"{self.name}: needs releases with distinct versions")

    @property
    def canonical(self) -> str:
        """The PEP 503 normalised name: the only spelling served without a redirect."""
        return canonicalize_name(self.name)

    @property
    def latest(self) -> FakeRelease:
        """What ``/pypi/NAME/json`` describes: the newest non-yanked final release, else newest."""
        ordered = sorted(self.releases, key=lambda release: _sort_key(release.version))
        finals = [r for r in ordered if not r.yanked and not _is_prerelease(r.version)]
        return (finals or ordered)[-1]

    def release(self, version: str) -> FakeRelease | None:
        """The release with that exact version, else the one with the same canonical version."""
        exact = next((r for r in self.releases if r.version == version), None)
        if exact is not None:
            return exact
        wanted = _canonical_version(version)
        return next((r for r in self.releases if _canonical_version(r.version) == wanted), None)


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def _canonical_version(version: str) -> str:
    try:
        return canonicalize_version(version)
    except InvalidVersion:
        return version


def info_json(project: FakeProject, release: FakeRelease, base_url: str) -> dict[str, Any]:
    """The ``info`` object PyPI serves for ``release`` (page URLs under ``base_url``)."""
    page = f"{base_url}/project/{project.name}/"
    info: dict[str, Any] = {
        **INFO_DEFAULTS,
        "name": project.name,
        "package_url": page,
        "project_url": page,
        "release_url": f"{page}{release.version}/",
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason,
    }
    info.update(release.info)
    return dict(sorted(info.items()))


def _serial(project: FakeProject) -> int:
    digest = hashlib.sha256(project.canonical.encode()).digest()
    return 20_000_000 + int.from_bytes(digest[:3], "big")


def project_json(project: FakeProject, base_url: str) -> dict[str, Any]:
    """The whole ``/pypi/NAME/json`` answer."""
    latest = project.latest
    return {
        "info": info_json(project, latest, base_url),
        "last_serial": _serial(project),
        "releases": {
            release.version: [item.listing() for item in release.files]
            for release in project.releases
        },
        "urls": [item.listing() for item in latest.files],
        "vulnerabilities": [],
    }


def release_json(project: FakeProject, release: FakeRelease, base_url: str) -> dict[str, Any]:
    """The whole ``/pypi/NAME/VERSION/json`` answer."""
    return {
        "info": info_json(project, release, base_url),
        "last_serial": _serial(project),
        "urls": [item.listing() for item in release.files],
        "vulnerabilities": [],
    }


# --- real projects (metadata as PyPI shows it; digests synthetic) --------------------------------

_REQUESTS_CLASSIFIERS: Final = (
    "Development Status :: 5 - Production/Stable",
    "Environment :: Web Environment",
    "Intended Audience :: Developers",
    "License :: OSI Approved :: Apache Software License",
    "Natural Language :: English",
    "Operating System :: OS Independent",
    "Programming Language :: Python",
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3 :: Only",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Programming Language :: Python :: 3.8",
    "Programming Language :: Python :: 3.9",
    "Programming Language :: Python :: Implementation :: CPython",
    "Programming Language :: Python :: Implementation :: PyPy",
    "Topic :: Internet :: WWW/HTTP",
    "Topic :: Software Development :: Libraries",
)
_REQUESTS_URLS: Final = {
    "Documentation": "https://requests.readthedocs.io",
    "Homepage": "https://requests.readthedocs.io",
    "Source": "https://github.com/psf/requests",
}


def _requests_info(*, license_: str, requires_python: str, urllib3: str) -> dict[str, Any]:
    return {
        "author": "Kenneth Reitz",
        "author_email": "me@kennethreitz.org",
        "classifiers": list(_REQUESTS_CLASSIFIERS),
        "description": "# Requests\n\n**Requests** is a simple, yet elegant, HTTP library.\n",
        "description_content_type": "text/markdown",
        "home_page": "https://requests.readthedocs.io",
        "license": license_,
        "project_urls": dict(_REQUESTS_URLS),
        "provides_extra": ["security", "socks", "use-chardet-on-py3"],
        "requires_dist": [
            "charset-normalizer<4,>=2",
            "idna<4,>=2.5",
            f"urllib3<3,>={urllib3}",
            "certifi>=2017.4.17",
            'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
            'chardet<6,>=3.0.2; extra == "use-chardet-on-py3"',
        ],
        "requires_python": requires_python,
        "summary": "Python HTTP for Humans.",
    }


REQUESTS: Final = FakeProject(
    "requests",
    (
        FakeRelease(
            "2.31.0",
            _requests_info(license_="Apache 2.0", requires_python=">=3.7", urllib3="1.21.1"),
            (
                FakeDistFile("requests-2.31.0-py3-none-any.whl", 62574, ">=3.7"),
                FakeDistFile("requests-2.31.0.tar.gz", 110794, ">=3.7"),
            ),
        ),
        FakeRelease(
            "2.32.0",
            _requests_info(license_="Apache-2.0", requires_python=">=3.8", urllib3="1.21.1"),
            (FakeDistFile("requests-2.32.0-py3-none-any.whl", 63553, ">=3.8"),),
            yanked=True,
            yanked_reason="Yanked due to conflicts with CVE-2024-35195 mitigation",
        ),
        FakeRelease(
            "2.32.3",
            _requests_info(license_="Apache-2.0", requires_python=">=3.8", urllib3="1.21.1"),
            (
                FakeDistFile("requests-2.32.3-py3-none-any.whl", 64928, ">=3.8"),
                FakeDistFile("requests-2.32.3.tar.gz", 131218, ">=3.8"),
            ),
        ),
        FakeRelease(
            "2.33.0rc1",
            _requests_info(license_="Apache-2.0", requires_python=">=3.9", urllib3="1.26"),
        ),
    ),
)

_NVIDIA_CLASSIFIERS: Final = (
    "Development Status :: 4 - Beta",
    "Environment :: GPU :: NVIDIA CUDA",
    "Intended Audience :: Developers",
    "Intended Audience :: Education",
    "Intended Audience :: Science/Research",
    "License :: Other/Proprietary License",
    "Natural Language :: English",
    "Operating System :: Microsoft :: Windows",
    "Operating System :: POSIX :: Linux",
    "Programming Language :: C",
    "Programming Language :: C++",
    "Programming Language :: Python :: 3",
    "Topic :: Scientific/Engineering",
    "Topic :: Scientific/Engineering :: Artificial Intelligence",
    "Topic :: Software Development",
    "Topic :: Software Development :: Libraries",
)


def _nvidia_runtime(version: str) -> FakeRelease:
    stem = f"nvidia_cuda_runtime_cu12-{version}-py3-none"
    return FakeRelease(
        version,
        {
            "author": "Nvidia CUDA Installer Team",
            "author_email": "compute_installer@nvidia.com",
            "classifiers": list(_NVIDIA_CLASSIFIERS),
            "description": "CUDA Runtime native Libraries",
            "home_page": "https://developer.nvidia.com/cuda-zone",
            "keywords": "cuda,nvidia,runtime,machine learning,deeplearning",
            "license": "NVIDIA Proprietary Software",
            "project_urls": {"Homepage": "https://developer.nvidia.com/cuda-zone"},
            "requires_python": ">=3",
            "summary": "CUDA Runtime native Libraries",
        },
        (
            FakeDistFile(f"{stem}-manylinux2014_aarch64.whl", 859_463, ">=3"),
            FakeDistFile(f"{stem}-manylinux2014_x86_64.whl", 883_740, ">=3"),
            FakeDistFile(f"{stem}-win_amd64.whl", 878_034, ">=3"),
        ),
    )


NVIDIA_CUDA_RUNTIME_CU12: Final = FakeProject(
    "nvidia-cuda-runtime-cu12", (_nvidia_runtime("12.1.105"), _nvidia_runtime("12.4.127"))
)

_TORCH_LINUX: Final = 'platform_system == "Linux" and platform_machine == "x86_64"'
TORCH: Final = FakeProject(
    "torch",
    (
        FakeRelease(
            "2.5.1",
            {
                "author": "PyTorch Team",
                "author_email": "packages@pytorch.org",
                "classifiers": [
                    "Development Status :: 5 - Production/Stable",
                    "Intended Audience :: Developers",
                    "License :: OSI Approved :: BSD License",
                    "Programming Language :: C++",
                    "Programming Language :: Python :: 3",
                    "Topic :: Scientific/Engineering :: Artificial Intelligence",
                ],
                "download_url": "https://github.com/pytorch/pytorch/tags",
                "home_page": "https://pytorch.org/",
                "keywords": "pytorch, machine learning",
                "license": "BSD-3-Clause",
                "project_urls": {
                    "Download": "https://github.com/pytorch/pytorch/tags",
                    "Homepage": "https://pytorch.org/",
                },
                "provides_extra": ["opt-einsum", "optree"],
                "requires_dist": [
                    "filelock",
                    "typing-extensions>=4.8.0",
                    "networkx",
                    "jinja2",
                    "fsspec",
                    f"nvidia-cuda-nvrtc-cu12==12.4.127; {_TORCH_LINUX}",
                    f"nvidia-cuda-runtime-cu12==12.4.127; {_TORCH_LINUX}",
                    f"nvidia-cudnn-cu12==9.1.0.70; {_TORCH_LINUX}",
                    f'triton==3.1.0; {_TORCH_LINUX} and python_version < "3.13"',
                    'setuptools; python_version >= "3.12"',
                    'sympy==1.13.1; python_version >= "3.9"',
                    'opt-einsum>=3.3; extra == "opt-einsum"',
                    'optree>=0.12.0; extra == "optree"',
                ],
                "requires_python": ">=3.8.0",
                "summary": (
                    "Tensors and Dynamic neural networks in Python with strong GPU acceleration"
                ),
            },
            (
                FakeDistFile("torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl", 906_414_531, ">=3.8"),
                FakeDistFile("torch-2.5.1-cp311-none-macosx_11_0_arm64.whl", 63_871_451, ">=3.8"),
            ),
        ),
    ),
)

PYYAML: Final = FakeProject(
    "PyYAML",
    (
        FakeRelease(
            "6.0.2",
            {
                "author": "Kirill Simonov",
                "author_email": "xi@resolvent.net",
                "download_url": "https://pypi.org/project/PyYAML/",
                "home_page": "https://pyyaml.org/",
                "license": "MIT",
                "platform": "Any",
                "project_urls": {
                    "Bug Tracker": "https://github.com/yaml/pyyaml/issues",
                    "CI": "https://github.com/yaml/pyyaml/actions",
                    "Documentation": "https://pyyaml.org/wiki/PyYAMLDocumentation",
                    "Download": "https://pypi.org/project/PyYAML/",
                    "Homepage": "https://pyyaml.org/",
                    "Mailing lists": "http://lists.sourceforge.net/lists/listinfo/yaml-core",
                    "Source Code": "https://github.com/yaml/pyyaml",
                },
                "requires_python": ">=3.8",
                "summary": "YAML parser and emitter for Python",
            },
            (FakeDistFile("PyYAML-6.0.2.tar.gz", 130_631, ">=3.8"),),
        ),
    ),
)

PACKAGING: Final = FakeProject(
    "packaging",
    (
        FakeRelease(
            "25.0",
            {
                "author_email": "Donald Stufft <donald@stufft.io>",
                "classifiers": [
                    "Development Status :: 5 - Production/Stable",
                    "Intended Audience :: Developers",
                    "Programming Language :: Python :: 3",
                ],
                "license": None,
                "license_expression": "Apache-2.0 OR BSD-2-Clause",
                "license_files": ["LICENSE", "LICENSE.APACHE", "LICENSE.BSD"],
                "project_urls": {
                    "Documentation": "https://packaging.pypa.io/",
                    "Source": "https://github.com/pypa/packaging",
                },
                "requires_python": ">=3.8",
                "summary": "Core utilities for Python packages",
            },
            (FakeDistFile("packaging-25.0-py3-none-any.whl", 66_469, ">=3.8"),),
        ),
    ),
)


def default_projects() -> tuple[FakeProject, ...]:
    """requests, nvidia-cuda-runtime-cu12, torch, PyYAML and packaging."""
    return (REQUESTS, NVIDIA_CUDA_RUNTIME_CU12, TORCH, PYYAML, PACKAGING)


# --- faults and recording ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """A misbehaviour served for a path, ``times`` times (None: for every request).

    ``rate-limit``: 429 with ``Retry-After: retry_after`` (seconds or an HTTP-date; None sends
    no header). ``server-error``: ``status`` (default 500) with an HTML body, as a CDN sends it.
    ``malformed``: 200 with ``body``, by default the real answer cut in half. ``oversize``: 200
    with the real answer padded to ``size`` bytes (valid JSON), with a Content-Length unless
    ``chunked``. ``slow``: the normal answer after ``delay_s``. ``trickle``: the normal answer,
    its body sent 16 bytes at a time every ``delay_s``. ``drop``: the connection is closed
    without an answer. ``redirect``: 301 to ``location``.
    """

    kind: FaultKind
    times: int | None = 1
    status: int = 500
    retry_after: str | None = "0"
    body: bytes | None = None
    size: int = 0
    chunked: bool = False
    delay_s: float = 0.0
    location: str = "/"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request the fake received.

    ``path`` is the raw path as sent (query excluded), ``route`` the same path without the index
    ``prefix`` (``/pypi/requests/json``), ``headers`` the request headers with lowercased names,
    ``fault`` the fault kind served (None for a normal answer).
    """

    method: str
    path: str
    route: str
    query: str
    status: int
    bytes_sent: int
    headers: Mapping[str, str]
    fault: FaultKind | None = None


@dataclass(slots=True, kw_only=True)
class _Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False
    delay_s: float = 0.0
    trickle_s: float = 0.0
    drop: bool = False
    fault: FaultKind | None = None

    @classmethod
    def json(cls, status: int, payload: object, **headers: str) -> _Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(
            status=status, headers={"Content-Type": "application/json", **headers}, body=body
        )


@dataclass(slots=True)
class _FaultSlot:
    fault: Fault
    remaining: int | None


# --- the server ----------------------------------------------------------------------------------


class FakePackageIndex:
    """The fake index: a ThreadingHTTPServer on 127.0.0.1 in a daemon thread; a context manager.

    Point a client at :attr:`url` (the JSON API root, ``prefix`` included); :attr:`simple_url`
    is the pip-style ``…/simple/`` spelling of the same index. ``projects`` may be a mapping
    (keys ignored) or any iterable; they are keyed by canonical name. The request log and the
    fault queues are thread-safe.
    """

    def __init__(
        self,
        projects: Mapping[str, FakeProject] | Iterable[FakeProject] = (),
        *,
        prefix: str = "",
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"prefix must start with '/' and not end with one: {prefix!r}")
        given = projects.values() if isinstance(projects, Mapping) else projects
        self.projects: dict[str, FakeProject] = {}
        for project in given:
            if project.canonical in self.projects:
                raise ValueError(f"{project.name}: a project of that name is already there")
            self.projects[project.canonical] = project
        self.prefix = prefix
        self.credentials = credentials
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._faults: dict[str, list[_FaultSlot]] = {}
        self._closing = threading.Event()
        self._server = _Server(self)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="fake-package-index",
            daemon=True,
        )
        self._started = False

    @property
    def url(self) -> str:
        """The JSON API root: ``{url}/pypi/NAME/json``."""
        return f"{self.origin}{self.prefix}"

    @property
    def simple_url(self) -> str:
        """The same index as pip's ``--index-url`` names it (the simple API, ``…/simple/``)."""
        return f"{self.url}/simple/"

    def __enter__(self) -> FakePackageIndex:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> FakePackageIndex:
        """Start serving (idempotent)."""
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self) -> None:
        """Stop serving, wake slow answers and drop open keep-alive connections."""
        self._closing.set()
        if self._started:
            self._server.shutdown()
            self._thread.join()
            self._started = False
        self._server.drop_connections()
        self._server.server_close()

    # -- faults and log -----------------------------------------------------------------------

    def add_fault(self, route: str, *faults: Fault) -> None:
        """Queue ``faults`` for requests to ``route`` (``/pypi/NAME/json``, prefix excluded)."""
        with self._lock:
            queue = self._faults.setdefault(route, [])
            queue.extend(_FaultSlot(fault, fault.times) for fault in faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, in order."""
        with self._lock:
            return list(self._log)

    def count(self, route: str | None = None) -> int:
        """How many requests were received (for ``route`` only, when given)."""
        return sum(1 for r in self.requests if route is None or r.route == route)

    def reset_log(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._log.clear()

    def request_lines(self) -> list[str]:
        """``"GET /path STATUS"`` for each request: handy in assertion messages."""
        return [f"{r.method} {r.path} {r.status}" for r in self.requests]

    # -- answering ----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str]) -> _Answer:
        """Compute the response to one request (the HTTP layer only writes it)."""
        path = urlsplit(target).path
        if not (path == self.prefix or path.startswith(f"{self.prefix}/")):
            return _Answer.json(404, NOT_FOUND)
        route = path[len(self.prefix) :]
        if self.credentials is not None and not self._authorised(headers):
            return _Answer.json(
                401, {"message": "Unauthorized"}, **{"WWW-Authenticate": 'Basic realm="index"'}
            )
        fault = self._take_fault(route)
        if fault is not None and fault.kind in {"rate-limit", "server-error", "drop", "redirect"}:
            return _failure(fault)
        if method not in {"GET", "HEAD"}:
            return _Answer.json(405, {"message": "Method Not Allowed"}, Allow="GET, HEAD")
        answer = self._route(route)
        if fault is not None and fault.kind == "slow":
            answer.fault, answer.delay_s = "slow", fault.delay_s
        elif fault is not None and answer.status == 200:
            _spoil(answer, fault)
        return answer

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        assert self.credentials is not None
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return _header(headers, "authorization") == f"Basic {token}"

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for slot in self._faults.get(route, []):
                if slot.remaining is None:
                    return slot.fault
                if slot.remaining > 0:
                    slot.remaining -= 1
                    return slot.fault
        return None

    def _route(self, route: str) -> _Answer:
        segments = [unquote(part) for part in route.split("/")[1:]]
        if len(segments) not in {3, 4} or segments[0] != "pypi" or segments[-1] != "json":
            return _Answer.json(404, NOT_FOUND)
        asked = segments[1]
        try:
            project = self.projects.get(canonicalize_name(asked, validate=True))
        except ValueError:
            project = None
        if project is None:
            return _Answer.json(404, NOT_FOUND)
        if asked != project.canonical:
            moved = "/".join(["", "pypi", quote(project.canonical), *map(quote, segments[2:])])
            return _Answer.json(
                301, {"message": "Moved Permanently"}, Location=f"{self.prefix}{moved}"
            )
        if len(segments) == 3:
            return _Answer.json(200, project_json(project, self.origin))
        release = project.release(segments[2])
        if release is None:
            return _Answer.json(404, NOT_FOUND)
        return _Answer.json(200, release_json(project, release, self.origin))

    def wait_closing(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the fake is closing (the answer should stop)."""
        return self._closing.wait(seconds)

    def record(self, method: str, target: str, headers: Mapping[str, str], answer: _Answer) -> None:
        """Log one request before its answer goes out, so a returning client sees it."""
        split = urlsplit(target)
        route = split.path[len(self.prefix) :] if split.path.startswith(self.prefix) else ""
        entry = RecordedRequest(
            method=method,
            path=split.path,
            route=route,
            query=split.query,
            status=0 if answer.drop else answer.status,
            bytes_sent=0 if method == "HEAD" or answer.drop else len(answer.body),
            headers={k.lower(): v for k, v in headers.items()},
            fault=answer.fault,
        )
        with self._lock:
            self._log.append(entry)


def _failure(fault: Fault) -> _Answer:
    if fault.kind == "drop":
        return _Answer(status=0, drop=True, fault="drop")
    if fault.kind == "rate-limit":
        headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
        answer = _Answer.json(429, {"message": "Too Many Requests"}, **headers)
    elif fault.kind == "redirect":
        answer = _Answer.json(301, {"message": "Moved Permanently"}, Location=fault.location)
    else:
        status = fault.status
        page = f"<html><body><h1>{status} Server Error</h1></body></html>\n".encode()
        answer = _Answer(status=status, headers={"Content-Type": "text/html"}, body=page)
    answer.fault = fault.kind
    return answer


def _spoil(answer: _Answer, fault: Fault) -> None:
    """Turn a normal 200 answer into the faulty one (only answers that exist can be spoiled)."""
    answer.fault = fault.kind
    if fault.kind == "malformed":
        answer.body = fault.body if fault.body is not None else answer.body[: len(answer.body) // 2]
    elif fault.kind == "oversize":
        document = json.loads(answer.body)
        base = len(json.dumps({**document, "padding": ""}, separators=(",", ":")).encode())
        document["padding"] = "x" * max(0, fault.size - base)
        answer.body = json.dumps(document, separators=(",", ":")).encode()
        answer.chunked = fault.chunked
    elif fault.kind == "trickle":
        answer.trickle_s = fault.delay_s


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


class _Server(LoopbackServer):
    def __init__(self, index: FakePackageIndex) -> None:
        self.index = index
        super().__init__(_Handler)


class _Handler(LoopbackHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if not self.drain_request_body():
            return
        headers = dict(self.headers.items())
        index = self.server.index
        try:
            answer = index.answer(self.command, self.path, headers)
        except Exception as error:  # a broken fake must answer, not hang up
            answer = _Answer.json(500, {"message": f"fake index failure: {error!r}"})
        index.record(self.command, self.path, headers, answer)
        if answer.delay_s > 0 and index.wait_closing(answer.delay_s):
            answer.drop = True
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._write(answer, index)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (e.g. at its size cap)

    def _write(self, answer: _Answer, index: FakePackageIndex) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if answer.chunked:
            for start in range(0, len(answer.body), STREAM_CHUNK):
                piece = answer.body[start : start + STREAM_CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        if answer.trickle_s <= 0:
            self.wfile.write(answer.body)
            return
        for start in range(0, len(answer.body), TRICKLE_CHUNK):
            self.wfile.write(answer.body[start : start + TRICKLE_CHUNK])
            self.wfile.flush()
            if index.wait_closing(answer.trickle_s):
                self.close_connection = True
                return
