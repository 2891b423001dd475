"""Lineage found in the artefacts whatever the files declare: the published vocabulary a
tokenizer is (its fingerprint), and the published model whose weights a model holds (its shape
and its vocabulary together).

Signals are combined so that architecture reuse is never taken for lineage:

* the shape copies a published configuration exactly (widths, depth, vocabulary size, RoPE
  base) and the vocabulary is certainly that publisher's: the model derives from that
  publisher's model, with high confidence;
* the shape copies one exactly but the vocabulary is not read, is another publisher's or is
  none we hold: possibly derived (medium confidence: no tier passes on it, none fails on it);
* only the widths and depth match (a vocabulary of its own, as YandexGPT-5-Lite has on Llama
  3's widths): architecture reuse, recorded on the model and not lineage.

Each detected ancestor is a ``derived`` relation whose evidence says which signals found it
and how certain they are; LIN001 reports one that nothing the model declares names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from scanner.core.detection import detection_confidence
from scanner.core.ids import parse_hub_id
from scanner.core.model import (
    LINEAGE_RELATIONS,
    Component,
    ComponentKind,
    Evidence,
    Finding,
    Layer,
    RelationKind,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.formats.model.architecture_shape import (
    ArchitectureShape,
    TensorShape,
    shape_from_gguf,
    shapes_from_tensors,
)
from scanner.formats.model.chat_template_text import DEFAULT_NAME, TemplatePrint, template_print
from scanner.sources.inventory_builder import hub_ref

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.formats.model.safetensors import SafetensorsHeader
    from scanner.sources.architecture_families import ArchitectureMatch
    from scanner.sources.folder_facts import FolderFacts
    from scanner.sources.inventory_builder import InventoryBuilder
    from scanner.sources.tokenizer_families import Fingerprint, TokenizerMatch


def add_detected_lineage(
    builder: InventoryBuilder, subject_ref: str, tokenizer_ref: str | None, facts: FolderFacts
) -> None:
    """Add what the tokenizer's vocabulary and the model's shape show the model comes from,
    with what the chat template supports."""
    prints = _fingerprints(facts)
    vocabulary, vocabulary_evidence = (
        _add_detected_vocabulary(builder, subject_ref, tokenizer_ref, prints)
        if tokenizer_ref is not None
        else (None, ())
    )
    supporting = [
        *_add_template_matches(builder, tokenizer_ref or subject_ref, facts),
        *_add_gguf_names(builder, subject_ref, facts),
        *_add_special_tokens(builder, tokenizer_ref or subject_ref, facts),
    ]
    for path, header in facts.safetensors:
        if header.layout.truncated:
            builder.issue(
                path.as_posix(),
                "more tensors or blocks than are read for the weights' shape: the shape the "
                "weights show may be hidden",
                Severity.MEDIUM,
            )
    shape, where, found = _best_shape(model_shapes(facts))
    if shape is None:
        return
    _set_properties(builder, subject_ref, [(PropertyName.ARCHITECTURE_SHAPE, shape.describe())])
    if found is None:
        return
    own = builder.identity.hub_id
    publishers = list(found.publishers)
    if own is not None and own.namespace.lower() in {p.lower() for p in publishers}:
        return  # its publisher's own shape: the model itself, or a sibling, not an ancestor
    _set_properties(
        builder,
        subject_ref,
        [(PropertyName.ARCHITECTURE_SHAPE_OF, found.label())],
    )
    if _declared_by_publisher(builder, subject_ref, publishers):
        return
    publisher = _vocabulary_publisher(vocabulary, publishers)
    if publisher is not None:  # both signals name one publisher
        confidence = "high" if vocabulary and vocabulary.confidence == "high" else "medium"
        base = _DetectedBase(found, publisher, confidence, where, _read_from(shape))
        evidence = (*vocabulary_evidence, *_supporting(supporting, publisher))
        _add_detected_base(builder, subject_ref, base, vocabulary, evidence)
        return
    held = _held_by_vocabulary(prints, publishers) if vocabulary is None else None
    if held is not None:  # most of that publisher's tokens, in an order of their own
        publisher, held_evidence = held
        base = _DetectedBase(found, publisher, "medium", where, _read_from(shape))
        evidence = (held_evidence, *_supporting(supporting, publisher))
        _add_detected_base(builder, subject_ref, base, None, evidence)
        return
    if found.level != "exact" and facts.vocabulary is not None:
        return  # a vocabulary of its own on a published architecture: reuse, not lineage
    for publisher in publishers:
        base = _DetectedBase(found, publisher, "medium", where, _read_from(shape))
        _add_detected_base(builder, subject_ref, base, None, _supporting(supporting, publisher))


def _fingerprints(facts: FolderFacts) -> list[tuple[PurePosixPath, Fingerprint]]:
    """The fingerprint of each vocabulary the folder holds (the families load only then)."""
    if not facts.vocabularies:
        return []
    from scanner.sources import tokenizer_families

    return [(path, tokenizer_families.fingerprint(v)) for path, v in facts.vocabularies]


#: A supporting signal: the publishers it names, and its evidence.
Supporting = tuple[tuple[str, ...], Evidence]


def _add_template_matches(
    builder: InventoryBuilder, ref: str, facts: FolderFacts
) -> list[Supporting]:
    """The published chat templates the model's templates are or revise, each recorded on
    ``ref`` (the tokenizer, else the model) with its evidence."""
    prints = _template_prints(facts)
    if not prints:
        return []
    from scanner.sources import chat_templates

    found: list[Supporting] = []
    for location, name, print_ in prints:
        match = chat_templates.match_template(print_)
        if match is None:
            continue
        evidence = Evidence(
            location=location,
            field=f"chat-template:{match.relation}:supporting",
            value=match.describe() + ("" if name == DEFAULT_NAME else f" (template {name!r})"),
            method=chat_templates.EVIDENCE_METHOD,
        )
        repo = match.template.repos[0][0]
        how = match.relation if match.relation == "identical" else f"near, {match.similarity:.0%}"
        label = f"{repo} ({how}, {location})"
        _set_properties(
            builder, ref, [(PropertyName.TOKENIZER_CHAT_TEMPLATE_OF, label)], (evidence,)
        )
        found.append((match.template.publishers, evidence))
    return found


def _add_gguf_names(builder: InventoryBuilder, ref: str, facts: FolderFacts) -> list[Supporting]:
    """The published models a GGUF header's names name, each recorded on the model (``ref``)
    with its evidence."""
    if not facts.gguf:
        return []
    from scanner.sources import published_names

    found: list[Supporting] = []
    for path, meta in facts.gguf:
        for field, value, words in published_names.gguf_names(meta):
            repos = published_names.repos_named(words)
            if not repos:
                continue
            evidence = Evidence(
                location=path.as_posix(),
                field="gguf-name:names:supporting",
                value=f"its {field} {value!r} names {', '.join(repos)}",
                method=published_names.EVIDENCE_METHOD,
            )
            labels = [(PropertyName.GGUF_NAMES_PUBLISHED, f"{repo} ({field})") for repo in repos]
            _set_properties(builder, ref, labels)
            found.append((tuple(repo.partition("/")[0] for repo in repos), evidence))
    return found


def _template_prints(facts: FolderFacts) -> list[tuple[str, str, TemplatePrint]]:
    """``(file, name, print)`` of every chat template the model's files hold."""
    found: list[tuple[str, str, TemplatePrint]] = []
    if facts.tokenizer is not None:
        found += [
            ("tokenizer_config.json", name, print_)
            for name, print_ in facts.tokenizer.chat_template_prints
        ]
    for path, prints in facts.chat_templates:
        found += [(path.as_posix(), name, print_) for name, print_ in prints]
    for path, meta in facts.gguf:
        template = meta.chat_template
        if template is not None and template.strip():
            found.append((path.as_posix(), DEFAULT_NAME, template_print(template)))
    return found


def _add_special_tokens(
    builder: InventoryBuilder, ref: str, facts: FolderFacts
) -> list[Supporting]:
    """The published tokenizer whose distinctive special tokens ``tokenizer_config.json``
    declares at the same ids, recorded on ``ref`` (the tokenizer, else the model)."""
    if facts.tokenizer is None or not facts.tokenizer.added_tokens:
        return []
    from scanner.sources import special_tokens

    found = special_tokens.match_special_tokens(facts.tokenizer.added_tokens)
    if found is None:
        return []
    evidence = Evidence(
        location="tokenizer_config.json",
        field="special-tokens:same-ids:supporting",
        value=found.describe(),
        method=special_tokens.EVIDENCE_METHOD,
    )
    label = f"{found.repo} ({len(found.agreeing)} at its ids, tokenizer_config.json)"
    _set_properties(builder, ref, [(PropertyName.TOKENIZER_SPECIALS_OF, label)], (evidence,))
    return [((found.publisher,), evidence)]


def _supporting(signals: list[Supporting], publisher: str) -> tuple[Evidence, ...]:
    """The evidence of the supporting signals that name ``publisher``."""
    return tuple(evidence for publishers, evidence in signals if publisher in publishers)


def _read_from(shape: Shape) -> str:
    return "weights" if isinstance(shape, TensorShape) else "configuration"


#: Share of a shape publisher's vocabulary that a vocabulary matching no family must hold, in
#: any order, for the shape to count as that publisher's model: a copy whose ids were shuffled
#: and tokens dropped or appended beyond what a match survives still holds most of them.
HELD_SHARE = 0.8


def _held_by_vocabulary(
    prints: list[tuple[PurePosixPath, Fingerprint]], publishers: list[str]
) -> tuple[str, Evidence] | None:
    """The first of ``publishers`` one of whose vocabularies the model's holds for the most
    part (``HELD_SHARE``), whatever the order, with the evidence."""
    from scanner.sources import tokenizer_families

    for publisher in publishers:
        for family in tokenizer_families.load_families():
            shipped_by = {_namespace(repo) for repo in (family.repo, *family.also)}
            if publisher not in shipped_by:
                continue
            share, path = max(
                ((tokenizer_families.compare(family, print_)[0], p) for p, print_ in prints),
                default=(0.0, None),
            )
            if path is not None and share >= HELD_SHARE:
                return publisher, Evidence(
                    location=path.as_posix(),
                    field="vocabulary:holds:medium",
                    value=f"its vocabulary holds {share:.0%} of {family.repo}'s tokens, in an "
                    "order of its own",
                    method=tokenizer_families.EVIDENCE_METHOD,
                )
    return None


def _vocabulary_publisher(vocabulary: TokenizerMatch | None, publishers: list[str]) -> str | None:
    """The publisher of the shape whose vocabulary the tokenizer is or derives from."""
    if vocabulary is None:
        return None
    family = vocabulary.family
    shipped_by = {_namespace(repo) for repo in (family.repo, *family.also)}
    return next((p for p in publishers if p in shipped_by), None)


Shape = ArchitectureShape | TensorShape


def model_shapes(facts: FolderFacts) -> list[tuple[Shape, str]]:
    """Each shape the model's files show, with the file it was read from: every ``config.json``
    (or its text model's sub-config; the top-level one first: a loader may be pointed at a
    subfolder), the GGUF files' keys, and the tensor shapes of the safetensors files of each
    folder (a checkpoint's shards together, adapters' too: a name is no proof)."""
    found: list[tuple[Shape, str]] = []
    configs = sorted(facts.configs, key=lambda item: (len(item[0].parts), item[0].as_posix()))
    for path, config in configs:
        where = path.as_posix()
        if config.shape is not None:
            found.append((config.shape, where))
        # A composite model's text model (LLaVA's text_config) is what it loads, whatever
        # the top level says.
        found += [(sub.shape, f"{where} ({key})") for key, sub in config.sub_configs if sub.shape]
    for path, meta in facts.gguf:
        shape = shape_from_gguf(meta.values, meta.architecture, meta.vocab_size)
        if shape is not None:
            found.append((shape, path.as_posix()))
    checkpoints: dict[PurePosixPath, list[tuple[PurePosixPath, SafetensorsHeader]]] = {}
    for path, header in facts.safetensors:
        checkpoints.setdefault(path.parent, []).append((path, header))
    for folder in sorted(checkpoints, key=lambda p: (len(p.parts), p.as_posix())):
        shards = checkpoints[folder]
        first = shards[0][0].as_posix()
        more = f" and {len(shards) - 1} more shards" if len(shards) > 1 else ""
        found += [
            (tensors, first + more)
            for tensors in shapes_from_tensors(header.layout for _, header in shards)
        ]
    return found


def _best_shape(
    shapes: list[tuple[Shape, str]],
) -> tuple[Shape | None, str, ArchitectureMatch | None]:
    """The shape that copies a published one most closely (exact before widths alone, then in
    ``model_shapes``' order): what the weights' tensors show counts even when a configuration
    that says otherwise comes first. The first shape when none copies one."""
    if not shapes:
        return None, "", None
    from scanner.sources import architecture_families

    matches = [(shape, where, architecture_families.match_shape(shape)) for shape, where in shapes]
    for level in ("exact", "dimensions"):
        for shape, where, found in matches:
            if found is not None and found.level == level:
                return shape, where, found
    if not shapes:
        return None, "", None
    return shapes[0][0], shapes[0][1], None


@dataclass(frozen=True, slots=True)
class _DetectedBase:
    """A publisher's models whose shape a model copies, and how certain its lineage is."""

    found: ArchitectureMatch
    publisher: str
    confidence: str
    where: str
    """The file the shape was read from."""
    read_from: str = "configuration"
    """What showed the shape: the ``configuration`` or the ``weights`` (their tensor shapes)."""


def _add_detected_base(
    builder: InventoryBuilder,
    subject_ref: str,
    base: _DetectedBase,
    vocabulary: TokenizerMatch | None,
    more_evidence: tuple[Evidence, ...],
) -> None:
    """The ancestor ``base`` stands for, related to the model with the shape's evidence and
    ``more_evidence`` (the vocabulary's, the chat templates')."""
    from scanner.sources import architecture_families

    found, confidence = base.found, base.confidence
    members = found.of(base.publisher)
    hub_id = parse_hub_id(members[0].repo)
    if hub_id is None:
        return
    text = found.describe(members)
    if vocabulary is not None:
        text += f"; its vocabulary is {base.publisher}'s ({vocabulary.relation})"
    elif confidence != "high":
        text += (
            "; its vocabulary does not show whose weights it holds"
            if len(found.publishers) == 1
            else f"; {', '.join(found.publishers)} published models of this shape"
        )
    shape_evidence = Evidence(
        location=base.where,
        field=f"architecture:{found.level}:{confidence}",
        value=text,
        method=architecture_families.EVIDENCE_METHOD,
    )
    evidence = (shape_evidence, *more_evidence)
    ref = builder.hub_model(hub_id, shape_evidence, Layer.WEIGHTS)
    if len(members) > 1:
        others = ", ".join(member.repo for member in members[1:])
        _set_properties(builder, ref, [(PropertyName.DETECTED_SAME_SHAPE, others)])
    builder.relate(subject_ref, ref, RelationKind.DERIVED, *evidence)
    builder.findings.append(
        _undeclared_ancestor(
            builder,
            subject_ref,
            ref,
            what=(
                f"its {base.read_from} and vocabulary are {members[0].repo}'s"
                if vocabulary is not None
                else f"the shape of its {base.read_from} is {members[0].repo}'s"
            )
            + f" ({confidence} confidence)",
            key=members[0].repo,
            repo=members[0].repo,
            evidence=evidence,
            layer=Layer.WEIGHTS,
        )
    )


def _declared_by_publisher(
    builder: InventoryBuilder, subject_ref: str, publishers: list[str]
) -> bool:
    """Whether the files declare a base from one of ``publishers`` (the shape agrees)."""
    wanted = {p.lower() for p in publishers}
    for (src, dst, kind), relation in builder.relations.items():
        if src != subject_ref or kind not in LINEAGE_RELATIONS:
            continue
        if detection_confidence(relation.evidence) is not None:
            continue
        base = builder.components.get(dst)
        if base is not None and (base.group or "").lower() in wanted:
            return True
    return False


def _add_detected_vocabulary(
    builder: InventoryBuilder,
    subject_ref: str,
    ref: str,
    prints: list[tuple[PurePosixPath, Fingerprint]],
) -> tuple[TokenizerMatch | None, tuple[Evidence, ...]]:
    """The published vocabulary the tokenizer (``ref``) is, or comes from, found by its
    fingerprint whatever the metadata declares, with the evidence: a ``tokenizer-from`` edge
    to its publisher, and LIN001 when nothing the model declares names it."""
    if not prints:
        return None, ()
    from scanner.sources import tokenizer_families

    path, print_, found = _strongest_vocabulary(builder, prints)
    properties = [(PropertyName.TOKENIZER_VOCABULARY_SHA256, print_.digest)]
    evidence: tuple[Evidence, ...] = ()
    if found is not None:
        family = found.family
        properties.append(
            (PropertyName.TOKENIZER_FAMILY, f"{family.id} ({found.relation}, {found.confidence})")
        )
        evidence = (
            Evidence(
                location=path.as_posix(),
                field=f"vocabulary:{found.relation}:{found.confidence}",
                value=found.describe(),
                method=tokenizer_families.EVIDENCE_METHOD,
            ),
        )
    _set_properties(builder, ref, properties, evidence)
    if found is None:
        return None, ()
    if found.family.repo.startswith("pkg:"):  # shipped by a package (OpenAI's tiktoken)
        declared = found.family.repo in builder.components
        source = builder.add(
            Component(
                ref=found.family.repo,
                kind=ComponentKind.LIBRARY,
                name=found.family.repo.rpartition("/")[2],
                purl=found.family.repo,
                layer=Layer.TOKENIZER,
                evidence=evidence,
            )
        )
    else:
        hub_id = parse_hub_id(found.family.repo)
        own = builder.identity.hub_id
        if hub_id is None or (own is not None and hub_id.repo_id == own.repo_id):
            return found, evidence
        declared = hub_ref(hub_id) in builder.components
        source = builder.hub_model(hub_id, evidence[0], Layer.TOKENIZER)
    builder.relate(ref, source, RelationKind.TOKENIZER_FROM, *evidence)
    if not declared:  # the metadata names it already: nothing undeclared to report
        builder.findings.append(
            _undeclared_ancestor(
                builder,
                subject_ref,
                ref,
                what=f"its tokenizer's vocabulary is {found.family.repo}'s "
                f"({found.relation}, {found.confidence} confidence)",
                key=found.family.id,
                repo=found.family.repo,
                evidence=evidence,
                layer=Layer.TOKENIZER,
            )
        )
    return found, evidence


#: How strongly a vocabulary match names its family, strongest first.
_STRENGTH = {
    ("high", "identical"): 0,
    ("high", "derived"): 1,
    ("medium", "derived"): 2,
    ("medium", "reordered"): 3,
}


def _strongest_vocabulary(
    builder: InventoryBuilder, prints: list[tuple[PurePosixPath, Fingerprint]]
) -> tuple[PurePosixPath, Fingerprint, TokenizerMatch | None]:
    """Of the tokenizer files' vocabularies, the one that names a published family most
    strongly (a decoy first in line must not hide the vocabulary a loader reads), else the
    first; tokenizer files that hold different vocabularies are reported."""
    from scanner.sources import tokenizer_families

    matches: dict[str, TokenizerMatch | None] = {}
    for _, print_ in prints:
        if print_.digest not in matches:
            matches[print_.digest] = tokenizer_families.match(print_)
    if len(matches) > 1:
        files = ", ".join(path.as_posix() for path, _ in prints)
        builder.issue(
            prints[0][0].as_posix(),
            f"the tokenizer files hold {len(matches)} different vocabularies ({files}); "
            "each is matched, and the one that names a published vocabulary counts",
        )
    path, print_ = min(prints, key=lambda item: _strength(matches[item[1].digest]))
    return path, print_, matches[print_.digest]


def _strength(found: TokenizerMatch | None) -> int:
    """How strongly a match names its family: 0 strongest, ``len(_STRENGTH)`` for none."""
    if found is None:
        return len(_STRENGTH)
    return _STRENGTH.get((found.confidence, found.relation), len(_STRENGTH))


def _set_properties(
    builder: InventoryBuilder,
    ref: str,
    properties: Sequence[tuple[str, str]],
    evidence: tuple[Evidence, ...] = (),
) -> None:
    component = builder.components[ref]
    builder.components[ref] = replace(
        component,
        properties=tuple(dict.fromkeys((*component.properties, *properties))),
        evidence=(*component.evidence, *evidence),
    )


def _namespace(repo: str) -> str:
    return repo.partition("/")[0]


def _undeclared_ancestor(
    builder: InventoryBuilder,
    subject_ref: str,
    ref: str,
    *,
    what: str,
    key: str,
    repo: str,
    evidence: tuple[Evidence, ...],
    layer: Layer,
) -> Finding:
    """LIN001: the artefacts name an ancestor that nothing the model declares names; what it
    does declare is quoted."""
    bases = [
        builder.components[dst].name if dst in builder.components else dst
        for (src, dst, kind), relation in builder.relations.items()
        if src == subject_ref
        and kind in LINEAGE_RELATIONS
        and detection_confidence(relation.evidence) is None
    ]
    declared = (
        f"it declares {', '.join(dict.fromkeys(bases))} as its base"
        if bases
        else "it declares no base model"
    )
    return Finding(
        rule_id="LIN001",
        severity=Severity.MEDIUM,
        component_ref=ref,
        message=f"{builder.identity.label}: {declared}, yet {what}, which no file declares",
        evidence=evidence,
        layer=layer,
        key=key,
        remediation=f"Ask the publisher whether the model derives from {repo}; if it does, "
        "declare it (base_model in the card)",
    )
