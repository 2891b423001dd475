"""CycloneDX ML-BOM (JSON or XML; spec 1.5, 1.6, 1.7) of a ScanResult, validated before return.

One pass, one place per step: build a ``Bom`` with cyclonedx-python-lib → serialise it → add what
the library lacks (``scanner.sbom.cdx_model_card``; for 1.6+ the policy and its verdicts as
``definitions.standards`` + ``declarations``, ``scanner.sbom.declarations``) → validate against the
official schema → check what the schema cannot (``scanner.sbom.integrity``). Output that fails any
step raises ``InvalidOutputError`` and is never returned. cyclonedx is imported inside functions:
``sovscan --help`` must not pay for it.

Layout (the README's output contract): BOM-level facts (``sovscan:policy``,
``sovscan:jurisdiction``, ``sovscan:verdict:<tier>``, one ``sovscan:issue`` per unreadable file
or upstream) are ``metadata.properties``, in every spec version. An attributed component has
``supplier`` (name, ``address.country`` when known) and ``sovscan:origin:*`` properties, one
``sovscan:origin:hint`` per lineage hint. One subject is
``metadata.component``; several are top-level components under a synthesised ``application``
"sovscan scan" (bom-ref ``scan``) that depends on each. Lineage (finetune, adapter, quantized,
merge) becomes ``pedigree.ancestors`` (copies with bom-refs ``<child>#ancestor:<base>``); runtime
needs (adapter, contains, tokenizer-from, remote-code-from, depends-on) become ``dependencies``,
and so do lineage and trained-on. Ordering is the library's: components by (type, group, name,
version, bom-ref), properties by (name, value), dependencies by ref, except that the root's entry
comes first and every entry has ``dependsOn`` (``cdx_consumers``); all content-derived.
"""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeGuard

import scanner
from scanner.core.detection import relation_labels
from scanner.core.errors import InvalidOutputError, UsageError
from scanner.core.model import (
    LINEAGE_RELATIONS,
    Component,
    Hash,
    ModelCardFacts,
    Origin,
    RelationKind,
    ScanResult,
)
from scanner.core.properties import (
    PropertyName,
)
from scanner.formats.model.model_formats import holds_weights
from scanner.sbom.cdx_ai_properties import ai_properties
from scanner.sbom.cdx_bulk import (
    BulkPart,
    bulk_problems,
    fill_xml,
    splice_json,
    splice_xml,
    write_json,
    write_xml,
)
from scanner.sbom.cdx_bulk_form import bulk_form
from scanner.sbom.cdx_bulk_text import BulkComponent
from scanner.sbom.cdx_consumers import root_first, root_first_xml, root_ref, with_leaf_edges
from scanner.sbom.cdx_library import output, schema_version
from scanner.sbom.cdx_model_card import (
    ComponentExtras,
    data_json,
    inject_xml,
    injected_json,
    model_card_json,
    xml_safe,
)
from scanner.sbom.cdx_properties import bom_properties, component_properties
from scanner.sbom.cdx_serial import serial_number
from scanner.sbom.cdx_validation import json_schema_problems, xml_schema_problems
from scanner.sbom.cdx_values import (
    HASHLIB_NAMES,
    KIND_TO_CDX,
    display_name,
    licenses,
    occurrences,
    optional_text,
    uri_or_none,
)
from scanner.sbom.declarations import (
    COMPLIANCE_SPEC_VERSIONS,
    Compliance,
    build_compliance,
    compliance_xml,
)
from scanner.sbom.integrity import check_integrity
from scanner.sbom.rendering import (
    NO_RULES,
    NOBODY,
    URI_SCHEME,
    Authorship,
    RenderOptions,
    RuleDescription,
)

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from cyclonedx.model import ExternalReference, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import Pedigree
    from cyclonedx.model.component_evidence import ComponentEvidence
    from cyclonedx.model.contact import OrganizationalEntity
    from cyclonedx.model.license import License
    from packageurl import PackageURL

SPEC_VERSIONS = ("1.5", "1.6", "1.7")

#: Relations that become ``dependencies`` edges: all of them. Lineage is also ``pedigree`` and
#: trained-on also ``modelCard.modelParameters.datasets``, but tools that walk the graph from
#: the root (NTIA's checker, dependency-track) see only edges; the target's
#: ``sovscan:relation`` properties say which relation an edge is.
DEPENDENCY_RELATIONS = frozenset(RelationKind)

#: bom-ref of the synthesised root when a scan has several subjects.
SCAN_ROOT_REF = "scan"


@dataclass(frozen=True, slots=True, kw_only=True)
class BomOptions:
    """How to render: spec version, clock, reproducibility, tool version."""

    spec_version: str = "1.6"
    """The CycloneDX version: 1.5, 1.6 or 1.7 (see SPEC_VERSIONS)."""
    timestamp: datetime | None = None
    """``metadata.timestamp``; None: left out, so that the same scan gives the same bytes (the
    CLI passes SOURCE_DATE_EPOCH when it is set). The serial number is always a uuid5 of the
    content."""
    tool_version: str = scanner.__version__
    """The version recorded for sovscan in ``metadata.tools``."""
    schema_cache: Path | None = None
    """Folder of compiled schema validators (``scanner.sbom.cdx_validation``); None: the
    library's validator only."""
    authorship: Authorship = NOBODY
    """Who made the BOM: ``metadata.authors`` and (1.6+) ``metadata.manufacturer``."""
    bulk_files: bool = True
    """Write plain file components without the library (``scanner.sbom.cdx_bulk``); False
    gives the same bytes, slowly (the tests compare the two)."""


def render_cyclonedx_json(result: ScanResult, options: RenderOptions) -> str:
    """The exporter of ``cyclonedx-json``: ``render_cyclonedx`` in JSON."""
    return _render_with(result, "json", options)


def render_cyclonedx_xml(result: ScanResult, options: RenderOptions) -> str:
    """The exporter of ``cyclonedx-xml``: ``render_cyclonedx`` in XML."""
    return _render_with(result, "xml", options)


def write_cyclonedx_json(result: ScanResult, options: RenderOptions, out: TextIO) -> None:
    """The writer of ``cyclonedx-json``: ``write_cyclonedx`` in JSON."""
    write_cyclonedx(result, "json", _bom_options(options), out, options.rules, options.tier_rules)


def write_cyclonedx_xml(result: ScanResult, options: RenderOptions, out: TextIO) -> None:
    """The writer of ``cyclonedx-xml``: ``write_cyclonedx`` in XML."""
    write_cyclonedx(result, "xml", _bom_options(options), out, options.rules, options.tier_rules)


def _render_with(result: ScanResult, fmt: Literal["json", "xml"], options: RenderOptions) -> str:
    return render_cyclonedx(
        result, fmt, _bom_options(options), options.rules, tier_rules=options.tier_rules
    )


def _bom_options(options: RenderOptions) -> BomOptions:
    return BomOptions(
        spec_version=options.spec_version,
        timestamp=options.timestamp,
        schema_cache=options.schema_cache,
        authorship=options.authorship,
    )


def render_cyclonedx(
    result: ScanResult,
    fmt: Literal["json", "xml"],
    options: BomOptions,
    rules: Mapping[str, RuleDescription] = NO_RULES,
    *,
    tier_rules: Mapping[str, Collection[str]] | None = None,
) -> str:
    """The validated CycloneDX text of ``result``; ``InvalidOutputError`` if any check fails.

    ``rules`` describes the findings' rules in ``definitions.standards`` (1.6+); ``tier_rules``
    names the rules each tier applies (see ``scanner.sbom.declarations``).
    """
    out = io.StringIO()
    write_cyclonedx(result, fmt, options, out, rules, tier_rules)
    return out.getvalue()


def write_cyclonedx(
    result: ScanResult,
    fmt: Literal["json", "xml"],
    options: BomOptions,
    out: TextIO,
    rules: Mapping[str, RuleDescription] = NO_RULES,
    tier_rules: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Write the text of ``render_cyclonedx`` to ``out``: every check passes first (else
    ``InvalidOutputError`` and nothing is written), then the text goes out in pieces, so a
    BOM of 100,000 files is never held whole."""
    if options.spec_version not in SPEC_VERSIONS:
        raise UsageError(
            f"CycloneDX {options.spec_version} is not supported; use one of "
            + ", ".join(SPEC_VERSIONS)
        )
    if fmt not in ("json", "xml"):
        raise UsageError(f"unknown CycloneDX format {fmt!r}; use json or xml")
    label = f"CycloneDX {options.spec_version} {fmt.upper()}"
    prepared = _prepared(result, options, rules, tier_rules)
    if prepared.build_problems:
        raise InvalidOutputError(label, list(prepared.build_problems))
    bom, bulk, doc, compliance = prepared.bom, prepared.bulk, prepared.doc, prepared.compliance
    version = schema_version(options.spec_version)
    problems = list(prepared.problems)
    # The schema sees one plain file of each shape; their values are checked above.
    if fmt == "json":
        view = splice_json(doc, bulk, keep=bulk.representatives())
        problems.extend(json_schema_problems(view, options.spec_version, options.schema_cache))
    else:
        raw_xml = output(bom, "xml", version, label)
        top_level = compliance_xml(compliance) if compliance else []
        spliced = inject_xml(
            raw_xml,
            prepared.extras,
            options.spec_version,
            top_level,
            extend=partial(_extend_xml, part=bulk),
        )
        checked = fill_xml(spliced, bulk, keep=bulk.representatives())
        problems.extend(xml_schema_problems(checked, options.spec_version))
    if problems:
        raise InvalidOutputError(label, problems)
    if fmt == "json":
        write_json(doc, bulk, out)
    else:
        write_xml(spliced, bulk, out)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What the JSON and the XML of one result share: the library's Bom, the plain files, the
    extras, the compliance parts, the library's JSON document and the problems found in it."""

    result: ScanResult
    key: tuple[object, ...]
    bom: Bom
    bulk: BulkPart
    extras: dict[str, ComponentExtras]
    compliance: Compliance | None
    doc: dict[str, Any]
    build_problems: tuple[str, ...]
    problems: tuple[str, ...]


_last_prepared: list[_Prepared] = []


def _prepared(
    result: ScanResult,
    options: BomOptions,
    rules: Mapping[str, RuleDescription],
    tier_rules: Mapping[str, Collection[str]] | None,
) -> _Prepared:
    """The shared parts of ``result``'s BOM, built once for both formats: a scan written as
    JSON and XML builds, serialises and checks the library's part once. The last one is kept
    (with its result, so that the identity it is found by stays valid)."""
    key = (options, id(rules), id(tier_rules))
    if _last_prepared and _last_prepared[0].result is result and _last_prepared[0].key == key:
        return _last_prepared[0]
    _last_prepared.clear()
    builder = _BomBuilder(result, options)
    bom = builder.build()
    compliance = None
    doc: dict[str, Any] = {}
    problems: list[str] = []
    if not builder.problems:
        if options.spec_version in COMPLIANCE_SPEC_VERSIONS:
            compliance = build_compliance(
                builder.result,
                rules,
                created=builder.timestamp.isoformat() if builder.timestamp else None,
                tool_version=options.tool_version,
                tier_rules=tier_rules,
            )
        # The library's document; the plain files (builder.bulk) are checked on their own and
        # written in by cdx_bulk, so that 100,000 of them are never held as dictionaries.
        label = f"CycloneDX {options.spec_version} JSON"
        doc = injected_json(
            output(bom, "json", schema_version(options.spec_version), label),
            builder.extras,
            compliance.json_parts() if compliance else None,
        )
        with_leaf_edges(doc)
        if "dependencies" in doc:
            doc["dependencies"] = root_first(doc["dependencies"], root_ref(doc), _entry_ref)
        bulk_refs = frozenset(component.ref for component in builder.bulk.components)
        problems = check_integrity(doc, bulk_refs) + bulk_problems(doc, builder.bulk)
    prepared = _Prepared(
        result=result,
        key=key,
        bom=bom,
        bulk=builder.bulk,
        extras=builder.extras,
        compliance=compliance,
        doc=doc,
        build_problems=tuple(builder.problems),
        problems=tuple(problems),
    )
    _last_prepared.append(prepared)
    return prepared


def _entry_ref(entry: Mapping[str, Any]) -> object:
    return entry.get("ref")


def _extend_xml(root: ET.Element, part: BulkPart) -> None:
    """The bulk components spliced in, and the root's dependency entry first."""
    splice_xml(root, part)
    root_first_xml(root)


def _utc_timestamp(options: BomOptions) -> datetime | None:
    """The document's timestamp, in UTC to the second (a naive value is taken as UTC)."""
    moment = options.timestamp
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


class _BomBuilder:
    """Turns a ScanResult into a library ``Bom`` plus the extras the library cannot carry."""

    def __init__(self, result: ScanResult, options: BomOptions) -> None:
        self.result = _with_xml_safe_refs(result)
        self.options = options
        self.timestamp = _utc_timestamp(options)
        self.problems: list[str] = []
        self.extras: dict[str, ComponentExtras] = {}
        self.by_ref = {component.ref: component for component in self.result.components}
        self.incoming: dict[str, set[str]] = defaultdict(set)
        self.lineage: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.needs: dict[str, set[str]] = defaultdict(set)
        self.containers: dict[str, list[Origin | None]] = defaultdict(list)
        self.weight_files: dict[str, list[str]] = defaultdict(list)
        # Subjects scanned from local files (not ``hf:``, ``https:`` or ``hf-cache:``).
        self.local_subjects = frozenset(
            ref for ref, target in self.result.roots if not URI_SCHEME.match(target)
        )
        self.use_bulk = options.bulk_files
        self.bulk = BulkPart()

    def build(self) -> Bom:
        """The Bom; problems that would make it wrong are collected in ``self.problems``."""
        from cyclonedx.model.bom import Bom, BomMetaData
        from cyclonedx.model.component import Component as CdxComponent
        from cyclonedx.model.component import ComponentType
        from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
        from cyclonedx.model.dependency import Dependency

        self._check_refs()
        self._index_relations()
        subjects = self.result.subjects
        plain = self._bulk_components() if self.use_bulk else {}
        built = {c.ref: self._component(c) for c in self.result.components if c.ref not in plain}
        if len(subjects) == 1 and subjects[0] in built:
            root = built.pop(subjects[0])
        else:
            root = CdxComponent(
                type=ComponentType.APPLICATION,
                name="sovscan scan",
                bom_ref=SCAN_ROOT_REF,
                description=xml_safe(f"scan of {len(subjects)} targets: " + ", ".join(subjects)),
            )
            self.needs[SCAN_ROOT_REF].update(subjects)
        everything = {**built, str(root.bom_ref): root}
        made_by = self.options.authorship
        metadata = BomMetaData(
            component=root,
            properties=self._properties(bom_properties(self.result)),
            authors=[
                OrganizationalContact(name=xml_safe(a.name), email=a.email) for a in made_by.authors
            ],
            manufacturer=(
                OrganizationalEntity(name=xml_safe(made_by.manufacturer))
                if made_by.manufacturer and self.options.spec_version != "1.5"
                else None
            ),
        )
        # The library stamps "now" when given nothing; a byte-stable BOM carries no run time.
        metadata.timestamp = self.timestamp  # type: ignore[assignment]
        metadata.tools.components.add(
            CdxComponent(
                type=ComponentType.APPLICATION, name="sovscan", version=self.options.tool_version
            )
        )
        dependencies = [
            Dependency(
                ref=component.bom_ref,
                dependencies=[
                    Dependency(ref=everything[target].bom_ref)
                    for target in sorted(self.needs.get(ref, ()))
                    if target in everything
                ],
            )
            for ref, component in sorted(everything.items())
        ]
        self.bulk = self._bulk_part(plain, everything.keys())
        return Bom(
            metadata=metadata,
            components=built.values(),
            dependencies=dependencies,
            serial_number=self._serial(),
        )

    def _serial(self) -> uuid.UUID:
        return serial_number(
            self.result,
            spec_version=self.options.spec_version,
            tool_version=self.options.tool_version,
            timestamp=self.timestamp,
            made_by=self._made_by(),
        )

    def _made_by(self) -> list[str]:
        made_by = self.options.authorship
        people = [f"{a.name} <{a.email or ''}>" for a in made_by.authors]
        return [
            *people,
            *([f"manufacturer {made_by.manufacturer}"] if made_by.manufacturer else []),
        ]

    def _bulk_components(self) -> dict[str, BulkComponent]:
        """The components ``cdx_bulk`` writes: every top-level one without lineage that the
        library is not needed for (``cdx_bulk_form``)."""
        subjects = set(self.result.subjects)
        found: dict[str, BulkComponent] = {}
        for component in self.result.components:
            if component.ref in subjects or self.lineage.get(component.ref):
                continue
            properties = component_properties(component, self.incoming)
            supplier = self.supplier_origin(component)
            form = bulk_form(component, self.options.spec_version, properties, supplier)
            if form is not None:
                found[component.ref] = form
        return found

    def _bulk_part(self, plain: Mapping[str, BulkComponent], built: Collection[str]) -> BulkPart:
        """The bulk components and the dependency edges that touch them, for ``cdx_bulk``."""
        if not plain:
            return BulkPart()
        depends_on: dict[str, list[str]] = {}
        for ref, targets in self.needs.items():
            if ref in plain:
                chosen = [t for t in targets if t in plain or t in built]
            elif ref in built:
                chosen = [t for t in targets if t in plain]
            else:
                continue
            if chosen:
                depends_on[ref] = chosen
        return BulkPart(components=tuple(plain.values()), depends_on=depends_on)

    def _check_refs(self) -> None:
        """Refs must be unique and every relation must name known components."""
        seen: set[str] = set()
        for component in self.result.components:
            if not component.ref:
                self.problems.append(f"component {component.name!r} has an empty ref")
            if component.ref in seen:
                self.problems.append(f"component ref {component.ref!r} is used more than once")
            seen.add(component.ref)
        if len(self.result.subjects) > 1 and SCAN_ROOT_REF in seen:
            self.problems.append(f"component ref {SCAN_ROOT_REF!r} is reserved for the scan root")
        self.problems.extend(
            f"subject {subject!r} is not among the components"
            for subject in self.result.subjects
            if subject not in seen
        )
        for relation in self.result.relations:
            self.problems.extend(
                f"{relation.kind} relation {relation.src!r} → {relation.dst!r} names unknown "
                f"component {ref!r}"
                for ref in (relation.src, relation.dst)
                if ref not in seen
            )

    def supplier_origin(self, component: Component) -> Origin | None:
        """The origin ``supplier`` names: the component's own, else that of the component that
        contains it (a model's file is supplied by the model's publisher, as the policy reads
        it); its ``sovscan:origin:*`` properties stay the component's own."""
        if _names_someone(component.origin):
            return component.origin
        containers = self.containers.get(component.ref, [])
        first = containers[0] if containers else None
        # Only when every container names the same one: a file of an unknown folder that a
        # tokenizer also contains was supplied by whoever made the folder, not the tokenizer.
        if _names_someone(first) and all(origin == first for origin in containers):
            return first
        return component.origin

    def _index_relations(self) -> None:
        for relation in self.result.relations:
            if relation.src not in self.by_ref or relation.dst not in self.by_ref:
                continue
            if relation.kind is RelationKind.CONTAINS:
                self.containers[relation.dst].append(self.by_ref[relation.src].origin)
                path = self.by_ref[relation.dst].path
                if path and holds_weights(path):
                    self.weight_files[relation.src].append(path)
            self.incoming[relation.dst].update(relation_labels(relation))
            if relation.kind in LINEAGE_RELATIONS:
                self.lineage[relation.src][relation.dst].add(relation.kind.value)
            if relation.kind in DEPENDENCY_RELATIONS:
                self.needs[relation.src].add(relation.dst)

    def _component(self, component: Component) -> CdxComponent:
        """The full top-level component, with its extras registered."""
        from cyclonedx.model.component import Component as CdxComponent
        from cyclonedx.model.component import ComponentType

        cdx_type, data_type = KIND_TO_CDX[component.kind]
        self._register_extras(component, cdx_type, data_type)
        return CdxComponent(
            type=ComponentType(cdx_type),
            name=display_name(component),
            bom_ref=component.ref,
            group=optional_text(component.group),
            version=optional_text(component.version),
            description=optional_text(component.description),
            purl=self._purl(component),
            licenses=self._licenses(component),
            hashes=self._hashes(component),
            supplier=_supplier(self.supplier_origin(component)),
            external_references=self._external_references(component),
            properties=self._properties(
                [
                    *component_properties(component, self.incoming),
                    *ai_properties(
                        component,
                        (
                            k
                            for kinds in self.lineage.get(component.ref, {}).values()
                            for k in kinds
                        ),
                        self.weight_files.get(component.ref, ()),
                        local=component.ref in self.local_subjects,
                    ),
                ]
            ),
            evidence=_evidence(component),
            pedigree=self._pedigree(component),
        )

    def _register_extras(self, component: Component, cdx_type: str, data_type: str | None) -> None:
        if cdx_type == "machine-learning-model":
            facts = component.model_card or ModelCardFacts()
            self.extras[component.ref] = ComponentExtras(
                model_card=model_card_json(component.ref, facts)
            )
        elif data_type is not None:
            url = next((u for t, u in component.external_urls if t == "distribution"), None)
            entry = data_json(data_type, component.name, uri_or_none(url))
            self.extras[component.ref] = ComponentExtras(data=(entry,))

    def _ancestor_copy(
        self, child: Component, base: Component, kinds: Iterable[str]
    ) -> CdxComponent:
        """A pedigree copy of ``base``: its identity and supplier, under its own bom-ref."""
        from cyclonedx.model.component import Component as CdxComponent
        from cyclonedx.model.component import ComponentType

        properties = [(PropertyName.KIND.value, base.kind.value)]
        properties.extend((PropertyName.RELATION.value, kind) for kind in kinds)
        return CdxComponent(
            type=ComponentType(KIND_TO_CDX[base.kind][0]),
            name=display_name(base),
            bom_ref=f"{child.ref}#ancestor:{base.ref}",
            group=optional_text(base.group),
            version=optional_text(base.version),
            purl=self._purl(base),
            licenses=self._licenses(base),
            supplier=_supplier(self.supplier_origin(base)),
            properties=self._properties(properties),
        )

    def _pedigree(self, component: Component) -> Pedigree | None:
        from cyclonedx.model.component import Pedigree

        bases = self.lineage.get(component.ref)
        if not bases:
            return None
        ancestors = [
            self._ancestor_copy(component, self.by_ref[ref], sorted(kinds))
            for ref, kinds in sorted(bases.items())
        ]
        kinds = sorted({kind for kinds in bases.values() for kind in kinds})
        notes = "; ".join(f"base_model_relation={kind}" for kind in kinds)
        return Pedigree(ancestors=ancestors, notes=notes)

    def _purl(self, component: Component) -> PackageURL | None:
        """The parsed purl; a purl that does not parse or is not canonical is a problem."""
        if component.purl is None:
            return None
        from packageurl import PackageURL

        try:
            parsed = PackageURL.from_string(component.purl)
        except ValueError as error:
            self.problems.append(f"purl {component.purl!r} of {component.ref!r}: {error}")
            return None
        if parsed.to_string() != component.purl or any(c.isspace() for c in component.purl):
            self.problems.append(
                f"purl {component.purl!r} of {component.ref!r} is not canonical "
                f"({parsed.to_string()!r})"
            )
        return parsed

    def _licenses(self, component: Component) -> list[License]:
        """One licence per declared string; an expression only when it is the only one."""
        return licenses(component.licenses)

    def _hashes(self, component: Component) -> list[HashType]:
        return self._digests(component.hashes, component.ref)

    def _digests(self, digests: Iterable[Hash], ref: str) -> list[HashType]:
        from cyclonedx.contrib.hash.factories import HashTypeFactory

        factory = HashTypeFactory()
        hashes = []
        for digest in digests:
            name = HASHLIB_NAMES.get(digest.alg)
            if name is None:
                self.problems.append(f"hash algorithm {digest.alg!r} of {ref!r}")
                continue
            hashes.append(factory.from_hashlib_alg(name, digest.value))
        return hashes

    def _external_references(self, component: Component) -> list[ExternalReference]:
        from cyclonedx.model import ExternalReference, ExternalReferenceType, XsUri

        references = []
        for kind, url in sorted(set(component.external_urls)):
            uri = uri_or_none(url)
            if uri is None:
                continue
            try:
                ref_type = ExternalReferenceType(kind)
            except ValueError:
                self.problems.append(f"external reference type {kind!r} of {component.ref!r}")
                continue
            references.append(ExternalReference(type=ref_type, url=XsUri(uri)))
        for distribution in component.distributions:
            uri = uri_or_none(distribution.url)
            if uri is None:
                self.problems.append(
                    f"distribution URL {distribution.url!r} of {component.ref!r} is not a URI"
                )
                continue
            references.append(
                ExternalReference(
                    type=ExternalReferenceType.DISTRIBUTION,
                    url=XsUri(uri),
                    comment=optional_text(distribution.comment),
                    hashes=self._digests(distribution.hashes, component.ref),
                )
            )
        return references

    @staticmethod
    def _properties(pairs: Iterable[tuple[str, str]]) -> list[Property]:
        from cyclonedx.model import Property

        cleaned = {(xml_safe(name), xml_safe(value)) for name, value in pairs}
        return [Property(name=name, value=value) for name, value in sorted(cleaned)]


def _with_xml_safe_refs(result: ScanResult) -> ScanResult:
    """``result`` with every ref XML-safe (refs may hold hostile file names), the same if it is.

    Two refs that only differed in such characters collide and are refused as duplicates.
    """
    refs = {ref for c in result.components for ref in (c.ref, *_dataset_refs(c))}
    refs.update(ref for r in result.relations for ref in (r.src, r.dst))
    refs.update(result.subjects)
    refs.update(finding.component_ref for finding in result.findings)
    if all(xml_safe(ref) == ref for ref in refs):
        return result

    def clean(component: Component) -> Component:
        card = component.model_card
        if card is not None:
            card = replace(card, dataset_refs=tuple(map(xml_safe, card.dataset_refs)))
        return replace(component, ref=xml_safe(component.ref), model_card=card)

    return replace(
        result,
        subjects=tuple(map(xml_safe, result.subjects)),
        components=tuple(map(clean, result.components)),
        relations=tuple(
            replace(r, src=xml_safe(r.src), dst=xml_safe(r.dst)) for r in result.relations
        ),
        findings=tuple(
            replace(f, component_ref=xml_safe(f.component_ref)) for f in result.findings
        ),
    )


def _dataset_refs(component: Component) -> tuple[str, ...]:
    return component.model_card.dataset_refs if component.model_card else ()


def _supplier(origin: Origin | None) -> OrganizationalEntity | None:
    """The origin as ``supplier``: organisation name and alpha-2 country, when known."""
    from cyclonedx.model.contact import OrganizationalEntity, PostalAddress

    if origin is None or not (origin.organization or origin.country):
        return None
    address = PostalAddress(country=origin.country) if origin.country else None
    return OrganizationalEntity(name=optional_text(origin.organization), address=address)


def _names_someone(origin: Origin | None) -> TypeGuard[Origin]:
    return origin is not None and bool(origin.organization or origin.country)


def _evidence(component: Component) -> ComponentEvidence | None:
    """Where the component's facts (and its origin's) were read (``cdx_values.occurrences``)."""
    from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence

    found = occurrences(component)
    if not found:
        return None
    return ComponentEvidence(
        occurrences=[
            Occurrence(bom_ref=ref, location=location, additional_context=context)
            for ref, location, context in found
        ]
    )
