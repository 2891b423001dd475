"""``sovscan fingerprint``: what a tokenizer file, a model folder or a Hub repo matches, and why.

A single file is read for its vocabulary. A folder is read as ``sovscan scan`` reads it (its
headers and metadata, no hashing) and a Hub repo from its metadata files and ranged header
reads; for both the report gives the vocabulary, the configuration's shape and the ancestors
they show together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from scanner.core.config import DEFAULT_HUB
from scanner.core.detection import detected_signals, detection_confidence
from scanner.core.errors import MalformedFileError, UsageError
from scanner.core.model import ComponentKind, RelationKind
from scanner.core.properties import PropertyName
from scanner.formats.model.vocabulary import read_vocabulary
from scanner.sources import tokenizer_families

if TYPE_CHECKING:
    from pathlib import Path

    from scanner.core.config import ScanConfig
    from scanner.formats.model.vocabulary import Vocabulary
    from scanner.sources.inventory import Inventory


def file_report(path: Path) -> str:
    """The vocabulary of one tokenizer or GGUF file, and the published one it matches.

    Raises:
        UsageError: the file holds no vocabulary, or cannot be read.
    """
    try:
        vocabulary = read_vocabulary(path)
    except (MalformedFileError, OSError) as exc:
        problem = exc.problem if isinstance(exc, MalformedFileError) else str(exc)
        raise UsageError(f"{path}: {problem}") from None
    if vocabulary is None:
        raise UsageError(f"{path}: no tokenizer vocabulary found")
    return "\n".join(_vocabulary_lines(str(path), vocabulary))


def folder_report(folder: Path, config: ScanConfig) -> str:
    """What a model folder's vocabulary and shape show, read without hashing.

    Raises:
        UsageError: the folder holds neither a vocabulary nor a configuration's shape.
    """
    from scanner.sources.folder_facts import read_folder_facts
    from scanner.sources.identity import identify
    from scanner.sources.inventory import build_inventory
    from scanner.sources.walk import walk_target

    facts = read_folder_facts(walk_target(folder))
    identity, _ = identify(folder, config.name, facts.downloads)
    inventory = build_inventory(identity, facts, [], {}, hub=config.hub_endpoint or DEFAULT_HUB)
    lines: list[str] = []
    for path, vocabulary in facts.vocabularies:  # each: a decoy must not stand alone
        lines += _vocabulary_lines(str(folder / path), vocabulary)
    return _model_report(str(folder), inventory, lines)


def hub_report(raw: str, config: ScanConfig) -> str:
    """What a Hub repo's vocabulary and shape show, from its metadata and header reads.

    Raises:
        UpstreamError: the repo cannot be read.
        UsageError: it holds neither a vocabulary nor a configuration's shape.
    """
    from scanner.sources.discovery import DiscoveryContext, HubSource
    from scanner.sources.targets import parse_target

    ctx = DiscoveryContext(config=config, cache=None)
    try:
        [(_, inventory)] = HubSource().discover(parse_target(raw), ctx)
    finally:
        ctx.close()
    return _model_report(raw, inventory, [])


def _vocabulary_lines(where: str, vocabulary: Vocabulary) -> list[str]:
    print_ = tokenizer_families.fingerprint(vocabulary)
    lines = [
        f"{where}: {vocabulary.model} vocabulary read from its {vocabulary.source}",
        f"  tokens:          {len(vocabulary.tokens)} ordinary of {vocabulary.declared} declared",
        f"  sha256:          {print_.digest}",
    ]
    found = tokenizer_families.match(print_)
    if found is None:
        lines.append("  published as:    no known vocabulary (its own, or one not in the database)")
        return lines
    family = found.family
    lines += [
        f"  published as:    {family.repo} ({found.relation}, {found.confidence} confidence)",
        f"  because:         {found.describe()}",
        f"  repo named by:   {family.repo_source}",
    ]
    if family.also:
        lines.append(f"  also shipped by: {', '.join(family.also)}")
    if found.others:
        shared = ", ".join(f"{name} ({share:.0%})" for name, share in found.others)
        lines.append(f"  also holds most of: {shared} (shared ancestry)")
    return lines


#: Properties of supporting signals, and how the report labels them.
_SUPPORTING: Final = {
    PropertyName.TOKENIZER_CHAT_TEMPLATE_OF: "chat template:",
    PropertyName.TOKENIZER_SPECIALS_OF: "special tokens:",
}


def _model_report(where: str, inventory: Inventory, lines: list[str]) -> str:
    """``lines`` (a vocabulary read locally), then what the inventory's fingerprints show."""
    by_ref = {component.ref: component for component in inventory.components}
    subject = by_ref[inventory.subject_ref]
    tokenizer = next((c for c in inventory.components if c.kind is ComponentKind.TOKENIZER), None)
    properties = dict(subject.properties)
    vocabulary = dict(tokenizer.properties) if tokenizer is not None else {}
    shape = properties.get(PropertyName.ARCHITECTURE_SHAPE)
    if not lines and PropertyName.TOKENIZER_VOCABULARY_SHA256 in vocabulary:
        family = vocabulary.get(PropertyName.TOKENIZER_FAMILY, "no known vocabulary")
        lines += [
            f"{where}: vocabulary",
            f"  sha256:          {vocabulary[PropertyName.TOKENIZER_VOCABULARY_SHA256]}",
            f"  published as:    {family}",
        ]
    supporting = [
        f"  {label:<17}{value}"
        for component in (subject, tokenizer)
        if component is not None
        for key, value in component.properties
        for name, label in _SUPPORTING.items()
        if key == name
    ]
    if not lines and shape is None and not supporting:
        raise UsageError(
            f"{where}: no tokenizer vocabulary, model shape, or published chat template "
            "or special tokens found"
        )
    if supporting:
        lines.append(f"{where}: supporting signals (never decisive alone)")
        lines += supporting
    if shape is not None:
        lines += [f"{where}: model", f"  shape:           {shape}"]
        copied = properties.get(PropertyName.ARCHITECTURE_SHAPE_OF)
        lines.append(f"  copies:          {copied or 'no published configuration we hold'}")
        lines += [
            f"  named in GGUF:   {value} (supporting evidence, never decisive alone)"
            for key, value in subject.properties
            if key == PropertyName.GGUF_NAMES_PUBLISHED
        ]
    derived = [
        relation
        for relation in inventory.relations
        if relation.src == inventory.subject_ref
        and relation.kind is RelationKind.DERIVED
        and relation.dst in by_ref
    ]
    if not derived and shape is not None:
        lines.append(
            "  ancestor:        none shown"
            + (" (the widths alone are architecture reuse, not lineage)" if copied else "")
        )
    for relation in derived:
        base = by_ref[relation.dst]
        name = f"{base.group}/{base.name}" if base.group else base.name
        lines.append(
            f"  derived from:    {name} ({detected_signals(relation.evidence)}, "
            f"{detection_confidence(relation.evidence)} confidence)"
        )
        lines += [f"    because:       {evidence.value}" for evidence in relation.evidence]
    return "\n".join(lines)
