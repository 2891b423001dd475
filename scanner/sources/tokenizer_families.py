"""Which published tokenizer a vocabulary is, or comes from: fingerprints matched against a
database of real tokenizers (``sources/data/tokenizer_families.json``), each with its
publisher's Hub repo and where its vocabulary was read from.

A fingerprint has two parts. The *digest* (SHA-256 of the ordinary tokens in id order) says
that two vocabularies are the same, whatever file they were read from. The *token hashes* (a
64-bit hash per token; the database keeps a family's ``SKETCH_SIZE`` smallest, a bottom-k
sketch) say how much of a family's vocabulary another one holds: a base trimmed by a few
thousand tokens and extended by thousands more — the usual way to adapt a vocabulary to a
language — still holds most of its base. Families that share an ancestor (Llama 3's and Qwen2's
vocabularies both extend OpenAI's cl100k) are told apart because each holds only part of the
other, while a derivative holds nearly all of its base.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final

from scanner.core.detection import VOCABULARY_FINGERPRINT

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.formats.model.vocabulary import Vocabulary

#: The ``Evidence.method`` of a fact found by a vocabulary's fingerprint (no file declares it);
#: its ``field`` is ``vocabulary:<relation>:<confidence>``.
EVIDENCE_METHOD: Final = VOCABULARY_FINGERPRINT
#: Token hashes a family keeps in the database (the smallest ones).
SKETCH_SIZE: Final = 1024
#: Share of a family's tokens a vocabulary must hold to come from it (a derived vocabulary).
DERIVED_SHARE: Final = 0.85
#: Share above which a derived vocabulary's origin is certain (nearly all of the base kept).
HIGH_SHARE: Final = 0.9
#: Share of the held tokens that must keep the family's order (see ``TokenizerMatch.order``),
#: and the share above which that is certain.
DERIVED_ORDER: Final = 0.8
HIGH_ORDER: Final = 0.95
#: Share of a family's tokens a vocabulary must hold, in any order, to be a shuffled copy of it;
#: and the least share of the vocabulary the family must make up (a vocabulary trained on its
#: own holds a small family's common pieces: Gemma's holds 96% of Llama 2's, which is 12% of
#: Gemma's; a shuffled copy with thousands of tokens appended stays well above half).
REORDERED_SHARE: Final = 0.95
REORDERED_OWN_SHARE: Final = 0.5
#: Fits (share times order) this close are equal: the more specific family wins.
SAME_FIT: Final = 0.02
_SKETCH_ITEM: Final = struct.Struct(">QI")
_DATA: Final = "tokenizer_families.json"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies a vocabulary."""

    digest: str
    """SHA-256 of the ordinary tokens in id order (hex)."""
    size: int
    positions: dict[int, int]
    """A 64-bit hash of each token → its position among the ordinary tokens."""

    def sketch(self, size: int = SKETCH_SIZE) -> tuple[tuple[int, int], ...]:
        """(hash, position) of the ``size`` tokens with the smallest hashes, by hash."""
        return tuple((value, self.positions[value]) for value in sorted(self.positions)[:size])


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenizerFamily:
    """One published vocabulary of the database."""

    id: str
    repo: str
    """Who published it: the Hub repo of the model (``ORG/NAME``), or the package that ships
    it (a purl, ``pkg:pypi/tiktoken``); its origin is theirs."""
    model: str
    size: int
    digest: str
    sketch: tuple[tuple[int, int], ...]
    """(hash, position) of its ``SKETCH_SIZE`` tokens with the smallest hashes."""
    source: str
    """Where the vocabulary was read (a package, version and path)."""
    repo_source: str
    """Where its repo is named."""
    as_of: str
    also: tuple[str, ...] = ()
    """Other published tokenizers with this very vocabulary (``repo`` names the first)."""
    derived_from: str | None = None
    """The family whose vocabulary this one extends (most of its tokens, in its order)."""
    specials: tuple[tuple[int, str, str], ...] = ()
    """``(id, token, repo)``: the control tokens each published tokenizer of this vocabulary
    declares (``repo`` is the one whose file holds them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenizerMatch:
    """A vocabulary found to be, or to come from, a family."""

    family: TokenizerFamily
    relation: str
    """``identical`` (the same ordinary tokens in the same order), ``derived`` (most of them,
    in their order) or ``reordered`` (nearly all of them and little else, in another order)."""
    share: float
    """Estimated share of the family's tokens that the vocabulary holds."""
    order: float
    """Share of those held tokens that keep the family's order (a longest increasing run):
    near 1 when a vocabulary was derived (trimmed or extended), low when it was trained on
    its own and holds common pieces by chance."""
    own_share: float
    """Estimated share of the vocabulary's tokens that come from the family."""
    confidence: str
    """``high`` or ``medium``."""
    others: tuple[tuple[str, float], ...] = ()
    """Other families it holds at least ``DERIVED_SHARE`` of (shared ancestry), with shares."""

    def describe(self) -> str:
        """One sentence: what the vocabulary is, with the figures behind it."""
        family = self.family
        if self.relation == "identical":
            what = (
                f"its vocabulary is {family.repo}'s, token for token "
                f"({family.size} {family.model} tokens)"
            )
        elif self.relation == "reordered":
            what = (
                f"its vocabulary holds {self.share:.0%} of {family.repo}'s {family.size} "
                f"tokens, which make {self.own_share:.0%} of its own, but only "
                f"{self.order:.0%} of them in their order: the same tokens under other ids"
            )
        else:
            what = (
                f"its vocabulary is derived from {family.repo}'s: it holds {self.share:.0%} of "
                f"its {family.size} tokens, {self.order:.0%} of them in their order, and they "
                f"make {self.own_share:.0%} of its own"
            )
        if family.derived_from:
            what += f"; {family.repo}'s vocabulary itself extends {family.derived_from}'s"
        return what + f" (the published vocabulary read from {family.source})"


def fingerprint(vocabulary: Vocabulary) -> Fingerprint:
    """The fingerprint of ``vocabulary``'s tokens."""
    encoded = [token.encode("utf-8", "surrogatepass") for token in vocabulary.tokens]
    digest = hashlib.sha256()
    for token in encoded:
        digest.update(len(token).to_bytes(4, "little"))
        digest.update(token)
    positions: dict[int, int] = {}
    for position, token in enumerate(encoded):
        positions.setdefault(token_hash(token), position)
    return Fingerprint(digest=digest.hexdigest(), size=len(encoded), positions=positions)


def token_hash(token: bytes) -> int:
    """A stable 64-bit hash of one token (two CRC-32s: fast, and enough for estimates)."""
    return (zlib.crc32(token) << 32) | zlib.crc32(token, 0x9E3779B9)


def match(
    print_: Fingerprint, families: Iterable[TokenizerFamily] | None = None
) -> TokenizerMatch | None:
    """The family ``print_`` is, or comes from; None when it holds too little of any."""
    known = tuple(families if families is not None else load_families())
    for family in known:
        if family.digest == print_.digest:
            return TokenizerMatch(
                family=family,
                relation="identical",
                share=1.0,
                order=1.0,
                own_share=1.0,
                confidence="high",
            )
    # Best first: the most of a family's tokens kept in its order (a derivative of a derivative
    # holds much of both, but only its own parent's in order).
    scored = sorted(
        ((*compare(family, print_), family) for family in known),
        key=lambda item: (-item[0] * item[1], item[2].id),
    )
    candidates = [
        (share, order, family)
        for share, order, family in scored
        if share >= DERIVED_SHARE and order >= DERIVED_ORDER
    ]
    if not candidates:
        return _reordered(known, print_)
    # A vocabulary holding most of Llama 3's holds most of cl100k's too, which Llama 3's
    # extends: of two families that fit as well, the one derived from the other is the match.
    best = candidates[0][0] * candidates[0][1]
    closer = [
        item
        for item in candidates
        if item[2].derived_from == candidates[0][2].id and item[0] * item[1] >= best - SAME_FIT
    ]
    if closer:
        candidates.remove(closer[0])
        candidates.insert(0, closer[0])
    share, order, family = candidates[0]
    own_share = min(1.0, share * family.size / max(print_.size, 1))
    certain = share >= HIGH_SHARE and order >= HIGH_ORDER
    return TokenizerMatch(
        family=family,
        relation="derived",
        share=share,
        order=order,
        own_share=own_share,
        confidence="high" if certain else "medium",
        others=tuple((other.id, round(value, 3)) for value, _, other in candidates[1:]),
    )


def _reordered(known: tuple[TokenizerFamily, ...], print_: Fingerprint) -> TokenizerMatch | None:
    """A family's tokens nearly all there, in another order, making up most of the vocabulary:
    the ids (and the embedding rows with them) were shuffled to hide the match, tokens added
    or not. A vocabulary trained on its own holds a small one's common pieces (Gemma's holds
    96% of Llama 2's) among many more of its own, hence ``REORDERED_OWN_SHARE``; medium
    confidence."""
    found = []
    for family in known:
        share, order = compare(family, print_)
        own_share = min(1.0, share * family.size / max(print_.size, 1))
        if share >= REORDERED_SHARE and own_share >= REORDERED_OWN_SHARE:
            found.append((share * own_share, share, order, own_share, family))
    if not found:
        return None
    best = max(found, key=lambda item: (item[0], item[4].id))
    # Refact's vocabulary is StarCoder's and a few more: shuffled, a copy of either fits both
    # equally, and only the base's tokens are certainly there.
    base = next(
        (
            item
            for item in found
            if item[4].id == best[4].derived_from and item[0] >= best[0] - SAME_FIT
        ),
        None,
    )
    _, share, order, own_share, family = base or best
    return TokenizerMatch(
        family=family,
        relation="reordered",
        share=share,
        order=order,
        own_share=own_share,
        confidence="medium",
    )


def compare(family: TokenizerFamily, print_: Fingerprint) -> tuple[float, float]:
    """(share of ``family``'s sketched tokens the vocabulary holds, share of those in the
    family's order)."""
    if not family.sketch:
        return 0.0, 0.0
    held = sorted(
        (position, print_.positions[value])
        for value, position in family.sketch
        if value in print_.positions
    )
    if not held:
        return 0.0, 0.0
    in_order = _longest_increasing([theirs for _, theirs in held])
    return len(held) / len(family.sketch), in_order / len(held)


def _longest_increasing(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for value in values:
        index = bisect.bisect_left(tails, value)
        if index == len(tails):
            tails.append(value)
        else:
            tails[index] = value
    return len(tails)


@cache
def load_families() -> tuple[TokenizerFamily, ...]:
    """The shipped database."""
    raw = resources.files("scanner.sources").joinpath("data", _DATA).read_text("utf-8")
    return parse_families(json.loads(raw))


def parse_families(document: object) -> tuple[TokenizerFamily, ...]:
    """Families from the database's JSON (``{"families": [...]}``)."""
    if not isinstance(document, dict) or not isinstance(document.get("families"), list):
        raise TypeError("a tokenizer family database is an object with a 'families' list")
    return tuple(_family(entry) for entry in document["families"])


def _family(entry: dict[str, object]) -> TokenizerFamily:
    sketch = base64.b64decode(str(entry["sketch"]))
    step = _SKETCH_ITEM.size
    also = entry.get("also") or []
    return TokenizerFamily(
        id=str(entry["id"]),
        repo=str(entry["repo"]),
        model=str(entry["model"]),
        size=int(str(entry["size"])),
        digest=str(entry["digest"]),
        sketch=tuple(
            _SKETCH_ITEM.unpack_from(sketch, index) for index in range(0, len(sketch), step)
        ),
        source=str(entry["source"]),
        repo_source=str(entry["repo_source"]),
        as_of=str(entry["as_of"]),
        also=tuple(str(item) for item in also) if isinstance(also, list) else (),
        derived_from=str(entry["derived_from"]) if entry.get("derived_from") else None,
        specials=tuple(
            (int(item[0]), str(item[1]), str(item[2]))
            for item in entry.get("specials") or ()  # type: ignore[attr-defined]
        ),
    )


def encode_sketch(sketch: tuple[tuple[int, int], ...]) -> str:
    """The database's spelling of a sketch: base64 of (8-byte hash, 4-byte position) pairs."""
    return base64.b64encode(b"".join(_SKETCH_ITEM.pack(*item) for item in sketch)).decode()
