"""A model folder full of hostile inputs: every one reported, none followed, the scan unharmed.

The folder is a real model folder (config.json and a valid safetensors file) plus every hostile
input of issue 6, all built here as bytes: header bombs, truncated and absurd headers, broken
YAML and JSON, garbage and invalid UTF-8, symlinks out of the tree, a FIFO, a malicious pickle
(written, never loaded), zip bombs, TorchScript code, a hostile ONNX external-data location, a
template-injection chat template and a Keras Lambda layer. The scan must finish in seconds with
a valid BOM naming each problem, and must open nothing outside the folder.
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import os
import pathlib
import pickletools
import sqlite3
import struct
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import scanner
from scanner.cli import cli
from scanner.core.properties import PropertyName
from tests.conftest import REPO

#: Wall-clock limit for one scan of the hostile folder: it takes about a second; CI can be slow.
SCAN_SECONDS_LIMIT = 20.0
FOLDER_NAME = "hostile-model"
OUTSIDE_TEXT = "the secret outside the scanned folder\n"
#: A file the malicious pickle would create (beside the folder) if anything ever loaded it.
PWNED_MARKER = "pwned"
HAS_FIFO = hasattr(os, "mkfifo")


# --- building the hostile inputs --------------------------------------------------------------


def safetensors_bytes() -> bytes:
    """A valid safetensors file: one 2x2 float32 tensor, header padded to 8 bytes."""
    header = json.dumps(
        {
            "__metadata__": {"format": "pt"},
            "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        }
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(16)


def gguf_header(kv_count: int) -> bytes:
    """A GGUF v3 header with no tensors and ``kv_count`` declared key-value pairs."""
    return b"GGUF" + struct.pack("<IQQ", 3, 0, kv_count)


def gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


GGUF_STRING, GGUF_ARRAY = 8, 9


def malicious_pickle(command: str) -> bytes:
    """Protocol 2: PROTO 2, GLOBAL 'posix system', BINUNICODE command, TUPLE1, REDUCE, STOP."""
    raw = command.encode()
    return b"".join(
        [
            b"\x80\x02",
            b"cposix\nsystem\n",
            b"X" + struct.pack("<I", len(raw)) + raw,
            b"\x85",
            b"R",
            b".",
        ]
    )


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


#: An empty dict, pickled (EMPTY_DICT, BINPUT 0, STOP): what a harmless data.pkl can hold.
EMPTY_DICT_PICKLE = b"\x80\x02}q\x00."
#: Declared size of the zip bomb's member: 16 MiB of zeros deflate to about 16 KiB (1000:1).
BOMB_BYTES = 16 * 1024 * 1024


def zip_bomb() -> bytes:
    """A PyTorch-layout zip whose data.pkl decompresses at about 1000:1."""
    return zip_bytes(
        {"archive/data.pkl": bytes(BOMB_BYTES), "archive/version": b"3\n"},
        compression=zipfile.ZIP_DEFLATED,
    )


def torchscript_zip() -> bytes:
    """The layout torch.jit.save writes: code/ next to data.pkl and constants.pkl."""
    return zip_bytes(
        {
            "scripted/data.pkl": EMPTY_DICT_PICKLE,
            "scripted/version": b"1\n",
            "scripted/constants.pkl": b"\x80\x02).",
            "scripted/code/__torch__/model.py": b"def forward(self, x):\n    return x\n",
        }
    )


def keras_with_lambda() -> bytes:
    """A Keras 3 ``.keras`` archive whose model has a Lambda layer (marshalled code)."""
    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": {
                "class_name": "__lambda__",
                "config": {
                    "code": base64.b64encode(b"\xe3" + bytes(40)).decode(),
                    "defaults": None,
                    "closure": None,
                },
            },
        },
    }
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 4], "name": "input"},
                },
                lambda_layer,
            ],
        },
    }
    metadata = {"keras_version": "3.3.3", "date_saved": "2024-05-01@12:00:00"}
    return zip_bytes(
        {
            "metadata.json": json.dumps(metadata).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(64),
        }
    )


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def pb_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def pb_bytes(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


#: Where the ONNX initializer says its bytes are: two folders up, then /etc/passwd.
ONNX_LOCATION = "../../etc/passwd"


def onnx_with_external_data() -> bytes:
    """A ModelProto whose one initializer keeps its data (EXTERNAL) at ``ONNX_LOCATION``."""
    tensor = b"".join(
        [
            pb_varint(1, 4),  # dims
            pb_varint(2, 1),  # data_type FLOAT
            pb_bytes(8, "weight"),  # name
            pb_bytes(13, pb_bytes(1, "location") + pb_bytes(2, ONNX_LOCATION)),
            pb_bytes(13, pb_bytes(1, "length") + pb_bytes(2, "16")),
            pb_varint(14, 1),  # data_location EXTERNAL
        ]
    )
    graph = pb_bytes(2, "main") + pb_bytes(5, tensor)
    opset = pb_bytes(8, pb_varint(2, 17))
    return pb_varint(1, 8) + pb_bytes(2, "pytorch") + pb_bytes(7, graph) + opset


SSTI_TEMPLATE = (
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
)


def nested_json(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def build_hostile_folder(root: Path) -> Path:
    """Write the hostile model folder under ``root`` (with a secret beside it); return it."""
    (root / "secret.txt").write_text(OUTSIDE_TEXT)
    folder = root / FOLDER_NAME
    folder.mkdir()
    files: dict[str, bytes] = {
        # The model itself: the folder must still be scanned as one.
        "config.json": json.dumps(
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 2}
        ).encode(),
        "model.safetensors": safetensors_bytes(),
        # Safetensors: a length claiming 2**62 bytes, one claiming 100 MB in a short file, a cut.
        "header_bomb.safetensors": struct.pack("<Q", 2**62) + b"{}",
        "short_header.safetensors": struct.pack("<Q", 100 * 1024 * 1024) + b'{"weight": ',
        "truncated.safetensors": safetensors_bytes()[:40],
        # GGUF: absurd counts and lengths, each in its own file.
        "absurd_kv_count.gguf": gguf_header(2**63),
        "absurd_string.gguf": gguf_header(1)
        + gguf_string("general.name")
        + struct.pack("<IQ", GGUF_STRING, 2**62),
        "absurd_array.gguf": gguf_header(1)
        + gguf_string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", GGUF_ARRAY, GGUF_STRING, 2**40),
        # Broken YAML and JSON.
        "README.md": b"---\nlicense: [apache-2.0\nbase_model: {unclosed\n---\n# A model\n",
        "tokenizer_config.json": b'{"model_max_length": 512, "chat_templ',
        "adapter_config.json": b'{"base_model_name_or_path": "org/base", "r": NaN}',
        "generation_config.json": nested_json(100).encode(),
        # Garbage: option-like junk and control bytes (valid UTF-8), raw binary, invalid UTF-8.
        "requirements.txt": b"torch==2.3.0\n!!@@## not a requirement $$\n===\n-r ../secret.txt\n"
        b"-c /etc/passwd\n--frobnicate\n\x00\x01\x02\x7f\n",
        "requirements-gpu.txt": b"\xff\xfe\x00\x80 binary \xc3\x28 garbage\n",
        "chat_template.jinja": b"{{ messages }} \xc3\x28 \xff\n",
        # Code that runs on load, and the archives that carry it.
        "pytorch_model.bin": malicious_pickle(f"touch {root / PWNED_MARKER}"),
        "bomb.pt": zip_bomb(),
        "scripted.pt": torchscript_zip(),
        "lambda_model.keras": keras_with_lambda(),
        "model.onnx": onnx_with_external_data(),
        "tokenizer/tokenizer_config.json": json.dumps(
            {"chat_template": SSTI_TEMPLATE, "model_max_length": 512}
        ).encode(),
    }
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (folder / "secret_link.txt").symlink_to(root / "secret.txt")
    (folder / "rootfs").symlink_to("/")
    (folder / "passwd.json").symlink_to("/etc/passwd")
    (folder / "dangling.safetensors").symlink_to(folder / "no-such-file")
    (folder / "loop_a").symlink_to(folder / "loop_b")
    (folder / "loop_b").symlink_to(folder / "loop_a")
    if HAS_FIFO:
        os.mkfifo(folder / "pipe.bin")
    return folder


# --- recording what is opened -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenRecorder:
    """The absolute path of every file opened while it is installed (descriptors not counted:
    their path was recorded when they were opened)."""

    paths: list[str] = field(default_factory=list)

    def record(self, target: object, dir_fd: int | None = None) -> None:
        if isinstance(target, str | bytes | os.PathLike):
            path = Path(os.fsdecode(target))
            if dir_fd is not None and not path.is_absolute():
                path = Path(f"/proc/self/fd/{dir_fd}").readlink() / path
            self.paths.append(str(path.absolute()))

    def wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def opened(target: object, *args: Any, **kwargs: Any) -> Any:
            self.record(target, kwargs.get("dir_fd"))
            return original(target, *args, **kwargs)

        return opened

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Wrap builtins.open, io.open, os.open, Path.open, io.FileIO and sqlite3.connect."""
        recorder = self

        class RecordingFileIO(io.FileIO):
            def __init__(self, file: Any, *args: Any, **kwargs: Any) -> None:
                recorder.record(file)
                super().__init__(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", self.wrap(builtins.open))
        monkeypatch.setattr(io, "open", self.wrap(io.open))
        monkeypatch.setattr(os, "open", self.wrap(os.open))
        monkeypatch.setattr(pathlib.Path, "open", self.wrap(pathlib.Path.open))
        monkeypatch.setattr(io, "FileIO", RecordingFileIO)
        monkeypatch.setattr(sqlite3, "connect", self.wrap(sqlite3.connect))


# --- running the scan -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """One in-process scan of the hostile folder: its outputs, timing and the paths opened."""

    root: Path
    folder: Path
    cache_dir: Path
    bom_path: Path
    sarif_path: Path
    exit_code: int
    output: str
    stderr: str
    seconds: float
    opened: tuple[str, ...]

    @property
    def bom(self) -> dict[str, Any]:
        return dict(json.loads(self.bom_path.read_text()))

    @property
    def sarif(self) -> dict[str, Any]:
        return dict(json.loads(self.sarif_path.read_text()))


@pytest.fixture(scope="module")
def scan_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The hostile folder's parent, in an environment without user caches or Hub settings."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in list(os.environ):
            if name.startswith(("HF_", "HUGGING_FACE_", "SOVSCAN_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
        root = tmp_path_factory.mktemp("hostile")
        build_hostile_folder(root)
        yield root


def scan_args(folder: Path, out_dir: Path, cache_dir: Path, *extra: str) -> list[str]:
    return [
        "scan",
        "-q",
        str(folder),
        "-o",
        str(out_dir / "bom.cdx.json"),
        "-o",
        str(out_dir / "x.sarif"),
        "--offline",
        "--cache-dir",
        str(cache_dir),
        *extra,
    ]


@pytest.fixture(scope="module")
def scan(scan_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """Scan the folder once, in-process, with every open recorded."""
    folder = scan_env / FOLDER_NAME
    out_dir = tmp_path_factory.mktemp("out")
    cache_dir = tmp_path_factory.mktemp("cache")
    recorder = OpenRecorder()
    with pytest.MonkeyPatch.context() as monkeypatch:
        runner = CliRunner()  # built before recording: it opens nothing of the scan's
        recorder.install(monkeypatch)
        start = time.monotonic()
        result = runner.invoke(cli, scan_args(folder, out_dir, cache_dir), catch_exceptions=False)
        seconds = time.monotonic() - start
    return Scan(
        root=scan_env,
        folder=folder,
        cache_dir=cache_dir,
        bom_path=out_dir / "bom.cdx.json",
        sarif_path=out_dir / "x.sarif",
        exit_code=result.exit_code,
        output=result.output,
        stderr=result.stderr,
        seconds=seconds,
        opened=tuple(dict.fromkeys(recorder.paths)),
    )


def bom_issues(bom: dict[str, Any]) -> list[str]:
    return [
        p["value"] for p in bom["metadata"].get("properties", []) if p["name"] == PropertyName.ISSUE
    ]


def props(component: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        found.setdefault(prop["name"], []).append(prop["value"])
    return found


def file_component(bom: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [c for c in bom["components"] if c["type"] == "file" and c["name"] == name]
    assert len(matches) == 1, f"{name} is not among the file components"
    return matches[0]


def sarif_results(sarif: dict[str, Any], rule_id: str) -> list[dict[str, Any]]:
    return [r for run in sarif["runs"] for r in run["results"] if r["ruleId"] == rule_id]


# --- the scan survives --------------------------------------------------------------------------


def test_scan_finishes_quickly_and_cleanly(scan: Scan) -> None:
    print(f"in-process scan of the hostile folder: {scan.seconds:.2f} s")
    assert scan.exit_code == 0, scan.output + scan.stderr
    assert scan.seconds < SCAN_SECONDS_LIMIT
    assert "Traceback" not in scan.stderr
    assert "Traceback" not in scan.output
    bom = scan.bom  # written only after schema validation: that it exists and parses is the check
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["metadata"]["component"]["type"] == "machine-learning-model"
    assert bom["metadata"]["component"]["name"] == FOLDER_NAME
    assert scan.sarif["version"] == "2.1.0"


def test_the_valid_model_is_still_read(scan: Scan) -> None:
    bom = scan.bom
    weights = file_component(bom, "model.safetensors")
    assert props(weights)[PropertyName.SAFETENSORS_TENSORS] == ["1"]
    params = bom["metadata"]["component"]["modelCard"]["modelParameters"]
    assert params["modelArchitecture"] == "LlamaForCausalLM"


#: Each hostile file (its path in the folder) and words its ``sovscan:issue`` must contain.
EXPECTED_ISSUES: dict[str, tuple[str, ...]] = {
    "header_bomb.safetensors": ("header length 4611686018427387904 exceeds", "cap"),
    "short_header.safetensors": ("header length 104857600 exceeds", "cap"),
    "truncated.safetensors": ("header length 104 runs past the end of a 40-byte file",),
    "absurd_kv_count.gguf": ("key-value count 9223372036854775808 exceeds the cap",),
    "absurd_string.gguf": ("'general.name' declares a 4611686018427387904-byte string", "cap"),
    "absurd_array.gguf": ("'tokenizer.ggml.tokens' declares 1099511627776 array elements", "cap"),
    "README.md": ("invalid YAML front matter at line 3",),
    "tokenizer_config.json": ("invalid JSON at line 1", "Unterminated string"),
    "adapter_config.json": ("NaN is not valid JSON",),
    "generation_config.json": ("JSON nesting depth 100 exceeds the 64-level limit",),
    "requirements.txt": ("line 2: invalid requirement '!!@@## not a requirement $$'",),
    "requirements-gpu.txt": ("invalid UTF-8 at byte offset 0",),
    "chat_template.jinja": ("invalid UTF-8 at byte offset 15",),
    "secret_link.txt": ("symlink points outside the scanned folder", "secret.txt", "not followed"),
    "rootfs": ("symlink points outside the scanned folder (/)", "not followed"),
    "passwd.json": ("symlink points outside the scanned folder (/etc/passwd)", "not followed"),
    "dangling.safetensors": ("broken or looping symlink not followed", "No such file"),
    "loop_a": ("broken or looping symlink not followed", "loop"),
    "loop_b": ("broken or looping symlink not followed", "loop"),
    "pipe.bin": ("special file (FIFO) not read",),
}


@pytest.mark.parametrize(("name", "keywords"), EXPECTED_ISSUES.items(), ids=EXPECTED_ISSUES)
def test_every_hostile_file_is_an_issue_naming_it(
    scan: Scan, name: str, keywords: tuple[str, ...]
) -> None:
    if name == "pipe.bin" and not HAS_FIFO:
        pytest.skip("no os.mkfifo on this platform")
    issues = bom_issues(scan.bom)
    about = [issue for issue in issues if f"{scan.folder}/{name}: " in issue]
    assert about, f"no issue names {name}:\n" + "\n".join(issues)
    assert any(all(word in issue for word in keywords) for issue in about), about


def test_requirements_includes_outside_the_folder_are_refused(scan: Scan) -> None:
    about = [i for i in bom_issues(scan.bom) if f"{scan.folder}/requirements.txt: " in i]
    for include in ("--requirement '../secret.txt'", "--constraint '/etc/passwd'"):
        refused = f"{include}: the file is outside the scanned folder; not followed"
        assert any(refused in issue for issue in about), about


def test_unreadable_entries_are_not_components(scan: Scan) -> None:
    names = {c["name"] for c in scan.bom["components"] if c["type"] == "file"}
    for name in ("secret_link.txt", "rootfs", "passwd.json", "dangling.safetensors", "pipe.bin"):
        assert name not in names
    for name in ("loop_a", "loop_b"):
        assert name not in names


# --- what loading the files would do ------------------------------------------------------------


def test_malicious_pickle_is_flagged_and_becomes_code_of_unknown_origin(scan: Scan) -> None:
    findings = [
        r
        for r in sarif_results(scan.sarif, "SEC001")
        if "pytorch_model.bin" in r["message"]["text"]
    ]
    assert findings, "no SEC001 finding for pytorch_model.bin"
    assert any("posix.system" in r["message"]["text"] for r in findings), findings
    assert findings[0]["level"] == "error"
    pickle_file = props(file_component(scan.bom, "pytorch_model.bin"))
    assert pickle_file[PropertyName.SECURITY_EXECUTABLE_ON_LOAD] == ["true"]
    assert "posix.system" in pickle_file[PropertyName.SECURITY_IMPORT]
    code = [c for c in scan.bom["components"] if c["bom-ref"] == "code:on-load:pytorch_model.bin"]
    assert len(code) == 1
    assert "posix.system" in code[0]["description"]
    assert props(code[0])[PropertyName.SECURITY_EMBEDDED_CODE] == ["true"]
    assert not (scan.root / PWNED_MARKER).exists(), "the pickle was loaded"


def test_the_malicious_pickle_is_the_stream_it_claims_to_be() -> None:
    # Disassembled, never loaded: the fixture really is GLOBAL posix.system called on a string.
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(malicious_pickle("id"))]
    assert ops == [
        ("PROTO", 2),
        ("GLOBAL", "posix system"),
        ("BINUNICODE", "id"),
        ("TUPLE1", None),
        ("REDUCE", None),
        ("STOP", None),
    ]


def test_safe_files_are_not_executable_on_load(scan: Scan) -> None:
    assert "sovscan:security:executable-on-load" not in props(
        file_component(scan.bom, "model.safetensors")
    )


#: Each file whose analysis must yield a finding: rule ids accepted and words of its message.
EXPECTED_FINDINGS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "model.onnx": (frozenset({"SEC004"}), (ONNX_LOCATION,)),
    "tokenizer/tokenizer_config.json": (frozenset({"SEC005"}), ("__globals__",)),
    "scripted.pt": (frozenset({"SEC003"}), ("TorchScript", "code/__torch__/model.py")),
    "lambda_model.keras": (frozenset({"SEC003"}), ("Lambda",)),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED_FINDINGS.items(), ids=EXPECTED_FINDINGS)
def test_load_risks_are_sarif_findings(
    scan: Scan, name: str, expected: tuple[frozenset[str], tuple[str, ...]]
) -> None:
    rule_ids, keywords = expected
    results = [
        r
        for run in scan.sarif["runs"]
        for r in run["results"]
        if r["ruleId"] in rule_ids and r["message"]["text"].startswith(f"{name}: ")
    ]
    assert results, f"no {sorted(rule_ids)} finding for {name}"
    assert any(all(word in r["message"]["text"] for word in keywords) for r in results), results


def test_template_injection_is_high_or_medium(scan: Scan) -> None:
    levels = {
        r["level"]
        for r in sarif_results(scan.sarif, "SEC005")
        if r["message"]["text"].startswith("tokenizer/tokenizer_config.json: ")
        and "__globals__" in r["message"]["text"]
    }
    # SARIF levels: error is HIGH or CRITICAL, warning is MEDIUM (note is the mere presence).
    assert levels & {"error", "warning"}, levels


def test_embedded_code_files_are_executable_on_load(scan: Scan) -> None:
    for name in ("scripted.pt", "lambda_model.keras"):
        assert props(file_component(scan.bom, name))[PropertyName.SECURITY_EXECUTABLE_ON_LOAD] == [
            "true"
        ], name
        refs = {c["bom-ref"] for c in scan.bom["components"]}
        assert f"code:on-load:{name}" in refs, name


def test_zip_bomb_is_reported_not_inflated(scan: Scan) -> None:
    findings = [
        r["message"]["text"]
        for r in sarif_results(scan.sarif, "SEC006")
        if r["message"]["text"].startswith("bomb.pt: ")
    ]
    issues = [i for i in bom_issues(scan.bom) if f"{scan.folder}/bomb.pt: " in i]
    assert any("zip bomb" in text for text in findings + issues), (findings, issues)


# --- nothing outside the tree is read -----------------------------------------------------------


def allowed_outside(path: Path, scan: Scan) -> bool:
    """Whether an opened path outside the folder is the scanner's own business: its package
    data (profiles, origins), installed libraries' data (CycloneDX schemas, licence lists), its
    cache, and the outputs asked for with -o (each written to a temporary sibling, then renamed).
    """
    own = [
        Path(scanner.__file__).resolve().parent,
        *(Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")),
        scan.cache_dir.resolve(),
    ]
    if any(path.is_relative_to(base) for base in own):
        return True
    outputs = (scan.bom_path.name, scan.sarif_path.name)
    return path.parent == scan.bom_path.parent.resolve() and (
        path.name in outputs
        or any(path.name.startswith(f".{name}.") and path.name.endswith(".tmp") for name in outputs)
    )


#: Entries of the folder that must never be opened: symlinks that leave it or go nowhere, a FIFO.
NEVER_OPENED = (
    "secret_link.txt",
    "rootfs",
    "passwd.json",
    "dangling.safetensors",
    "loop_a",
    "loop_b",
    "pipe.bin",
)


def test_nothing_outside_the_folder_is_opened(scan: Scan) -> None:
    assert scan.opened, "the recorder saw no open at all: it is not installed"
    folder = scan.folder.resolve()
    inside = [p for p in scan.opened if Path(p).resolve().is_relative_to(folder)]
    assert inside, "the recorder saw no file of the folder opened"
    assert str(folder / "model.safetensors") in inside
    outside = [
        p
        for p in scan.opened
        if not Path(p).resolve().is_relative_to(folder)
        and not allowed_outside(Path(p).resolve(), scan)
    ]
    print("opened outside the folder:", *outside, sep="\n  ")
    assert outside == []
    secret = (scan.root / "secret.txt").resolve()
    assert all(Path(p).resolve() != secret for p in scan.opened)
    assert all(Path(p).resolve() != Path("/etc/passwd").resolve() for p in scan.opened)
    for name in NEVER_OPENED:
        assert str(scan.folder / name) not in scan.opened, name


# --- a real process, and a policy -------------------------------------------------------------


def test_real_process_finishes_quickly_and_cleanly(
    scan: Scan, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out_dir = tmp_path_factory.mktemp("subprocess-out")
    cache_dir = tmp_path_factory.mktemp("subprocess-cache")
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "scanner", *scan_args(scan.folder, out_dir, cache_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    seconds = time.monotonic() - start
    print(f"subprocess scan of the hostile folder: {seconds:.2f} s")
    assert done.returncode == 0, done.stderr
    assert seconds < SCAN_SECONDS_LIMIT
    assert "Traceback" not in done.stderr
    bom = json.loads((out_dir / "bom.cdx.json").read_text())
    assert json.loads((out_dir / "x.sarif").read_text())["version"] == "2.1.0"
    # The same folder gives the same problems, whichever way the scanner is started.
    assert sorted(bom_issues(bom)) == sorted(bom_issues(scan.bom))


def test_dangerous_code_fails_every_tier_naming_the_file_and_the_callable(
    scan: Scan, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out_dir = tmp_path_factory.mktemp("policy-out")
    result = CliRunner().invoke(
        cli,
        scan_args(scan.folder, out_dir, scan.cache_dir, "--policy", "national"),
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output + result.stderr
    assert "Traceback" not in result.stderr
    bom = json.loads((out_dir / "bom.cdx.json").read_text())
    verdicts = {
        name.removeprefix("sovscan:verdict:"): values
        for name, values in props(bom["metadata"]).items()
        if name.startswith("sovscan:verdict:")
    }
    assert verdicts == {
        tier: ["FAIL"] for tier in ("sovereign", "national", "trusted", "adversary")
    }
    sarif = json.loads((out_dir / "x.sarif").read_text())
    dangerous = [
        r for r in sarif_results(sarif, "SEC100") if "pytorch_model.bin" in r["message"]["text"]
    ]
    assert len(dangerous) == 1, [r["message"]["text"] for r in sarif_results(sarif, "SEC100")]
    text = dangerous[0]["message"]["text"]
    assert text.startswith("[sovereign, national, trusted, adversary] pytorch_model.bin: ")
    assert "posix.system" in text
    assert "rule: SEC100" in text  # the remediation names the waiver to write
    # The code the pickle runs is also code of unknown origin, reported once for both tiers.
    unknown_code = [
        r["message"]["text"]
        for r in sarif_results(sarif, "SOV002")
        if "code run on load by pytorch_model.bin" in r["message"]["text"]
    ]
    assert len(unknown_code) == 1, unknown_code
    assert unknown_code[0].startswith("[sovereign, adversary] ")
