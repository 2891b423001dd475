"""The plain, immutable data every stage reads and adds to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ComponentKind(StrEnum):
    """What a component is."""

    MODEL = "model"
    ADAPTER = "adapter"
    DATASET = "dataset"
    TOKENIZER = "tokenizer"
    CODE = "code"
    LIBRARY = "library"
    FILE = "file"
    APPLICATION = "application"
    """A scanned project folder with no model in it (only Python dependencies): a subject whose
    own origin is not assessed; its dependencies are."""


class RelationKind(StrEnum):
    """How one component stands to another (``src`` is the derived or containing side)."""

    FINETUNE = "finetune"
    ADAPTER = "adapter"
    QUANTIZED = "quantized"
    MERGE = "merge"
    DERIVED = "derived"
    """``src``'s weights come from ``dst`` in a way no file declares: found by fingerprint
    (its evidence says which signals, and how certain)."""
    TRAINED_ON = "trained-on"
    TOKENIZER_FROM = "tokenizer-from"
    REMOTE_CODE_FROM = "remote-code-from"
    DEPENDS_ON = "depends-on"
    CONTAINS = "contains"
    SUBMODEL = "submodel"
    """``src`` (a pipeline) includes a sub-model whose weights come from ``dst`` (a diffusers
    pipeline's text encoder or safety checker): weights it uses, not a base it was tuned from."""


#: Relations through which weights are inherited: the weights lineage (CycloneDX pedigree).
LINEAGE_RELATIONS = frozenset(
    {
        RelationKind.FINETUNE,
        RelationKind.ADAPTER,
        RelationKind.QUANTIZED,
        RelationKind.MERGE,
        RelationKind.DERIVED,
    }
)
#: Relations to every source of a model's weights: its lineage and the sub-models it includes.
WEIGHTS_RELATIONS = LINEAGE_RELATIONS | {RelationKind.SUBMODEL}


class Layer(StrEnum):
    """The layers a policy can count."""

    WEIGHTS = "weights"
    TOKENIZER = "tokenizer"
    CODE = "code"
    DATASETS = "datasets"
    PYTHON = "python"
    FILES = "files"


class Confidence(StrEnum):
    """How far a fact can be trusted."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class StewardKind(StrEnum):
    """Who stands behind a component."""

    ORGANIZATION = "organization"
    COMMUNITY = "community"
    INDIVIDUAL = "individual"
    UNKNOWN = "unknown"


class OriginBasis(StrEnum):
    """How an origin was established."""

    CURATED = "curated"
    METADATA = "metadata"
    EMAIL_DOMAIN = "email-domain"
    URL = "url"
    LICENSE = "license"
    INHERITED = "inherited"
    OVERRIDE = "override"


class Verdict(StrEnum):
    """A policy tier's outcome. The tool fails closed: missing evidence is UNKNOWN, never PASS."""

    PASS = "PASS"  # noqa: S105  (a verdict, not a password)
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    NOT_APPLICABLE = "NOT-APPLICABLE"


class Severity(StrEnum):
    """Severity of a finding or scan issue."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One observed fact and where it was seen."""

    location: str
    """POSIX path relative to the target root, or a URL."""
    field: str
    """The field that held the value, e.g. ``base_model`` or ``general.base_model.0.name``."""
    value: str
    """The value as read (stringified)."""
    method: str
    """How it was read: ``model-card``, ``config``, ``safetensors-header``, ``gguf-metadata``, …"""
    line: int | None = None
    """1-based line in ``location`` where the field stands, when known (model card keys)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """The organisation and country a component comes from, and why we think so."""

    organization: str | None
    steward: StewardKind
    country: str | None
    """ISO 3166-1 alpha-2, or None when the steward has no single country or it is unknown."""
    basis: OriginBasis
    confidence: Confidence
    evidence: tuple[Evidence, ...] = ()
    parent: str | None = None
    """Ultimate parent organisation, where different."""
    note: str | None = None
    """E.g. a community project's fiscal sponsor, or a re-uploader that is not the origin."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hash:
    """A content digest; ``alg`` uses CycloneDX spelling (``SHA-256``)."""

    alg: str
    value: str
    """Lowercase hex."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """A file a package is distributed as (a wheel or sdist on an index), with its digests.

    A package release has many (one wheel per platform); lockfiles pin them by hash. Exported
    as a CycloneDX ``distribution`` external reference carrying the hashes.
    """

    url: str
    hashes: tuple[Hash, ...] = ()
    comment: str | None = None
    """Where the fact comes from, e.g. ``poetry.lock``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCardFacts:
    """What the CycloneDX ``modelCard`` of a model component says."""

    task: str | None = None
    architecture_family: str | None = None
    architecture: str | None = None
    dataset_refs: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    parameter_count: int | None = None
    quantization: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """Anything in the inventory: a model, an ancestor, a dataset, a file, a library."""

    ref: str
    """Deterministic bom-ref; unique within a ScanResult."""
    kind: ComponentKind
    name: str
    group: str | None = None
    """Namespace: the Hub organisation or user, when known."""
    version: str | None = None
    """Revision (a commit sha once resolved) or package version."""
    purl: str | None = None
    description: str | None = None
    licenses: tuple[str, ...] = ()
    """Licence ids or names as declared (e.g. ``apache-2.0``, ``llama3``, ``other``)."""
    hashes: tuple[Hash, ...] = ()
    size: int | None = None
    path: str | None = None
    """For files: POSIX path relative to the target root."""
    layer: Layer | None = None
    origin: Origin | None = None
    """Who made it; None until attributed. An unknown origin is an Origin with country None."""
    origin_hints: tuple[Origin, ...] = ()
    """Weaker signals about where its *lineage* comes from (e.g. a ``llama3`` licence shows a
    Meta ancestor); never its own origin, but a policy may count a foreign hint against it."""
    evidence: tuple[Evidence, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    """Extra ``sovscan:`` facts as (name, value), e.g. ``(PropertyName.FILE_FORMAT, "gguf")``."""
    model_card: ModelCardFacts | None = None
    external_urls: tuple[tuple[str, str], ...] = ()
    """(CycloneDX externalReference type, url), e.g. ``("distribution", "https://…")``."""
    distributions: tuple[Distribution, ...] = ()
    """Libraries: the release files a lockfile or requirements file pins, with their hashes."""
    unresolved: bool = False
    """A declared reference that could not be resolved to a repo (a local path, a repo the Hub
    does not serve): what it is, and so its origin, is unverified."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Relation:
    """A directed edge: ``src`` (derived / containing) → ``dst`` (base / contained)."""

    src: str
    dst: str
    kind: RelationKind
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptance:
    """A reviewed decision to accept a finding: one entry of an ``--accept`` waiver file."""

    source: str
    """The waiver file, as given on the command line."""
    entry: int
    """1-based position of the entry in that file."""
    reason: str
    accepted_by: str
    expires: str
    """ISO 8601 date after which the entry no longer applies."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A policy or analysis result about one component."""

    rule_id: str
    """Stable id, e.g. ``SOV001``; also the SARIF ruleId."""
    severity: Severity
    component_ref: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    layer: Layer | None = None
    tiers: tuple[str, ...] = ()
    """The policy tiers (profile names) whose verdict it decides; empty for an analysis
    finding, which belongs to no tier."""
    key: str = ""
    """What tells apart findings of one rule on one component (a claim, a file, a problem)."""
    remediation: str = ""
    """What to do about it, naming the file, flag or entry to change."""
    accepted: Acceptance | None = None
    """The waiver that accepts it; an accepted finding is reported but decides no verdict."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TierVerdict:
    """One policy tier's verdict with the reasons a compliance engineer can check."""

    tier: str
    """Profile name: ``sovereign``, ``national``, ``trusted``, ``adversary`` or a custom one."""
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    """Why, one sentence each; for UNKNOWN, what evidence is missing."""
    rules: tuple[str, ...] = ()
    """The rule ids the tier applies (whether or not they fired)."""
    basis: str = ""
    """What the tier was judged against besides the scan, e.g. the deny list and its source."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanIssue:
    """Something that could not be read or resolved; the scan went on without it."""

    location: str
    """The file (relative to the target root) or URL."""
    problem: str
    severity: Severity = Severity.MEDIUM


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """Everything a scan found, ready for policy evaluation and export."""

    subjects: tuple[str, ...]
    """Refs of the scanned models (one per target)."""
    components: tuple[Component, ...]
    relations: tuple[Relation, ...] = ()
    findings: tuple[Finding, ...] = ()
    issues: tuple[ScanIssue, ...] = ()
    properties: tuple[tuple[str, str], ...] = field(default=())
    """BOM-level ``sovscan:`` properties."""
    jurisdiction: str | None = None
    """ISO 3166-1 alpha-2 of the jurisdiction the tiers were evaluated for."""
    verdicts: tuple[TierVerdict, ...] = ()
    policy: str | None = None
    """The tier chosen with ``--policy`` (decides the exit code), or None: report only."""
    roots: tuple[tuple[str, str], ...] = ()
    """(subject ref, its target as the user gave it): evidence locations are relative to it."""

    def component(self, ref: str) -> Component:
        """The component with this ref; ``KeyError`` if there is none."""
        for comp in self.components:
            if comp.ref == ref:
                return comp
        raise KeyError(ref)

    def relations_from(self, ref: str) -> tuple[Relation, ...]:
        """Relations whose source is ``ref``, in order."""
        return tuple(rel for rel in self.relations if rel.src == ref)
