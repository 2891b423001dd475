"""Rebuild the example model folders (tiny, but every file is in its real format).

Run ``python examples/build_examples.py``; the output is deterministic, so a rebuild leaves git
clean. The weights are a few hand-made tensors: the point is the metadata a scanner reads.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def safetensors_bytes(tensors: dict[str, tuple[str, list[int]]], metadata: dict[str, str]) -> bytes:
    """A valid safetensors file: u64 header length, JSON header, zero-filled buffer."""
    itemsize = {"F32": 4, "F16": 2, "BF16": 2}
    header: dict[str, object] = {"__metadata__": metadata}
    offset = 0
    for name, (dtype, shape) in sorted(tensors.items()):
        count = 1
        for dim in shape:
            count *= dim
        size = count * itemsize[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def gguf_bytes(kv: list[tuple[str, object]]) -> bytes:
    """A valid GGUF v3 file with metadata only (no tensors)."""

    def string(value: str) -> bytes:
        data = value.encode()
        return struct.pack("<Q", len(data)) + data

    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for key, value in kv:
        out += string(key)
        if isinstance(value, bool):
            out += struct.pack("<IB", 7, value)
        elif isinstance(value, int):
            out += struct.pack("<II", 4, value)
        elif isinstance(value, str):
            out += struct.pack("<I", 8) + string(value)
        elif isinstance(value, list):
            out += struct.pack("<IIQ", 9, 8, len(value)) + b"".join(string(v) for v in value)
        else:
            raise TypeError(key)
    return out


def write(folder: Path, files: dict[str, str | bytes | object]) -> None:
    """Write text, bytes or JSON files into ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", "utf-8")


RU_LORA_CARD = """\
---
base_model: meta-llama/Meta-Llama-3-8B-Instruct
base_model_relation: adapter
library_name: peft
license: llama3
language:
- ru
datasets:
- IlyaGusev/ru_turbo_saiga
- IlyaGusev/ru_sharegpt_cleaned
pipeline_tag: text-generation
tags:
- lora
- russian
---

# example-org/ru-chat-lora

A Russian chat LoRA on Meta's Llama 3 8B Instruct: a domestic adapter on a foreign base.
(An example folder for sovscan; the adapter weights are a few zero tensors.)
"""

RU_CHAIN_CARD = """\
---
base_model: yandex/YandexGPT-5-Lite-8B-pretrain
license: other
license_name: yandexgpt-5-lite-8b
license_link: LICENSE
language:
- ru
datasets:
- ai-forever/MERA
pipeline_tag: text-generation
---

# example-org/ru-legal-8b

A full fine-tune of YandexGPT-5-Lite-8B-pretrain on Russian legal text: an all-domestic chain.
(An example folder for sovscan; the weights are a few zero tensors.)
"""

GGUF_CARD = """\
---
base_model: example-org/ru-legal-8b
base_model_relation: quantized
license: other
license_name: yandexgpt-5-lite-8b
language:
- ru
tags:
- gguf
---

# example-org/ru-legal-8b-GGUF

A Q4_K_M GGUF conversion of example-org/ru-legal-8b (metadata only; no tensors).
"""


def build() -> None:
    """Write the three example folders."""
    lora = HERE / "ru-chat-lora"
    write(
        lora,
        {
            "README.md": RU_LORA_CARD,
            "adapter_config.json": {
                "base_model_name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct",
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "r": 8,
                "lora_alpha": 16,
                "target_modules": ["q_proj", "v_proj"],
                "revision": None,
            },
            "adapter_model.safetensors": safetensors_bytes(
                {
                    "base_model.model.layers.0.self_attn.q_proj.lora_A.weight": ("F32", [8, 64]),
                    "base_model.model.layers.0.self_attn.q_proj.lora_B.weight": ("F32", [64, 8]),
                },
                {"format": "pt"},
            ),
            "tokenizer_config.json": {
                "name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct",
                "tokenizer_class": "PreTrainedTokenizerFast",
                "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
            },
        },
    )
    chain = HERE / "ru-legal-8b"
    write(
        chain,
        {
            "README.md": RU_CHAIN_CARD,
            "config.json": {
                "_name_or_path": "yandex/YandexGPT-5-Lite-8B-pretrain",
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "hidden_size": 64,
                "num_hidden_layers": 1,
                "torch_dtype": "bfloat16",
                "transformers_version": "4.51.3",
            },
            "generation_config.json": {"bos_token_id": 1, "transformers_version": "4.51.3"},
            "model.safetensors": safetensors_bytes(
                {
                    "model.embed_tokens.weight": ("BF16", [128, 64]),
                    "model.layers.0.mlp.up_proj.weight": ("BF16", [128, 64]),
                },
                {"format": "pt"},
            ),
            "tokenizer_config.json": {
                "name_or_path": "yandex/YandexGPT-5-Lite-8B-pretrain",
                "tokenizer_class": "LlamaTokenizer",
            },
            "LICENSE": "YandexGPT-5-Lite-8B license (placeholder text for the example).\n",
        },
    )
    gguf = HERE / "ru-legal-8b-gguf"
    write(
        gguf,
        {
            "README.md": GGUF_CARD,
            "ru-legal-8b.Q4_K_M.gguf": gguf_bytes(
                [
                    ("general.architecture", "llama"),
                    ("general.name", "Ru Legal 8B"),
                    ("general.organization", "Example-Org"),
                    ("general.license", "other"),
                    ("general.source.huggingface.repository", "example-org/ru-legal-8b"),
                    ("general.base_model.count", 1),
                    ("general.base_model.0.name", "YandexGPT 5 Lite 8B Pretrain"),
                    ("general.base_model.0.organization", "Yandex"),
                    (
                        "general.base_model.0.repo_url",
                        "https://huggingface.co/yandex/YandexGPT-5-Lite-8B-pretrain",
                    ),
                    ("general.file_type", 15),
                    ("tokenizer.ggml.model", "llama"),
                    ("tokenizer.ggml.pre", "default"),
                    ("general.languages", ["ru"]),
                ]
            ),
        },
    )


if __name__ == "__main__":
    build()
