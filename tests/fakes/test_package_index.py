"""Tests of the fake package index, driven by plain ``requests`` over loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from tests.fakes.package_index import (
    INFO_DEFAULTS,
    REQUESTS,
    FakePackageIndex,
    FakeProject,
    FakeRelease,
    Fault,
    default_projects,
)


@pytest.fixture
def index() -> Iterator[FakePackageIndex]:
    with FakePackageIndex(default_projects()) as fake:
        yield fake


def _get(
    index: FakePackageIndex, route: str, *, timeout: float = 5, **options: object
) -> requests.Response:
    return requests.get(f"{index.url}{route}", timeout=timeout, **options)  # type: ignore[arg-type]


def test_project_answer_has_pypi_shape_and_describes_the_latest_final_release(
    index: FakePackageIndex,
) -> None:
    response = _get(index, "/pypi/requests/json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert set(document) == {"info", "last_serial", "releases", "urls", "vulnerabilities"}
    info = document["info"]
    # 2.33.0rc1 is a pre-release and 2.32.0 is yanked: PyPI's "latest" is 2.32.3.
    assert info["version"] == "2.32.3"
    assert set(INFO_DEFAULTS) <= set(info)
    assert info["author_email"] == "me@kennethreitz.org"
    assert info["project_urls"]["Source"] == "https://github.com/psf/requests"
    assert info["project_url"] == f"{index.origin}/project/requests/"
    assert info["release_url"] == f"{index.origin}/project/requests/2.32.3/"
    assert sorted(document["releases"]) == ["2.31.0", "2.32.0", "2.32.3", "2.33.0rc1"]
    assert [f["filename"] for f in document["urls"]] == [
        "requests-2.32.3-py3-none-any.whl",
        "requests-2.32.3.tar.gz",
    ]
    wheel = document["urls"][0]
    assert wheel["packagetype"] == "bdist_wheel"
    assert wheel["python_version"] == "py3"
    assert len(wheel["digests"]["sha256"]) == 64
    assert document["urls"][1]["python_version"] == "source"


def test_release_answer_has_no_releases_key(index: FakePackageIndex) -> None:
    document = _get(index, "/pypi/nvidia-cuda-runtime-cu12/12.1.105/json").json()
    assert set(document) == {"info", "last_serial", "urls", "vulnerabilities"}
    assert document["info"]["version"] == "12.1.105"
    assert document["info"]["author_email"] == "compute_installer@nvidia.com"
    assert document["info"]["requires_dist"] is None
    assert document["info"]["yanked"] is False


def test_yanked_release_is_still_served_and_says_so(index: FakePackageIndex) -> None:
    info = _get(index, "/pypi/requests/2.32.0/json").json()["info"]
    assert info["yanked"] is True
    assert "CVE-2024-35195" in info["yanked_reason"]


@pytest.mark.parametrize(
    ("asked", "normalised"),
    [
        ("/pypi/PyYAML/json", "/pypi/pyyaml/json"),
        ("/pypi/Requests/2.32.3/json", "/pypi/requests/2.32.3/json"),
        ("/pypi/nvidia_cuda_runtime_cu12/json", "/pypi/nvidia-cuda-runtime-cu12/json"),
        (
            "/pypi/NVIDIA.cuda-runtime_cu12/12.4.127/json",
            "/pypi/nvidia-cuda-runtime-cu12/12.4.127/json",
        ),
    ],
)
def test_non_normalised_names_are_redirected_like_pypi(
    index: FakePackageIndex, asked: str, normalised: str
) -> None:
    moved = _get(index, asked, allow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["Location"] == normalised
    followed = _get(index, asked)
    assert followed.status_code == 200
    assert [r.status_code for r in followed.history] == [301]
    assert index.count(asked) == 2
    assert index.count(normalised) == 1


def test_display_name_is_kept_in_info(index: FakePackageIndex) -> None:
    assert _get(index, "/pypi/pyyaml/json").json()["info"]["name"] == "PyYAML"


def test_versions_match_exactly_then_canonically(index: FakePackageIndex) -> None:
    assert _get(index, "/pypi/requests/2.32.3.0/json").json()["info"]["version"] == "2.32.3"
    assert _get(index, "/pypi/requests/2.33.0RC1/json").json()["info"]["version"] == "2.33.0rc1"


@pytest.mark.parametrize(
    "route",
    [
        "/pypi/no-such-project/json",
        "/pypi/requests/9.9.9/json",
        "/pypi/requests/not..a..version/json",
        "/pypi/-bad-/json",
        "/simple/requests/",
        "/pypi/requests",
        "/",
    ],
)
def test_unknown_paths_are_404_with_pypi_body(index: FakePackageIndex, route: str) -> None:
    response = _get(index, route)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_requests_are_recorded_with_headers_and_bytes(index: FakePackageIndex) -> None:
    response = _get(index, "/pypi/torch/2.5.1/json", headers={"User-Agent": "probe/1"})
    entry = index.requests[-1]
    assert (entry.method, entry.path, entry.route, entry.status) == (
        "GET",
        "/pypi/torch/2.5.1/json",
        "/pypi/torch/2.5.1/json",
        200,
    )
    assert entry.headers["user-agent"] == "probe/1"
    assert entry.bytes_sent == len(response.content)
    assert entry.fault is None
    index.reset_log()
    assert index.requests == []


def test_rate_limit_fault_is_served_then_consumed(index: FakePackageIndex) -> None:
    route = "/pypi/requests/2.32.3/json"
    index.add_fault(route, Fault(kind="rate-limit", retry_after="7", times=2))
    first, second, third = (_get(index, route) for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "7"
    assert [r.fault for r in index.requests] == ["rate-limit", "rate-limit", None]
    # Faults are per path: the project path was never affected.
    assert _get(index, "/pypi/requests/json").status_code == 200


def test_faults_queue_in_order_and_times_none_is_forever(index: FakePackageIndex) -> None:
    route = "/pypi/torch/json"
    index.add_fault(
        route, Fault(kind="server-error", status=503), Fault(kind="server-error", times=None)
    )
    statuses = [_get(index, route).status_code for _ in range(4)]
    assert statuses == [503, 500, 500, 500]
    assert _get(index, route).headers["Content-Type"] == "text/html"


def test_malformed_fault_cuts_the_real_answer(index: FakePackageIndex) -> None:
    route = "/pypi/packaging/25.0/json"
    whole = _get(index, route).content
    index.add_fault(route, Fault(kind="malformed"))
    cut = _get(index, route).content
    assert cut == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)
    index.add_fault(route, Fault(kind="malformed", body=b"<html>oops</html>"))
    assert _get(index, route).content == b"<html>oops</html>"


@pytest.mark.parametrize("chunked", [False, True])
def test_oversize_fault_pads_valid_json_to_the_size(index: FakePackageIndex, chunked: bool) -> None:
    route = "/pypi/requests/2.32.3/json"
    index.add_fault(route, Fault(kind="oversize", size=300_000, chunked=chunked))
    response = _get(index, route)
    assert len(response.content) == 300_000
    assert response.json()["info"]["version"] == "2.32.3"
    assert ("Content-Length" in response.headers) is not chunked
    assert (response.headers.get("Transfer-Encoding") == "chunked") is chunked


def test_slow_and_trickle_faults_take_their_time(index: FakePackageIndex) -> None:
    route = "/pypi/nvidia-cuda-runtime-cu12/12.4.127/json"
    index.add_fault(route, Fault(kind="slow", delay_s=0.3))
    started = time.monotonic()
    assert _get(index, route).status_code == 200
    assert time.monotonic() - started >= 0.3
    index.add_fault(route, Fault(kind="trickle", delay_s=0.001))
    assert _get(index, route).json()["info"]["version"] == "12.4.127"
    index.add_fault(route, Fault(kind="slow", delay_s=5))
    with pytest.raises(requests.Timeout):
        _get(index, route, timeout=0.2)


def test_drop_fault_closes_the_connection_without_an_answer(index: FakePackageIndex) -> None:
    route = "/pypi/torch/2.5.1/json"
    index.add_fault(route, Fault(kind="drop"))
    with pytest.raises(requests.ConnectionError):
        _get(index, route)
    assert _get(index, route).status_code == 200
    assert [r.fault for r in index.requests] == ["drop", None]


def test_redirect_fault_points_elsewhere(index: FakePackageIndex) -> None:
    route = "/pypi/torch/json"
    index.add_fault(route, Fault(kind="redirect", location="/pypi/packaging/json"))
    moved = _get(index, route, allow_redirects=False)
    assert (moved.status_code, moved.headers["Location"]) == (301, "/pypi/packaging/json")
    assert _get(index, route).json()["info"]["name"] == "torch"


def test_prefix_and_credentials_model_a_private_index() -> None:
    with FakePackageIndex(
        [REQUESTS], prefix="/repository/pypi-proxy", credentials=("ci", "s3cret-token")
    ) as fake:
        assert fake.simple_url == f"{fake.url}/simple/"
        route = "/pypi/requests/json"
        denied = requests.get(f"{fake.url}{route}", timeout=5)
        assert denied.status_code == 401
        assert "Basic" in denied.headers["WWW-Authenticate"]
        allowed = requests.get(f"{fake.url}{route}", auth=("ci", "s3cret-token"), timeout=5)
        assert allowed.status_code == 200
        assert fake.requests[-1].path == f"/repository/pypi-proxy{route}"
        assert fake.requests[-1].route == route
        outside = requests.get(f"{fake.origin}{route}", auth=("ci", "s3cret-token"), timeout=5)
        assert outside.status_code == 404


def test_project_definitions_are_checked() -> None:
    with pytest.raises(ValueError, match="distinct versions"):
        FakeProject("x", (FakeRelease("1.0"), FakeRelease("1.0")))
    with pytest.raises(ValueError, match="already there"):
        FakePackageIndex([REQUESTS, FakeProject("Requests", (FakeRelease("1.0"),))])
    with pytest.raises(ValueError, match="prefix"):
        FakePackageIndex([], prefix="no-slash")
