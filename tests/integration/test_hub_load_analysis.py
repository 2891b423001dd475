"""``sovscan scan hf:ORG/NAME`` finds what loading a repo's pickle-format files would run, from
HTTP range reads of them against the loopback fake Hub, never downloading a weights file."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import pickletools
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.analysis.dispatch import analyze_path
from scanner.analysis.load_risk import RiskKind
from scanner.analysis.pickle.scan import LEGACY_TORCH_MAGIC
from scanner.cli import cli
from scanner.core.model import Component, ComponentKind, Layer
from scanner.core.properties import PropertyName
from scanner.resolve.hub.client import HubClient
from scanner.resolve.hub.types import HubProblem, HubRepoInfo
from scanner.sources import hub_load_analysis
from scanner.sources.hub_load_analysis import (
    MAX_HUB_PICKLE_FILES,
    pickle_format_files,
    with_hub_load_analysis,
)
from scanner.sources.inventory import Inventory
from tests.fakes import worlds
from tests.fakes.hub import FakeFile, FakeHub, RecordedRequest, World

HEAD = 64 * 1024
REPO = "sovscan-test/pickled"
#: Never loaded: GLOBAL posix.system, then REDUCE on ("id",).
MALICIOUS = b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R."
HUNDRED_MB = 100 * 1000 * 1000


def state_dict_pickle(entries: int) -> bytes:
    """A protocol-2 state dict as torch writes it: OrderedDict of _rebuild_tensor_v2 calls on
    persistent storages (only allowlisted globals)."""
    parts = [b"\x80\x02ccollections\nOrderedDict\n)R"]
    for index in range(entries):
        key = f"layer.{index}.weight".encode()
        storage = str(index).encode()
        parts += [
            b"X" + len(key).to_bytes(4, "little") + key,
            b"ctorch._utils\n_rebuild_tensor_v2\n(",
            b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\n",
            b"X" + len(storage).to_bytes(4, "little") + storage,
            b"X\x03\x00\x00\x00cpuK\x04tQ",
            b"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs",
        ]
    return b"".join([*parts, b"."])


def padded_malicious_pickle(padding: int) -> bytes:
    """A string of ``padding`` bytes popped, then posix.system called: the import sits past
    the first ``padding`` bytes."""
    text = b"a" * padding
    return b"\x80\x02X" + len(text).to_bytes(4, "little") + text + b"0" + MALICIOUS[2:]


def pickle_with_payload(payload: bytes) -> bytes:
    """Protocol 3: ``payload`` as bytes, popped, then posix.system called."""
    return b"\x80\x03B" + len(payload).to_bytes(4, "little") + payload + b"0" + MALICIOUS[2:]


def keras_with_lambda(weights: bytes) -> bytes:
    """A Keras 3 archive whose model has a Lambda layer (marshalled code), and its weights."""
    code = {"code": "4wAAAAA=", "defaults": None, "closure": None}
    function = {"class_name": "__lambda__", "config": code}
    layer = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": function}}
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [layer]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + weights)
        archive.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


def torch_zip(data_pkl: bytes, storage_bytes: int, *, storages: int = 1) -> bytes:
    """A PyTorch zip checkpoint (stored, as torch.save writes it) with raw storages."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", b"little")
        for index in range(storages):
            with archive.open(f"archive/data/{index}", "w") as member:
                left = storage_bytes
                while left:
                    chunk = min(left, 1 << 20)
                    member.write(bytes(chunk))
                    left -= chunk
        archive.writestr("archive/version", b"3\n")
        archive.writestr("archive/.data/serialization_id", b"0123456789")
    return buffer.getvalue()


def legacy_checkpoint(main: bytes, storage_bytes: int) -> bytes:
    """A legacy (pre-1.6) torch.save file: five pickles, then raw storage bytes."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    filler = hashlib.sha256(b"storage").digest() * (storage_bytes // 32 + 1)
    return b"".join(
        [
            pickle.dumps(LEGACY_TORCH_MAGIC, protocol=2),
            pickle.dumps(1001, protocol=2),
            pickle.dumps(sys_info, protocol=2),
            main,
            pickle.dumps(["0"], protocol=2),
            storage_bytes.to_bytes(8, "little"),
            filler[:storage_bytes],
        ]
    )


def safetensors_bytes(data_bytes: int) -> bytes:
    """A safetensors file of one U8 tensor of ``data_bytes`` bytes."""
    header = {"w": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]}}
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + hashlib.shake_256(b"st").digest(data_bytes)


def npy(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """A version 1.0 ``.npy`` file as numpy writes it (header padded to 64 bytes)."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    padding = -(10 + len(header) + 1) % 64
    text = (header + " " * padding + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def npz(members: Mapping[str, bytes]) -> bytes:
    """An ``np.savez_compressed`` archive (deflated members)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def world_with(*files: FakeFile, gated: bool = False, repo_id: str = REPO) -> World:
    world = World(entry=repo_id)
    world.add(worlds.transformers_repo(repo_id, files=files, gated=gated))
    return world


@dataclass(frozen=True)
class Scan:
    exit_code: int
    output: str
    bom: dict[str, Any]
    sarif: dict[str, Any]
    requests: list[RecordedRequest]
    weight_downloads: list[RecordedRequest]

    def reads(self, path: str) -> list[tuple[int, str | None]]:
        """(status, Range header) of each request for ``path``."""
        return [(r.status, r.headers.get("range")) for r in self.requests if r.file_path == path]

    def bytes_sent(self, path: str) -> int:
        return sum(r.bytes_sent for r in self.requests if r.file_path == path)

    def results(self, rule: str, path: str) -> list[str]:
        """Messages of the SARIF results of ``rule`` about ``path``."""
        return [
            r["message"]["text"]
            for run in self.sarif["runs"]
            for r in run["results"]
            if r["ruleId"] == rule and path in r["message"]["text"]
        ]

    def sec_rules(self, path: str) -> set[str]:
        return {
            r["ruleId"]
            for run in self.sarif["runs"]
            for r in run["results"]
            if r["ruleId"].startswith("SEC") and f"/{path}" in r["message"]["text"]
        }

    def file(self, path: str) -> dict[str, list[str]]:
        """The properties of the file component of ``path``."""
        matches = [c for c in self.bom["components"] if c["type"] == "file" and c["name"] == path]
        assert len(matches) == 1, path
        found: dict[str, list[str]] = {}
        for prop in matches[0].get("properties", []):
            found.setdefault(prop["name"], []).append(prop["value"])
        return found

    def component(self, ref: str) -> dict[str, Any] | None:
        return next((c for c in self.bom["components"] if c["bom-ref"] == ref), None)

    def issues(self) -> list[str]:
        return [
            p["value"]
            for p in self.bom["metadata"].get("properties", [])
            if p["name"] == "sovscan:issue"
        ]


def scan(fake: FakeHub, world: World, out: Path, *extra: str) -> Scan:
    fake.reset_log()
    out.mkdir(parents=True, exist_ok=True)
    args = ["scan", "-q", f"hf:{world.entry}", "--hub-endpoint", fake.url]
    args += ["-o", str(out / "bom.cdx.json"), "-o", str(out / "x.sarif"), *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return Scan(
        exit_code=result.exit_code,
        output=result.output,
        bom=json.loads((out / "bom.cdx.json").read_text()),
        sarif=json.loads((out / "x.sarif").read_text()),
        requests=fake.requests,
        weight_downloads=fake.weight_downloads(),
    )


def blob_url(fake: FakeHub, world: World, path: str) -> str:
    assert world.entry is not None
    return f"{fake.url}/{world.entry}/blob/{world.repos[f'model:{world.entry}'].sha}/{path}"


@pytest.fixture(scope="module")
def hundred_mb_checkpoint() -> bytes:
    return torch_zip(MALICIOUS, HUNDRED_MB)


# -- zip checkpoints --------------------------------------------------------------------------


def test_malicious_zip_checkpoint_is_found_from_its_first_and_last_bytes(
    hundred_mb_checkpoint: bytes, tmp_path: Path
) -> None:
    content = hundred_mb_checkpoint
    world = world_with(FakeFile("pytorch_model.bin", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
        url = blob_url(fake, world, "pytorch_model.bin")
    assert found.exit_code == 0, found.output
    assert found.weight_downloads == []
    # The head (magic, data.pkl) and the tail (end record, central directory, version).
    size = len(content)
    reads = found.reads("pytorch_model.bin")
    assert [status for status, _ in reads] == [206] * len(reads)
    assert 2 <= len(reads) <= 4
    assert reads[0][1] is not None
    assert reads[0][1].startswith("bytes=0-")
    assert reads[-1][1] is not None
    assert reads[-1][1].endswith(f"-{size - 1}")
    received = found.bytes_sent("pytorch_model.bin")
    assert received < 1_000_000 < size // 100
    [finding] = found.results("SEC001", "pytorch_model.bin")
    assert finding.startswith(f"{url}: archive/data.pkl: imports posix.system")
    props = found.file("pytorch_model.bin")
    assert props["sovscan:security:executable-on-load"] == ["true"]
    assert props["sovscan:security:import"] == ["posix.system"]
    assert props["sovscan:security:format"] == ["pytorch-zip"]
    # What the analysis read, in whole 64 KiB blocks (the requests fetched read-ahead besides).
    [cost] = props[PropertyName.SECURITY_HUB_BYTES_READ]
    read, _, of = cost.partition(" of ")
    assert of == f"{size} bytes"
    assert 0 < int(read) <= received
    code = found.component(f"code:on-load:{url}")
    assert code is not None
    assert "posix.system" in code["description"]


def test_benign_zip_checkpoint_gives_no_finding_and_its_pickle_is_read_by_one_more_range(
    tmp_path: Path,
) -> None:
    data_pkl = state_dict_pickle(2000)  # ~300 KB: runs past the first 64 KiB
    content = torch_zip(data_pkl, 4_000_000)
    world = world_with(FakeFile("pytorch_model.bin", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
        url = blob_url(fake, world, "pytorch_model.bin")
    assert found.weight_downloads == []
    reads = found.reads("pytorch_model.bin")
    assert len(reads) <= 5
    # data.pkl, the tail and read-ahead blocks: a small part of the 4 MB of storage.
    assert found.bytes_sent("pytorch_model.bin") < len(data_pkl) + 1_000_000
    assert found.sec_rules("pytorch_model.bin") == set()
    props = found.file("pytorch_model.bin")
    assert props["sovscan:security:executable-on-load"] == ["false"]
    assert "torch._utils._rebuild_tensor_v2" in props["sovscan:security:import"]
    assert found.component(f"code:on-load:{url}") is None


def test_central_directory_beyond_the_tail_is_fetched_by_its_offset(tmp_path: Path) -> None:
    content = torch_zip(MALICIOUS, 64, storages=3000)  # a ~150 KB central directory
    world = world_with(FakeFile("model.pt", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    reads = found.reads("model.pt")
    assert len(reads) <= 4
    assert found.bytes_sent("model.pt") < len(content)
    assert found.results("SEC001", "model.pt")


def test_a_file_over_its_byte_budget_fails_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub_load_analysis, "MAX_BYTES_PER_FILE", 256 * 1024)
    content = torch_zip(state_dict_pickle(1), 64, storages=12_000)  # a ~600 KB directory
    world = world_with(FakeFile("model.pt", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    assert found.bytes_sent("model.pt") <= 256 * 1024
    [unreadable] = found.results("SEC006", "model.pt")
    assert "could not be read from the Hub" in unreadable
    assert any("the file's 262144-byte budget" in text for text in found.issues())
    assert found.file("model.pt")["sovscan:security:executable-on-load"] == ["true"]


def test_a_dangerous_call_seen_before_the_budget_ran_out_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub_load_analysis, "MAX_BYTES_PER_FILE", 4 * HEAD)
    # posix.system is called first; a megabyte of opcodes (NONE, POP) follows before the STOP.
    content = MALICIOUS[:-1] + b"0" + b"N0" * 500_000 + b"N."
    world = world_with(FakeFile("model.pkl", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    assert found.bytes_sent("model.pkl") <= 4 * HEAD
    assert found.results("SEC001", "model.pkl")
    assert found.results("SEC006", "model.pkl")


# -- plain pickle streams ---------------------------------------------------------------------


def test_legacy_checkpoint_is_analysed_from_a_prefix_grown_past_its_pickles(
    tmp_path: Path,
) -> None:
    main = padded_malicious_pickle(200_000)  # posix.system sits past the first 64 KiB
    content = legacy_checkpoint(main, 8_000_000)
    world = world_with(FakeFile("pytorch_model.bin", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    assert found.weight_downloads == []
    assert len(found.reads("pytorch_model.bin")) <= 3
    assert found.bytes_sent("pytorch_model.bin") < len(content) // 10
    assert found.results("SEC001", "pytorch_model.bin")
    props = found.file("pytorch_model.bin")
    assert props["sovscan:security:format"] == ["pytorch-legacy"]
    assert props["sovscan:security:executable-on-load"] == ["true"]


def test_pickle_running_past_the_budget_fails_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub_load_analysis, "MAX_BYTES_PER_FILE", 4 * HEAD)
    # posix.system comes after a megabyte of opcodes (NONE, POP), beyond the budget.
    content = b"\x80\x02" + b"N0" * 500_000 + MALICIOUS[2:]
    world = world_with(FakeFile("model.pkl", content=content, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    assert found.bytes_sent("model.pkl") <= 4 * HEAD
    unreadable = found.results("SEC006", "model.pkl")
    assert any("could not be read from the Hub" in text for text in unreadable)
    assert found.results("SEC001", "model.pkl") == []
    assert found.file("model.pkl")["sovscan:security:executable-on-load"] == ["true"]


def test_raw_bin_that_is_no_pickle_costs_two_reads_and_no_finding(tmp_path: Path) -> None:
    ggml = b"ggjt" + bytes(300_000)
    world = world_with(FakeFile("ggml-model.bin", content=ggml, lfs=True))
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    # Its first bytes (no pickle), then its tail (no zip behind them, as zipfile would find).
    reads = found.reads("ggml-model.bin")
    assert len(reads) == 2
    assert reads[0][1] is not None
    assert reads[0][1].startswith("bytes=0-")
    assert reads[1][1] is not None
    assert reads[1][1].endswith(f"-{len(ggml) - 1}")
    assert found.sec_rules("ggml-model.bin") == set()
    assert "sovscan:security:executable-on-load" not in found.file("ggml-model.bin")


# -- failures and limits ----------------------------------------------------------------------


def test_gated_file_is_an_issue_and_unreadable_code_of_unknown_origin(tmp_path: Path) -> None:
    content = torch_zip(state_dict_pickle(1), 2_000_000)
    world = world_with(FakeFile("pytorch_model.bin", content=content, lfs=True), gated=True)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
        url = blob_url(fake, world, "pytorch_model.bin")
    assert found.exit_code == 0, found.output
    assert [status for status, _ in found.reads("pytorch_model.bin")] == [401]
    refused = [text for text in found.issues() if f"] {url}: " in text]
    assert len(refused) == 1
    assert "access refused (gated" in refused[0]
    [unreadable] = found.results("SEC006", "pytorch_model.bin")
    assert unreadable.startswith(f"{url}: not analysed to its end: it could not be read")
    assert found.file("pytorch_model.bin")["sovscan:security:executable-on-load"] == ["true"]
    assert found.component(f"code:on-load:{url}") is not None


def test_offline_rerun_reads_only_the_cache(tmp_path: Path) -> None:
    legacy = legacy_checkpoint(padded_malicious_pickle(100_000), 2_000_000)
    checkpoint = torch_zip(MALICIOUS, 2_000_000)
    world = world_with(
        FakeFile("pytorch_model.bin", content=legacy, lfs=True),
        FakeFile("model.pt", content=checkpoint, lfs=True),
    )
    with FakeHub(world) as fake:
        online = scan(fake, world, tmp_path / "online")
        offline = scan(fake, world, tmp_path / "offline", "--offline")
        url = blob_url(fake, world, "model.pt")
    assert offline.requests == []
    # The legacy file needs only prefixes, which the client caches: the same findings.
    legacy_findings = online.results("SEC001", "pytorch_model.bin")
    assert legacy_findings
    assert offline.results("SEC001", "pytorch_model.bin") == legacy_findings
    # What the analysis read is the same whether the bytes came from the Hub or the cache.
    hub_bytes = PropertyName.SECURITY_HUB_BYTES_READ
    assert (
        online.file("pytorch_model.bin")[hub_bytes] == offline.file("pytorch_model.bin")[hub_bytes]
    )
    # A zip's tail is no prefix and is not cached: offline it is unknown, and says why.
    assert online.results("SEC001", "model.pt")
    assert offline.results("SEC001", "model.pt") == []
    assert offline.results("SEC006", "model.pt")
    missing = [text for text in offline.issues() if f"] {url}: " in text]
    assert len(missing) == 1
    assert "offline" in missing[0]
    assert "in the Hub cache" in missing[0]


def test_files_over_the_per_repo_limit_are_left_unanalysed(tmp_path: Path) -> None:
    benign = pickle.dumps({"step": 1}, protocol=2)
    extra = [FakeFile(f"extra/{index:02}.pkl", content=benign, lfs=True) for index in range(9)]
    checkpoint = torch_zip(state_dict_pickle(1), 100_000)
    world = world_with(FakeFile("pytorch_model.bin", content=checkpoint, lfs=True), *extra)
    with FakeHub(world) as fake:
        found = scan(fake, world, tmp_path)
    assert found.sec_rules("pytorch_model.bin") == set()  # checkpoints come first
    analysed = [f"extra/{index:02}.pkl" for index in range(MAX_HUB_PICKLE_FILES - 1)]
    left_out = ["extra/07.pkl", "extra/08.pkl"]
    for path in analysed:
        assert found.sec_rules(path) == set(), path
        assert found.file(path)["sovscan:security:executable-on-load"] == ["false"]
    for path in left_out:
        assert found.reads(path) == []
        [unreadable] = found.results("SEC006", path)
        assert "over the limit of 8 files analysed per repo" in unreadable
    assert any("2 pickle-format files not analysed" in text for text in found.issues())


def test_selection_prefers_checkpoints_and_skips_other_formats() -> None:
    paths = [
        "a.npy",
        "model.safetensors",
        "model.onnx",
        "extra.bin",
        "training_args.bin",
        "unet/diffusion_pytorch_model.bin",
        "pytorch_model-00001-of-00002.bin",
        "weights.ckpt",
        "tokenizer.pkl",
        "empty.pt",
    ]
    info = hub_info({path: 0 if path == "empty.pt" else 10 for path in paths})
    chosen, left_out = pickle_format_files(info, inventory_of(info))
    assert [item.path for item in chosen] == [
        "pytorch_model-00001-of-00002.bin",
        "unet/diffusion_pytorch_model.bin",
        "weights.ckpt",
        "tokenizer.pkl",
        "extra.bin",
        "training_args.bin",
        "a.npy",
    ]
    assert left_out == []


@pytest.mark.parametrize(
    ("cap", "value", "message"),
    [
        ("MAX_BYTES_PER_FILE", HEAD + 1000, f"the file's {HEAD + 1000}-byte budget"),
        ("MAX_BYTES_PER_REPO", HEAD + 1000, f"the repo's {HEAD + 1000}-byte budget"),
    ],
)
def test_caps_on_reads_fail_closed(
    cap: str, value: int, message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hub_load_analysis, cap, value)
    remote = remote_analysis(SEEDS["zip-malicious.bin"], "pytorch_model.bin", tmp_path)
    assert remote.kinds == {RiskKind.UNREADABLE.value}  # no walk of a half-read archive
    assert remote.shortfall
    assert any(message in issue for issue in remote.issues)
    assert remote.served <= value


# -- fail closed, whatever the bytes ----------------------------------------------------------


class BytesHub(HubClient):
    """A client serving files from memory: prefixes (cached) and ranges, as the wire would."""

    def __init__(self, files: Mapping[str, bytes], cache_dir: Path) -> None:
        super().__init__(
            endpoint="http://127.0.0.1:9", token=False, cache_dir=cache_dir, offline=False
        )
        self.files = files
        self.served = 0

    def header_bytes(self, info: HubRepoInfo, path: str, *, length: int) -> bytes | HubProblem:
        cached = self.cached_prefix(info, path)
        if len(cached) >= length:
            return cached[:length]
        data = self.files[path][:length]
        self.served += len(data)
        self.extend_cached_prefix(info, path, data)  # as the client caches what it reads
        return data

    def range_bytes(
        self, info: HubRepoInfo, path: str, *, start: int, length: int
    ) -> bytes | HubProblem:
        if start == 0:
            return self.header_bytes(info, path, length=length)
        body = self.files[path][start : start + length]
        self.served += len(body)
        return body


def hub_info(sizes: Mapping[str, int]) -> HubRepoInfo:
    from scanner.resolve.hub.types import HubFile

    files = tuple(HubFile(path=p, size=s, sha256=None, blob_id=None) for p, s in sizes.items())
    return HubRepoInfo(
        repo_id=REPO,
        repo_type="model",
        commit="0" * 40,
        author=None,
        gated=False,
        tags=(),
        library_name=None,
        pipeline_tag=None,
        card_data={},
        config=None,
        files=files,
        base_models_field=None,
        url=f"http://127.0.0.1:9/{REPO}",
    )


def inventory_of(info: HubRepoInfo) -> Inventory:
    files = tuple(
        Component(
            ref=f"file:{REPO}/{item.path}",
            kind=ComponentKind.FILE,
            name=item.path,
            path=item.path,
            layer=Layer.FILES,
        )
        for item in info.files
    )
    return Inventory(subject_ref="model:x", components=files, relations=(), issues=())


def risk_kinds(path: Path) -> tuple[set[str], set[str]]:
    """(risk kinds, imports) of the local analysis of ``path``."""
    local = analyze_path(path)
    if local is None:
        return set(), set()
    return {risk.kind.value for risk in local.risks}, set(local.imports)


@dataclass(frozen=True)
class Remote:
    kinds: set[str]
    imports: set[str]
    risks: list[str]
    served: int
    shortfall: bool
    """Some range could not be read (a cap): reported as UNREADABLE."""
    issues: list[str]


def remote_analysis(content: bytes, name: str, tmp: Path) -> Remote:
    """The range-read analysis of ``content``: risk kinds, imports, bytes served."""
    info = hub_info({name: len(content)})
    client = BytesHub({name: content}, tmp / "cache")
    inventory = with_hub_load_analysis(client, info, inventory_of(info))
    risks = [
        value
        for c in inventory.components
        for key, value in c.properties
        if key == PropertyName.SECURITY_RISK
    ]
    imports = {
        value
        for c in inventory.components
        if c.kind is ComponentKind.FILE
        for key, value in c.properties
        if key == "sovscan:security:import"
    }
    return Remote(
        kinds={risk.split(":", 1)[0] for risk in risks},
        imports=imports,
        risks=risks,
        served=client.served,
        shortfall=any("could not be read from the Hub" in risk for risk in risks),
        issues=[issue.problem for issue in inventory.issues],
    )


SEEDS = {
    "zip-malicious.bin": torch_zip(MALICIOUS, 400_000),
    "zip-benign.bin": torch_zip(state_dict_pickle(700), 400_000),
    "legacy.bin": legacy_checkpoint(padded_malicious_pickle(90_000), 1_000_000),
    "plain.pkl": padded_malicious_pickle(70_000) + state_dict_pickle(300),
    "lambda.keras": keras_with_lambda(hashlib.shake_256(b"h5").digest(400_000)),
    "dump.joblib": zlib.compress(pickle_with_payload(hashlib.shake_256(b"j").digest(200_000))),
    "objects.npy": npy("|O", (1,), padded_malicious_pickle(100_000)) + bytes(2_000_000),
    "benign-weights.safetensors": safetensors_bytes(300_000),
    "pickled.safetensors": padded_malicious_pickle(20_000),
    "zipped.safetensors": torch_zip(MALICIOUS, 1_000_000),
    "pickled.onnx": padded_malicious_pickle(30_000) + bytes(100_000),
    "arrays.npz": npz(
        {
            "weights.npy": npy("<f4", (100_000,), hashlib.shake_256(b"w").digest(400_000)),
            "objects.npy": npy("|O", (2,), padded_malicious_pickle(80_000)),
        }
    ),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_range_analysis_equals_the_local_one(name: str, tmp_path: Path) -> None:
    local_file = tmp_path / name
    local_file.write_bytes(SEEDS[name])
    remote = remote_analysis(SEEDS[name], name, tmp_path)
    kinds, imports = risk_kinds(local_file)
    assert kinds & {RiskKind.UNSAFE_IMPORT.value, RiskKind.EMBEDDED_CODE.value} or (
        "benign" in name
    )
    assert (remote.kinds, remote.imports) == (kinds, imports)
    assert not remote.shortfall
    assert remote.served <= len(SEEDS[name])
    streams = {"plain.pkl", "dump.joblib", "pickled.safetensors", "pickled.onnx"}
    if name not in streams:  # streams are read to their STOP; the others are not read whole
        assert remote.served < len(SEEDS[name]) * 3 // 4


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.integers(0, len(data) - 1))
        # Near the ends most of the time: that is where the structure the plan follows is.
        where = draw(st.sampled_from([where, where % 512, len(data) - 1 - where % 4096]))
        data[where] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    return name, bytes(data)


@settings(max_examples=200, deadline=None)
@given(case=damaged())
def test_damaged_files_never_look_safer_remotely(
    case: tuple[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    name, content = case
    folder = tmp_path_factory.mktemp("damaged")
    local_file = folder / name
    local_file.write_bytes(content)
    local = risk_kinds(local_file)
    remote = remote_analysis(content, name, folder)
    if remote.shortfall:  # fail closed: never less than the local analysis but unreadable
        assert RiskKind.UNREADABLE.value in remote.kinds
        assert local[0] - {RiskKind.UNREADABLE.value} <= remote.kinds
    else:
        assert (remote.kinds, remote.imports) == local


def test_the_malicious_pickle_is_the_stream_it_claims_to_be() -> None:
    # Disassembled, never loaded.
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(MALICIOUS)]
    assert ops == [
        ("PROTO", 2),
        ("GLOBAL", "posix system"),
        ("SHORT_BINUNICODE", "id"),
        ("TUPLE1", None),
        ("REDUCE", None),
        ("STOP", None),
    ]
