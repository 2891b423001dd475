"""Which published tokenizer a model's special tokens come from: the control tokens a
``tokenizer_config.json`` declares (``added_tokens_decoder``: id and text) matched against
those each published tokenizer of the database declares, when the vocabulary file itself is
absent or another's.

Only pairs one publisher's tokenizers alone declare count (``<s>`` at 1 is every SentencePiece
model's; ``<|im_start|>`` at 151644 is Qwen's), and at least ``MIN_AGREEING`` of them. A
config file is text anyone can edit, so a match is a supporting signal only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

from scanner.core.detection import SPECIAL_TOKENS_FINGERPRINT
from scanner.sources.tokenizer_families import load_families

if TYPE_CHECKING:
    from collections.abc import Iterable

#: The ``Evidence.method`` of a fact special tokens support; its ``field`` is
#: ``special-tokens:same-ids:supporting``.
EVIDENCE_METHOD: Final = SPECIAL_TOKENS_FINGERPRINT
#: Least distinctive (id, token) pairs that must agree with one publisher's.
MIN_AGREEING: Final = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecialTokensMatch:
    """The published tokenizer whose distinctive special tokens a tokenizer declares."""

    repo: str
    agreeing: tuple[tuple[int, str], ...]
    """The distinctive ``(id, token)`` pairs both declare, by id."""

    @property
    def publisher(self) -> str:
        """The Hub namespace of ``repo``."""
        return self.repo.partition("/")[0]

    def describe(self) -> str:
        """One sentence: which repo, and the pairs."""
        shown = ", ".join(f"{token} at {index}" for index, token in self.agreeing[:4])
        more = f" and {len(self.agreeing) - 4} more" if len(self.agreeing) > 4 else ""
        return f"its special tokens are {self.repo}'s, at the same ids ({shown}{more})"


def match_special_tokens(pairs: Iterable[tuple[int, str]]) -> SpecialTokensMatch | None:
    """The published tokenizer whose distinctive special tokens ``pairs`` hold most of; None
    when fewer than ``MIN_AGREEING`` agree with any."""
    table = _distinctive()
    agreeing: dict[str, list[tuple[int, str]]] = {}
    for pair in dict.fromkeys(pairs):
        for repo in table.get(pair, ()):
            agreeing.setdefault(repo, []).append(pair)
    order = _first_seen()
    best = min(agreeing.items(), key=lambda item: (-len(item[1]), order[item[0]]), default=None)
    if best is None or len(best[1]) < MIN_AGREEING:
        return None
    return SpecialTokensMatch(repo=best[0], agreeing=tuple(sorted(best[1])))


@cache
def _first_seen() -> dict[str, int]:
    """Each repo declaring special tokens → its place in the database (a family's own repo
    before the others that ship its vocabulary)."""
    repos = (repo for family in load_families() for _, _, repo in family.specials)
    return {repo: index for index, repo in enumerate(dict.fromkeys(repos))}


@cache
def _distinctive() -> dict[tuple[int, str], tuple[str, ...]]:
    """Each (id, token) pair the database's tokenizers declare → the repos declaring it, for
    the pairs that a single publisher's tokenizers alone declare."""
    repos: dict[tuple[int, str], set[str]] = {}
    for family in load_families():
        for index, token, repo in family.specials:
            repos.setdefault((index, token), set()).add(repo)
    return {
        pair: tuple(sorted(found))
        for pair, found in repos.items()
        if len({repo.partition("/")[0].lower() for repo in found}) == 1
    }
