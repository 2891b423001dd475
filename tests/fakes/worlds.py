"""Ready-made fake-Hub worlds: lineage chains, merges, adapters, quantized re-uploads and failures.

Each builder returns a fresh :class:`~tests.fakes.hub.World` whose ``entry`` is the repo a scan
starts from and whose ``lineage`` is the ground truth (every edge the world's metadata declares,
including edges to repos that are deliberately absent). Namespaces are real Hub organisations
(meta-llama, Qwen, yandex, ai-forever, TheBloke, mistralai, microsoft, Vikhrmodels …) so that
attribution downstream has something to attribute; the repos, commits and digests are synthetic.
Weights are LFS entries declared by size and SHA-256 only: nothing realistic is ever served.
For a benchmark, set ``world.latency_s`` (e.g. 0.05) on any of them.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from tests.fakes.hub import FakeFile, FakeRepo, LineageEdge, World, fake_sha256

SHARD_SIZE: Final = 5_000_000_000  # a 5 GB safetensors shard
# (config.json model_type, architectures[0]) of the families used below.
LLAMA: Final = ("llama", "LlamaForCausalLM")
QWEN2: Final = ("qwen2", "Qwen2ForCausalLM")
MISTRAL: Final = ("mistral", "MistralForCausalLM")
GPT2: Final = ("gpt2", "GPT2LMHeadModel")
PHI3_ARCH: Final = ("phi3", "Phi3ForCausalLM")
T5: Final = ("t5", "T5ForConditionalGeneration")
PYTHON_TRAP: Final = b'raise SystemExit("sovscan must never import or execute scanned code")\n'


def weights(repo_id: str, path: str = "model.safetensors", size: int = SHARD_SIZE) -> FakeFile:
    """An LFS weight entry (size and a deterministic SHA-256, no content)."""
    return FakeFile(path, size=size, lfs_sha256=fake_sha256(repo_id, path))


def transformers_repo(
    repo_id: str,
    *,
    base: str | Sequence[str] | None = None,
    license_id: str = "apache-2.0",
    name_or_path: str | None = None,
    arch: tuple[str, str] = LLAMA,
    card: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    files: Sequence[FakeFile] | None = None,
    pipeline_tag: str = "text-generation",
    **repo: Any,
) -> FakeRepo:
    """A transformers model repo: card, config.json and one 5 GB safetensors shard.

    ``base`` becomes the card's base_model (a list for merges); ``name_or_path`` (default: the
    single base, else a local checkpoint path) becomes config.json's ``_name_or_path``.
    """
    base_list = [base] if isinstance(base, str) else list(base or [])
    card_data: dict[str, Any] = {"license": license_id, "library_name": "transformers"}
    if base_list:
        card_data["base_model"] = base_list[0] if isinstance(base, str) else base_list
    card_data |= dict(card or {})
    default_path = base_list[0] if len(base_list) == 1 else f"/data/checkpoints/{repo_id}"
    config_data: dict[str, Any] = {
        "_name_or_path": name_or_path or default_path,
        "architectures": [arch[1]],
        "model_type": arch[0],
        "torch_dtype": "bfloat16",
        "transformers_version": "4.44.2",
    }
    config_data |= dict(config or {})
    return FakeRepo(
        repo_id,
        files=tuple(files if files is not None else (weights(repo_id),)),
        card_data=card_data,
        config=config_data,
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        **repo,
    )


def _finetune_edges(pairs: Sequence[tuple[str, str]]) -> tuple[LineageEdge, ...]:
    return tuple(LineageEdge(child=c, parent=p, relation="finetune") for c, p in pairs)


def chain(depth: int = 3, *, org: str = "ai-forever") -> World:
    """A linear finetune chain ``ORG/m0 → ORG/m1 → … → ORG/m{depth}`` (m0 is the entry).

    Every repo has a card (base_model = the next one, apache-2.0), a config.json whose
    ``_name_or_path`` names the parent (the root's is a local checkpoint path) and a 5 GB
    model.safetensors LFS entry. ``depth`` is the number of base_model hops.
    """
    if depth < 0:
        raise ValueError("depth must be >= 0")
    ids = [f"{org}/m{i}" for i in range(depth + 1)]
    world = World(entry=ids[0])
    for i, repo_id in enumerate(ids):
        world.add(transformers_repo(repo_id, base=ids[i + 1] if i < depth else None))
    world.lineage = _finetune_edges(list(itertools.pairwise(ids)))
    return world


QWEN_ROOT: Final = "Qwen/Qwen2.5-7B"
MERGE_PARENTS: Final = (
    ("Qwen/Qwen2.5-7B-Instruct", QWEN_ROOT),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", QWEN_ROOT),
    # Derived from another parent: the merge's ancestry is a DAG with a shared ancestor.
    ("Vikhrmodels/Vikhr-Qwen-2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
)
MERGE_ID: Final = "mergekit-community/Qwen2.5-7B-della-merge"


def merge(parents: int = 3) -> World:
    """A mergekit merge (``base_model`` is a list) of ``parents`` Qwen2.5-7B derivatives.

    With three or more parents the ancestry is a diamond: Vikhrmodels/Vikhr-Qwen-2.5-7B-Instruct
    derives from Qwen/Qwen2.5-7B-Instruct, itself a parent; everything ends at Qwen/Qwen2.5-7B.
    The merge repo ships mergekit_config.yml naming the parents, as mergekit writes it.
    """
    if parents < 2:
        raise ValueError("a merge has at least two parents")
    pairs = list(MERGE_PARENTS[:parents]) + [
        (f"ai-forever/Qwen2.5-7B-ru-part{i}", QWEN_ROOT) for i in range(len(MERGE_PARENTS), parents)
    ]
    parent_ids = [child for child, _ in pairs]
    recipe = "models:\n" + "".join(f"  - model: {p}\n" for p in parent_ids)
    recipe += f"merge_method: della\nbase_model: {QWEN_ROOT}\ndtype: bfloat16\n"
    world = World(entry=MERGE_ID)
    world.add(
        transformers_repo(
            MERGE_ID,
            base=parent_ids,
            card={"tags": ["mergekit", "merge"]},
            files=(weights(MERGE_ID), FakeFile("mergekit_config.yml", recipe.encode())),
            tags=("mergekit", "merge"),
            arch=QWEN2,
        ),
        transformers_repo(QWEN_ROOT, arch=QWEN2),
        *(transformers_repo(child, base=parent, arch=QWEN2) for child, parent in pairs),
    )
    world.lineage = tuple(
        LineageEdge(child=MERGE_ID, parent=p, relation="merge") for p in parent_ids
    ) + _finetune_edges(pairs)
    return world


LLAMA_BASE: Final = "meta-llama/Llama-3.1-8B"
LLAMA_INSTRUCT: Final = "meta-llama/Llama-3.1-8B-Instruct"
ADAPTER_ID: Final = "ai-forever/llama-3.1-8b-ru-lora"


def adapter_on_gated() -> World:
    """A PEFT LoRA adapter whose base, meta-llama/Llama-3.1-8B-Instruct, is gated.

    Both meta-llama repos are gated ("manual"): model_info works, every /resolve/ answers
    ``GatedRepo`` (401 anonymous, 403 with a token). The adapter has adapter_config.json
    (base_model_name_or_path, revision null) and a small adapter_model.safetensors, no config.json.
    """
    adapter_config = {
        "base_model_name_or_path": LLAMA_INSTRUCT,
        "revision": None,
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": 16,
        "lora_alpha": 32,
        "target_modules": ["q_proj", "v_proj"],
        "peft_version": "0.12.0",
    }
    adapter = FakeRepo(
        ADAPTER_ID,
        files=(
            FakeFile("adapter_config.json", _json(adapter_config)),
            weights(ADAPTER_ID, "adapter_model.safetensors", 167_832_240),
        ),
        card_data={"license": "llama3.1", "library_name": "peft", "base_model": LLAMA_INSTRUCT},
        library_name="peft",
        pipeline_tag="text-generation",
    )
    world = World(entry=ADAPTER_ID)
    world.add(
        adapter,
        transformers_repo(LLAMA_INSTRUCT, base=LLAMA_BASE, license_id="llama3.1", gated="manual"),
        transformers_repo(LLAMA_BASE, license_id="llama3.1", gated="manual"),
    )
    world.lineage = (
        LineageEdge(child=ADAPTER_ID, parent=LLAMA_INSTRUCT, relation="adapter"),
        *_finetune_edges([(LLAMA_INSTRUCT, LLAMA_BASE)]),
    )
    return world


MISTRAL_INSTRUCT: Final = "mistralai/Mistral-7B-Instruct-v0.2"
MISTRAL_BASE: Final = "mistralai/Mistral-7B-v0.1"
GGUF_ID: Final = "TheBloke/Mistral-7B-Instruct-v0.2-GGUF"
GPTQ_ID: Final = "TheBloke/Mistral-7B-Instruct-v0.2-GPTQ"


def quantized_reupload() -> World:
    """TheBloke-style re-uploads of mistralai/Mistral-7B-Instruct-v0.2: GGUF (entry) and GPTQ.

    The GGUF repo has only .gguf files (Q4_K_M, Q5_K_M), a card with base_model, model_creator
    and quantized_by, and the Hub's ``gguf`` summary; the GPTQ repo has a config.json with
    ``quantization_config.quant_method = "gptq"``. Both are "quantized" children of the instruct
    model, itself a finetune of mistralai/Mistral-7B-v0.1.
    """
    card = {
        "base_model": MISTRAL_INSTRUCT,
        "inference": False,
        "license": "apache-2.0",
        "model_creator": "Mistral AI_",
        "model_name": "Mistral 7B Instruct v0.2",
        "model_type": "mistral",
        "quantized_by": "TheBloke",
        "prompt_template": "<s>[INST] {prompt} [/INST]\n",
    }
    gguf = FakeRepo(
        GGUF_ID,
        files=(
            weights(GGUF_ID, "mistral-7b-instruct-v0.2.Q4_K_M.gguf", 4_368_439_584),
            weights(GGUF_ID, "mistral-7b-instruct-v0.2.Q5_K_M.gguf", 5_131_409_696),
        ),
        card_data=card,
        config={"model_type": "mistral"},
        library_name="transformers",
        extra={"gguf": {"total": 7_241_732_096, "architecture": "llama", "context_length": 32768}},
    )
    gptq_config = {
        "quantization_config": {
            "bits": 4,
            "group_size": 128,
            "damp_percent": 0.1,
            "desc_act": True,
            "quant_method": "gptq",
        }
    }
    world = World(entry=GGUF_ID)
    world.add(
        gguf,
        transformers_repo(
            GPTQ_ID,
            base=MISTRAL_INSTRUCT,
            card={k: v for k, v in card.items() if k != "base_model"},
            config=gptq_config,
            files=(weights(GPTQ_ID, "model.safetensors", 4_158_662_000),),
            arch=MISTRAL,
        ),
        transformers_repo(MISTRAL_INSTRUCT, base=MISTRAL_BASE, arch=MISTRAL),
        transformers_repo(MISTRAL_BASE, arch=MISTRAL),
    )
    world.lineage = (
        LineageEdge(child=GGUF_ID, parent=MISTRAL_INSTRUCT, relation="quantized"),
        LineageEdge(child=GPTQ_ID, parent=MISTRAL_INSTRUCT, relation="quantized"),
        *_finetune_edges([(MISTRAL_INSTRUCT, MISTRAL_BASE)]),
    )
    return world


MISSING_LEAF: Final = "ai-forever/rugpt3-chat-sft"
MISSING_MIDDLE: Final = "ai-forever/rugpt3-ru-pretrain-v2"
MISSING_ROOT: Final = "ai-forever/rugpt3-deleted-base"


def missing_ancestor() -> World:
    """A chain whose grandparent is gone: every request for ai-forever/rugpt3-deleted-base is a
    404 ``RepoNotFound``, though the middle repo's card and config still name it."""
    world = World(entry=MISSING_LEAF)
    world.add(
        transformers_repo(MISSING_LEAF, base=MISSING_MIDDLE, license_id="mit", arch=GPT2),
        transformers_repo(MISSING_MIDDLE, base=MISSING_ROOT, license_id="mit", arch=GPT2),
    )
    world.lineage = _finetune_edges(
        [(MISSING_LEAF, MISSING_MIDDLE), (MISSING_MIDDLE, MISSING_ROOT)]
    )
    return world


YANDEX_INSTRUCT: Final = "yandex/YandexGPT-5-Lite-8B-instruct"
YANDEX_PRETRAIN: Final = "yandex/YandexGPT-5-Lite-8B-pretrain"


def rate_limited(times: int = 1) -> World:
    """yandex/YandexGPT-5-Lite-8B-instruct → …-pretrain, where the pretrain repo's model_info
    answers 429 (``Retry-After: 0``) ``times`` times before succeeding. model_info does not
    retry by itself: the client under test has to."""
    world = World(entry=YANDEX_INSTRUCT)
    license_card = {"license_name": "yandexgpt-5-lite-8b", "license_link": "LICENSE"}
    world.add(
        transformers_repo(
            YANDEX_INSTRUCT, base=YANDEX_PRETRAIN, license_id="other", card=license_card
        ),
        transformers_repo(YANDEX_PRETRAIN, license_id="other", card=license_card),
    )
    world.rate_limit[f"/api/models/{YANDEX_PRETRAIN}"] = times
    world.lineage = _finetune_edges([(YANDEX_INSTRUCT, YANDEX_PRETRAIN)])
    return world


def cycle(length: int = 2) -> World:
    """A lineage cycle ai-forever/loop-0 → loop-1 → … → loop-0 (``length`` repos; 1 = self-loop)."""
    if length < 1:
        raise ValueError("a cycle has at least one repo")
    ids = [f"ai-forever/loop-{i}" for i in range(length)]
    world = World(entry=ids[0])
    pairs = [(child, ids[(i + 1) % length]) for i, child in enumerate(ids)]
    world.add(*(transformers_repo(child, base=parent) for child, parent in pairs))
    world.lineage = _finetune_edges(pairs)
    return world


PHI3: Final = "microsoft/Phi-3-mini-4k-instruct"
PHI3_FINETUNE: Final = "ai-forever/phi3-mini-ru-sft"
TOKENIZER_CODE_REPO: Final = "Vikhrmodels/ru-tokenizer-code"


def remote_code() -> World:
    """A finetune whose code lives in other repos (``trust_remote_code`` territory).

    ai-forever/phi3-mini-ru-sft has no .py file of its own: its config.json ``auto_map`` points to
    ``microsoft/Phi-3-mini-4k-instruct--modeling_phi3.Phi3ForCausalLM`` (and the configuration
    class), its tokenizer_config.json ``auto_map`` to
    ``Vikhrmodels/ru-tokenizer-code--tokenization_ru.RuTokenizer``, a repo holding code only.
    Every .py served raises SystemExit if anything ever imports it.
    """
    auto_map = {
        "AutoConfig": f"{PHI3}--configuration_phi3.Phi3Config",
        "AutoModelForCausalLM": f"{PHI3}--modeling_phi3.Phi3ForCausalLM",
    }
    tokenizer_config = {
        "tokenizer_class": "RuTokenizer",
        "auto_map": {
            "AutoTokenizer": [f"{TOKENIZER_CODE_REPO}--tokenization_ru.RuTokenizer", None]
        },
        "name_or_path": PHI3_FINETUNE,
    }
    finetune = transformers_repo(
        PHI3_FINETUNE,
        base=PHI3,
        config={"auto_map": auto_map},
        files=(
            weights(PHI3_FINETUNE),
            FakeFile("tokenizer_config.json", _json(tokenizer_config)),
        ),
        license_id="mit",
        arch=PHI3_ARCH,
    )
    local_map = {k: v.split("--", 1)[1] for k, v in auto_map.items()}
    base = transformers_repo(
        PHI3,
        config={"auto_map": local_map},
        files=(
            weights(PHI3),
            FakeFile("modeling_phi3.py", PYTHON_TRAP),
            FakeFile("configuration_phi3.py", PYTHON_TRAP),
        ),
        license_id="mit",
        arch=PHI3_ARCH,
    )
    code = FakeRepo(
        TOKENIZER_CODE_REPO,
        files=(FakeFile("tokenization_ru.py", PYTHON_TRAP),),
        card_data={"license": "apache-2.0"},
    )
    world = World(entry=PHI3_FINETUNE)
    world.add(finetune, base, code)
    world.lineage = (
        LineageEdge(child=PHI3_FINETUNE, parent=PHI3, relation="finetune"),
        LineageEdge(child=PHI3_FINETUNE, parent=PHI3, relation="remote_code"),
        LineageEdge(child=PHI3_FINETUNE, parent=TOKENIZER_CODE_REPO, relation="remote_code"),
    )
    return world


FRED: Final = "ai-forever/FRED-T5-1.7B"
FRED_INSTRUCT: Final = "ai-forever/FRED-T5-1.7B-instruct"
DATASETS: Final = (
    ("ai-forever/MERA", "mit", "ai-forever"),
    ("IlyaGusev/ru_turbo_saiga", "cc-by-4.0", "IlyaGusev"),
    ("HuggingFaceFW/fineweb-2", "odc-by", "HuggingFaceFW"),
)
MISSING_DATASET: Final = "ai-forever/removed-instructions-ru"


def with_datasets() -> World:
    """ai-forever/FRED-T5-1.7B-instruct, whose card lists four datasets: three dataset repos
    (each with author, license card and a parquet LFS shard) and one that is gone (404)."""
    dataset_ids = [d for d, _, _ in DATASETS] + [MISSING_DATASET]
    world = World(entry=FRED_INSTRUCT)
    world.add(
        transformers_repo(
            FRED_INSTRUCT,
            base=FRED,
            card={"datasets": dataset_ids, "language": ["ru"]},
            pipeline_tag="text2text-generation",
            license_id="mit",
            arch=T5,
        ),
        transformers_repo(FRED, pipeline_tag="text2text-generation", license_id="mit", arch=T5),
    )
    for dataset_id, license_id, author in DATASETS:
        shard = "data/train-00000-of-00001.parquet"
        world.add(
            FakeRepo(
                dataset_id,
                repo_type="dataset",
                author=author,
                files=(
                    FakeFile(shard, size=734_003_200, lfs_sha256=fake_sha256(dataset_id, shard)),
                ),
                card_data={
                    "license": license_id,
                    "language": ["ru"],
                    "task_categories": ["text-generation"],
                    "pretty_name": dataset_id.split("/")[1],
                },
            )
        )
    world.lineage = (
        *_finetune_edges([(FRED_INSTRUCT, FRED)]),
        *(
            LineageEdge(child=FRED_INSTRUCT, parent=d, relation="dataset", parent_type="dataset")
            for d in dataset_ids
        ),
    )
    return world


GGUF_REPO: Final = "bartowski/saiga_llama3_8b-GGUF"
GGUF_SOURCE: Final = "IlyaGusev/saiga_llama3_8b"
GGUF_BASE: Final = "meta-llama/Meta-Llama-3-8B"
GGUF_FILE: Final = "saiga_llama3_8b-Q4_K_M.gguf"
GGUF_VOCAB: Final = 64_000  # ~1.2 MB of token strings after the general.* keys


def gguf_bytes(pairs: Sequence[tuple[str, str | int | list[str]]]) -> bytes:
    """A GGUF v3 file with metadata only: strings, u32 and string arrays (no tensors)."""

    def string(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw

    out = [b"GGUF", struct.pack("<IQQ", 3, 0, len(pairs))]
    for key, value in pairs:
        out.append(string(key))
        if isinstance(value, str):
            out += [struct.pack("<I", 8), string(value)]
        elif isinstance(value, int):
            out.append(struct.pack("<II", 4, value))
        else:
            out.append(struct.pack("<IIQ", 9, 8, len(value)))
            out += [string(item) for item in value]
    return b"".join(out)


def gguf_repo() -> World:
    """A llama.cpp re-upload whose only lineage is inside its GGUF file (entry).

    The card names no base model; the GGUF's ``general.source.huggingface.repository`` names the
    repo it was quantized from and ``general.base_model.0.repo_url`` that repo's base. The file
    has real GGUF bytes (larger than a 512 KiB prefix: a big vocabulary follows the general keys).
    """
    content = gguf_bytes(
        [
            ("general.architecture", "llama"),
            ("general.name", "Saiga Llama3 8B"),
            ("general.file_type", 15),
            ("general.source.huggingface.repository", GGUF_SOURCE),
            ("general.base_model.count", 1),
            ("general.base_model.0.name", "Meta Llama 3 8B"),
            ("general.base_model.0.organization", "Meta Llama"),
            ("general.base_model.0.repo_url", f"https://huggingface.co/{GGUF_BASE}"),
            ("tokenizer.ggml.model", "gpt2"),
            ("tokenizer.ggml.tokens", [f"token-{index:06}" for index in range(GGUF_VOCAB)]),
            ("general.quantization_version", 2),
        ]
    )
    entry = FakeRepo(
        GGUF_REPO,
        files=(FakeFile(GGUF_FILE, content=content, lfs=True),),
        card_data={"license": "llama3", "quantized_by": "bartowski"},
    )
    world = World(entry=GGUF_REPO)
    world.add(
        entry,
        transformers_repo(GGUF_SOURCE, base=GGUF_BASE, license_id="llama3"),
        transformers_repo(GGUF_BASE, license_id="llama3"),
    )
    world.lineage = (
        LineageEdge(child=GGUF_REPO, parent=GGUF_SOURCE, relation="quantized"),
        *_finetune_edges([(GGUF_SOURCE, GGUF_BASE)]),
    )
    return world


def combine(*worlds: World) -> World:
    """One world holding every repo, fault and lineage edge of ``worlds`` (no entry)."""
    combined = World()
    for world in worlds:
        combined.add(*world.repos.values())
        combined.rate_limit |= world.rate_limit
        combined.fail_5xx |= world.fail_5xx
        combined.lineage += tuple(e for e in world.lineage if e not in combined.lineage)
    return combined


BUILDERS: Final[Mapping[str, Callable[[], World]]] = {
    "chain": chain,
    "merge": merge,
    "adapter_on_gated": adapter_on_gated,
    "quantized_reupload": quantized_reupload,
    "missing_ancestor": missing_ancestor,
    "rate_limited": rate_limited,
    "cycle": cycle,
    "remote_code": remote_code,
    "with_datasets": with_datasets,
}


def everything() -> World:
    """All ready-made worlds in one (they share no conflicting repo)."""
    return combine(*(build() for build in BUILDERS.values()))


def _json(data: object) -> bytes:
    return json.dumps(data, indent=2).encode()
