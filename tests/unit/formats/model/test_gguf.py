"""Tests for the GGUF metadata reader: real llama.cpp files, hand-built and hostile files."""

from __future__ import annotations

import contextlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model import gguf
from scanner.formats.model.gguf import (
    MAX_ARRAY_COUNT,
    MAX_KV_COUNT,
    MAX_METADATA_BYTES,
    MAX_STRING_BYTES,
    GgufArray,
    GgufBaseModel,
    GgufDataset,
    GgufType,
    read_gguf_metadata,
)
from tests.conftest import CORPUS as CORPUS_ROOT

CORPUS_GGUF = CORPUS_ROOT / "gguf"

T = GgufType


@dataclass(frozen=True)
class Encoder:
    """Writes GGUF pieces in one byte order and version (v1 has u32 counts and lengths)."""

    order: str = "<"
    version: int = 3

    def pack(self, fmt: str, *values: object) -> bytes:
        return struct.pack(self.order + fmt, *values)

    def count(self, value: int) -> bytes:
        return self.pack("I" if self.version == 1 else "Q", value)

    def string(self, value: str | bytes) -> bytes:
        raw = value.encode() if isinstance(value, str) else value
        return self.count(len(raw)) + raw

    def kv(self, key: str | bytes, type_id: int, payload: bytes) -> bytes:
        return self.string(key) + self.pack("I", type_id) + payload

    def kv_str(self, key: str, value: str) -> bytes:
        return self.kv(key, T.STRING, self.string(value))

    def kv_u32(self, key: str, value: int) -> bytes:
        return self.kv(key, T.UINT32, self.pack("I", value))

    def array(self, item_type: int, count: int, payload: bytes = b"") -> bytes:
        return self.pack("I", item_type) + self.count(count) + payload

    def kv_strings(self, key: str, values: list[str]) -> bytes:
        items = b"".join(self.string(value) for value in values)
        return self.kv(key, T.ARRAY, self.array(T.STRING, len(values), items))

    def file(
        self, kvs: list[bytes], *, tensor_count: int = 0, kv_count: int | None = None
    ) -> bytes:
        declared = len(kvs) if kv_count is None else kv_count
        header = b"GGUF" + self.pack("I", self.version) + self.count(tensor_count)
        return header + self.count(declared) + b"".join(kvs)


LE = Encoder()


def write(tmp_path: Path, content: bytes, name: str = "m.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def corpus_gguf(name: str) -> Path:
    path = CORPUS_GGUF / name
    if not path.is_file():
        pytest.skip(f"corpus file gguf/{name} is absent")
    return path


# --- real files -----------------------------------------------------------------------------

REAL_FILES = [
    # name, version, tensors, kvs, architecture, name, tokenizer, pre, vocab, file_type, template
    ("ggml-vocab-baichuan.gguf", 3, 0, 18, "baichuan", "Baichuan-7B", "llama", None, 64000,
     None, None),
    ("ggml-vocab-bert-bge.gguf", 3, 0, 20, "bert", "bert-bge", "bert", "bert-bge", 30522, 1,
     None),
    ("ggml-vocab-llama-spm.gguf", 3, 0, 22, "llama", "llama-spm", "llama", "default", 32000, 1,
     None),
    ("ggml-vocab-phi-3.gguf", 3, 0, 26, "phi3", "Phi3", "llama", "default", 32064, 1, 269),
    ("rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf", 2, 291, 21, "llama", "models",
     "llama", None, 32002, 15, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "version", "tensors", "kvs", "arch", "model_name", "tokenizer", "pre", "vocab",
     "file_type", "template_length"),
    REAL_FILES,
    ids=[row[0].split(".")[0] for row in REAL_FILES],
)  # fmt: skip
def test_real_llama_cpp_files(
    name: str,
    version: int,
    tensors: int,
    kvs: int,
    arch: str,
    model_name: str,
    tokenizer: str,
    pre: str | None,
    vocab: int,
    file_type: int | None,
    template_length: int | None,
) -> None:
    path = corpus_gguf(name)
    started = time.perf_counter()
    meta = read_gguf_metadata(path)
    assert time.perf_counter() - started < 1
    assert (meta.version, meta.tensor_count, meta.kv_count) == (version, tensors, kvs)
    assert meta.big_endian is False
    assert len(meta.values) == kvs
    assert meta.architecture == arch
    assert meta.name == model_name
    assert meta.tokenizer_model == tokenizer
    assert meta.tokenizer_pre == pre
    assert meta.vocab_size == vocab
    assert meta.file_type == file_type
    assert meta.has_chat_template is (template_length is not None)
    assert meta.chat_template_length == template_length
    # None of these files carries provenance keys.
    assert (meta.base_models, meta.datasets, meta.license, meta.author) == ((), (), None, None)
    assert meta.values["tokenizer.ggml.tokens"] == GgufArray(item_type="string", count=vocab)
    if tensors == 0:  # vocab-only files end with their last key-value pair
        assert meta.metadata_size == path.stat().st_size


def test_real_truncated_q4_k_header_parses_its_keys_before_the_cut() -> None:
    path = corpus_gguf("rupersonaagent_model-q4_K.TRUNCATED-header-only.gguf")
    meta = read_gguf_metadata(path)
    assert meta.metadata_size == 717_639 < path.stat().st_size  # tensor infos follow
    assert meta.values["llama.context_length"] == 32768
    assert meta.values["llama.attention.head_count_kv"] == 8
    assert meta.values["general.quantization_version"] == 2
    assert meta.values["tokenizer.ggml.scores"] == GgufArray(item_type="float32", count=32002)
    assert meta.values["tokenizer.ggml.token_type"] == GgufArray(item_type="int32", count=32002)
    assert list(meta.values)[:2] == ["general.architecture", "general.name"]


def test_real_phi3_scalars_and_chat_template() -> None:
    meta = read_gguf_metadata(corpus_gguf("ggml-vocab-phi-3.gguf"))
    template = meta.values["tokenizer.chat_template"]
    assert isinstance(template, str)
    assert template.startswith("{{ bos_token }}{% for message in messages %}")
    assert meta.values["phi3.rope.freq_base"] == 10000.0
    assert meta.values["tokenizer.ggml.add_bos_token"] is True
    assert meta.values["tokenizer.ggml.add_eos_token"] is False
    assert meta.values["tokenizer.ggml.eos_token_id"] == 32000


def test_values_are_read_only() -> None:
    meta = read_gguf_metadata(corpus_gguf("ggml-vocab-bert-bge.gguf"))
    assert meta.values["bert.attention.causal"] is False
    with pytest.raises(TypeError):
        meta.values["general.name"] = "x"  # type: ignore[index]


def test_real_file_cut_inside_the_vocabulary_is_truncated(tmp_path: Path) -> None:
    data = corpus_gguf("ggml-vocab-phi-3.gguf").read_bytes()
    for cut in (3, 20, 100, 400_000, len(data) - 1):
        path = write(tmp_path, data[:cut])
        with pytest.raises(MalformedFileError, match="truncated"):
            read_gguf_metadata(path)


PREFIX_BYTES = 512 * 1024


@pytest.mark.parametrize(
    "name", [row[0] for row in REAL_FILES], ids=[r[0].split(".")[0] for r in REAL_FILES]
)
def test_real_prefix_read_partially_keeps_every_pair_before_the_cut(
    tmp_path: Path, name: str
) -> None:
    path = corpus_gguf(name)
    full = read_gguf_metadata(path)
    prefix = write(tmp_path, path.read_bytes()[:PREFIX_BYTES])
    with pytest.raises(MalformedFileError, match="truncated"):
        read_gguf_metadata(prefix)
    part = read_gguf_metadata(prefix, partial_ok=True)
    assert full.complete is True
    assert part.complete is False
    assert (part.version, part.tensor_count, part.kv_count) == (
        full.version,
        full.tensor_count,
        full.kv_count,
    )
    assert 0 < len(part.values) < len(full.values)
    assert list(part.values.items()) == list(full.values.items())[: len(part.values)]
    # llama.cpp writes general.* first; only general.quantization_version comes at the end.
    general = {k: v for k, v in full.values.items() if k.startswith("general.")}
    general.pop("general.quantization_version", None)
    assert {k: v for k, v in part.values.items() if k.startswith("general.")} == general
    assert (part.architecture, part.name) == (full.architecture, full.name)


def test_prefix_cut_inside_a_large_vocabulary_keeps_the_provenance_keys(tmp_path: Path) -> None:
    general = provenance_file(LE)[24:].split(LE.string("tokenizer.ggml.model"))[0]
    tokens = LE.kv_strings("tokenizer.ggml.tokens", [f"token-{i:06}" for i in range(50_000)])
    pairs = [general, tokens, LE.kv_u32("general.quantization_version", 2)]
    content = LE.file(pairs, kv_count=29 + 2)  # ``general`` holds 29 pairs
    assert len(content) > PREFIX_BYTES
    full = read_gguf_metadata(write(tmp_path, content, "full.gguf"))
    assert (full.complete, len(full.values)) == (True, 31)
    prefix = write(tmp_path, content[:PREFIX_BYTES], "prefix.gguf")
    part = read_gguf_metadata(prefix, partial_ok=True)
    assert part.complete is False
    assert len(part.values) == 29
    assert part.base_models == full.base_models
    assert part.base_models[0].repo_url == "https://huggingface.co/mistralai/m"
    assert part.source_hf_repository == "IlyaGusev/saiga_mistral_7b"
    assert part.datasets == full.datasets
    assert "tokenizer.ggml.tokens" not in part.values
    assert part.vocab_size is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GGUF", "truncated"),  # a cut inside the fixed header still raises
        (b"GGML" + bytes(20), "bad magic"),
        (LE.file([LE.kv_str("a", "x"), LE.kv_str("a", "y")], kv_count=5), "appears twice"),
        (LE.file([LE.kv("a", 99, b"")], kv_count=5), "unknown value type"),
        (LE.file([LE.kv("a", T.BOOL, b"\x07")], kv_count=5), "bool value 7"),
        (LE.file([LE.kv("a", T.STRING, LE.count(MAX_STRING_BYTES + 1))]), "cap is"),
    ],
)
def test_partial_ok_tolerates_only_truncation(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        read_gguf_metadata(write(tmp_path, content), partial_ok=True)


def test_partial_ok_on_a_whole_file_is_complete(tmp_path: Path) -> None:
    content = provenance_file(LE)
    meta = read_gguf_metadata(write(tmp_path, content), partial_ok=True)
    assert (meta.complete, len(meta.values), meta.metadata_size) == (True, 43, len(content))


# --- hand-built well-formed files ---------------------------------------------------------


def provenance_file(encoder: Encoder) -> bytes:
    kvs = [
        encoder.kv_str("general.architecture", "llama"),
        encoder.kv_str("general.name", "Saiga Mistral 7B"),
        encoder.kv_str("general.organization", "IlyaGusev"),
        encoder.kv_str("general.author", "Ilya Gusev"),
        encoder.kv_str("general.basename", "saiga_mistral"),
        encoder.kv_str("general.finetune", "instruct"),
        encoder.kv_str("general.version", "v1"),
        encoder.kv_str("general.quantized_by", "TheBloke"),
        encoder.kv_str("general.license", "apache-2.0"),
        encoder.kv_str("general.license.name", "Apache License 2.0"),
        encoder.kv_str("general.license.link", "https://www.apache.org/licenses/LICENSE-2.0"),
        encoder.kv_str("general.url", "https://example.org/saiga"),
        encoder.kv_str("general.repo_url", "https://huggingface.co/IlyaGusev/saiga"),
        encoder.kv_str("general.source.url", "https://example.org/src"),
        encoder.kv_str("general.source.repo_url", "https://github.com/example/src"),
        encoder.kv_str("general.source.huggingface.repository", "IlyaGusev/saiga_mistral_7b"),
        encoder.kv_u32("general.file_type", 15),
        encoder.kv_u32("general.base_model.count", 2),
        encoder.kv_str("general.base_model.0.name", "Mistral 7B v0.1"),
        encoder.kv_str("general.base_model.0.organization", "Mistralai"),
        encoder.kv_str("general.base_model.0.repo_url", "https://huggingface.co/mistralai/m"),
        encoder.kv_str("general.base_model.1.name", "Saiga LoRA"),
        encoder.kv_str("general.base_model.1.doi", "10.1234/x"),
        encoder.kv_u32("general.dataset.count", 1),
        encoder.kv_str("general.dataset.0.name", "ru_turbo_saiga"),
        encoder.kv_str("general.dataset.0.uuid", "0b5e7a0c"),
        encoder.kv_strings("general.datasets", ["IlyaGusev/ru_sharegpt_cleaned"]),
        encoder.kv_strings("general.tags", ["text-generation", "russian"]),
        encoder.kv_strings("general.languages", ["ru", "en"]),
        encoder.kv_str("tokenizer.ggml.model", "llama"),
        encoder.kv_str("tokenizer.ggml.pre", "default"),
        encoder.kv_strings("tokenizer.ggml.tokens", ["<unk>", "<s>", "</s>", "▁привет"]),
        encoder.kv_str("tokenizer.chat_template", "{{ messages }}"),
        encoder.kv("llama.rope.freq_base", T.FLOAT32, encoder.pack("f", 1e6)),
        encoder.kv("x.i8", T.INT8, encoder.pack("b", -5)),
        encoder.kv("x.u16", T.UINT16, encoder.pack("H", 65535)),
        encoder.kv("x.i16", T.INT16, encoder.pack("h", -300)),
        encoder.kv("x.i32", T.INT32, encoder.pack("i", -(2**31))),
        encoder.kv("x.u64", T.UINT64, encoder.pack("Q", 2**64 - 1)),
        encoder.kv("x.i64", T.INT64, encoder.pack("q", -(2**63))),
        encoder.kv("x.f64", T.FLOAT64, encoder.pack("d", 0.1)),
        encoder.kv("x.u8", T.UINT8, encoder.pack("B", 255)),
        encoder.kv("x.bool", T.BOOL, encoder.pack("B", 1)),
    ]
    return encoder.file(kvs, tensor_count=291)


ENCODINGS = [Encoder("<", 3), Encoder("<", 2), Encoder("<", 1), Encoder(">", 3), Encoder(">", 1)]


@pytest.mark.parametrize(
    "encoder",
    ENCODINGS,
    ids=[f"v{e.version}-{'be' if e.order == '>' else 'le'}" for e in ENCODINGS],
)
def test_provenance_keys_in_every_version_and_byte_order(tmp_path: Path, encoder: Encoder) -> None:
    content = provenance_file(encoder)
    meta = read_gguf_metadata(write(tmp_path, content))
    assert (meta.version, meta.tensor_count, meta.kv_count) == (encoder.version, 291, 43)
    assert meta.big_endian is (encoder.order == ">")
    assert meta.metadata_size == len(content)
    assert meta.name == "Saiga Mistral 7B"
    assert (meta.organization, meta.author) == ("IlyaGusev", "Ilya Gusev")
    assert (meta.basename, meta.finetune, meta.version_label) == ("saiga_mistral", "instruct", "v1")
    assert meta.quantized_by == "TheBloke"
    assert (meta.license, meta.license_name) == ("apache-2.0", "Apache License 2.0")
    assert meta.license_link == "https://www.apache.org/licenses/LICENSE-2.0"
    assert (meta.url, meta.repo_url) == (
        "https://example.org/saiga",
        "https://huggingface.co/IlyaGusev/saiga",
    )
    assert (meta.source_url, meta.source_repo_url) == (
        "https://example.org/src",
        "https://github.com/example/src",
    )
    assert meta.source_hf_repository == "IlyaGusev/saiga_mistral_7b"
    assert (meta.architecture, meta.file_type) == ("llama", 15)
    assert meta.base_models == (
        GgufBaseModel(
            name="Mistral 7B v0.1",
            organization="Mistralai",
            repo_url="https://huggingface.co/mistralai/m",
        ),
        GgufBaseModel(name="Saiga LoRA", doi="10.1234/x"),
    )
    assert meta.datasets == (
        GgufDataset(name="ru_turbo_saiga", uuid="0b5e7a0c"),
        GgufDataset(name="IlyaGusev/ru_sharegpt_cleaned"),
    )
    assert meta.tags == ("text-generation", "russian")
    assert meta.languages == ("ru", "en")
    assert (meta.tokenizer_model, meta.tokenizer_pre, meta.vocab_size) == ("llama", "default", 4)
    assert meta.values["tokenizer.ggml.tokens"] == ("<unk>", "<s>", "</s>", "▁привет")
    assert (meta.has_chat_template, meta.chat_template_length) == (True, 14)
    assert meta.values["llama.rope.freq_base"] == 1e6
    assert [meta.values[f"x.{kind}"] for kind in ("i8", "u16", "i16", "i32", "u64", "i64")] == [
        -5, 65535, -300, -(2**31), 2**64 - 1, -(2**63),
    ]  # fmt: skip
    assert (meta.values["x.f64"], meta.values["x.u8"], meta.values["x.bool"]) == (0.1, 255, True)


def test_base_models_without_a_count_are_probed_until_a_gap(tmp_path: Path) -> None:
    kvs = [
        LE.kv_str("general.base_model.0.name", "A"),
        LE.kv_str("general.base_model.1.author", "B"),
        LE.kv_str("general.base_model.3.name", "after a gap"),
    ]
    meta = read_gguf_metadata(write(tmp_path, LE.file(kvs)))
    assert meta.base_models == (GgufBaseModel(name="A"), GgufBaseModel(author="B"))


def test_base_model_count_is_capped(tmp_path: Path) -> None:
    kvs = [
        LE.kv_u32("general.base_model.count", 2**32 - 1),
        LE.kv_str("general.base_model.0.name", "A"),
    ]
    meta = read_gguf_metadata(write(tmp_path, LE.file(kvs)))
    assert meta.base_models == (GgufBaseModel(name="A"),)


def test_non_string_fields_are_not_reported_as_strings(tmp_path: Path) -> None:
    kvs = [
        LE.kv_u32("general.name", 7),
        LE.kv_str("general.file_type", "15"),
        LE.kv("general.tags", T.ARRAY, LE.array(T.UINT8, 2, b"\x01\x02")),
    ]
    meta = read_gguf_metadata(write(tmp_path, LE.file(kvs)))
    assert (meta.name, meta.file_type, meta.tags) == (None, None, ())
    assert meta.values["general.tags"] == (1, 2)
    assert (meta.vocab_size, meta.has_chat_template, meta.chat_template_length) == (
        None, False, None,
    )  # fmt: skip


def test_large_arrays_are_summarised_and_the_next_key_still_reads(tmp_path: Path) -> None:
    strings = [f"tok{i}" for i in range(300)]
    kvs = [
        LE.kv("small", T.ARRAY, LE.array(T.INT16, 3, LE.pack("3h", -1, 0, 1))),
        LE.kv("floats", T.ARRAY, LE.array(T.FLOAT32, 1000, bytes(4000))),
        LE.kv_strings("tokens", strings),
        LE.kv(
            "nested",
            T.ARRAY,
            LE.array(
                T.ARRAY,
                2,
                LE.array(T.ARRAY, 1, LE.array(T.UINT8, 2, b"\x01\x02"))
                + LE.array(T.STRING, 1, LE.string("x")),
            ),
        ),
        LE.kv("empty", T.ARRAY, LE.array(T.UINT64, 0)),
        LE.kv_str("after", "still aligned"),
    ]
    meta = read_gguf_metadata(write(tmp_path, LE.file(kvs)))
    assert meta.values["small"] == (-1, 0, 1)
    assert meta.values["floats"] == GgufArray(item_type="float32", count=1000)
    assert meta.values["tokens"] == GgufArray(item_type="string", count=300)
    assert meta.values["nested"] == GgufArray(item_type="array", count=2)
    assert meta.values["empty"] == ()
    assert meta.values["after"] == "still aligned"


@pytest.mark.parametrize("chunk", [1, 3, 8, 13, 1024 * 1024])
def test_string_walk_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(gguf, "_WALK_CHUNK_BYTES", chunk)
    strings = ["x" * (i % 23) for i in range(1000)]
    for encoder in (LE, Encoder(">", 1)):
        kvs = [encoder.kv_strings("tokens", strings), encoder.kv_str("after", "ok")]
        meta = read_gguf_metadata(write(tmp_path, encoder.file(kvs)))
        assert meta.values["tokens"] == GgufArray(item_type="string", count=1000)
        assert meta.values["after"] == "ok"


def test_string_walk_beyond_one_chunk(tmp_path: Path) -> None:
    strings = ["y" * (4000 + i % 7) for i in range(400)]  # ~1.6 MB of strings
    kvs = [LE.kv_strings("tokens", strings), LE.kv_u32("after", 42)]
    meta = read_gguf_metadata(write(tmp_path, LE.file(kvs)))
    assert meta.values["after"] == 42


def test_invalid_utf8_in_a_value_is_replaced_not_fatal(tmp_path: Path) -> None:
    meta = read_gguf_metadata(
        write(tmp_path, LE.file([LE.kv("k", T.STRING, LE.string(b"a\xffb"))]))
    )
    assert meta.values["k"] == "a\ufffdb"


# --- hostile files: each must fail fast with MalformedFileError -----------------------------

U64_MAX = 2**64 - 1


def depth(levels: int) -> bytes:
    inner = LE.array(T.UINT8, 1, b"\x00")
    for _ in range(levels - 1):
        inner = LE.array(T.ARRAY, 1, inner)
    return inner


HOSTILE: list[tuple[str, bytes, str]] = [
    ("empty", b"", r"truncated: the GGUF magic needs 4 bytes"),
    ("bad-magic", b"GGML" + bytes(20), r"bad magic b'GGML'"),
    ("lfs-pointer", b"version https://git-lfs.github.com/spec/v1\n", r"bad magic b'vers'"),
    ("magic-only", b"GGUF", r"truncated: the version"),
    ("version-0", b"GGUF" + struct.pack("<I", 0) + bytes(16), r"unsupported GGUF version 0"),
    ("version-4", b"GGUF" + struct.pack("<I", 4) + bytes(16), r"unsupported GGUF version 4"),
    ("be-version-9", b"GGUF" + struct.pack(">I", 9) + bytes(16), r"unsupported GGUF version 9"),
    ("tensor-count-max", LE.file([], tensor_count=U64_MAX), r"tensor count .* exceeds the cap"),
    ("kv-count-2^63", LE.file([], kv_count=2**63), r"key-value count .* exceeds the cap"),
    ("kv-count-past-eof", LE.file([], kv_count=MAX_KV_COUNT), r"truncated: 65536 key-value"),
    ("key-length-huge", LE.file([LE.count(2**40) + bytes(8)]), r"key length 1099511627776 exceeds"),
    ("key-past-eof", LE.file([LE.count(1000) + bytes(8)]), r"truncated: a key needs 1000"),
    ("key-not-utf8", LE.file([LE.kv(b"\xff\xfe", T.UINT8, b"\x00")]), r"is not UTF-8"),
    (
        "duplicate-key",
        LE.file([LE.kv_u32("a", 1), LE.kv_u32("a", 2)]),
        r"key 'a' appears twice",
    ),
    ("type-id-13", LE.file([LE.kv("a", 13, b"\x00")]), r"'a' has unknown value type 13"),
    ("type-id-max", LE.file([LE.kv("a", 2**32 - 1, b"")]), r"unknown value type 4294967295"),
    ("scalar-past-eof", LE.file([LE.kv("a", T.UINT64, b"\x01")]), r"truncated: the value of 'a'"),
    ("bool-2", LE.file([LE.kv("a", T.BOOL, b"\x02")]), r"'a' has bool value 2"),
    (
        "string-past-eof",
        LE.file([LE.kv("a", T.STRING, LE.count(10_000) + b"xyz")]),
        r"truncated: the string of 'a' needs 10000 bytes",
    ),
    (
        "string-over-cap",
        LE.file([LE.kv("a", T.STRING, LE.count(2**62))]),
        r"declares a 4611686018427387904-byte string",
    ),
    (
        "array-count-2^62",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.UINT8, 2**62))]),
        r"declares 4611686018427387904 array elements",
    ),
    (
        "numeric-array-past-eof",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.UINT64, MAX_ARRAY_COUNT))]),
        r"truncated: the uint64 array of 'a' needs 33554432 bytes",
    ),
    (
        "string-array-past-eof",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.STRING, MAX_ARRAY_COUNT, LE.string("x")))]),
        r"truncated: 4194304 strings of 'a' need at least",
    ),
    (
        "string-in-big-array-over-cap",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.STRING, 300, LE.count(2**40) + bytes(2400)))]),
        r"declares a 1099511627776-byte string",
    ),
    (
        "string-in-big-array-past-eof",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.STRING, 300, LE.count(5000) + bytes(2400)))]),
        r"truncated: the strings of 'a'",
    ),
    (
        "nested-arrays-past-eof",
        LE.file([LE.kv("a", T.ARRAY, LE.array(T.ARRAY, MAX_ARRAY_COUNT))]),
        r"truncated: 4194304 nested arrays of 'a'",
    ),
    ("nesting-depth-4", LE.file([LE.kv("a", T.ARRAY, depth(4))]), r"nests arrays deeper than 3"),
    (
        "array-item-type-13",
        LE.file([LE.kv("a", T.ARRAY, LE.array(13, 1, b"\x00"))]),
        r"unknown value type 13",
    ),
    (
        "v1-kv-count-past-eof",
        Encoder("<", 1).file([], kv_count=60_000),
        r"truncated: 60000 key-value pairs need at least 540000 bytes",
    ),
    (
        "be-kv-count-2^63",
        Encoder(">", 3).file([], kv_count=2**63),
        r"key-value count 9223372036854775808 exceeds",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [(content, message) for _, content, message in HOSTILE],
    ids=[name for name, _, _ in HOSTILE],
)
def test_hostile_headers_fail_fast(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content)
    started = time.perf_counter()
    with pytest.raises(MalformedFileError, match=message):
        read_gguf_metadata(path)
    assert time.perf_counter() - started < 1


def test_nesting_depth_3_is_accepted(tmp_path: Path) -> None:
    meta = read_gguf_metadata(write(tmp_path, LE.file([LE.kv("a", T.ARRAY, depth(3))])))
    assert meta.values["a"] == GgufArray(item_type="array", count=1)


def test_metadata_past_the_byte_cap_is_refused_without_reading(tmp_path: Path) -> None:
    # Sparse: nine numeric arrays of 32 MiB each push the key-value section past 256 MiB.
    path = tmp_path / "big.gguf"
    arrays = MAX_METADATA_BYTES // (MAX_ARRAY_COUNT * 8) + 1
    with path.open("wb") as stream:
        stream.write(LE.file([], kv_count=arrays + 1))
        for index in range(arrays):
            stream.write(LE.kv(f"a{index}", T.ARRAY, LE.array(T.UINT64, MAX_ARRAY_COUNT)))
            stream.seek(MAX_ARRAY_COUNT * 8, os.SEEK_CUR)
        stream.write(LE.kv_u32("after", 1))
    started = time.perf_counter()
    with pytest.raises(MalformedFileError, match=r"runs past the 268435456-byte metadata cap"):
        read_gguf_metadata(path)
    assert time.perf_counter() - started < 1


def test_walk_budget_is_shared_across_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gguf, "MAX_WALKED_ITEMS", 500)
    kvs = [LE.kv_strings("a", ["x"] * 300), LE.kv_strings("b", ["y"] * 300)]
    with pytest.raises(MalformedFileError, match=r"walks more than 500 array elements"):
        read_gguf_metadata(write(tmp_path, LE.file(kvs)))


def test_directory_is_an_os_error_not_malformed(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_gguf_metadata(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    with pytest.raises(MalformedFileError, match="not a regular file"):
        read_gguf_metadata(fifo)


# --- fuzz -----------------------------------------------------------------------------------

VALID = provenance_file(LE)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every fuzz example (hypothesis cannot use function-scoped tmp_path)."""
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_valid_file(fuzz_dir: Path, data: st.DataObject) -> None:
    content = bytearray(VALID[: data.draw(st.integers(0, len(VALID)), label="cut")])
    for _ in range(data.draw(st.integers(0, 6), label="mutations")):
        if content:
            position = data.draw(st.integers(0, len(content) - 1), label="position")
            content[position] = data.draw(st.integers(0, 255), label="byte")
    path = write(fuzz_dir, bytes(content))
    with contextlib.suppress(MalformedFileError):
        read_gguf_metadata(path)
    with contextlib.suppress(MalformedFileError):
        partial = read_gguf_metadata(path, partial_ok=True)
        assert len(partial.values) <= partial.kv_count


@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from([1, 2, 3]),
    order=st.sampled_from("<>"),
    tail=st.binary(max_size=200),
)
def test_fuzz_random_key_values(fuzz_dir: Path, version: int, order: str, tail: bytes) -> None:
    encoder = Encoder(order, version)
    content = encoder.file([], kv_count=3) + tail
    path = write(fuzz_dir, content)
    with contextlib.suppress(MalformedFileError):
        read_gguf_metadata(path)
