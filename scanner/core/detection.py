"""Facts found by fingerprint rather than declared: the evidence methods that mark them, and
how certain a set of such facts is.

A fingerprint's ``Evidence.field`` is ``<signal>:<relation>:<confidence>`` (for example
``vocabulary:identical:high`` or ``architecture:exact:medium``); a supporting signal's
confidence is ``supporting``, which adds to the evidence and never to the confidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.core.model import Evidence, Relation

#: ``Evidence.method`` of a fact found by a tokenizer vocabulary's fingerprint.
VOCABULARY_FINGERPRINT: Final = "tokenizer-fingerprint"
#: ``Evidence.method`` of a fact found by a model's shape (widths, depth, vocabulary size).
ARCHITECTURE_FINGERPRINT: Final = "architecture-fingerprint"
#: ``Evidence.method`` of a chat template's print: supporting evidence, never decisive.
CHAT_TEMPLATE_FINGERPRINT: Final = "chat-template-fingerprint"
#: ``Evidence.method`` of special tokens declared at a published tokenizer's ids: supporting.
SPECIAL_TOKENS_FINGERPRINT: Final = "special-tokens-fingerprint"
#: ``Evidence.method`` of a GGUF name (``general.name``, ``general.basename``…) that names a
#: published model: a converter's declaration, supporting evidence only.
GGUF_NAME_HINT: Final = "gguf-name-hint"
#: Each fingerprint method, and the signal it reads.
SIGNALS: Final = {
    VOCABULARY_FINGERPRINT: "vocabulary",
    ARCHITECTURE_FINGERPRINT: "architecture",
    CHAT_TEMPLATE_FINGERPRINT: "chat-template",
    GGUF_NAME_HINT: "gguf-name",
    SPECIAL_TOKENS_FINGERPRINT: "special-tokens",
}
#: ``Evidence.method`` prefix of a fact the knowledge base adds to a component (its licence):
#: it declares nothing about the component being there, so it leaves a detection as it was.
KNOWLEDGE_BASE: Final = "knowledge-base"


def detection_confidence(evidence: Iterable[Evidence]) -> str | None:
    """``high`` or ``medium`` when every fact of ``evidence`` is a fingerprint (nothing
    declares what it stands for); None when one is declared, or there is none. The knowledge
    base's own facts are neither."""
    facts = tuple(item for item in evidence if not item.method.startswith(KNOWLEDGE_BASE))
    if not facts or any(item.method not in SIGNALS for item in facts):
        return None
    levels = {item.field.rpartition(":")[2] for item in facts}
    return "high" if "high" in levels else "medium"


def detected_signals(evidence: Iterable[Evidence]) -> str | None:
    """The signals a detected fact rests on, ``+``-joined (``architecture+vocabulary``); None
    when ``evidence`` is not all fingerprints."""
    facts = tuple(evidence)
    if detection_confidence(facts) is None:
        return None
    return "+".join(sorted({SIGNALS[i.method] for i in facts if i.method in SIGNALS}))


def relation_labels(relation: Relation) -> tuple[str, ...]:
    """The ``sovscan:relation`` values of ``relation``: its kind, and ``detected:<signals>``
    when fingerprints, not files, found it."""
    signals = detected_signals(relation.evidence)
    return (relation.kind.value, *((f"detected:{signals}",) if signals else ()))
