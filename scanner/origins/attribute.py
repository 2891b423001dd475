"""Attribute every component of a scan to an organisation and country, with evidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import assert_never

from scanner.core.detection import detection_confidence
from scanner.core.model import (
    LINEAGE_RELATIONS,
    Component,
    ComponentKind,
    Confidence,
    Evidence,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
)
from scanner.core.properties import PropertyName
from scanner.origins.inference import (
    entry_evidence,
    from_organization_name,
    infer_license,
    is_known,
    origin_from_entry,
    unknown_origin,
)
from scanner.origins.knowledge import EntryKind, KnowledgeBase
from scanner.origins.package_metadata import (
    PYPI_PURL_PREFIX,
    is_pypi_release,
    library_origin_from_metadata,
    pypi_name,
)
from scanner.origins.package_metadata import is_metadata_evidence as _is_metadata

#: Ref prefix of ancestors named by a value that is not a Hub id.
UNRESOLVED_PREFIX = "model:unresolved:"
#: Deepest inheritance chain followed (re-upload of a re-upload of …); deeper is unknown.
MAX_INHERITANCE_DEPTH = 64
_HUB_PURL_PREFIX = "pkg:huggingface/"
_LICENSE_FIELDS = frozenset({"license", "license_name", "general.license"})


def attribute(result: ScanResult, kb: KnowledgeBase) -> ScanResult:
    """A copy of ``result`` where every non-file component has ``origin`` and its hints set.

    Rules: Hub models, adapters, remote code and datasets take their namespace's
    entry; a namespace with no entry is *unknown*, never foreign. Re-uploaders (TheBloke,
    bartowski, mlx-community, …) are not the origin of the weights: the origin is inherited
    through the weights lineage (finetune / adapter / quantized / merge); with several
    attributed parents the first in the result's relation order is the origin and the others
    become ``origin_hints`` (policies check every ancestor as its own component anyway). A
    tokenizer follows its ``tokenizer-from`` source, else its model; code in the scanned folder
    follows the model that runs it. The subject without a namespace and unresolved ancestors
    are unknown. Licences (``llama3`` → Meta) and GGUF ``general.organization`` are lineage
    hints, never the component's own origin. Libraries take their pypi-package entry, else what
    their metadata's author/maintainer addresses and project URLs say, else a family entry
    (``nvidia-*``). Files
    carry no origin: they belong to their model. Origins already set are recomputed; existing
    hints are kept.
    """
    attributor = _Attributor.of(result, kb)
    return replace(
        result, components=tuple(attributor.attributed(comp) for comp in result.components)
    )


@dataclass
class _Attributor:
    """Resolves origins once per component, following inheritance with a cycle guard."""

    kb: KnowledgeBase
    components: dict[str, Component]
    outgoing: dict[str, list[Relation]]
    incoming: dict[str, list[Relation]]
    origins: dict[str, Origin] = field(default_factory=dict)
    extra_hints: dict[str, tuple[Origin, ...]] = field(default_factory=dict)
    resolving: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, result: ScanResult, kb: KnowledgeBase) -> _Attributor:
        outgoing: dict[str, list[Relation]] = defaultdict(list)
        incoming: dict[str, list[Relation]] = defaultdict(list)
        for rel in result.relations:
            outgoing[rel.src].append(rel)
            incoming[rel.dst].append(rel)
        return cls(
            kb=kb,
            components={comp.ref: comp for comp in result.components},
            outgoing=outgoing,
            incoming=incoming,
        )

    def attributed(self, comp: Component) -> Component:
        origin = self.origin_of(comp.ref)
        if origin is None:
            return comp
        hints = (*self.extra_hints.get(comp.ref, ()), *self._lineage_hints(comp))
        return replace(
            comp, origin=origin, origin_hints=tuple(dict.fromkeys((*comp.origin_hints, *hints)))
        )

    def origin_of(self, ref: str) -> Origin | None:
        """The origin of ``ref`` (None for files and refs not in the scan)."""
        cached = self.origins.get(ref)
        if cached is not None:
            return cached
        comp = self.components.get(ref)
        if comp is None or comp.kind is ComponentKind.FILE:
            return None
        if ref in self.resolving:
            return unknown_origin(f"lineage loops back to {_display(ref)}: origin unknown")
        if len(self.resolving) >= MAX_INHERITANCE_DEPTH:
            return unknown_origin(
                f"lineage deeper than {MAX_INHERITANCE_DEPTH} steps at {_display(ref)}: "
                "origin unknown"
            )
        self.resolving.add(ref)
        try:
            origin = self._resolve(comp)
        finally:
            self.resolving.discard(ref)
        self.origins[ref] = origin
        return origin

    # --- per kind ------------------------------------------------------------------------------

    def _resolve(self, comp: Component) -> Origin:
        kind = comp.kind
        if kind is ComponentKind.MODEL or kind is ComponentKind.ADAPTER:
            return self._model(comp)
        if kind is ComponentKind.CODE:
            if (PropertyName.SECURITY_EMBEDDED_CODE, "true") in comp.properties:
                return unknown_origin(
                    f"{comp.description or comp.name}: code hidden in a model file has no "
                    "provenance at all",
                    comp.evidence,
                )
            return self._namespace(comp) if comp.group else self._owned(comp, "code shipped with")
        if kind is ComponentKind.DATASET:
            return self._namespace(comp)
        if kind is ComponentKind.TOKENIZER:
            return self._tokenizer(comp)
        if kind is ComponentKind.LIBRARY:
            return self._library(comp)
        if kind is ComponentKind.FILE:  # origin_of never asks; kept for exhaustiveness
            return unknown_origin("files belong to their model")
        if kind is ComponentKind.APPLICATION:
            return unknown_origin(
                f"{comp.name} is the scanned project: its dependencies are attributed, "
                "not the project itself"
            )
        assert_never(kind)

    def _model(self, comp: Component) -> Origin:
        if comp.ref.startswith(UNRESOLVED_PREFIX):
            value = comp.ref.removeprefix(UNRESOLVED_PREFIX)
            return unknown_origin(
                f"ancestor {value!r} could not be resolved to a Hub repo: origin unknown "
                "(not foreign)",
                comp.evidence,
            )
        if not comp.group:
            return unknown_origin(
                f"{comp.name} has no Hub namespace: origin unknown (not foreign)",
                (Evidence(location=comp.ref, field="namespace", value="", method="origins"),),
            )
        found = self.kb.match(EntryKind.HF_NAMESPACE, comp.group)
        if found is not None and found.entry.reuploader:
            return self._reupload(comp)
        return self._namespace(comp)

    def _namespace(self, comp: Component) -> Origin:
        namespace = comp.group or ""
        seen = Evidence(
            location=_where(comp), field="namespace", value=namespace, method="hub-namespace"
        )
        found = self.kb.match(EntryKind.HF_NAMESPACE, namespace) if namespace else None
        if found is None:
            what = f"namespace {namespace!r} has no entry" if namespace else "no namespace"
            return unknown_origin(f"{what}: origin unknown (not foreign)", (seen,))
        note = None if found.exact else f"namespace matched {found.entry.id!r} ignoring case"
        return origin_from_entry(
            found.entry,
            basis=OriginBasis.CURATED,
            observed=(seen,),
            note=note,
            confidence_cap=Confidence.HIGH if found.exact else Confidence.MEDIUM,
        )

    def _reupload(self, comp: Component) -> Origin:
        uploader = comp.group or ""
        found = self.kb.match(EntryKind.HF_NAMESPACE, uploader)
        uploader_evidence = (entry_evidence(found.entry),) if found else ()
        parents = [
            (rel, self.origin_of(rel.dst))
            for rel in self.outgoing.get(comp.ref, ())
            if rel.kind in LINEAGE_RELATIONS
        ]
        known = [(rel, origin) for rel, origin in parents if origin and is_known(origin)]
        if not known:
            bases = ", ".join(_display(rel.dst) for rel, _ in parents) or "an undeclared base"
            return unknown_origin(
                f"re-uploaded by {uploader}; weights from {bases}, whose origin is unknown",
                (*uploader_evidence, *(ev for rel, _ in parents for ev in rel.evidence)),
            )
        (first_rel, first), *others = known
        note = f"re-uploaded by {uploader}; weights from {_display(first_rel.dst)}"
        self.extra_hints[comp.ref] = tuple(
            _inherited(
                origin,
                rel,
                f"re-uploaded by {uploader}; also weights from {_display(rel.dst)}",
                uploader_evidence,
            )
            for rel, origin in others
        )
        return _inherited(first, first_rel, note, uploader_evidence)

    def _tokenizer(self, comp: Component) -> Origin:
        for rel in self.outgoing.get(comp.ref, ()):
            # A vocabulary only possibly derived from a published one does not hand its origin
            # on (the family component stands for the doubt); a certain one does.
            if detection_confidence(rel.evidence) == "medium":
                continue
            if rel.kind is RelationKind.TOKENIZER_FROM:
                source = self.origin_of(rel.dst)
                if source is not None:
                    return _inherited(source, rel, f"tokenizer from {_display(rel.dst)}")
        return self._owned(comp, "tokenizer of")

    def _owned(self, comp: Component, role: str) -> Origin:
        """The origin of the model that depends on ``comp`` (its tokenizer, its local code)."""
        for rel in self.incoming.get(comp.ref, ()):
            owner = self.components.get(rel.src)
            if (
                rel.kind is RelationKind.DEPENDS_ON
                and owner is not None
                and owner.kind in {ComponentKind.MODEL, ComponentKind.ADAPTER}
            ):
                origin = self.origin_of(owner.ref)
                if origin is not None:
                    return _inherited(origin, rel, f"{role} {_display(owner.ref)}")
        return unknown_origin(f"{comp.name}: no model it belongs to: origin unknown")

    def _library(self, comp: Component) -> Origin:
        purl = comp.purl or ""
        if purl and not purl.startswith(PYPI_PURL_PREFIX):
            return unknown_origin(f"no knowledge of {purl.split('/', 1)[0]} packages")
        name = pypi_name(purl) if purl else comp.name
        seen = Evidence(location=_where(comp), field="name", value=name, method="package-name")
        # A name from another index, a VCS or a URL is anyone's: only its metadata can tell.
        by_name = not purl or is_pypi_release(purl)
        found = self.kb.match(EntryKind.PYPI_PACKAGE, name) if by_name else None
        if found is not None and found.exact:
            return origin_from_entry(found.entry, basis=OriginBasis.CURATED, observed=(seen,))
        inferred, hints = library_origin_from_metadata(comp, self.kb)
        if hints:
            self.extra_hints[comp.ref] = hints
        if inferred is not None:
            return inferred
        metadata = tuple(e for e in comp.evidence if _is_metadata(e))
        if found is not None and not metadata:
            # Anyone may publish under a prefix: a family names the likely publisher of a bare
            # name, never proof. Low confidence can fail a tier, never pass one.
            return origin_from_entry(
                found.entry,
                basis=OriginBasis.CURATED,
                observed=(seen,),
                note=f"{name} matched the package family {found.entry.id!r} by its name only: "
                "anyone may publish under that prefix, so it names a likely publisher, not proof",
                confidence_cap=Confidence.LOW,
            )
        if not by_name:
            return unknown_origin(
                f"package {name!r} comes from {purl.split('?', 1)[1][:200]!r}, not from PyPI, and "
                "its metadata names no known organisation: its name says nothing of who made "
                "it; origin unknown (not foreign)",
                (seen, *metadata),
            )
        family = (
            f" (its name matches the family {found.entry.id!r}, but its own metadata does not "
            "name that publisher)"
            if found is not None
            else ""
        )
        return unknown_origin(
            f"package {name!r} has no entry and its metadata names no known organisation"
            f"{family}: origin unknown (not foreign)",
            (seen, *metadata),
        )

    # --- hints ---------------------------------------------------------------------------------

    def _lineage_hints(self, comp: Component) -> Iterable[Origin]:
        if comp.kind not in {ComponentKind.MODEL, ComponentKind.ADAPTER}:
            return
        for license in comp.licenses:
            hint = infer_license(license, self.kb, location=_license_location(comp, license))
            if hint.origin is not None:
                yield hint.origin
        for rel in self.outgoing.get(comp.ref, ()):
            file = self.components.get(rel.dst)
            if rel.kind is not RelationKind.CONTAINS or file is None:
                continue
            for name, value in file.properties:
                if name == PropertyName.GGUF_ORGANIZATION:
                    origin = from_organization_name(value, self.kb, location=file.path or file.ref)
                    if origin is not None:
                        yield replace(
                            origin,
                            note=f"GGUF general.organization {value!r}: declared by the "
                            "converter, a hint about the weights' author",
                        )


def _inherited(
    origin: Origin, rel: Relation, note: str, extra: tuple[Evidence, ...] = ()
) -> Origin:
    """``origin`` as passed on through ``rel``, with the relation's evidence added."""
    evidence = tuple(dict.fromkeys((*origin.evidence, *rel.evidence, *extra)))
    if not is_known(origin):
        return unknown_origin(f"{note}, whose origin is unknown", evidence)
    kept = f"; {origin.note}" if origin.note else ""
    return replace(origin, basis=OriginBasis.INHERITED, evidence=evidence, note=note + kept)


def _display(ref: str) -> str:
    """``ORG/NAME`` for Hub refs, the ref itself otherwise."""
    return (
        ref.removeprefix(_HUB_PURL_PREFIX).split("@", 1)[0]
        if ref.startswith(_HUB_PURL_PREFIX)
        else ref
    )


def _where(comp: Component) -> str:
    """A URL for the component where one is known, else its ref."""
    return comp.external_urls[0][1] if comp.external_urls else comp.ref


def _license_location(comp: Component, license: str) -> str:
    for evidence in comp.evidence:
        if evidence.field in _LICENSE_FIELDS and evidence.value == license:
            return evidence.location
    return comp.ref
