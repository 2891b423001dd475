"""A tokenizer's ordinary vocabulary, in id order, read from whichever file holds it, and spelt so
that the same vocabulary reads the same from every format.

Formats: Hugging Face ``tokenizer.json`` (BPE, WordPiece, WordLevel, Unigram), GPT-2 style
``vocab.json``, BERT ``vocab.txt``, SentencePiece ``*.model`` (its protobuf), tiktoken files
(base64 token and rank per line, as Meta ships Llama 3's ``original/tokenizer.model``) and GGUF
``tokenizer.ggml.tokens``.

Special tokens differ between formats of one vocabulary (added tokens, control pieces, reserved
ids) and are left out: what is kept is every ordinary token (and SentencePiece byte pieces), in
id order. Spellings are brought to one form: WordPiece tokens as llama.cpp writes them
(``##ing`` → ``ing``, ``the`` → ``▁the``), tiktoken's raw bytes in GPT-2's byte-to-unicode
alphabet (``Ġthe``). Readers are capped and never execute anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from scanner.core.capped_io import read_prefix
from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from scanner.formats.model.gguf import GgufMetadata

#: Largest tokenizer file read (Gemma's tokenizer.json is about 34 MB).
MAX_TOKENIZER_FILE_BYTES: Final = 64 * 1024 * 1024
#: Most tokens in one vocabulary.
MAX_TOKENS: Final = 4 * 1024 * 1024
#: Most top-level fields of a SentencePiece model walked (its pieces and a few settings).
MAX_PROTOBUF_FIELDS: Final = MAX_TOKENS + 1024
#: SentencePiece and GGUF piece types that are not ordinary tokens: UNKNOWN, CONTROL,
#: USER_DEFINED (sentencepiece_model.proto; llama.cpp's ``llama_token_type``).
_SPECIAL_TYPES: Final = frozenset({2, 3, 4})
#: The GGUF keys a vocabulary is read from (their arrays kept whole: ``read_gguf_stream(keep=)``).
GGUF_VOCABULARY_KEYS: Final = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})
#: Special, added and reserved tokens a vocabulary may have before they are taken for hidden
#: ordinary ones: BERT has 999 (its [unused…] included), Llama 3 256.
MIN_SPECIAL_ALLOWED: Final = 2048
MAX_SPECIAL_SHARE: Final = 0.05
_TIKTOKEN_LINE: Final = re.compile(rb"[A-Za-z0-9+/=]+ [0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Vocabulary:
    """The ordinary tokens of a tokenizer, normalised, in id order."""

    tokens: tuple[str, ...]
    model: str
    """``bpe``, ``wordpiece``, ``unigram`` or ``wordlevel``."""
    source: str
    """The format read: ``tokenizer.json``, ``gguf``, ``sentencepiece``, ``tiktoken``,
    ``vocab.json`` or ``vocab.txt``."""
    declared: int
    """Tokens the file declares, special ones included."""
    specials_kept: bool = False
    """Whether the special tokens were kept: more were declared than a tokenizer has."""


def read_vocabulary(
    path: Path, *, by_content: bool = False, name: str | None = None
) -> Vocabulary | None:
    """The vocabulary in ``path``, its format chosen by its name; None when the name holds
    none. ``by_content``: the format is told from the bytes instead, for a file a tokenizer
    config names whatever it is called. ``name``: the file's name in the model, when ``path``
    is where its bytes lie (a symlink's target: ``blobs/<sha256>`` in a Hugging Face cache).

    Raises:
        MalformedFileError: the file is not what its name (or content) says, or breaks a cap.
        OSError: the file cannot be read.
    """
    name = (name or path.name).lower()
    if name.endswith(".gguf") or (by_content and read_prefix(path, max_bytes=4) == b"GGUF"):
        return _from_gguf(path)
    if not by_content and name not in _BY_NAME and not name.endswith((".tiktoken", ".model")):
        return None
    data = read_prefix(path, max_bytes=MAX_TOKENIZER_FILE_BYTES + 1)
    if len(data) > MAX_TOKENIZER_FILE_BYTES:
        raise MalformedFileError(f"over the {MAX_TOKENIZER_FILE_BYTES}-byte tokenizer cap")
    reader = _BY_NAME.get(name) if not by_content else _reader_by_content(data)
    if reader is not None:
        return reader(data)
    return _sentencepiece_or_tiktoken(data)


def _sentencepiece_or_tiktoken(data: bytes) -> Vocabulary:
    """A ``*.model`` or ``*.tiktoken`` file, read both ways when it parses both ways (bytes a
    SentencePiece reader takes for a tiny model can hold lines tiktoken reads whole): the
    reading with more tokens counts."""
    readings: list[Vocabulary] = []
    errors: list[MalformedFileError] = []
    for reader in (vocabulary_from_tiktoken, vocabulary_from_sentencepiece):
        try:
            readings.append(reader(data))
        except MalformedFileError as error:
            errors.append(error)
    if not readings:
        raise errors[-1]
    return max(readings, key=lambda vocabulary: len(vocabulary.tokens))


def _reader_by_content(data: bytes) -> Callable[[bytes], Vocabulary] | None:
    """The reader of ``data`` by its first bytes: a JSON object is a ``tokenizer.json`` or a
    ``vocab.json``; SentencePiece protobufs (field 1, length-delimited) and tiktoken lines are
    left to the caller; other text is a ``vocab.txt``."""
    if data.lstrip()[:1] == b"{":
        return _vocabulary_from_any_json
    if data[:1] == b"\x0a" or _TIKTOKEN_LINE.match(data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedFileError("neither JSON, GGUF, SentencePiece, tiktoken nor text") from None
    return vocabulary_from_vocab_txt


def _vocabulary_from_any_json(data: bytes) -> Vocabulary:
    """A ``tokenizer.json`` (it has a model object) or else a ``vocab.json``."""
    document = _json_object(data)
    if isinstance(document.get("model"), dict):
        return _from_tokenizer_document(document)
    return _from_vocab_document(document)


def vocabulary_from_tokenizer_json(data: bytes) -> Vocabulary:
    """A Hugging Face ``tokenizer.json``: its model's vocabulary without the added tokens."""
    return _from_tokenizer_document(_json_object(data))


def _from_tokenizer_document(document: dict[str, object]) -> Vocabulary:
    model = document.get("model")
    if not isinstance(model, dict):
        raise MalformedFileError("no model object")
    listed = document.get("added_tokens")
    added = {
        item["id"]: str(item.get("content", ""))
        for item in (listed if isinstance(listed, list) else ())
        if isinstance(item, dict) and isinstance(item.get("id"), int)
    }
    kind = str(model.get("type") or "").lower()
    vocab = model.get("vocab")
    if kind == "unigram" and isinstance(vocab, list):
        pieces = [item[0] if isinstance(item, list) and item else None for item in vocab]
        by_id: Mapping[int, object] = dict(enumerate(pieces))
    elif isinstance(vocab, dict):
        by_id = _by_id(vocab)
    else:
        raise MalformedFileError(f"a {kind or 'model'} without a vocabulary")
    every = {**added, **{index: token for index, token in by_id.items() if isinstance(token, str)}}
    # WordPiece marks continuations with a prefix ("##"); with none, its tokens are spelt as
    # they are, as a byte-level BPE's are.
    prefix = model.get("continuing_subword_prefix", "##")
    wordpiece = kind == "wordpiece" and isinstance(prefix, str) and bool(prefix)
    entries = [
        (
            _phantom_space(token, str(prefix)) if wordpiece and not _bracketed(token) else token,
            index in added or (wordpiece and _bracketed(token)),
        )
        for index, token in sorted(every.items())
    ]
    return _vocabulary(entries, kind or "bpe", "tokenizer.json")


def vocabulary_from_vocab_json(data: bytes) -> Vocabulary:
    """A GPT-2 style ``vocab.json`` (token → id); ``<|…|>`` specials left out."""
    return _from_vocab_document(_json_object(data))


def _from_vocab_document(document: dict[str, object]) -> Vocabulary:
    by_id = _by_id(document)
    entries = [
        (token, token.startswith("<|") and token.endswith("|>"))
        for _, token in sorted(by_id.items())
    ]
    return _vocabulary(entries, "bpe", "vocab.json")


def _by_id(vocab: Mapping[str, object]) -> dict[int, str]:
    """A token → id map turned round. Two tokens under one id are malformed: a loader keeps
    one of them, and a second spelling beside each token would hide the vocabulary."""
    by_id: dict[int, str] = {}
    for token, index in vocab.items():
        if isinstance(index, int) and not isinstance(index, bool):
            if index in by_id:
                raise MalformedFileError(f"id {index} is given to {by_id[index]!r} and {token!r}")
            by_id[index] = token
    return by_id


def vocabulary_from_vocab_txt(data: bytes) -> Vocabulary:
    """A BERT ``vocab.txt`` (one token a line, the line number its id); ``[…]`` specials left
    out, the rest spelt as llama.cpp writes WordPiece tokens."""
    if data.count(b"\n") > MAX_TOKENS:
        raise MalformedFileError(f"more than {MAX_TOKENS} lines")
    lines = data.decode("utf-8", errors="replace").splitlines()
    entries = [
        (token, True) if _bracketed(token) else (_phantom_space(token), False) for token in lines
    ]
    return _vocabulary(entries, "wordpiece", "vocab.txt")


def vocabulary_from_tiktoken(data: bytes) -> Vocabulary:
    """A tiktoken file: ``base64(token) rank`` per line, in GPT-2's byte alphabet."""
    if data.count(b"\n") > MAX_TOKENS:
        raise MalformedFileError(f"more than {MAX_TOKENS} lines")
    ranked: list[tuple[int, str]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        # As tiktoken's load_tiktoken_bpe reads it: two fields split on whitespace, the first
        # base64 whose characters outside the alphabet are dropped.
        fields = line.split()
        try:
            encoded, rank = fields
            raw = base64.b64decode(encoded)
            ranked.append((int(rank), "".join(_BYTE_ALPHABET[byte] for byte in raw)))
        except (binascii.Error, ValueError):
            raise MalformedFileError(f"line {number} is not 'base64 rank'") from None
    ranked.sort()
    return _vocabulary([(token, False) for _, token in ranked], "bpe", "tiktoken")


def vocabulary_from_sentencepiece(data: bytes) -> Vocabulary:
    """A SentencePiece ``ModelProto``: its pieces (field 1: piece 1, score 2, type 3), the
    unknown, control and user-defined ones left out."""
    entries: list[tuple[str, bool]] = []
    declared = 0
    for walked, (number, wire, value) in enumerate(_fields(data)):
        if walked > MAX_PROTOBUF_FIELDS:
            raise MalformedFileError(f"more than {MAX_PROTOBUF_FIELDS} protobuf fields")
        if number != 1 or wire != 2:
            continue
        declared += 1
        if declared > MAX_TOKENS:
            raise MalformedFileError(f"more than {MAX_TOKENS} pieces")
        piece, kind = "", 1
        for field, field_wire, field_value in _fields(value):
            if field == 1 and field_wire == 2:
                piece = field_value.decode("utf-8", errors="replace")
            elif field == 3 and field_wire == 0:
                kind = int.from_bytes(field_value, "little")
        entries.append((piece, kind in _SPECIAL_TYPES))
    if not declared:
        raise MalformedFileError("no SentencePiece pieces: not a SentencePiece model")
    return _vocabulary(entries, "unigram", "sentencepiece")


def vocabulary_from_gguf_tokens(
    tokens: tuple[object, ...], types: tuple[object, ...] | None, model: str
) -> Vocabulary:
    """GGUF ``tokenizer.ggml.tokens`` (and ``token_type``): its ordinary and byte tokens."""
    kinds = types if types is not None and len(types) == len(tokens) else (1,) * len(tokens)
    entries = [
        (str(token), kind in _SPECIAL_TYPES or (model == "bert" and _bracketed(str(token))))
        for token, kind in zip(tokens, kinds, strict=True)
    ]
    names = {"gpt2": "bpe", "llama": "unigram", "bert": "wordpiece", "t5": "unigram"}
    return _vocabulary(entries, names.get(model, model or "bpe"), "gguf")


def _from_gguf(path: Path) -> Vocabulary | None:
    with path.open("rb") as stream:
        size = stream.seek(0, 2)
        from scanner.formats.model.gguf import read_gguf_stream

        metadata = read_gguf_stream(stream, size, keep=GGUF_VOCABULARY_KEYS)
    return gguf_vocabulary(metadata)


def gguf_vocabulary(metadata: GgufMetadata) -> Vocabulary | None:
    """The vocabulary of GGUF metadata read with ``keep=GGUF_VOCABULARY_KEYS``; None without
    tokens (or when they were not kept)."""
    tokens = metadata.values.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, tuple):
        return None
    types = metadata.values.get("tokenizer.ggml.token_type")
    model = metadata.values.get("tokenizer.ggml.model")
    return vocabulary_from_gguf_tokens(
        tokens, types if isinstance(types, tuple) else None, str(model or "")
    )


def _vocabulary(entries: list[tuple[str, bool]], model: str, source: str) -> Vocabulary:
    """The vocabulary of ``entries`` — (token, special?) in id order — without the special
    ones, unless there are more of those than a tokenizer has (``MAX_SPECIAL_SHARE``): a file
    that declares thousands of ordinary tokens special or added would hide them from the match,
    so then every token is kept."""
    if len(entries) > MAX_TOKENS:
        raise MalformedFileError(f"more than {MAX_TOKENS} tokens")
    special = sum(1 for _, is_special in entries if is_special)
    hiding = special > max(MIN_SPECIAL_ALLOWED, MAX_SPECIAL_SHARE * len(entries))
    tokens = tuple(token for token, is_special in entries if hiding or not is_special)
    if not tokens:
        raise MalformedFileError("no tokens")
    return Vocabulary(
        tokens=tokens, model=model, source=source, declared=len(entries), specials_kept=hiding
    )


def _json_object(data: bytes) -> dict[str, object]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise MalformedFileError(f"not JSON: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise MalformedFileError("not a JSON object")
    return document


def _bracketed(token: str) -> bool:
    """BERT's specials: ``[CLS]``, ``[SEP]``, ``[PAD]``, ``[MASK]``, ``[UNK]``, ``[unused7]``."""
    return len(token) > 2 and token.startswith("[") and token.endswith("]")


def _phantom_space(token: str, prefix: str = "##") -> str:
    """A WordPiece token as llama.cpp's converter writes it: a continuation without its
    ``prefix`` (``##``), a word start with ``▁`` in front."""
    return token[len(prefix) :] if token.startswith(prefix) else "\u2581" + token


def _byte_alphabet() -> tuple[str, ...]:
    """GPT-2's ``bytes_to_unicode``: printable bytes as themselves, the rest from U+0100 on."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    alphabet: dict[int, str] = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in alphabet:
            alphabet[byte] = chr(256 + extra)
            extra += 1
    return tuple(alphabet[byte] for byte in range(256))


_BYTE_ALPHABET: Final = _byte_alphabet()


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """The fields of one protobuf message, one at a time (a caller's cap stops the walk):
    (number, wire type, value bytes), varints as their little-endian value bytes; fixed32 and
    fixed64 as their bytes."""
    position, end = 0, len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            yield number, wire, value.to_bytes(8, "little")
        elif wire == 2:
            length, position = _varint(data, position)
            if position + length > end:
                raise MalformedFileError("a protobuf field runs past the end")
            yield number, wire, data[position : position + length]
            position += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, wire, data[position : position + size]
            position += size
        else:
            raise MalformedFileError(f"protobuf wire type {wire}: not a SentencePiece model")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    for index in range(position, min(position + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    raise MalformedFileError("a truncated protobuf varint")


_BY_NAME: Final = {
    "tokenizer.json": vocabulary_from_tokenizer_json,
    "vocab.json": vocabulary_from_vocab_json,
    "vocab.txt": vocabulary_from_vocab_txt,
}
