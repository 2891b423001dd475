"""Trusted-registry pins on a model are enforced through its manifest digest, end to end.

The model is a small folder built here (a safetensors file, a config and a card); its origin is
domestic and its licence open, so the trusted tier's verdict rests on the registry alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanner.core.properties import PropertyName
from scanner.sources.model_digest import manifest_digest
from tests.integration.test_policy_cli import verdicts
from tests.integration.test_scan_cli import components, props, scan

ORIGINS = """\
entries:
  - id: acme
    kind: hf-namespace
    organisation: Acme LLC
    country: RU
    confidence: high
    source: https://example.org/acme
"""


def safetensors(payload: bytes) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "U8", "shape": [len(payload)], "data_offsets": [0, len(payload)]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + payload


def model(folder: Path, payload: bytes = b"\x01\x02\x03\x04") -> Path:
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(safetensors(payload))
    (folder / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# acme model\n")
    return folder


def sha256sum_manifest(folder: Path) -> str:
    """The digest as standard tools compute it (the README's command)."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    listing = subprocess.run(
        ["sha256sum", *files], cwd=folder, check=True, capture_output=True
    ).stdout
    return hashlib.sha256(listing).hexdigest()


def registry(tmp_path: Path, digest: str, key: str = "purl: pkg:huggingface/acme/model") -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(f'components:\n  - {key}\n    sha256: "{digest}"\n')
    return path


def trusted(folder: Path, tmp_path: Path, registry_file: Path) -> tuple[int, dict[str, Any]]:
    origins = tmp_path / "origins.yaml"
    origins.write_text(ORIGINS)
    out = tmp_path / "bom.cdx.json"
    result = scan(
        str(folder),
        "--name",
        "acme/model",
        "--origins",
        str(origins),
        "--trusted-registry",
        str(registry_file),
        "--policy",
        "trusted",
        "--offline",
        "-o",
        str(out),
    )
    assert result.exit_code in {0, 1, 3}, result.output + result.stderr
    return result.exit_code, json.loads(out.read_text())


def digest_of(bom: dict[str, Any]) -> str:
    (found,) = bom["metadata"]["component"]["hashes"]
    assert found["alg"] == "SHA-256"
    return str(found["content"])


def test_the_model_digest_is_the_sha256sum_manifest_of_its_files(tmp_path: Path) -> None:
    folder = model(tmp_path / "m")
    code, bom = trusted(folder, tmp_path, registry(tmp_path, "0" * 64))
    assert digest_of(bom) == sha256sum_manifest(folder)
    subject = bom["metadata"]["component"]
    assert props(subject)[PropertyName.MODEL_DIGEST] == ["sovscan-manifest-v1 over 3 files"]
    assert code == 1


def test_the_right_pin_passes_and_a_wrong_one_fails(tmp_path: Path) -> None:
    folder = model(tmp_path / "m")
    right = sha256sum_manifest(folder)
    code, bom = trusted(folder, tmp_path, registry(tmp_path, right))
    assert (code, verdicts(bom)["trusted"]) == (0, "PASS")
    code, bom = trusted(folder, tmp_path, registry(tmp_path, "f" * 64))
    assert (code, verdicts(bom)["trusted"]) == (1, "FAIL")
    claims = [c["predicate"] for c in bom["declarations"]["claims"]]
    assert any("does not match the trusted registry" in claim for claim in claims)


@pytest.mark.parametrize(
    "tamper",
    [
        "one changed byte in the weights",
        "a renamed file",
        "an added file",
    ],
)
def test_tampered_models_do_not_match_their_pin(tmp_path: Path, tamper: str) -> None:
    folder = model(tmp_path / "m")
    pin = sha256sum_manifest(folder)
    if tamper == "one changed byte in the weights":
        shutil.rmtree(folder)
        model(folder, payload=b"\x01\x02\x03\x05")
    elif tamper == "a renamed file":
        (folder / "config.json").rename(folder / "configuration.json")
    else:
        (folder / "extra.py").write_text("print('hi')\n")
    code, bom = trusted(folder, tmp_path, registry(tmp_path, pin))
    assert (code, verdicts(bom)["trusted"]) == (1, "FAIL"), tamper
    assert digest_of(bom) != pin


def test_a_pin_on_a_folder_of_lfs_pointers_cannot_be_checked(tmp_path: Path) -> None:
    folder = model(tmp_path / "m")
    pointer = (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{'a' * 64}\nsize 4000000000\n"
    )
    (folder / "model.safetensors").write_text(pointer)
    code, bom = trusted(folder, tmp_path, registry(tmp_path, "a" * 64))
    assert (code, verdicts(bom)["trusted"]) == (3, "UNKNOWN")
    subject = bom["metadata"]["component"]
    assert "hashes" not in subject
    (why,) = props(subject)[PropertyName.MODEL_DIGEST_UNAVAILABLE]
    assert why == (
        "1 of 3 files have no SHA-256 read from their bytes (model.safetensors: a Git LFS pointer)"
    )


def test_a_sha256_pin_on_a_hub_ancestor_is_unknown_never_pass(tmp_path: Path) -> None:
    folder = model(tmp_path / "m")
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: acme/base\n---\n# acme model\n"
    )
    path = tmp_path / "registry.yaml"
    path.write_text(
        "components:\n"
        f'  - purl: pkg:huggingface/acme/model\n    sha256: "{sha256sum_manifest(folder)}"\n'
        f'  - purl: pkg:huggingface/acme/base\n    sha256: "{"b" * 64}"\n'
    )
    code, bom = trusted(folder, tmp_path, path)
    assert (code, verdicts(bom)["trusted"]) == (3, "UNKNOWN")
    base = components(bom)["pkg:huggingface/acme/base"]
    assert "hashes" not in base
    (claim,) = [
        c
        for c in bom["declarations"]["claims"]
        if c["target"] == base["bom-ref"] and "TRU003" in c["reasoning"]
    ]
    assert (
        "the registry pins SHA-256 bbbbbbbbbbbb… and the scan has no SHA-256"
        in (claim["predicate"])
    )


def test_manifest_digest_sorts_by_path_bytes() -> None:
    one = manifest_digest([("b", "1" * 64), ("a", "2" * 64)])
    assert one == manifest_digest([("a", "2" * 64), ("b", "1" * 64)])
    expected = hashlib.sha256(f"{'2' * 64}  a\n{'1' * 64}  b\n".encode()).hexdigest()
    assert one == expected


def test_a_revision_pin_cannot_be_met_by_the_folders_own_download_records(
    tmp_path: Path,
) -> None:
    folder = model(tmp_path / "m")
    commit = "abcdef0123456789abcdef0123456789abcdef01"
    records = folder / ".cache" / "huggingface" / "download"
    records.mkdir(parents=True)
    (records / "config.json.metadata").write_text(f"{commit}\nsomeetag\n1700000000\n")
    path = tmp_path / "registry.yaml"
    path.write_text(f"components:\n  - purl: pkg:huggingface/acme/model@{commit}\n")
    code, bom = trusted(folder, tmp_path, path)
    assert (code, verdicts(bom)["trusted"]) == (3, "UNKNOWN")
    subject = bom["metadata"]["component"]
    assert props(subject)[PropertyName.MODEL_REVISION_SOURCE] == ["download-metadata"]
    (claim,) = [c for c in bom["declarations"]["claims"] if "TRU003" in c["reasoning"]]
    assert "only what the folder's own records say" in claim["predicate"]
    assert f'"{digest_of(bom)}"' in claim["reasoning"]  # the remediation gives the digest


def test_a_version_the_gguf_declares_is_no_pin_proof(tmp_path: Path) -> None:
    """A GGUF names its model's version itself (``general.version``): a forged file could
    name the very revision a registry pins without a hash. The version shows in the BOM but
    proves nothing, so the tier is UNKNOWN, never PASS."""
    from tests.fakes.worlds import gguf_bytes

    revision = "c0ffee" * 6 + "c0ff"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.gguf").write_bytes(
        gguf_bytes([("general.architecture", "llama"), ("general.version", revision)])
    )
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# acme model\n")
    pin = tmp_path / "registry.yaml"
    pin.write_text(f"components:\n  - purl: pkg:huggingface/acme/model@{revision}\n")
    code, bom = trusted(folder, tmp_path, pin)
    subject = bom["metadata"]["component"]
    assert subject["version"] == revision
    assert props(subject)[PropertyName.MODEL_REVISION_SOURCE] == ["gguf-metadata"]
    assert (code, verdicts(bom)["trusted"]) == (3, "UNKNOWN")
