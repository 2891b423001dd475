"""The python layer in the policy tiers, end to end: a project of libraries only, a model with
its requirements, licences from a loopback package index; verdicts, exit codes and findings."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli
from tests.conftest import EXAMPLES
from tests.fakes.package_index import (
    PYYAML,
    REQUESTS,
    TORCH,
    FakePackageIndex,
    FakeProject,
    FakeRelease,
)

#: A project whose libraries all come with an open licence on the index (see ``index``): a
#: foreign one (torch, US), community ones (requests, PyYAML) and a domestic one.
OPEN_REQUIREMENTS = "torch==2.5.1\nrequests==2.32.3\nPyYAML==6.0.2\nru-tokenizer-kit==0.4.0\n"
#: A release the index knows, but with no licence anywhere in its metadata.
MYSTERY = FakeProject(
    "mystery-lib",
    (FakeRelease("1.0", {"author": "Someone", "summary": "does things"}),),
)
#: An MIT library from a Russian organisation's domain (domestic under the RU jurisdiction).
RU_TOKENIZER = FakeProject(
    "ru-tokenizer-kit",
    (
        FakeRelease(
            "0.4.0",
            {
                "author_email": "NLP Team <nlp@sberdevices.ru>",
                "license_expression": "MIT",
                "summary": "Tokenizers for Russian",
            },
        ),
    ),
)


def scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", "-q", *args], catch_exceptions=False)


def run(
    target: Path, tmp_path: Path, *extra: str, expect: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scan to CycloneDX JSON and SARIF (own cache); the BOM and the SARIF run."""
    bom_path, sarif_path = tmp_path / "bom.cdx.json", tmp_path / "scan.sarif"
    result = scan(
        str(target),
        "-o",
        str(bom_path),
        "-o",
        str(sarif_path),
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    )
    assert result.exit_code == expect, result.output
    sarif = json.loads(sarif_path.read_text())
    return json.loads(bom_path.read_text()), sarif["runs"][0]


def verdicts(bom: dict[str, Any]) -> dict[str, str]:
    prefix = "sovscan:verdict:"
    return {
        p["name"].removeprefix(prefix): p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith(prefix)
    }


def findings(run_: dict[str, Any], tier: str) -> list[tuple[str, str, str, int | None]]:
    """(rule, message, file, line) of the tier's SARIF results."""
    found = []
    for result in run_["results"]:
        if tier not in result["properties"].get("tiers", []):
            continue
        text = result["message"]["text"].partition("] ")[2].partition(". What to do: ")[0]
        location = result["locations"][0]["physicalLocation"]
        found.append(
            (
                result["ruleId"],
                text,
                location["artifactLocation"]["uri"],
                location.get("region", {}).get("startLine"),
            )
        )
    return sorted(found)


def project(tmp_path: Path, requirements: str) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "requirements.txt").write_text(requirements)
    return folder


@pytest.fixture
def index() -> Iterator[FakePackageIndex]:
    with FakePackageIndex([TORCH, REQUESTS, PYYAML, RU_TOKENIZER, MYSTERY]) as fake:
        yield fake


def test_requirements_only_project_is_an_application_that_fails_sovereign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # SARIF paths are relative to where the scan runs
    folder = project(tmp_path, "torch==2.5.1\nrequests==2.32.3\n")
    bom, sarif = run(
        folder.relative_to(tmp_path), tmp_path, "--offline", "--policy", "sovereign", expect=1
    )
    subject = bom["metadata"]["component"]
    assert (subject["type"], subject["name"]) == ("application", "app")
    assert verdicts(bom)["sovereign"] == "FAIL"
    origin_rules = [f for f in findings(sarif, "sovereign") if f[0].startswith("SOV")]
    assert origin_rules == [
        (
            "SOV001",
            "torch (PyTorch Foundation (Linux Foundation); Meta is the main contributor, US), "
            "a python component, is foreign: not from RU (layer python)",
            "app/requirements.txt",
            1,
        ),
        (
            "SOV004",
            "requests (requests project, hosted in the PSF GitHub org, community project) is "
            "an international community project, not a RU one (layer python)",
            "app/requirements.txt",
            2,
        ),
    ]
    # The project itself is in no layer: no origin finding is about it.
    assert not any(f[1].startswith("app ") for f in origin_rules)


def test_open_licenses_pass_national(index: FakePackageIndex, tmp_path: Path) -> None:
    folder = project(tmp_path, OPEN_REQUIREMENTS)
    bom, sarif = run(folder, tmp_path, "--index-url", index.url, "--policy", "national", expect=0)
    assert verdicts(bom)["national"] == "PASS"
    assert findings(sarif, "national") == []
    libraries = {c["name"]: c for c in bom["components"] if c["type"] == "library"}
    assert {name: c.get("licenses") for name, c in libraries.items()} == {
        "torch": [{"license": {"id": "BSD-3-Clause"}}],
        "requests": [{"license": {"id": "Apache-2.0"}}],
        "pyyaml": [{"license": {"id": "MIT"}}],
        "ru-tokenizer-kit": [{"license": {"id": "MIT"}}],
    }
    assert libraries["torch"]["supplier"]["address"]["country"] == "US"
    kit = libraries["ru-tokenizer-kit"]
    assert kit["supplier"]["address"]["country"] == "RU"
    assert len(index.requests) == 4
    # The same libraries under sovereign: the foreign and community ones fail, the domestic
    # one does not.
    assert verdicts(bom)["sovereign"] == "FAIL"
    origin_findings = [
        (rule, message.split(" (", 1)[0])
        for rule, message, _, _ in findings(sarif, "sovereign")
        if rule.startswith("SOV")
    ]
    assert origin_findings == [("SOV001", "torch"), ("SOV004", "pyyaml"), ("SOV004", "requests")]


def test_unknown_license_is_unknown_for_national_naming_the_library(
    index: FakePackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project(tmp_path, OPEN_REQUIREMENTS + "mystery-lib==1.0\n")
    bom, sarif = run(
        Path("app"), tmp_path, "--index-url", index.url, "--policy", "national", expect=3
    )
    assert verdicts(bom)["national"] == "UNKNOWN"
    found = findings(sarif, "national")
    assert [(rule, file, line) for rule, _, file, line in found] == [
        ("NAT002", "app/requirements.txt", 5)
    ]
    assert found[0][1].startswith("mystery-lib (")
    assert "its licence is unknown" in found[0][1]


def scan_lora_with_cuda_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bundled LoRA example plus a requirements.txt pinning a CUDA build of torch, scanned
    ``--offline --policy sovereign`` from its parent folder."""
    shutil.copytree(EXAMPLES / "ru-chat-lora", tmp_path / "ru-chat-lora")
    (tmp_path / "ru-chat-lora" / "requirements.txt").write_text("torch==2.1.0+cu121\n")
    monkeypatch.chdir(tmp_path)
    return run(Path("ru-chat-lora"), tmp_path, "--offline", "--policy", "sovereign", expect=1)


def test_model_with_cuda_torch_fails_sovereign_in_the_python_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bom, sarif = scan_lora_with_cuda_torch(tmp_path, monkeypatch)
    assert bom["metadata"]["component"]["type"] == "machine-learning-model"
    python = [f for f in findings(sarif, "sovereign") if f[1].endswith("(layer python)")]
    assert [rule for rule, _, _, _ in python] == ["SOV001", "SOV001"]
    runtime, torch = python
    # The CUDA runtime the +cu121 build bundles is NVIDIA's, a foreign part of torch.
    assert runtime[1].startswith("nvidia-cuda-runtime")
    assert "(NVIDIA Corporation, US), a python component, is foreign" in runtime[1]
    assert torch[1].startswith("torch (PyTorch Foundation")
    assert torch[2:] == ("ru-chat-lora/requirements.txt", 1)


def test_cuda_runtime_finding_points_at_the_torch_requirement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, sarif = scan_lora_with_cuda_torch(tmp_path, monkeypatch)
    runtime = [f for f in findings(sarif, "sovereign") if "nvidia-cuda-runtime" in f[1]]
    assert [f[2:] for f in runtime] == [("ru-chat-lora/requirements.txt", 1)]


#: A user's knowledge: a project that left Apache-2.0 at 8.0 and one that stayed MIT.
OFFLINE_ORIGINS = """\
entries:
- id: acme-search
  kind: pypi-package
  organisation: Acme Search B.V.
  country: NL
  confidence: high
  license: Elastic-2.0
  license_release: "8.2.0"
  license_changes:
  - versions: "<8.0"
    license: Apache-2.0
- id: acme-util
  kind: pypi-package
  organisation: Acme Search B.V.
  country: NL
  confidence: high
  license: MIT
  license_release: "1.4.0"
  as_of: 2026-12
"""


@pytest.mark.parametrize(
    ("search_version", "expected_license", "national", "code"),
    [("7.17.0", "Apache-2.0", "PASS", 0), ("8.1.0", "Elastic-2.0", "UNKNOWN", 3)],
)
def test_offline_licences_come_from_the_knowledge_base_by_version(
    tmp_path: Path, search_version: str, expected_license: str, national: str, code: int
) -> None:
    """Offline, no metadata: the licence comes from the knowledge base, the release's version
    picks the recorded one, and a source-available one does not pass ``national``."""
    origins = tmp_path / "origins.yaml"
    origins.write_text(OFFLINE_ORIGINS)
    folder = project(tmp_path, f"acme-search=={search_version}\nacme-util==1.2.0\n")
    bom, _ = run(
        folder,
        tmp_path,
        "--offline",
        "--origins",
        str(origins),
        "--policy",
        "national",
        expect=code,
    )
    assert verdicts(bom)["national"] == national
    libraries = {c["name"]: c for c in bom["components"] if c["type"] == "library"}
    assert libraries["acme-search"]["licenses"] == [{"license": {"id": expected_license}}]
    assert libraries["acme-util"]["licenses"] == [{"license": {"id": "MIT"}}]
    util = {p["name"]: p["value"] for p in libraries["acme-util"]["properties"]}
    assert util["sovscan:license:basis"] == "knowledge-base"
    assert util["sovscan:license:as-of"] == "2026-12"
    contexts = [o["additionalContext"] for o in libraries["acme-util"]["evidence"]["occurrences"]]
    assert "license=MIT (knowledge-base (acme-util: release 1.4.0, as of 2026-12))" in contexts


def test_index_metadata_replaces_the_knowledge_bases_licence(
    index: FakePackageIndex, tmp_path: Path
) -> None:
    """The index's metadata of the release wins; without a licence there, it stays unknown."""
    origins = tmp_path / "origins.yaml"
    origins.write_text(
        "- id: mystery-lib\n  kind: pypi-package\n  organisation: Someone\n  confidence: low\n"
        "  license: MIT\n"
    )
    folder = project(tmp_path, "mystery-lib==1.0\n")
    bom, _ = run(
        folder,
        tmp_path,
        "--index-url",
        index.url,
        "--origins",
        str(origins),
        "--policy",
        "national",
        expect=3,
    )
    [mystery] = [c for c in bom["components"] if c["name"] == "mystery-lib"]
    assert "licenses" not in mystery
    assert verdicts(bom)["national"] == "UNKNOWN"


@pytest.mark.parametrize(
    "line",
    [
        "requests @ https://downloads.example.org/requests-2.32.3-py3-none-any.whl",
        "requests @ git+https://git.example.org/someone/requests@v2.32.3",
    ],
)
def test_a_well_known_name_from_a_url_is_not_that_project(tmp_path: Path, line: str) -> None:
    """Anything can be published at a URL under the name ``requests``: offline, neither the
    requests project's origin nor its licence applies, and no tier passes on the name."""
    folder = project(tmp_path, line + "\n")
    bom, _ = run(folder, tmp_path, "--offline", expect=0)
    [package] = [c for c in bom["components"] if c["type"] == "library"]
    properties = {p["name"]: p["value"] for p in package["properties"]}
    assert properties["sovscan:origin:steward"] == "unknown"
    assert "not from PyPI" in properties["sovscan:origin:note"]
    assert "licenses" not in package
    assert all(value != "PASS" for value in verdicts(bom).values()), verdicts(bom)


def test_a_family_name_alone_never_passes_a_screen(tmp_path: Path) -> None:
    """``azure-*`` is Microsoft's naming, but anyone may publish under it: offline, a bare
    name the family covers is named Microsoft's at low confidence, which passes neither the
    adversary screen nor sovereignty, while a package with its own entry still counts."""
    folder = project(tmp_path, "azure-made-up-helper==1.0\nazure-identity==1.25.1\n")
    bom, _ = run(
        folder,
        tmp_path,
        "--offline",
        "--jurisdiction",
        "US",
        "--policy",
        "adversary",
        expect=3,
    )
    libraries = {c["name"]: c for c in bom["components"] if c["type"] == "library"}
    made_up = {p["name"]: p["value"] for p in libraries["azure-made-up-helper"]["properties"]}
    assert made_up["sovscan:origin:organization"] == "Microsoft Corporation"
    assert made_up["sovscan:origin:confidence"] == "low"
    assert "by its name only" in made_up["sovscan:origin:note"]
    identity = {p["name"]: p["value"] for p in libraries["azure-identity"]["properties"]}
    assert identity["sovscan:origin:confidence"] != "low"
    assert verdicts(bom)["adversary"] == "UNKNOWN"
    assert verdicts(bom)["sovereign"] != "PASS"


@pytest.mark.parametrize(
    ("requirement", "expected_license", "national"),
    [
        ("pysimplegui==4.60.5", "LGPL-3.0-or-later", "PASS"),
        ("pysimplegui==5.0.8", "LicenseRef-PySimpleGUI-License-Agreement", "UNKNOWN"),
        ("pysimplegui==6.2.36", "LGPL-3.0-only", "PASS"),
        ("matrix-synapse==1.98.0", "Apache-2.0", "PASS"),
        ("matrix-synapse==1.99.0", "AGPL-3.0-or-later", "PASS"),
    ],
)
def test_built_in_licence_histories_pick_the_release(
    tmp_path: Path, requirement: str, expected_license: str, national: str
) -> None:
    """Projects that relicensed: offline, the built-in entry gives each release its own
    licence, and the proprietary PySimpleGUI 5 does not pass ``national``."""
    folder = project(tmp_path, requirement + "\n")
    code = {"PASS": 0, "UNKNOWN": 3}[national]
    bom, _ = run(folder, tmp_path, "--offline", "--policy", "national", expect=code)
    [package] = [c for c in bom["components"] if c["type"] == "library"]
    licence = package["licenses"][0]["license"]
    assert licence.get("id", licence.get("name")) == expected_license
    assert verdicts(bom)["national"] == national
