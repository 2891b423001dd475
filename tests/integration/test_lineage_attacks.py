"""Ways a publisher hid a foreign base from the undeclared-lineage detection, each found by
attacking it and once a false ``sovereign: PASS``: the folder still loads, and its vocabulary
(and shape) are still Qwen's. Every vocabulary is Qwen's real one (PyPI dashscope 2.0.2's
``qwen.tiktoken``), rewritten only the way the attack does."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
from typing import TYPE_CHECKING

from scanner.core.properties import PropertyName
from tests.fakes.worlds import gguf_bytes
from tests.integration.test_detected_base import (
    QWEN_2_5_7B,
    component,
    derived_refs,
    with_config,
)
from tests.integration.test_detected_base import (
    domestic as domestic,  # the fixture
)
from tests.integration.test_undeclared_lineage import (
    ORIGINS,
    RU_ATTESTATION,
    props,
    scan_tiers,
    sovereign_rules,
    tokenizer,
)

if TYPE_CHECKING:
    from pathlib import Path

#: A vocabulary of six Russian pieces: a decoy for a tokenizer file nothing loads.
DECOY_VOCAB_TXT = "[PAD]\n[UNK]\n▁и\n▁в\n▁не\n▁на\n"


def byte_level() -> dict[int, str]:
    """GPT-2's published byte-to-character table (``bytes_to_unicode``), which byte-level BPE
    vocabularies (Qwen's ``vocab.json``, GGUF ``gpt2`` tokens) spell their tokens in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def qwen_tokens(qwen_tiktoken: Path) -> list[str]:
    """Qwen's tokens in id order, spelt byte-level."""
    table = byte_level()
    ranked = sorted(
        (int(rank), base64.b64decode(token))
        for token, rank in (line.split() for line in qwen_tiktoken.read_bytes().splitlines())
    )
    return ["".join(table[b] for b in token) for _, token in ranked]


def test_shuffled_ids_with_tokens_appended(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # Qwen's tokens under shuffled ids (the embedding rows permuted alike: the model behaves
    # the same), 8,000 tokens no merge produces appended, vocab_size raised to match.
    tokens = qwen_tokens(qwen_tiktoken)
    ids = list(range(len(tokens) + 8000))
    random.Random(1).shuffle(ids)  # noqa: S311 (a reproducible order, not a secret)
    spelt = [*tokens, *(f"hidden{n}" for n in range(8000))]
    (domestic / "vocab.json").write_text(json.dumps(dict(zip(spelt, ids, strict=True))))
    with_config(domestic, {**QWEN_2_5_7B, "vocab_size": 159744})
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] != "PASS"
    assert props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY) == ["qwen2 (reordered, medium)"]
    assert "pkg:huggingface/Qwen/Qwen2.5-7B" in derived_refs(bom)


def test_a_decoy_named_in_the_tokenizer_config(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # tokenizer_config.json names a six-token decoy; the fast tokenizer loads Qwen's anyway.
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    (domestic / "vocab_ru.txt").write_text(DECOY_VOCAB_TXT)
    config = {"tokenizer_class": "Qwen2Tokenizer", "vocab_file": "vocab_ru.txt"}
    (domestic / "tokenizer_config.json").write_text(json.dumps(config))
    with_config(domestic, {**QWEN_2_5_7B, "vocab_size": 151680})  # trimmed: widths only
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert "SOV005" in sovereign_rules(tmp_path)
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    assert "detected:architecture+vocabulary" in props(base, PropertyName.RELATION)


def test_a_gguf_file_not_named_gguf(domestic: Path, qwen_tiktoken: Path, tmp_path: Path) -> None:
    # llama.cpp opens a GGUF file by path, whatever it is called.
    (domestic / "config.json").unlink()
    content = gguf_bytes(
        [
            ("general.architecture", "qwen2"),
            ("qwen2.embedding_length", 3584),
            ("qwen2.block_count", 28),
            ("qwen2.attention.head_count", 28),
            ("qwen2.attention.head_count_kv", 4),
            ("qwen2.feed_forward_length", 18944),
            ("tokenizer.ggml.model", "gpt2"),
            ("tokenizer.ggml.tokens", qwen_tokens(qwen_tiktoken)),
        ]
    )
    (domestic / "weights.dat").write_bytes(content)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert props(tokenizer(bom), PropertyName.TOKENIZER_FAMILY) == ["qwen2 (identical, high)"]


def test_a_symlinked_tokenizer_file_beside_a_decoy(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # qwen.tiktoken is a symlink to a content-addressed blob inside the folder (as a Hugging
    # Face cache lays files out); a decoy vocab.txt sits beside it.
    store = domestic / "store"
    store.mkdir()
    blob = store / hashlib.sha256(qwen_tiktoken.read_bytes()).hexdigest()
    shutil.copy(qwen_tiktoken, blob)
    (domestic / "qwen.tiktoken").symlink_to(blob.relative_to(domestic))
    (domestic / "vocab.txt").write_text(DECOY_VOCAB_TXT)
    with_config(domestic, {**QWEN_2_5_7B, "vocab_size": 151680})
    verdicts, _ = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"


def test_the_model_in_a_subfolder_beside_a_decoy(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # from_pretrained(folder, subfolder="llm") loads Qwen's configuration and tokenizer; the
    # top level holds only a decoy vocab.txt.
    (domestic / "config.json").unlink()
    (domestic / "llm").mkdir()
    with_config(domestic / "llm", QWEN_2_5_7B)
    shutil.copy(qwen_tiktoken, domestic / "llm" / "qwen.tiktoken")
    (domestic / "vocab.txt").write_text(DECOY_VOCAB_TXT)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "FAIL"
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-7B"}


def test_the_laundered_qwen_in_a_hugging_face_cache(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # The case laid out as a Hugging Face cache: every file a symlink to its blob.
    from tests.integration.test_scan_cli import scan

    with_config(domestic, QWEN_2_5_7B)
    shutil.copy(qwen_tiktoken, domestic / "qwen.tiktoken")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "models--acme--model"
    snapshot = repo / "snapshots" / commit
    for folder in (snapshot, repo / "blobs", repo / "refs"):
        folder.mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for path in domestic.iterdir():
        content = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        (snapshot / path.name).symlink_to(f"../../blobs/{blob.name}")
    (tmp_path / "origins.yaml").write_text(ORIGINS)
    (tmp_path / "attestation.yaml").write_text(RU_ATTESTATION)
    out = tmp_path / "bom.cdx.json"
    result = scan(
        f"hf-cache:{tmp_path / 'hf'}",
        *("--offline", "-o", str(out), "--origins", str(tmp_path / "origins.yaml")),
        *("--attestation", str(tmp_path / "attestation.yaml")),
    )
    assert result.exit_code in {0, 1, 3}, result.output
    bom = json.loads(out.read_text())
    verdicts = {
        p["name"].rsplit(":", 1)[1]: p["value"]
        for p in bom["metadata"]["properties"]
        if p["name"].startswith("sovscan:verdict:")
    }
    assert verdicts["sovereign"] == "FAIL"
    assert "pkg:huggingface/Qwen/Qwen2.5-7B" in derived_refs(bom)


def test_a_shuffled_copy_with_tokens_dropped_beside_the_publisher_s_widths(
    domestic: Path, qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # 10% of Qwen's tokens dropped and the rest shuffled: too few for a shuffled copy alone,
    # but with Qwen's widths it is no vocabulary of its own.
    tokens = qwen_tokens(qwen_tiktoken)
    chance = random.Random(2)  # noqa: S311 (a reproducible order, not a secret)
    kept = [token for token in tokens if chance.random() >= 0.1]
    chance.shuffle(kept)
    (domestic / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(kept)}))
    with_config(domestic, {**QWEN_2_5_7B, "vocab_size": len(kept)})
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert verdicts["sovereign"] == "UNKNOWN"
    base = component(bom, "pkg:huggingface/Qwen/Qwen2.5-7B")
    # The vocabulary's evidence joins the shape's: it holds most of Qwen's tokens.
    assert "detected:architecture+vocabulary" in props(base, PropertyName.RELATION)


def test_a_composite_config_s_text_model_counts_beside_decoy_widths(
    domestic: Path, tmp_path: Path
) -> None:
    # LLaVA loads text_config; the top-level widths are a decoy no loader reads.
    decoy = {"hidden_size": 1000, "num_hidden_layers": 3, "num_attention_heads": 10}
    with_config(domestic, {**decoy, "model_type": "llava", "text_config": QWEN_2_5_7B})
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-7B"}
    assert verdicts["sovereign"] == "UNKNOWN"


def test_tensors_under_an_adapter_s_name_and_a_decoy_stack(domestic: Path, tmp_path: Path) -> None:
    # Qwen2.5-0.5B's tensors in a file named like an adapter's, with a stack of 100 one-tensor
    # blocks added to outnumber its 24 layers; no config.json.
    from tests.integration.test_detected_base import write_qwen_checkpoint

    (domestic / "config.json").unlink()
    (domestic / "model.safetensors").unlink()
    path = write_qwen_checkpoint(domestic / "adapter_model-00001-of-00001.safetensors")
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + header_size])
    end = max(entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__")
    for index in range(100):
        header[f"model.h.{index}.w"] = {
            "dtype": "BF16",
            "shape": [1],
            "data_offsets": [end, end + 2],
        }
        end += 2
    raw = json.dumps(header).encode()
    with path.open("wb") as stream:
        stream.write(len(raw).to_bytes(8, "little") + raw)
        stream.truncate(8 + len(raw) + end)
    verdicts, bom = scan_tiers(domestic, tmp_path)
    assert derived_refs(bom) == {"pkg:huggingface/Qwen/Qwen2.5-0.5B"}
    assert verdicts["sovereign"] == "UNKNOWN"
