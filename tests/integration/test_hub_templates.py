"""Chat templates of a Hub repo, which loading the model renders: the JSON files with a
``chat_template`` key and the ``*.jinja`` files are fetched and analysed as a local folder's,
and every GGUF file's key-value section is read whole by range, since ``tokenizer.chat_template``
follows the vocabulary (llama-cpp-python rendered it unsandboxed: CVE-2024-34359).

The malicious template is the cycler gadget of tests/unit/analysis/test_chat_template.py
(a Jinja global whose ``__init__.__globals__`` reaches ``os``); the benign ones are the real
templates of the corpus.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING

import pytest

from scanner.sources import hf_repo
from tests.fakes.hub import FakeFile, FakeHub
from tests.integration.test_hub_first_bytes import safetensors, verdict
from tests.integration.test_hub_load_analysis import Scan, scan, world_with

if TYPE_CHECKING:
    from pathlib import Path

REPO = "ai-forever/templated"
EVIL = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
BENIGN = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
REAL_TEMPLATES = {
    "tokenizer_config.json": "models/deepseek-ai__DeepSeek-R1/tokenizer_config.json",
    "chat_template.jinja": "models/DMalakhov1__QVikhr-3-1.7B-lora/chat_template.jinja",
}


def gguf(template: str, *, padding: int) -> bytes:
    """A GGUF v3 file without tensors: an architecture, ``padding`` bytes of a string that
    stands for the vocabulary, then the chat template."""

    def text(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw

    pairs = [
        ("general.architecture", "llama"),
        ("tokenizer.ggml.pre", "x" * padding),
        ("tokenizer.chat_template", template),
    ]
    body = b"".join(text(key) + struct.pack("<I", 8) + text(value) for key, value in pairs)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + body


def levels(found: Scan, path: str) -> set[tuple[str, str]]:
    """(rule, SARIF level) of the security results about ``path``."""
    return {
        (r["ruleId"], r["level"])
        for run in found.sarif["runs"]
        for r in run["results"]
        if r["ruleId"].startswith("SEC") and f"/{path}" in r["message"]["text"]
    }


#: What a template that only formats messages gets: a note that it is there.
PRESENT = {("SEC005", "note")}


def weights() -> FakeFile:
    return FakeFile("model.safetensors", content=safetensors(), lfs=True)


def json_template(template: str) -> bytes:
    return json.dumps({"tokenizer_class": "LlamaTokenizer", "chat_template": template}).encode()


PLACES = {
    "tokenizer_config.json": lambda t: FakeFile("tokenizer_config.json", json_template(t)),
    "chat_template.json": lambda t: FakeFile("chat_template.json", json_template(t)),
    "chat_template.jinja": lambda t: FakeFile("chat_template.jinja", t.encode()),
    "additional_chat_templates/tool_use.jinja": lambda t: FakeFile(
        "additional_chat_templates/tool_use.jinja", t.encode()
    ),
    "tokenizer/tokenizer_config.json": lambda t: FakeFile(
        "tokenizer/tokenizer_config.json", json_template(t)
    ),
    "model-Q4_K_M.gguf (past 600 KB)": lambda t: FakeFile(
        "model-Q4_K_M.gguf", content=gguf(t, padding=600_000), lfs=True
    ),
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_template_that_escapes_the_sandbox_fails_wherever_the_repo_keeps_it(
    place: str, tmp_path: Path
) -> None:
    hidden = PLACES[place](EVIL)
    world = world_with(weights(), hidden, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
    assert ("SEC005", "error") in levels(found, hidden.path)
    assert found.sec_rules(hidden.path) == {"SEC005", "SEC100"}
    assert national != 0
    assert found.weight_downloads == []


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_plain_template_passes_wherever_the_repo_keeps_it(place: str, tmp_path: Path) -> None:
    hidden = PLACES[place](BENIGN)
    world = world_with(weights(), hidden, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
    assert levels(found, hidden.path) == PRESENT
    assert national == 0


def test_the_real_templates_of_the_corpus_pass(corpus: Path, tmp_path: Path) -> None:
    files = [FakeFile(name, (corpus / path).read_bytes()) for name, path in REAL_TEMPLATES.items()]
    world = world_with(weights(), *files, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
    for name in REAL_TEMPLATES:
        assert levels(found, name) == PRESENT, name
    assert national == 0


def test_every_gguf_file_is_read_not_the_first_few(tmp_path: Path) -> None:
    quants = [
        FakeFile(f"model-{quant}.gguf", content=gguf(BENIGN, padding=1000), lfs=True)
        for quant in ("IQ2_XS", "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K")
    ]
    quants.append(FakeFile("model-Q8_0.gguf", content=gguf(EVIL, padding=1000), lfs=True))
    world = world_with(*quants, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
    assert found.sec_rules("model-Q8_0.gguf") == {"SEC005", "SEC100"}
    assert all(levels(found, quant.path) == PRESENT for quant in quants[:-1])


def test_offline_the_gguf_template_is_read_from_the_cache(tmp_path: Path) -> None:
    hidden = PLACES["model-Q4_K_M.gguf (past 600 KB)"](EVIL)
    world = world_with(hidden, repo_id=REPO)
    with FakeHub(world) as fake:
        online = scan(fake, world, tmp_path / "online")
        offline = scan(fake, world, tmp_path / "offline", "--offline")
    assert offline.requests == []
    assert online.sec_rules(hidden.path) == offline.sec_rules(hidden.path) == {"SEC005", "SEC100"}


def test_templates_over_the_limit_are_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hf_repo, "MAX_TEMPLATE_FILES", 1)
    files = [
        FakeFile("chat_template.jinja", BENIGN.encode()),
        FakeFile("additional_chat_templates/rag.jinja", BENIGN.encode()),
    ]
    world = world_with(weights(), *files, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
    assert levels(found, "chat_template.jinja") == PRESENT
    [unread] = found.results("SEC006", "additional_chat_templates/rag.jinja")
    assert "over the limit of 1 chat-template files read per repo" in unread
    assert national not in (0, 1)  # unknown: neither a pass nor a proven failure


def test_a_template_file_that_cannot_be_fetched_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hf_repo, "MAX_TEMPLATE_FILE_BYTES", 100)
    world = world_with(weights(), FakeFile("chat_template.jinja", BENIGN.encode() * 3))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
    [unread] = found.results("SEC006", "chat_template.jinja")
    assert "a chat template that could not be read" in unread
