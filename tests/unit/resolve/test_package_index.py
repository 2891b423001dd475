"""PackageIndexClient against the loopback fake index: parsing, retries, caps, cache, offline."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError, UsageError
from scanner.core.offline import network_blocked
from scanner.formats.python.records import PackageMetadata
from scanner.resolve.package_index import (
    DEFAULT_INDEX_URL,
    INDEX_CACHE_SUBDIR,
    INDEX_PAGE_LABEL,
    MAX_CLASSIFIERS,
    MAX_LICENSE_CHARS,
    MAX_RELEASE_BYTES,
    MAX_TEXT_CHARS,
    PROJECT_TTL_S,
    IndexProblem,
    PackageIndexClient,
    parse_index_json,
    parse_index_url,
)
from tests.fakes.package_index import (
    PACKAGING,
    REQUESTS,
    FakePackageIndex,
    FakeProject,
    FakeRelease,
    Fault,
    default_projects,
)

REQUESTS_RELEASE = "/pypi/requests/2.32.3/json"
TOKEN = "tok-3f9a1c0d5e7b"  # noqa: S105  (a fake credential, checked for leaks)


@pytest.fixture
def index() -> Iterator[FakePackageIndex]:
    with FakePackageIndex(default_projects()) as fake:
        yield fake


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class _Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _client(
    index_url: str, cache: Path, *, offline: bool = False, use_cache: bool = True, **options: object
) -> PackageIndexClient:
    options.setdefault("backoff_s", 0.0)
    options.setdefault("sleep", _Sleeps())
    return PackageIndexClient(
        index_url,
        cache_dir=cache,
        offline=offline,
        use_cache=use_cache,
        **options,  # type: ignore[arg-type]
    )


def _metadata(result: PackageMetadata | IndexProblem) -> PackageMetadata:
    assert isinstance(result, PackageMetadata), result
    return result


def _problem(result: PackageMetadata | IndexProblem) -> IndexProblem:
    assert isinstance(result, IndexProblem), result
    return result


def _cache_bytes(cache: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(cache.rglob("*")) if path.is_file())


# -- metadata, parsed exactly ------------------------------------------------------------------


def test_release_metadata_of_requests_is_parsed_exactly(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    metadata = _metadata(_client(index.url, tmp_path).release("requests", "2.32.3"))
    assert metadata == PackageMetadata(
        summary="Python HTTP for Humans.",
        author="Kenneth Reitz",
        author_email="me@kennethreitz.org",
        maintainer=None,  # PyPI sends "" for unset fields
        maintainer_email=None,
        home_page="https://requests.readthedocs.io",
        project_urls=(
            ("Documentation", "https://requests.readthedocs.io"),
            ("Homepage", "https://requests.readthedocs.io"),
            ("Source", "https://github.com/psf/requests"),
            (INDEX_PAGE_LABEL, f"{index.origin}/project/requests/"),
        ),
        license="Apache-2.0",
        license_expression=None,
        classifiers=(
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
        ),
        requires_dist=(
            "charset-normalizer<4,>=2",
            "idna<4,>=2.5",
            "urllib3<3,>=1.21.1",
            "certifi>=2017.4.17",
            'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
            'chardet<6,>=3.0.2; extra == "use-chardet-on-py3"',
        ),
        requires_python=">=3.8",
        source=f"{index.url}{REQUESTS_RELEASE}",
    )
    assert [request.route for request in index.requests] == [REQUESTS_RELEASE]


def test_cuda_wheel_metadata_names_nvidia(index: FakePackageIndex, tmp_path: Path) -> None:
    metadata = _metadata(
        _client(index.url, tmp_path).release("nvidia-cuda-runtime-cu12", "12.4.127")
    )
    assert metadata.author == "Nvidia CUDA Installer Team"
    assert metadata.author_email == "compute_installer@nvidia.com"
    assert metadata.home_page == "https://developer.nvidia.com/cuda-zone"
    assert metadata.license == "NVIDIA Proprietary Software"
    assert metadata.requires_dist == ()  # null on PyPI
    assert metadata.requires_python == ">=3"
    assert "License :: Other/Proprietary License" in metadata.classifiers
    assert metadata.project_urls[0] == ("Homepage", "https://developer.nvidia.com/cuda-zone")


def test_torch_requires_dist_keeps_markers(index: FakePackageIndex, tmp_path: Path) -> None:
    metadata = _metadata(_client(index.url, tmp_path).release("torch", "2.5.1"))
    assert metadata.author_email == "packages@pytorch.org"
    assert metadata.license == "BSD-3-Clause"
    assert len(metadata.requires_dist) == 13
    assert (
        'nvidia-cuda-runtime-cu12==12.4.127; platform_system == "Linux" and '
        'platform_machine == "x86_64"'
    ) in metadata.requires_dist


def test_license_expression_is_read_and_a_null_license_is_none(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    metadata = _metadata(_client(index.url, tmp_path).release("packaging", "25.0"))
    assert metadata.license_expression == "Apache-2.0 OR BSD-2-Clause"
    assert metadata.license is None
    assert metadata.author is None
    assert metadata.author_email == "Donald Stufft <donald@stufft.io>"


def test_project_is_the_latest_final_release(index: FakePackageIndex, tmp_path: Path) -> None:
    client = _client(index.url, tmp_path)
    latest = _metadata(client.project("requests"))
    # Not 2.33.0rc1 (pre-release, requires >=3.9) nor the yanked 2.32.0: 2.32.3.
    assert latest.requires_python == ">=3.8"
    assert latest.license == "Apache-2.0"
    assert latest.source == f"{index.url}/pypi/requests/json"
    cuda = _metadata(client.project("nvidia-cuda-runtime-cu12"))
    assert cuda.author_email == "compute_installer@nvidia.com"
    assert [r.route for r in index.requests] == [
        "/pypi/requests/json",
        "/pypi/nvidia-cuda-runtime-cu12/json",
    ]


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("PyYAML", "/pypi/pyyaml/json"),
        ("nvidia_cuda_runtime_cu12", "/pypi/nvidia-cuda-runtime-cu12/json"),
        ("  Requests ", "/pypi/requests/json"),
        ("NVIDIA.Cuda-Runtime_cu12", "/pypi/nvidia-cuda-runtime-cu12/json"),
    ],
)
def test_names_are_canonicalised_so_no_redirect_is_needed(
    index: FakePackageIndex, tmp_path: Path, name: str, route: str
) -> None:
    client = _client(index.url, tmp_path)
    _metadata(client.project(name))
    assert [(r.route, r.status) for r in index.requests] == [(route, 200)]


def test_equivalent_version_spelling_is_answered(index: FakePackageIndex, tmp_path: Path) -> None:
    metadata = _metadata(_client(index.url, tmp_path).release("requests", "2.32.3.0"))
    assert metadata.requires_python == ">=3.8"
    assert index.requests[0].route == "/pypi/requests/2.32.3.0/json"


# -- problems ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "route"),
    [
        ("no-such-package", "1.0", "/pypi/no-such-package/1.0/json"),
        ("requests", "9.9.9", "/pypi/requests/9.9.9/json"),
        ("no-such-package", None, "/pypi/no-such-package/json"),
    ],
)
def test_404_is_not_found_and_not_retried(
    index: FakePackageIndex, tmp_path: Path, name: str, version: str | None, route: str
) -> None:
    client = _client(index.url, tmp_path)
    result = client.project(name) if version is None else client.release(name, version)
    problem = _problem(result)
    assert problem.kind == "not-found"
    assert problem.url == f"{index.url}{route}"
    assert problem.url in problem.message
    assert "HTTP 404" in problem.message
    assert "Not Found" in problem.message  # PyPI's {"message": "Not Found"}
    assert index.count() == 1
    # A 404 is remembered for the client's lifetime: no second request.
    again = client.project(name) if version is None else client.release(name, version)
    assert again == problem
    assert index.count() == 1


def test_malformed_json_is_malformed_with_the_url_and_is_not_cached(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="malformed"))
    problem = _problem(_client(index.url, tmp_path).release("requests", "2.32.3"))
    assert problem.kind == "malformed"
    assert f"{index.url}{REQUESTS_RELEASE}" in problem.message
    assert "invalid JSON" in problem.message
    assert index.count() == 1  # a broken answer is not retried
    # Nothing was cached: a new client asks again and gets the real answer.
    fixed = _metadata(_client(index.url, tmp_path).release("requests", "2.32.3"))
    assert fixed.author == "Kenneth Reitz"
    assert index.count() == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[1, 2, 3]", "not a JSON object"),
        (b'{"releases": {}}', "no 'info' object"),
        (b'{"info": "requests"}', "no 'info' object"),
        (b'{"info": {}}\xff', "invalid UTF-8"),
        (b'{"info": {"version": NaN}}', "NaN is not valid JSON"),
        (b"<html><body>Sign in</body></html>", "invalid JSON"),
        (b'{"info": {"name": "urllib3", "version": "2.32.3"}}', "describes 'urllib3'"),
        (b'{"info": {"name": "requests", "version": "2.31.0"}}', "version '2.31.0'"),
    ],
)
def test_unusable_answers_are_malformed(
    index: FakePackageIndex, tmp_path: Path, body: bytes, expected: str
) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="malformed", body=body))
    problem = _problem(_client(index.url, tmp_path).release("requests", "2.32.3"))
    assert problem.kind == "malformed"
    assert expected in problem.message
    assert problem.url in problem.message


def test_429_then_success_is_retried_after_retry_after(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="rate-limit", retry_after="3"))
    sleeps = _Sleeps()
    client = _client(index.url, tmp_path, sleep=sleeps)
    metadata = _metadata(client.release("requests", "2.32.3"))
    assert metadata.author_email == "me@kennethreitz.org"
    assert [(r.route, r.status) for r in index.requests] == [
        (REQUESTS_RELEASE, 429),
        (REQUESTS_RELEASE, 200),
    ]
    assert sleeps.calls == [3.0]
    assert client.stats.requests == 2
    assert client.stats.retries == 1


def test_retry_after_is_capped(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="rate-limit", retry_after="86400"))
    sleeps = _Sleeps()
    _metadata(_client(index.url, tmp_path, sleep=sleeps).release("requests", "2.32.3"))
    assert sleeps.calls == [30.0]


def test_persistent_5xx_gives_up_after_the_retries(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="server-error", status=503, times=None))
    client = _client(index.url, tmp_path, max_retries=2, backoff_s=0.25)
    problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "server-error"
    assert "HTTP 503" in problem.message
    assert "gave up after 2 retries" in problem.message
    assert index.count() == 3
    assert client.stats.retries == 2


def test_persistent_429_is_rate_limited(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="rate-limit", times=None))
    problem = _problem(_client(index.url, tmp_path, max_retries=1).release("requests", "2.32.3"))
    assert problem.kind == "rate-limited"
    assert index.count() == 2


def test_dropped_connection_is_retried(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="drop"))
    client = _client(index.url, tmp_path)
    assert _metadata(client.release("requests", "2.32.3")).summary == "Python HTTP for Humans."
    assert index.count() == 2
    assert client.stats.retries == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_body_is_refused(index: FakePackageIndex, tmp_path: Path, chunked: bool) -> None:
    size = MAX_RELEASE_BYTES + 1024 * 1024
    index.add_fault(REQUESTS_RELEASE, Fault(kind="oversize", size=size, chunked=chunked))
    client = _client(index.url, tmp_path)
    problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "too-large"
    assert f"exceeds {MAX_RELEASE_BYTES} bytes" in problem.message
    assert problem.url in problem.message
    assert index.count() == 1  # not retried
    # Reading stopped at the cap (with a Content-Length, before the body).
    assert client.stats.bytes_received <= MAX_RELEASE_BYTES + 256 * 1024
    if not chunked:
        assert client.stats.bytes_received < 256 * 1024


def test_slow_answer_times_out_and_is_retried(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="slow", delay_s=3.0))
    client = _client(index.url, tmp_path, timeout_s=0.2)
    assert _metadata(client.release("requests", "2.32.3")).license == "Apache-2.0"
    assert index.count() == 2
    assert client.stats.retries == 1


def test_slow_answer_that_never_comes_is_unreachable(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="slow", delay_s=3.0, times=None))
    client = _client(index.url, tmp_path, timeout_s=0.1, max_retries=1)
    problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "unreachable"
    assert "timed out" in problem.message
    assert "gave up after 1 retry" in problem.message


def test_trickled_body_hits_the_transfer_deadline(index: FakePackageIndex, tmp_path: Path) -> None:
    # ~3 KB at 16 bytes per 50 ms would take ~10 s; every single read is well within timeout_s.
    index.add_fault(REQUESTS_RELEASE, Fault(kind="trickle", delay_s=0.05, times=None))
    client = _client(index.url, tmp_path, timeout_s=2.0, transfer_timeout_s=0.4, max_retries=0)
    problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "unreachable"
    assert "took longer than 0.4 s" in problem.message


def test_redirects_are_followed_and_counted(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(
        REQUESTS_RELEASE, Fault(kind="redirect", location="/pypi/requests/2.32.3.0/json")
    )
    client = _client(index.url, tmp_path)
    metadata = _metadata(client.release("requests", "2.32.3"))
    assert metadata.license == "Apache-2.0"
    assert [(r.route, r.status) for r in index.requests] == [
        (REQUESTS_RELEASE, 301),
        ("/pypi/requests/2.32.3.0/json", 200),
    ]
    assert client.stats.requests == 2


def test_redirect_loop_is_refused_without_retries(index: FakePackageIndex, tmp_path: Path) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="redirect", location=REQUESTS_RELEASE, times=None))
    problem = _problem(_client(index.url, tmp_path).release("requests", "2.32.3"))
    assert problem.kind == "refused"
    assert "too many redirects" in problem.message
    assert index.count() == 6  # the first request and MAX_REDIRECTS (5) redirects


def test_invalid_names_and_versions_are_refused_without_a_request(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    client = _client(index.url, tmp_path)
    for result in (
        client.release("../../etc/passwd", "1.0"),
        client.release("requests", "2.0/../../x"),
        client.release("requests", ""),
        client.project("-leading-dash"),
        client.project("x" * 500),
        client.project("req uests"),
        client.project("requests\x00"),
    ):
        assert _problem(result).kind == "invalid-name"
    assert index.count() == 0


def test_unreachable_index_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = _client(f"http://127.0.0.1:{port}", tmp_path, max_retries=1)
    problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "unreachable"
    assert f"http://127.0.0.1:{port}/pypi/requests/2.32.3/json" in problem.message
    assert client.stats.requests == 2


# -- cache ---------------------------------------------------------------------------------------


def test_second_client_is_served_from_the_disk_cache(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    first = _client(index.url, tmp_path)
    release = _metadata(first.release("requests", "2.32.3"))
    project = _metadata(first.project("torch"))
    assert first.stats.requests == 2
    assert first.stats.bytes_received == sum(r.bytes_sent for r in index.requests)
    second = _client(index.url, tmp_path)
    assert second.release("requests", "2.32.3") == release
    assert second.project("torch") == project
    assert second.stats.requests == 0
    assert second.stats.cache_hits == 2
    assert index.count() == 2
    assert list((tmp_path / INDEX_CACHE_SUBDIR).rglob("*.json"))


def test_same_client_answers_twice_with_one_request(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    client = _client(index.url, tmp_path, use_cache=False)
    assert client.release("requests", "2.32.3") == client.release("Requests", "2.32.3")
    assert index.count() == 1
    assert client.stats.cache_hits == 1
    assert not tmp_path.joinpath(INDEX_CACHE_SUBDIR).exists()  # use_cache=False writes nothing


def test_cache_is_per_index(index: FakePackageIndex, tmp_path: Path) -> None:
    _metadata(_client(index.url, tmp_path).release("requests", "2.32.3"))
    with FakePackageIndex([REQUESTS], prefix="/other") as other:
        _metadata(_client(other.url, tmp_path).release("requests", "2.32.3"))
        assert other.count() == 1


def test_release_is_cached_for_good_but_project_expires(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    clock = _Clock()
    _metadata(_client(index.url, tmp_path, clock=clock).release("requests", "2.32.3"))
    _metadata(_client(index.url, tmp_path, clock=clock).project("requests"))
    clock.now += PROJECT_TTL_S - 60
    within = _client(index.url, tmp_path, clock=clock)
    _metadata(within.release("requests", "2.32.3"))
    _metadata(within.project("requests"))
    assert within.stats.requests == 0
    clock.now += 365 * 24 * 3600
    later = _client(index.url, tmp_path, clock=clock)
    _metadata(later.release("requests", "2.32.3"))
    assert later.stats.requests == 0
    _metadata(later.project("requests"))
    assert later.stats.requests == 1
    assert [r.route for r in index.requests][-1] == "/pypi/requests/json"


def test_stale_project_is_used_when_the_refresh_fails(
    index: FakePackageIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _Clock()
    cached = _metadata(_client(index.url, tmp_path, clock=clock).project("torch"))
    clock.now += 2 * PROJECT_TTL_S
    index.add_fault("/pypi/torch/json", Fault(kind="server-error", times=None))
    with caplog.at_level(logging.WARNING, logger="sovscan"):
        again = _client(index.url, tmp_path, clock=clock, max_retries=1).project("torch")
    assert again == cached
    assert "using the cached copy" in caplog.text


def test_damaged_cache_entry_is_ignored_and_refetched(
    index: FakePackageIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = _metadata(_client(index.url, tmp_path).release("requests", "2.32.3"))
    (entry,) = (tmp_path / INDEX_CACHE_SUBDIR).rglob("*.json")
    document = json.loads(entry.read_text())
    document["value"]["fetched_at"] = "yesterday"
    entry.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING, logger="sovscan"):
        again = _client(index.url, tmp_path).release("requests", "2.32.3")
    assert again == expected
    assert index.count() == 2
    assert "damaged entry" in caplog.text


# -- offline -------------------------------------------------------------------------------------


def test_offline_is_served_from_the_cache_without_the_network(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    clock = _Clock()
    online = _client(index.url, tmp_path, clock=clock)
    release = _metadata(online.release("nvidia-cuda-runtime-cu12", "12.4.127"))
    project = _metadata(online.project("requests"))
    clock.now += 30 * PROJECT_TTL_S  # offline, even a stale project entry is used
    offline = _client(index.url, tmp_path, offline=True, clock=clock)
    with network_blocked():
        assert offline.release("nvidia-cuda-runtime-cu12", "12.4.127") == release
        assert offline.project("requests") == project
        missing = _problem(offline.release("requests", "2.31.0"))
    assert missing.kind == "offline-miss"
    assert f"{index.url}/pypi/requests/2.31.0/json" in missing.message
    assert offline.stats.requests == 0
    assert offline.stats.cache_hits == 2
    assert index.count() == 2


def test_offline_with_a_cold_cache_is_a_miss(index: FakePackageIndex, tmp_path: Path) -> None:
    with network_blocked():
        cold = _client(index.url, tmp_path, offline=True)
        problem = _problem(cold.project("torch"))
        disabled = _problem(
            _client(index.url, tmp_path, offline=True, use_cache=False).project("x")
        )
    assert problem.kind == "offline-miss"
    assert problem.url == f"{index.url}/pypi/torch/json"
    assert "the cache is disabled" in disabled.message
    assert index.count() == 0


def test_network_blocked_while_online_is_an_offline_miss(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    client = _client(index.url, tmp_path)
    with network_blocked():
        problem = _problem(client.release("requests", "2.32.3"))
    assert problem.kind == "offline-miss"
    assert "offline mode refused" in problem.message
    assert client.stats.retries == 0
    assert index.count() == 0


# -- credentials and index URLs ------------------------------------------------------------------


def test_credentials_are_sent_but_never_shown_or_stored(tmp_path: Path) -> None:
    with FakePackageIndex(
        default_projects(), prefix="/api/pypi/pypi-remote", credentials=("ci-bot", TOKEN)
    ) as fake:
        private = fake.simple_url.replace("http://", f"http://ci-bot:{TOKEN}@")
        client = _client(private, tmp_path)
        assert client.index_url == fake.url
        metadata = _metadata(client.release("requests", "2.32.3"))
        assert metadata.source == f"{fake.url}{REQUESTS_RELEASE}"
        assert fake.requests[0].headers["authorization"].startswith("Basic ")
        assert fake.requests[0].path == f"/api/pypi/pypi-remote{REQUESTS_RELEASE}"
        missing = _problem(client.release("requests", "0.0.1"))
        refused = _problem(
            _client(private.replace(TOKEN, "wrong-token-123"), tmp_path).project("torch")
        )
    assert missing.kind == "not-found"
    assert refused.kind == "denied"
    assert "credentials in the index URL were refused" in refused.message
    for problem in (missing, refused):
        for text in (problem.message, problem.url):
            assert TOKEN not in text
            assert "wrong-token-123" not in text
            assert "ci-bot" not in text
    assert TOKEN.encode() not in _cache_bytes(tmp_path)
    assert b"ci-bot" not in _cache_bytes(tmp_path)
    assert TOKEN not in repr(parse_index_url(private))


def test_credentials_never_appear_in_transport_errors(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _client(f"http://__token__:{TOKEN}@127.0.0.1:{port}/simple/", tmp_path, max_retries=0)
    problem = _problem(client.project("requests"))
    assert problem.kind == "unreachable"
    assert TOKEN not in problem.message
    assert "__token__" not in problem.message
    assert problem.url == f"http://127.0.0.1:{port}/pypi/requests/json"


def test_missing_credentials_are_denied_with_a_hint(tmp_path: Path) -> None:
    with FakePackageIndex([REQUESTS], credentials=("u", "p")) as fake:
        problem = _problem(_client(fake.url, tmp_path).project("requests"))
    assert problem.kind == "denied"
    assert "put them in the index URL" in problem.message
    assert "HTTP 401" in problem.message


@pytest.mark.parametrize(
    ("given", "root"),
    [
        (None, "https://pypi.org"),
        ("", "https://pypi.org"),
        ("https://pypi.org", "https://pypi.org"),
        ("https://pypi.org/", "https://pypi.org"),
        ("https://pypi.org/pypi", "https://pypi.org"),
        ("https://pypi.org/pypi/", "https://pypi.org"),
        ("https://pypi.org/simple", "https://pypi.org"),
        ("https://pypi.org/simple/", "https://pypi.org"),
        ("HTTPS://test.pypi.org/simple/", "https://test.pypi.org"),
        (
            "https://acme.jfrog.io/artifactory/api/pypi/pypi-remote/simple",
            "https://acme.jfrog.io/artifactory/api/pypi/pypi-remote",
        ),
        (
            "https://nexus.example.ru:8443/repository/pypi-proxy/simple/",
            "https://nexus.example.ru:8443/repository/pypi-proxy",
        ),
        ("http://127.0.0.1:3141/root/mirror", "http://127.0.0.1:3141/root/mirror"),
    ],
)
def test_index_url_rule(given: str | None, root: str) -> None:
    location = parse_index_url(given)
    assert location.root == root
    assert location.auth is None


def test_index_url_credentials_are_split_off_and_decoded() -> None:
    location = parse_index_url("https://__token__:pypi%2Fab%40c@pkgs.example.com/simple/")
    assert location.root == "https://pkgs.example.com"
    assert location.auth == ("__token__", "pypi/ab@c")
    token_only = parse_index_url(f"https://{TOKEN}@pypi.fury.io/acme/")
    assert token_only.auth == (TOKEN, "")
    assert token_only.root == "https://pypi.fury.io/acme"


@pytest.mark.parametrize(
    "given",
    [
        "pypi.org/simple",
        "ftp://pypi.org/simple",
        "file:///srv/index",
        "https://pypi.org/simple?x=1",
        "https://pypi.org/simple#frag",
        "https://pypi .org/simple",
        "https://host:99999/simple",
        f"ftp://user:{TOKEN}@host/simple",
    ],
)
def test_unusable_index_urls_are_usage_errors_without_credentials(given: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_index_url(given)
    assert TOKEN not in str(raised.value)


def test_default_index_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert DEFAULT_INDEX_URL == "https://pypi.org"
    assert _client(None, tmp_path, offline=True).index_url == DEFAULT_INDEX_URL  # type: ignore[arg-type]
    assert parse_index_url(" https://mirror.example.ru/simple/ ".strip()).root == (
        "https://mirror.example.ru"
    )


# -- threads -------------------------------------------------------------------------------------


def test_fetch_many_answers_every_pair_once(index: FakePackageIndex, tmp_path: Path) -> None:
    client = _client(index.url, tmp_path)
    pairs: list[tuple[str, str | None]] = [
        ("requests", "2.32.3"),
        ("torch", "2.5.1"),
        ("nvidia-cuda-runtime-cu12", "12.4.127"),
        ("PyYAML", None),
        ("requests", "2.32.3"),
        ("no-such-package", "1.0"),
        ("packaging", "25.0"),
    ]
    results = client.fetch_many(pairs, workers=4)
    assert list(results) == list(dict.fromkeys(pairs))
    assert _metadata(results[("torch", "2.5.1")]).author_email == "packages@pytorch.org"
    assert _metadata(results[("PyYAML", None)]).author == "Kirill Simonov"
    assert _problem(results[("no-such-package", "1.0")]).kind == "not-found"
    assert index.count() == 6
    with pytest.raises(ValueError, match="workers"):
        client.fetch_many(pairs, workers=0)


def test_concurrent_look_ups_of_one_release_make_one_request(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    index.add_fault(REQUESTS_RELEASE, Fault(kind="slow", delay_s=0.2))
    client = _client(index.url, tmp_path)
    results: list[PackageMetadata | IndexProblem] = []
    lock = threading.Lock()

    def ask() -> None:
        result = client.release("requests", "2.32.3")
        with lock:
            results.append(result)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result == results[0] for result in results)
    assert _metadata(results[0]).author == "Kenneth Reitz"
    assert index.count() == 1


def test_caller_session_is_used(index: FakePackageIndex, tmp_path: Path) -> None:
    with requests.Session() as session:
        session.headers["X-Probe"] = "caller-session"
        client = _client(index.url, tmp_path, session=session)
        _metadata(client.project("packaging"))
        client.close()  # the caller's session stays open
        _metadata(client.release("packaging", "25.0"))
    assert [r.headers.get("x-probe") for r in index.requests] == ["caller-session"] * 2
    assert index.requests[0].headers["user-agent"].startswith("sovscan/")
    assert index.requests[0].headers["accept"] == "application/json"


# -- caps ----------------------------------------------------------------------------------------

_NOISY = FakeProject(
    "legacy-noisy",
    (
        FakeRelease(
            "0.1",
            {
                "author": "UNKNOWN",
                "author_email": "dev@example.org\x1b[31m\r\n",
                "home_page": "UNKNOWN",
                "license": "MIT License\n\n" + "Permission is hereby granted. " * 1000,
                "summary": 42,
                "classifiers": ["Topic :: Utilities", 7, None, "x" * 300]
                + [f"Framework :: F{i}" for i in range(1000)],
                "requires_dist": ["a>=1", {"b": 2}, "c" * 5000],
                "project_urls": {
                    "Source": "https://github.com/example/noisy",
                    "Broken": 12,
                    "With space": "https://example.org/a b",
                    "": "https://example.org/empty-label",
                },
                "project_url": "https://github.com/example/noisy",
                "requires_python": None,
            },
        ),
    ),
)


def test_long_and_odd_fields_are_clipped_cleaned_or_dropped(tmp_path: Path) -> None:
    with FakePackageIndex([_NOISY]) as fake:
        metadata = _metadata(_client(fake.url, tmp_path).release("legacy-noisy", "0.1"))
    assert metadata.author is None  # setuptools' UNKNOWN
    assert metadata.home_page is None
    assert metadata.author_email == "dev@example.org [31m"
    assert metadata.license is not None
    assert len(metadata.license) <= MAX_LICENSE_CHARS
    assert metadata.license.startswith("MIT License\n\nPermission is hereby granted.")
    assert metadata.summary is None
    assert metadata.requires_python is None
    # Non-strings and the over-long one are dropped; the first MAX_CLASSIFIERS usable ones kept.
    assert len(metadata.classifiers) == MAX_CLASSIFIERS
    assert metadata.classifiers[:2] == ("Topic :: Utilities", "Framework :: F0")
    assert metadata.classifiers[-1] == f"Framework :: F{MAX_CLASSIFIERS - 2}"
    assert all(len(classifier) <= 256 for classifier in metadata.classifiers)
    assert metadata.requires_dist == ("a>=1",)
    # The index page repeats a listed URL: it is not added a second time.
    assert metadata.project_urls == (("Source", "https://github.com/example/noisy"),)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_INFO_KEYS = st.sampled_from(
    [
        "name",
        "version",
        "author",
        "author_email",
        "license",
        "license_expression",
        "project_urls",
        "project_url",
        "classifiers",
        "requires_dist",
        "home_page",
        "summary",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(info=st.dictionaries(_INFO_KEYS, _JSON | st.text(max_size=3000)), tail=_JSON)
def test_fuzzed_answers_give_metadata_or_malformed(info: dict[str, object], tail: object) -> None:
    body = json.dumps({"info": info, "urls": tail}).encode()
    try:
        metadata = parse_index_json(body, source="s", name="requests", version="2.32.3")
    except MalformedFileError:
        return
    for text in (metadata.author, metadata.summary, metadata.author_email):
        assert text is None or (0 < len(text) <= MAX_TEXT_CHARS and "\n" not in text)
    assert all(item and "\n" not in item for item in metadata.requires_dist)
    assert all(label and url and " " not in url for label, url in metadata.project_urls)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_fuzzed_bytes_give_metadata_or_malformed(body: bytes) -> None:
    with contextlib.suppress(MalformedFileError):
        parse_index_json(body, source="s")


def test_metadata_survives_the_cache_unchanged_for_every_fake_project(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    pairs: list[tuple[str, str | None]] = [
        (project.name, release.version)
        for project in (*default_projects(), PACKAGING)
        for release in project.releases
    ]
    fetched = _client(index.url, tmp_path).fetch_many(pairs)
    cached = _client(index.url, tmp_path, offline=True).fetch_many(pairs)
    assert cached == fetched
    assert all(isinstance(result, PackageMetadata) for result in fetched.values())
