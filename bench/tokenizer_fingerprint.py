"""Tokenizer fingerprints: time per vocabulary, the database's size, precision and recall.

Usage: python bench/tokenizer_fingerprint.py [--sdist llama_cpp_python-X.tar.gz] [--corpus DIR]
                                             [--tiktoken cl100k_base.tiktoken[.gz]]...

Reads every ``ggml-vocab-*.gguf`` of llama-cpp-python's sdist (``pip download --no-deps
--no-binary :all: llama-cpp-python``; the files the database is built from) and the corpus' GGUF
vocabularies, and for each prints the time to read the vocabulary and, on top of that, to
fingerprint it and match it against the database. Each vocabulary is checked against every
family, as it is, adapted the way languages are added (5% of its tokens dropped, 20,000
appended), and shuffled (ids permuted, 8% more tokens appended): a family's own vocabulary must
be identified as that family, its adaptation and its shuffled copy as coming from it, and a
vocabulary the database does not hold must match nothing. Prints
precision and recall over those checks.
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import re
import sys
import tarfile
import time
from pathlib import Path
from typing import Final

from scanner.formats.model.gguf import read_gguf_stream
from scanner.formats.model.vocabulary import (
    Vocabulary,
    vocabulary_from_gguf_tokens,
    vocabulary_from_tiktoken,
)
from scanner.sources.tokenizer_families import (
    TokenizerFamily,
    fingerprint,
    load_families,
    match,
)

DATABASE: Final = (
    Path(__file__).resolve().parents[1] / "scanner/sources/data/tokenizer_families.json"
)
_VOCAB: Final = re.compile(r"ggml-vocab-(?P<name>[\w.-]+)\.gguf$")
_KEYS: Final = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})


def main() -> int:
    """Print the figures; 0 unless nothing could be read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path)
    parser.add_argument(
        "--tiktoken", type=Path, action="append", default=[], help="a NAME.tiktoken[.gz] file"
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared/corpus"
    )
    args = parser.parse_args()
    files = dict(_corpus_files(args.corpus))
    if args.sdist is not None:
        files.update(_sdist_files(args.sdist))
    tiktoken = {path.name.split(".")[0]: _gunzip(path.read_bytes()) for path in args.tiktoken}
    if not files:
        print("no vocabulary files: give --sdist or --corpus", file=sys.stderr)
        return 1
    families = load_families()
    print(f"database: {len(families)} families, {DATABASE.stat().st_size} bytes on disk")
    print(f"{'vocabulary':32} {'tokens':>7} {'read ms':>8} {'print ms':>9}  match")
    checks = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for name, data in sorted([*files.items(), *tiktoken.items()]):
        started = time.perf_counter()
        vocabulary = vocabulary_from_tiktoken(data) if name in tiktoken else _vocabulary(data)
        read = time.perf_counter()
        found = match(fingerprint(vocabulary))
        done = time.perf_counter()
        want = _expected(name, families)
        label = f"{found.family.id} ({found.relation}, {found.confidence})" if found else "-"
        print(
            f"{name:32} {len(vocabulary.tokens):7} {1000 * (read - started):8.0f} "
            f"{1000 * (done - read):9.0f}  {label}"
        )
        _count(checks, found.family.id if found else None, want)
        for how, adapted in (
            ("adapted", _adapted(vocabulary)),
            ("shuffled", _shuffled(vocabulary)),
        ):
            derived = match(fingerprint(adapted))
            got = derived.family.id if derived else None
            if how == "shuffled" and got is not None and got == _base(want, families):
                # Refact's is StarCoder's and 19 more: out of order, only the base's tokens
                # are certainly held, and the base is the honest answer.
                print(f"  shuffled {name}: its base {got} (reordered), right")
                got = want
            _count(checks, got, want)
            if got != want:
                print(
                    f"  {how} {name}: "  # a wrong or missed match
                    + (
                        f"{derived.family.id} ({derived.relation}, share {derived.share:.3f},"
                        f" order {derived.order:.3f})"
                        if derived
                        else "no match"
                    )
                    + f", expected {want or 'none'}"
                )
    precision = checks["tp"] / max(checks["tp"] + checks["fp"], 1)
    recall = checks["tp"] / max(checks["tp"] + checks["fn"], 1)
    print(
        f"checks: {sum(checks.values())} (each vocabulary as is, adapted, and shuffled); "
        f"precision {precision:.3f}, recall {recall:.3f}; "
        f"true matches {checks['tp']}, wrong matches {checks['fp']}, missed {checks['fn']}, "
        f"rightly unmatched {checks['tn']}"
    )
    return 0


#: Vocabulary files whose tokens are another family's (checked by digest when the database was
#: built: Phi-3 ships Llama 2's vocabulary, MPT GPT-NeoX's, the qwen35 test file Qwen2's).
SAME_AS: Final = {"phi-3": "llama-spm", "qwen35": "qwen2", "gpt-neox": "mpt"}


def _expected(name: str, families: tuple[TokenizerFamily, ...]) -> str | None:
    """The family a file's vocabulary is; None for one the database does not hold."""
    if any(family.id == name for family in families):
        return name
    return SAME_AS.get(name)


def _base(family_id: str | None, families: tuple[TokenizerFamily, ...]) -> str | None:
    """The family ``family_id`` is derived from, if any."""
    return next((f.derived_from for f in families if f.id == family_id), None)


def _count(checks: dict[str, int], got: str | None, want: str | None) -> None:
    if got is not None and got == want:
        checks["tp"] += 1
    elif got is not None:
        checks["fp"] += 1
    elif want is not None:
        checks["fn"] += 1
    else:
        checks["tn"] += 1


def _gunzip(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _adapted(vocabulary: Vocabulary) -> Vocabulary:
    chance = random.Random(5)  # reproducible, not a secret
    kept = [token for token in vocabulary.tokens if chance.random() >= 0.05]
    new = [f"\u2581new{index}" for index in range(20_000)]
    return Vocabulary(tokens=(*kept, *new), model=vocabulary.model, source="adapted", declared=0)


def _shuffled(vocabulary: Vocabulary) -> Vocabulary:
    """Its ids shuffled (the embedding rows permuted alike) and 8% more tokens appended: a copy
    hidden from an order-based comparison."""
    chance = random.Random(7)  # reproducible, not a secret
    tokens = list(vocabulary.tokens)
    chance.shuffle(tokens)
    new = [f"\u2581hidden{index}" for index in range(len(tokens) * 8 // 100)]
    return Vocabulary(tokens=(*tokens, *new), model=vocabulary.model, source="shuffled", declared=0)


def _vocabulary(data: bytes) -> Vocabulary:
    metadata = read_gguf_stream(io.BytesIO(data), len(data), keep=_KEYS)
    tokens = metadata.values["tokenizer.ggml.tokens"]
    types = metadata.values.get("tokenizer.ggml.token_type")
    assert isinstance(tokens, tuple)  # noqa: S101  (kept whole by the reader)
    model = str(metadata.values.get("tokenizer.ggml.model") or "")
    return vocabulary_from_gguf_tokens(tokens, types if isinstance(types, tuple) else None, model)


def _corpus_files(corpus: Path) -> list[tuple[str, bytes]]:
    folder = corpus / "gguf"
    if not folder.is_dir():
        return []
    return [
        (match_["name"], path.read_bytes())
        for path in sorted(folder.glob("ggml-vocab-*.gguf"))
        if (match_ := _VOCAB.search(path.name))
    ]


def _sdist_files(sdist: Path) -> list[tuple[str, bytes]]:
    found = []
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            name = _VOCAB.search(member.name)
            stream = archive.extractfile(member) if name else None
            if name and stream is not None:
                found.append((name["name"], stream.read()))
    return found


if __name__ == "__main__":
    raise SystemExit(main())
