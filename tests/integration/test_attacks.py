"""Attempts to walk through the gate: a domestic, openly licensed model that PASSes `national`,
with one thing hidden in it. None may PASS. Pickles are built byte by byte, never loaded.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.integration.test_scan_cli import scan

ORIGINS = """\
entries:
  - {id: acme, kind: hf-namespace, organisation: Acme LLC, country: RU, confidence: high,
     source: "https://example.org/acme"}
"""
#: PROTO 2, GLOBAL posix system, 'id', TUPLE1, REDUCE, STOP.
P2 = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R."
#: Protocol 0: GLOBAL os system, MARK, STRING 'id', TUPLE, REDUCE, STOP.
P0 = b"cos\nsystem\n(S'id'\ntR."


def baseline(folder: Path) -> Path:
    folder.mkdir(parents=True)
    source = EXAMPLES / "ru-legal-8b"
    for name in ("model.safetensors", "config.json", "tokenizer_config.json"):
        (folder / name).write_bytes((source / name).read_bytes())
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# acme model\n")
    return folder


def national(folder: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, str]]:
    origins = tmp_path / "origins.yaml"
    origins.write_text(ORIGINS)
    out = tmp_path / "bom.cdx.json"
    result = scan(
        str(folder),
        "--name",
        "acme/model",
        "--origins",
        str(origins),
        "--offline",
        "--policy",
        "national",
        "-o",
        str(out),
        *extra,
    )
    assert result.exit_code in {0, 1, 2, 3}, result.output + result.stderr
    if result.exit_code == 2:
        return 2, {}
    bom = json.loads(out.read_text())
    verdicts = {
        p["name"].rsplit(":", 1)[1]: p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith("sovscan:verdict:")
    }
    return result.exit_code, verdicts


def torch_zip(pickle: bytes, *extra_members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle)
        archive.writestr("archive/version", "3\n")
        for name in extra_members:
            archive.writestr(name, "{}")
    return buffer.getvalue()


def stack_global(module: str, name: str) -> bytes:
    """Protocol 4: SHORT_BINUNICODE module, name, STACK_GLOBAL, 'id', TUPLE1, REDUCE, STOP."""

    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode()

    return b"\x80\x04" + text(module) + text(name) + b"\x93" + text("id") + b"\x85R."


def npy(descr: str, data: bytes) -> bytes:
    """A version 1.0 ``.npy`` header for ``descr`` (padded to 64 bytes), then ``data``."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}".encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def test_the_baseline_passes(tmp_path: Path) -> None:
    assert national(baseline(tmp_path / "m"), tmp_path) == (
        0,
        {"sovereign": "UNKNOWN", "national": "PASS", "trusted": "UNKNOWN", "adversary": "PASS"},
    )


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    def plant(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return plant


def _fake_venv(folder: Path) -> None:
    (folder / "unet").mkdir()
    (folder / "unet" / "pyvenv.cfg").write_text("")
    (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(P2)


def _folder_link_into_git(folder: Path) -> None:
    (folder / ".git" / "x").mkdir(parents=True)
    (folder / ".git" / "x" / "diffusion_pytorch_model.bin").write_bytes(P2)
    (folder / "unet").symlink_to(".git/x")


@pytest.mark.parametrize(
    ("plant", "expected"),
    [
        # A pickle a loader reads whatever its first opcode: never sniffed by magic alone.
        (_write("pytorch_model.bin", b"N0" + P0), 1),
        (_write("pytorch_model.bin", b"I1\n0" + P0), 1),
        (_write("pytorch_model.bin", b"\x80\x01" + P0), 1),
        (_write("pytorch_model.bin", b"\x95\x15\x00\x00\x00\x00\x00\x00\x00" + P0), 1),
        (_write("weights", P0), 1),
        (_write("model.data", P0), 1),
        (_write("sub/deep/x.pt", P2), 1),
        # A pickle named as another format or as text (issue #12 item 1): by content, not name.
        (_write("model-00002-of-00002.safetensors", P0), 1),
        (_write("flax_model.msgpack", b"N0" + P0), 1),
        (_write("tf_model.h5", P0), 1),
        (_write("model.gguf", P2), 1),
        (_write("model.onnx", b"I1\n0" + P0), 1),
        (_write("notes.txt", P0), 1),
        (_write("extra.json", b"N0" + P0), 1),
        (_write("NOTES.md", P0), 1),
        (_write("weights.xyz", stack_global("os", "system")[2:]), 1),  # protocol 4, no PROTO
        # A torch checkpoint with Keras-looking members is still walked as one.
        (_write("pytorch_model.bin", torch_zip(P2, "config.json", "metadata.json")), 1),
        # A dangerous callable reached through a module attribute.
        (_write("model.pkl", stack_global("posixpath", "os.system")), 1),
        (_write("model.pkl", stack_global("torch", "os.system")), 1),
        # Private aliases and dunder paths (issue #12 item 4).
        (_write("model.pkl", stack_global("argparse", "_os.system")), 1),
        (_write("pytorch_model.bin", stack_global("numpy", "__builtins__.eval")), 1),
        (_write("model.pkl", stack_global("_frozen_importlib", "_load")), 1),
        (_write("model.pkl", stack_global("functools", "partial")), 1),
        # A sandbox-escaping chat template where transformers reads one.
        (
            _write("chat_template.json", b'{"chat_template": "{{ cycler.__init__.__globals__ }}"}'),
            1,
        ),
        (_write("additional_chat_templates/t.jinja", b"{{ ''|attr('__class__') }}"), 1),
        # numpy unpickles an object field of a structured dtype, and a .npz that is no zip.
        (_write("arrays.npy", npy("O,i4", P0)), 1),
        (_write("arrays.npy", npy("(2,)O", P0)), 1),
        (_write("arrays.npz", P0), 1),
        # Folders the scan does not enter cannot hide what a loader reads.
        (_fake_venv, 3),
        (_folder_link_into_git, 3),
    ],
    ids=[
        "bin-none-first",
        "bin-int-first",
        "bin-proto1",
        "bin-frame-first",
        "no-suffix",
        "data-suffix",
        "nested-pt",
        "pickle-named-safetensors",
        "pickle-named-msgpack",
        "pickle-named-h5",
        "pickle-named-gguf",
        "pickle-named-onnx",
        "pickle-named-txt",
        "pickle-named-json",
        "pickle-named-md",
        "protocol-4-without-proto-unlisted-suffix",
        "keras-like-torch-zip",
        "posixpath-os-system",
        "torch-os-system",
        "argparse-private-os-alias",
        "numpy-builtins-dunder",
        "frozen-importlib",
        "functools-partial",
        "chat-template-json",
        "additional-jinja",
        "npy-structured-object",
        "npy-subarray-object",
        "npz-raw-pickle",
        "fake-venv",
        "folder-symlink-into-git",
    ],
)
def test_nothing_hidden_passes(
    tmp_path: Path, plant: Callable[[Path], None], expected: int
) -> None:
    folder = baseline(tmp_path / "m")
    plant(folder)
    code, verdicts = national(folder, tmp_path)
    assert code == expected, verdicts
    assert "PASS" not in verdicts.values()


#: A second safetensors shard whose header is exactly 0x0280 bytes: it starts ``80 02`` like a
#: pickle's PROTO 2 but is a valid safetensors file (issue #12 item 1).
SAFETENSORS_0280 = (
    (0x0280).to_bytes(8, "little")
    + b'{"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}'.ljust(0x0280)
    + bytes(8)
)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("model-00002-of-00002.safetensors", P0),
        ("model.gguf", b"N0" + P0),
        ("notes.txt", b"I1\n0" + P0),
        ("weights.xyz", stack_global("os", "system")[2:]),  # protocol 4 without PROTO
    ],
    ids=["safetensors", "gguf", "txt", "unlisted-no-proto"],
)
def test_a_pickle_under_a_benign_name_fails_every_tier_by_sec100(
    tmp_path: Path, name: str, data: bytes
) -> None:
    # Source: issue #12 item 1 (an attacker names the file; the loader reads its content).
    folder = baseline(tmp_path / "m")
    (folder / name).write_bytes(data)
    code, verdicts = national(folder, tmp_path)
    assert code == 1
    assert set(verdicts.values()) == {"FAIL"}
    assert "SEC100" in (tmp_path / "bom.cdx.json").read_text()


def test_a_benign_look_alike_still_passes(tmp_path: Path) -> None:
    folder = baseline(tmp_path / "m")
    (folder / "model-00002-of-00002.safetensors").write_bytes(SAFETENSORS_0280)
    (folder / "notes.txt").write_bytes(b"hello.\n")  # BINGET, LIST, LIST, OBJ, STOP: underflows
    assert national(folder, tmp_path) == (
        0,
        {"sovereign": "UNKNOWN", "national": "PASS", "trusted": "UNKNOWN", "adversary": "PASS"},
    )


def test_a_waiver_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    folder = baseline(tmp_path / "m")
    waiver = tmp_path / "accept.yaml"
    waiver.write_text(
        "accepted:\n"
        f'  - sha256: "{"a" * 64}"\n    rule: SEC100\n    reason: r\n    accepted_by: x\n'
        f'    expires: 2026-01-01\n    sha256: "{"b" * 64}"\n    expires: 2099-01-01\n'
    )
    assert national(folder, tmp_path, "--accept", str(waiver))[0] == 2


def test_repeated_deny_options_add_up(tmp_path: Path) -> None:
    folder = baseline(tmp_path / "m")
    _, verdicts = national(folder, tmp_path, "--jurisdiction", "DE", "--deny", "RU", "--deny", "CN")
    assert verdicts["adversary"] == "FAIL"  # the model is Russian: RU stays denied
