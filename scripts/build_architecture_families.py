"""Build scanner/sources/data/architecture_families.json from published model configurations.

Usage: python scripts/build_architecture_families.py WHEEL [--configs DIR] [--as-of YYYY-MM-DD]

WHEEL is litgpt's wheel from PyPI (``pip download --no-deps litgpt``). Its ``litgpt/config.py``
transcribes the ``config.json`` of each Hub model it supports (each entry names its repo and
links the file), and its ``Config`` class fills the defaults those files leave out. That module
is a table of literals and is run here, from the wheel, to read the table: it imports only the
standard library, PyYAML and typing_extensions. Nothing from a scanned model is ever run.

Kept: every model whose repo publishes its own weights (a pretrained base or the same
publisher's instruct version), from-scratch reproductions of another architecture included
(OpenLLaMA, TinyLlama: their shape is the point). Left out (``DERIVED``): fine-tunes and
re-uploads of another publisher's model, which only repeat their base's shape.

``--configs DIR`` adds the bases litgpt does not hold (``PUBLISHED_CONFIGS``) from their own
``config.json`` files, read by sovscan's reader, each with the commit it was taken at: DIR holds
them as ``ORG__NAME/config.json`` (the layout of the scanner's test corpus).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Final

from scanner.formats.model.hf_config import read_model_config
from scanner.sources.architecture_families import parse_shapes

OUTPUT: Final = (
    Path(__file__).resolve().parents[1] / "scanner/sources/data/architecture_families.json"
)
_MODULE: Final = "litgpt/config.py"
#: Repos of the table that fine-tune or re-upload another publisher's model, and the base
#: their name or model card gives.
DERIVED: Final = {
    "garage-bAInd/Platypus-30B": "LLaMA-30B (Platypus fine-tunes)",
    "garage-bAInd/Platypus2-7B": "meta-llama/Llama-2-7b-hf",
    "garage-bAInd/Platypus2-13B": "meta-llama/Llama-2-13b-hf",
    "garage-bAInd/Platypus2-70B": "meta-llama/Llama-2-70b-hf",
    "garage-bAInd/Camel-Platypus2-13B": "meta-llama/Llama-2-13b-hf",
    "garage-bAInd/Camel-Platypus2-70B": "meta-llama/Llama-2-70b-hf",
    "garage-bAInd/Stable-Platypus2-13B": "meta-llama/Llama-2-13b-hf",
    "garage-bAInd/Platypus2-70B-instruct": "meta-llama/Llama-2-70b-hf",
    "stabilityai/FreeWilly2": "meta-llama/Llama-2-70b-hf",
    "togethercomputer/LLaMA-2-7B-32K": "meta-llama/Llama-2-7b-hf",
    "Trelis/Llama-2-7b-chat-hf-function-calling-v2": "meta-llama/Llama-2-7b-chat-hf",
    "unsloth/Mistral-7B-v0.2": "mistralai/Mistral-7B-v0.2 (a re-upload)",
    "nvidia/Llama-3.1-Nemotron-70B-Instruct-HF": "meta-llama/Llama-3.1-70B-Instruct",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "meta-llama/Llama-3.1-8B",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B": "meta-llama/Llama-3.3-70B-Instruct",
}


#: Bases litgpt's table lacks: the repo, where its config.json was taken, and the URL.
PUBLISHED_CONFIGS: Final = {
    "deepseek-ai/DeepSeek-R1": (
        "config.json of deepseek-ai/DeepSeek-R1 at Hub commit "
        "4dc77d4932316bdaa6f255ee7ad2ea3733a8ca23 (GitHub mirror itounagi0116/DeepSeek-R1; its "
        "card: trained based on DeepSeek-V3-Base)",
        "https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/"
        "4dc77d4932316bdaa6f255ee7ad2ea3733a8ca23/config.json",
    ),
    "Qwen/Qwen-7B-Chat": (
        "config.json of Qwen/Qwen-7B-Chat (its Hub history mirrored as GitHub "
        "undefdev/Qwen-7B-Chat, commit 04df5dd57b94b9ed20498ee42063ea9e164f98b3)",
        "https://huggingface.co/Qwen/Qwen-7B-Chat/blob/main/config.json",
    ),
}


def main() -> int:
    """Read the wheel's table and write the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="litgpt-*.whl from PyPI")
    parser.add_argument("--as-of", default="2026-12-05", help="the date the sources were read")
    parser.add_argument("--configs", type=Path, help="a folder of ORG__NAME/config.json files")
    args = parser.parse_args()
    version = args.wheel.name.split("-")[1]
    source = f"PyPI litgpt {version}: {_MODULE}"
    shapes = [
        entry
        for entry in _entries(args.wheel)
        if entry["repo"] not in DERIVED and entry["repo"].count("/") == 1
    ]
    if args.configs is not None:
        held = {entry["repo"] for entry in shapes}
        shapes += [e for e in _published_configs(args.configs) if e["repo"] not in held]
    document = {
        "about": (
            "Shapes of published transformer configurations: widths, depth, heads, "
            "vocabulary size and RoPE base of each Hub model, as litgpt transcribes its "
            "config.json. Built by scripts/build_architecture_families.py."
        ),
        "source": source,
        "as_of": args.as_of,
        "left_out": DERIVED,
        "shapes": shapes,
    }
    parse_shapes(document)  # what the scanner will load
    OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{len(shapes)} shapes from {source} -> {OUTPUT}", file=sys.stderr)
    return 0


def _entries(wheel: Path) -> list[dict[str, Any]]:
    """One entry per model of litgpt's table, its defaults filled by litgpt's ``Config``."""
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "litgpt_config.py"
        path.write_bytes(archive.read(_MODULE))
        spec = importlib.util.spec_from_file_location("litgpt_config", path)
        assert spec is not None  # noqa: S101
        assert spec.loader is not None  # noqa: S101
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    found: dict[str, dict[str, Any]] = {}
    for raw in module.configs:
        config = module.Config(**raw)
        hf = config.hf_config
        repo = f"{hf['org']}/{hf['name']}"
        found.setdefault(
            repo,
            {
                "id": config.name,
                "repo": repo,
                "hidden_size": config.n_embd,
                "layers": config.n_layer,
                "heads": config.n_head,
                "kv_heads": config.n_query_groups,
                "intermediate_size": config.intermediate_size,
                "vocab_size": config.padded_vocab_size,
                "rope_theta": config.rope_base,
                "experts": config.n_expert,
                "context": config.block_size,
                "config": f"https://huggingface.co/{repo}/blob/main/config.json",
            },
        )
    return list(found.values())


def _published_configs(folder: Path) -> list[dict[str, Any]]:
    """An entry per ``PUBLISHED_CONFIGS`` repo, from its config.json in ``folder``."""
    found = []
    for repo, (source, url) in PUBLISHED_CONFIGS.items():
        path = folder / repo.replace("/", "__") / "config.json"
        shape = read_model_config(path).shape
        if shape is None:
            raise SystemExit(f"{path}: no shape")
        found.append(
            {
                "id": repo.partition("/")[2],
                "repo": repo,
                "hidden_size": shape.hidden_size,
                "layers": shape.layers,
                "heads": shape.heads,
                "kv_heads": shape.kv_heads,
                "intermediate_size": shape.intermediate_size,
                "vocab_size": shape.vocab_size,
                "rope_theta": shape.rope_theta,
                "experts": shape.experts,
                "context": shape.context,
                "config": url,
                "source": source,
            }
        )
    return found


if __name__ == "__main__":
    sys.exit(main())
