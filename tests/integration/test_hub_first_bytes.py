"""A Hub repo's files are named by its publisher: every file neither fetched whole (metadata,
chat templates) nor of a pickle format (analysed whole) is checked by its first bytes over HTTP
range reads — the header of the format its name says, and no pickle there — and analysed whole
when they do not vouch for it.

The attacks are those of tests/integration/test_container_attacks.py (local folders), served by
the loopback fake Hub: a pickle or a torch zip saved as ``model.safetensors``, bytes prepended to
a valid header, a pickle saved as ``model.onnx`` or ``tokenizer.model``, a gzip pickle saved as
``model.pkl.gz``, a pickle or a zip under a suffix no loader owns, a Flax msgpack that is also
a pickle. Benign files are real ones from the corpus.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.sources import hub_load_analysis
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, World
from tests.integration.test_hub_load_analysis import MALICIOUS, scan, world_with

if TYPE_CHECKING:
    from pathlib import Path

REPO = "ai-forever/first-bytes"
REAL_SAFETENSORS = "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0/model.safetensors"
REAL_GGUF = "gguf/ggml-vocab-llama-spm.gguf"


def safetensors(data_bytes: int = 64) -> bytes:
    header = {"w": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]}}
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + bytes(data_bytes)


def torch_zip_of(data_pkl: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", b"3\n")
    return buffer.getvalue()


def msgpack_polyglot() -> bytes:
    """A fixmap of 12 entries whose first key is a fixstr (what Flax writes) that is also a
    pickle: SHORT_BINUNICODE of 160 bytes (``8c a0``), POP, then posix.system."""
    return b"\x8c\xa0" + b"k" * 160 + b"0" + MALICIOUS[2:]


def verdict(fake: FakeHub, world: World, tier: str, tmp_path: Path) -> int:
    args = ["scan", "-q", f"hf:{world.entry}", "--hub-endpoint", fake.url, "--policy", tier]
    args += ["--cache-dir", str(tmp_path / "verdict-cache")]
    return CliRunner().invoke(cli, args, catch_exceptions=False).exit_code


ATTACKS = {
    # name: (files, rules the hidden file must raise)
    "pickle-as-safetensors": (
        [FakeFile("model.safetensors", content=MALICIOUS + bytes(200), lfs=True)],
        {"SEC001", "SEC100"},
    ),
    "torch-zip-as-safetensors": (
        [FakeFile("model.safetensors", content=torch_zip_of(MALICIOUS), lfs=True)],
        {"SEC001", "SEC100"},
    ),
    "bytes-before-a-safetensors-header": (
        [FakeFile("model.safetensors", content=bytes(16) + safetensors(), lfs=True)],
        {"SEC006"},
    ),
    "pickle-as-onnx": (
        [
            FakeFile("model.safetensors", content=safetensors(), lfs=True),
            FakeFile("model.onnx", content=MALICIOUS, lfs=True),
        ],
        {"SEC001", "SEC100"},
    ),
    "pickle-as-gguf": (
        [FakeFile("model-Q4_K_M.gguf", content=MALICIOUS + bytes(100), lfs=True)],
        {"SEC001", "SEC100"},
    ),
    "pickle-as-tokenizer-model": (
        [
            FakeFile("model.safetensors", content=safetensors(), lfs=True),
            FakeFile("tokenizer.model", content=MALICIOUS, lfs=True),
        ],
        {"SEC001", "SEC100"},
    ),
    # joblib.load decompresses whatever the name; the suffix is no format sovscan lists.
    "gzip-pickle-as-pkl-gz": (
        [FakeFile("model.pkl.gz", content=gzip.compress(MALICIOUS, mtime=0), lfs=True)],
        {"SEC001", "SEC100"},
    ),
    "pickle-as-dat": (
        [FakeFile("weights/extra.dat", content=b"N0" * 100 + MALICIOUS, lfs=True)],
        {"SEC001", "SEC100"},
    ),
    "keras-zip-as-weights-txt": (
        [FakeFile("weights.txt", content=torch_zip_of(MALICIOUS), lfs=True)],
        {"SEC001", "SEC100"},
    ),
    # A metadata file kept in LFS is not fetched whole (small files only): checked by range.
    "pickle-as-config-json-in-lfs": (
        [
            FakeFile("model.safetensors", content=safetensors(), lfs=True),
            FakeFile("config.json", content=MALICIOUS, lfs=True),
        ],
        {"SEC001", "SEC100"},
    ),
    "msgpack-that-is-also-a-pickle": (
        [FakeFile("flax_model.msgpack", content=msgpack_polyglot(), lfs=True)],
        {"SEC001", "SEC100"},
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_file_its_first_bytes_do_not_vouch_for_is_analysed_whole(
    name: str, tmp_path: Path
) -> None:
    files, rules = ATTACKS[name]
    hidden = files[-1].path
    world = world_with(*files, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
        adversary = verdict(fake, world, "adversary", tmp_path)
    assert found.sec_rules(hidden) == rules
    assert found.weight_downloads == []
    assert national != 0
    assert adversary != 0
    if "SEC001" in rules:
        assert "posix.system" in found.file(hidden)["sovscan:security:import"]


def test_the_same_repo_with_honest_files_passes(tmp_path: Path) -> None:
    files = [
        FakeFile("model.safetensors", content=safetensors(), lfs=True),
        FakeFile("flax_model.msgpack", content=b"\x81\xa6params\x80", lfs=True),
    ]
    world = world_with(*files, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
        national = verdict(fake, world, "national", tmp_path)
    assert found.sec_rules("model.safetensors") == set()
    assert found.sec_rules("flax_model.msgpack") == set()
    assert national == 0


def test_real_weights_are_vouched_for_by_one_small_read_each(corpus: Path, tmp_path: Path) -> None:
    weights = (corpus / REAL_SAFETENSORS).read_bytes()
    vocabulary = (corpus / REAL_GGUF).read_bytes()
    shards = [
        FakeFile(f"model-{index:05}-of-00012.safetensors", content=weights, lfs=True)
        for index in range(1, 13)
    ]
    world = world_with(*shards, FakeFile("vocab.gguf", content=vocabulary, lfs=True), repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
    for shard in shards:
        assert found.sec_rules(shard.path) == set()
        # 12 shards: no header read for facts, so the check's first block is the only read.
        assert found.reads(shard.path) == [(206, "bytes=0-16383")], shard.path
    assert found.sec_rules("vocab.gguf") == set()
    # A GGUF's key-value section is read whole (its chat template follows the vocabulary):
    # this one is all header, read in two requests past the prefix the facts fetched.
    assert found.bytes_sent("vocab.gguf") == len(vocabulary)
    assert len(found.reads("vocab.gguf")) <= 3
    assert found.weight_downloads == []


def test_offline_the_checks_read_the_cache_and_give_the_same_answer(tmp_path: Path) -> None:
    files = [
        FakeFile("model.safetensors", content=safetensors(), lfs=True),
        FakeFile("model.onnx", content=MALICIOUS, lfs=True),
    ]
    world = world_with(*files, repo_id=REPO)
    with FakeHub(world) as fake:
        online = scan(fake, world, tmp_path / "online")
        offline = scan(fake, world, tmp_path / "offline", "--offline")
    assert offline.requests == []
    assert (
        online.sec_rules("model.onnx")
        == offline.sec_rules("model.onnx")
        == {
            "SEC001",
            "SEC100",
        }
    )
    assert offline.sec_rules("model.safetensors") == set()


def test_a_long_header_read_online_is_whole_in_the_cache_offline(tmp_path: Path) -> None:
    # A 200 KB header spans many 16 KiB blocks: the blocks read after the first are kept as
    # one longer prefix, so the scan offline checks the same header without the network.
    tensors = {
        f"layer.{index}.weight": {"dtype": "U8", "shape": [1], "data_offsets": [index, index + 1]}
        for index in range(3000)
    }
    raw = json.dumps(tensors).encode()
    assert len(raw) > 150_000
    content = len(raw).to_bytes(8, "little") + raw + bytes(3000)
    shards = [
        FakeFile(f"model-{index:05}-of-00005.safetensors", content=content, lfs=True)
        for index in range(1, 6)
    ]
    world = world_with(*shards, repo_id=REPO)
    with FakeHub(world) as fake:
        online = scan(fake, world, tmp_path / "online")
        offline = scan(fake, world, tmp_path / "offline", "--offline")
    assert offline.requests == []
    for shard in shards:
        assert online.sec_rules(shard.path) == offline.sec_rules(shard.path) == set()


def test_files_over_the_check_limit_fail_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub_load_analysis, "MAX_FIRST_BYTES_CHECKS", 2)
    shards = [
        FakeFile(f"model-{index:05}-of-00003.safetensors", content=safetensors(), lfs=True)
        for index in range(1, 4)
    ]
    world = world_with(*shards, repo_id=REPO)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path / "scan")
    assert found.sec_rules(shards[0].path) == set()
    assert found.sec_rules(shards[1].path) == set()
    [unchecked] = found.results("SEC006", shards[2].path)
    assert "over the limit of 2 files checked per repo" in unchecked
    assert found.sec_rules(".gitattributes") == {"SEC006"}  # weights are checked first
    assert any("2 files not checked by content" in text for text in found.issues())


def test_content_less_fake_weights_start_with_the_header_they_claim() -> None:
    # The loopback Hub serves filler for weights declared by size only; its first bytes are a
    # header of the named format, so honest worlds stay honest under the checks.
    world = World(entry=REPO).add(worlds.transformers_repo(REPO))
    [weights] = [f for f in world.repos[f"model:{REPO}"].files if f.path == "model.safetensors"]
    head = b"".join(weights.chunks(0, 4096))
    length = int.from_bytes(head[:8], "little")
    header = json.loads(head[8 : 8 + length])
    assert header["filler"]["data_offsets"] == [0, weights.length - 8 - length]
