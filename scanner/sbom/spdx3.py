"""SPDX 3.0.1 JSON-LD of a ScanResult (``-o bom.spdx3.json``), built with the SPDX project's own
Python bindings (``spdx-python-model``), which check every element's required properties,
types and enumerations as it is written.

Profiles: a model or adapter is an ``ai_AIPackage`` (purpose ``model``; its model card's task,
architecture, quantization and languages), a dataset a ``dataset_DatasetPackage``, a library,
tokenizer, remote code or application a ``software_Package`` (purl, version), a file a
``software_File`` with its SHA-256. Relations: finetune, adapter, quantized, merge, derived and
submodel are ``descendantOf`` (the derived model is the ``from``), trained-on ``trainedOn``,
contains ``contains``, and tokenizer-from, remote-code-from and depends-on ``dependsOn``; a
relation only a fingerprint found says so in its ``comment``. An origin is the element's
``suppliedBy`` (an ``Organization``, or a ``Person`` for an individual, its country in the
agent's ``comment``); a declared licence is a ``hasDeclaredLicense`` relationship to a licence
expression (``LicenseRef-…`` for a name SPDX does not list). Each tier's verdict and reasons
are a ``review`` annotation on the scanned model.

Byte-stable: element ids are derived from the content (a uuid5 namespace and the components'
refs), the elements keep the scan's order, and ``created`` is ``SOURCE_DATE_EPOCH`` when set,
else the Unix epoch (the document carries no run time).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from hashlib import sha256
from typing import TYPE_CHECKING, Any

import scanner
from scanner.core.detection import detection_confidence
from scanner.core.model import (
    Component,
    ComponentKind,
    Origin,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.sbom.cdx_serial import serial_number
from scanner.sbom.rendering import PLAIN, RenderOptions
from scanner.sbom.summary import plain

if TYPE_CHECKING:
    from types import ModuleType

#: Relation kinds and the SPDX relationship each becomes (the derived or containing side is
#: ``from``).
RELATIONSHIPS: dict[RelationKind, str] = {
    RelationKind.FINETUNE: "descendantOf",
    RelationKind.ADAPTER: "descendantOf",
    RelationKind.QUANTIZED: "descendantOf",
    RelationKind.MERGE: "descendantOf",
    RelationKind.DERIVED: "descendantOf",
    RelationKind.SUBMODEL: "descendantOf",
    RelationKind.TRAINED_ON: "trainedOn",
    RelationKind.CONTAINS: "contains",
    RelationKind.TOKENIZER_FROM: "dependsOn",
    RelationKind.REMOTE_CODE_FROM: "dependsOn",
    RelationKind.DEPENDS_ON: "dependsOn",
}
#: What ``created`` is when no ``SOURCE_DATE_EPOCH`` is given.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_SAFE = re.compile(r"[^A-Za-z0-9._~-]")


def render_spdx3(result: ScanResult, options: RenderOptions = PLAIN) -> str:
    """The SPDX 3.0.1 JSON-LD text of ``result`` (deterministic)."""
    from spdx_python_model import v3_0_1 as spdx

    return _Builder(spdx, result, options).document()


class _Builder:
    def __init__(self, spdx: ModuleType, result: ScanResult, options: RenderOptions) -> None:
        self.spdx = spdx
        self.result = result
        self.options = options
        serial = serial_number(
            result, spec_version="spdx-3.0.1", tool_version=scanner.__version__, timestamp=None
        )
        self.base = f"https://spdx.org/spdxdocs/sovscan-{serial}/"
        created = options.timestamp.astimezone(UTC) if options.timestamp else EPOCH
        self.info = spdx.CreationInfo(specVersion="3.0.1", created=created.replace(microsecond=0))
        self.objects: list[Any] = []
        self.agents: dict[tuple[str, str, str | None], Any] = {}
        self.licences: dict[str, Any] = {}
        tool = self._add(spdx.Tool, "tool/sovscan", name=f"sovscan {scanner.__version__}")
        software = self._add(spdx.SoftwareAgent, "agent/sovscan", name="sovscan")
        made_by = [software]
        made_by += [
            self._add(
                spdx.Person,
                f"agent/person/{_ident(author.name + (author.email or ''))}",
                name=author.name,
                **({"comment": f"e-mail: {author.email}"} if author.email else {}),
            )
            for author in options.authorship.authors
        ]
        if options.authorship.manufacturer:
            name = options.authorship.manufacturer
            made_by.append(self._add(spdx.Organization, f"agent/org/{_ident(name)}", name=name))
        self.info.createdBy = made_by
        self.info.createdUsing = [tool]
        self.elements: dict[str, Any] = {}

    def _id(self, local: str) -> str:
        return self.base + local

    def _add(self, cls: Any, local: str, **fields: Any) -> Any:
        element = cls(spdxId=self._id(local), creationInfo=self.info, **fields)
        self.objects.append(element)
        return element

    def document(self) -> str:
        for component in self.result.components:
            self.elements[component.ref] = self._element(component)
        for index, relation in enumerate(self.result.relations):
            src, dst = self.elements.get(relation.src), self.elements.get(relation.dst)
            if src is None or dst is None:
                continue
            detected = detection_confidence(relation.evidence) is not None
            self._add(
                self.spdx.Relationship,
                f"relationship/{index}",
                from_=src,
                to=[dst],
                relationshipType=getattr(self.spdx.RelationshipType, RELATIONSHIPS[relation.kind]),
                comment=f"sovscan relation {relation.kind.value}"
                + ("; found by fingerprint, declared by no file" if detected else ""),
            )
        roots = [self.elements[ref] for ref in self.result.subjects if ref in self.elements]
        for verdict in self.result.verdicts:
            for number, root in enumerate(roots):
                reasons = "; ".join(plain(r) for r in verdict.reasons) or "no reason given"
                self._add(
                    self.spdx.Annotation,
                    f"annotation/verdict/{_ident(verdict.tier)}/{number}",
                    annotationType=self.spdx.AnnotationType.review,
                    subject=root,
                    statement=f"sovscan {verdict.tier} verdict"
                    + (
                        f" (jurisdiction {self.result.jurisdiction})"
                        if self.result.jurisdiction
                        else ""
                    )
                    + f": {verdict.verdict.value}. {reasons}",
                )
        profiles = self.spdx.ProfileIdentifierType
        conformance = [profiles.core, profiles.software, profiles.ai, profiles.dataset]
        data_license = self._license("CC0-1.0")
        name = f"sovscan scan of {', '.join(self.result.subjects) or 'nothing'}"
        # The SBOM (an "analyzed" one: made by reading artefacts) holds the elements; the
        # document's root is the SBOM, whose roots are the scanned models.
        sbom = self.spdx.software_Sbom(
            spdxId=self._id("sbom"),
            creationInfo=self.info,
            name=name,
            rootElement=roots,
            element=list(self.objects),
            software_sbomType=[self.spdx.software_SbomType.analyzed],
            profileConformance=conformance,
        )
        document = self.spdx.SpdxDocument(
            spdxId=self._id("document"),
            creationInfo=self.info,
            name=name,
            rootElement=[sbom],
            element=[sbom, *self.objects],
            profileConformance=conformance,
            dataLicense=data_license,
        )
        objects = self.spdx.SHACLObjectSet()
        for element in (document, sbom, *self.objects):
            objects.add(element)
        out = io.BytesIO()
        self.spdx.JSONLDSerializer().write(objects, out, indent=2)
        return out.getvalue().decode("utf-8") + "\n"

    # --- elements ----------------------------------------------------------------------------

    def _element(self, component: Component) -> Any:
        spdx = self.spdx
        local = f"{component.kind.value}/{_ident(component.ref)}"
        fields: dict[str, Any] = {"name": plain(component.name) or component.ref}
        if component.description:
            fields["description"] = plain(component.description)[:2000]
        supplier = self._agent(component.origin)
        if supplier is not None:
            fields["suppliedBy"] = supplier
        hashes = [
            spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=h.value.lower())
            for h in component.hashes
            if h.alg == "SHA-256" and re.fullmatch(r"[0-9a-fA-F]{64}", h.value)
        ]
        if hashes:
            fields["verifiedUsing"] = hashes
        if component.kind is ComponentKind.FILE:
            element = self._add(spdx.software_File, local, **fields)
        else:
            if component.version:
                fields["software_packageVersion"] = plain(component.version)
            if component.purl:
                fields["software_packageUrl"] = component.purl
            url = next(
                (u for t, u in component.external_urls if t in {"website", "distribution"}), None
            )
            if url:
                fields["software_downloadLocation"] = url
            element = self._package(component, local, fields)
        for license in component.licenses:
            self._add(
                spdx.Relationship,
                f"license-of/{_ident(component.ref)}/{_ident(license)}",
                from_=element,
                to=[self._license(license)],
                relationshipType=spdx.RelationshipType.hasDeclaredLicense,
            )
        return element

    def _package(self, component: Component, local: str, fields: dict[str, Any]) -> Any:
        spdx = self.spdx
        purpose = spdx.software_SoftwarePurpose
        if component.kind in {ComponentKind.MODEL, ComponentKind.ADAPTER}:
            card = component.model_card
            if card is not None:
                if card.architecture or card.architecture_family:
                    fields["ai_typeOfModel"] = [
                        t for t in (card.architecture_family, card.architecture) if t
                    ]
                if card.task:
                    fields["ai_informationAboutApplication"] = f"task: {plain(card.task)}"
                if card.quantization:
                    fields["ai_informationAboutTraining"] = (
                        f"quantization: {plain(card.quantization)}"
                    )
                if card.languages:
                    fields["ai_domain"] = [f"language: {plain(lang)}" for lang in card.languages]
            return self._add(
                spdx.ai_AIPackage, local, software_primaryPurpose=purpose.model, **fields
            )
        if component.kind is ComponentKind.DATASET:
            return self._add(
                spdx.dataset_DatasetPackage,
                local,
                software_primaryPurpose=purpose.data,
                dataset_datasetType=[spdx.dataset_DatasetType.noAssertion],
                **fields,
            )
        kinds = {
            ComponentKind.LIBRARY: purpose.library,
            ComponentKind.APPLICATION: purpose.application,
            ComponentKind.CODE: purpose.source,
            ComponentKind.TOKENIZER: purpose.data,
        }
        return self._add(
            spdx.software_Package,
            local,
            software_primaryPurpose=kinds.get(component.kind, purpose.other),
            **fields,
        )

    def _agent(self, origin: Origin | None) -> Any:
        if origin is None or not origin.organization:
            return None
        person = origin.steward is StewardKind.INDIVIDUAL
        key = ("person" if person else "org", plain(origin.organization), origin.country)
        if key not in self.agents:
            facts = [
                f"country {origin.country} (ISO 3166-1 alpha-2)"
                if origin.country
                else "no single country known"
            ]
            facts.append(
                f"steward {origin.steward.value}, basis {origin.basis.value}, "
                f"confidence {origin.confidence.value}"
            )
            self.agents[key] = self._add(
                self.spdx.Person if person else self.spdx.Organization,
                f"agent/{key[0]}/{_ident('|'.join(filter(None, key[1:])))}",
                name=key[1],
                comment="; ".join(facts),
            )
        return self.agents[key]

    def _license(self, declared: str) -> Any:
        expression = spdx_expression(declared)
        if expression not in self.licences:
            self.licences[expression] = self._add(
                self.spdx.simplelicensing_LicenseExpression,
                f"license/{_ident(expression)}",
                simplelicensing_licenseExpression=expression,
            )
        return self.licences[expression]


def spdx_expression(declared: str) -> str:
    """``declared`` as an SPDX expression: canonical when SPDX knows it (``apache-2.0`` →
    ``Apache-2.0``), else ``LicenseRef-<name>`` (``llama3`` → ``LicenseRef-llama3``)."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return str(canonicalize_license_expression(declared))
    except InvalidLicenseExpression:
        name = re.sub(r"[^A-Za-z0-9.-]+", "-", plain(declared)).strip("-")[:100] or "unnamed"
        return f"LicenseRef-{name}"


def _ident(text: str) -> str:
    """A path-safe id for ``text``: itself when short and plain, else a readable prefix and a
    digest (two refs never share one)."""
    cleaned = _ID_SAFE.sub("_", text)
    if cleaned == text and len(text) <= 80:
        return text
    return f"{cleaned[:60]}-{sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"
