"""Policy rules: stable ids (also SARIF ruleIds), names, help text; which tier applies which."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from scanner.core.model import Finding, Severity, Verdict
from scanner.policy.profile import Profile, RuleKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A policy rule: its stable id, and the names and help text SARIF shows."""

    id: str
    name: str
    description: str
    """One or two sentences: what the rule checks."""
    help: str
    severity: Severity
    outcome: Verdict
    """What one finding of this rule makes its tier: FAIL or UNKNOWN."""


_RULE_LIST = (
    Rule(
        id="SOV001",
        name="foreign-ancestor",
        description="A counted component (a weights ancestor, tokenizer, code, dataset or library) "
        "comes from another country.",
        help="Its origin country (the controlling jurisdiction of its steward) is not the "
        "jurisdiction. Replace the component, or correct its origin with an override file if "
        "the attribution is wrong.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="SOV002",
        name="unknown-origin",
        description="The origin country of a counted component is unknown.",
        help="No curated fact or inference names its country (or only at low confidence). The "
        "tier cannot pass until its origin is established, e.g. with an origins override file.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="SOV003",
        name="foreign-licence-lineage",
        description="A licence or similar signal ties a counted component to a foreign lineage.",
        help="The component declares a licence that a foreign vendor controls (e.g. llama3 → "
        "Meta, US), which shows foreign weights in its lineage even where no base model is "
        "declared.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="SOV004",
        name="community-not-domestic",
        description="A counted component is an international community project, not domestic.",
        help="Community projects have no single country; a domestic-only tier cannot count "
        "them as domestic. Vendor a domestic alternative or use a tier that accepts open "
        "source.",
        severity=Severity.MEDIUM,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="SOV005",
        name="detected-foreign-ancestor",
        description="A foreign component that no file declares was found in the model's own "
        "artefacts (its tokenizer's vocabulary is a published foreign one, or derived from it).",
        help="The fingerprint is certain (the same tokens in the same order, or nearly all of a "
        "published vocabulary in its order); a card, an attestation or a missing base_model "
        "cannot outweigh it. Replace the component, or show with an override that the "
        "published family is not foreign.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="SOV006",
        name="possible-foreign-ancestor",
        description="A foreign component that no file declares may be in the model: its "
        "tokenizer holds much of a published foreign vocabulary, in its order.",
        help="The fingerprint points to a published vocabulary with medium confidence (part of "
        "it was trimmed or re-ordered). The tier cannot pass until the lineage is established.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="NAT001",
        name="restrictive-foreign-licence",
        description="A non-domestic component is under a restrictive licence.",
        help="Foreign components are allowed only under an open licence (OSI-approved, or open "
        "weights that allow modification and commercial use). Llama, Gemma, Qwen research, "
        "OpenRAIL, non-commercial and custom ('other') licences are restrictive.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="NAT002",
        name="unknown-licence",
        description="The licence of a component not known to be domestic is unknown.",
        help="No licence is declared, or it is not one sovscan recognises; the tier cannot tell "
        "whether the component is open.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="TRU001",
        name="not-registered",
        description="A counted component is not on the trusted registry.",
        help="Add the component (purl, or ref for datasets, with its SHA-256) to the registry "
        "after review, or replace it with an approved one.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="TRU002",
        name="hash-mismatch",
        description="A component's SHA-256 differs from the one the trusted registry approves.",
        help="The bytes are not the approved ones: a different build, a tampered file or a "
        "stale registry entry.",
        severity=Severity.CRITICAL,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="TRU003",
        name="registry-unverifiable",
        description="A component cannot be checked against the registry's pinned entries.",
        help="The registry pins a version or a SHA-256 the scan cannot compare: the component's "
        "version is unknown, or its bytes (for a model, its manifest digest) were not read. "
        "Pin the revision, or scan the files themselves, and rescan.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="TRU004",
        name="registry-missing",
        description="The tier needs a trusted registry and none was given.",
        help="Pass --trusted-registry FILE listing the approved components (purl or ref, with "
        "their SHA-256).",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="ADV001",
        name="denied-country",
        description="A counted component, or a licence signal of its lineage, comes from a denied "
        "country.",
        help="Its origin country (the controlling jurisdiction, ultimate parent included) is on "
        "the profile's deny list.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="ADV002",
        name="deny-list-missing",
        description="The jurisdiction has no default deny list and none was given.",
        help="sovscan ships deny lists for the jurisdictions whose law names adversaries (US: "
        "15 CFR 791.4; RU: the Government's list of unfriendly states); for any other, pass "
        "--deny XX,YY.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="ATT001",
        name="attestation-missing",
        description="A fact the profile requires is not attested.",
        help="Facts no file shows (developers' citizenship, training location, where data was "
        "collected, certificates) come from --attestation FILE; without them the tier is "
        "UNKNOWN.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="ATT002",
        name="attestation-contradicts",
        description="An attested fact differs from what the profile requires.",
        help="The attestation states a value (e.g. a training location) other than the one "
        "the profile requires.",
        severity=Severity.HIGH,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="SEC100",
        name="dangerous-code",
        description="Loading a model file would run a dangerous callable or embedded code (a "
        "high-severity load-analysis finding).",
        help="A file that runs commands, code, file or network access when loaded fails every "
        "tier, whatever its origin. Remove it (use safetensors), or after a review accept it "
        "with an --accept entry naming its SHA-256 and the rule.",
        severity=Severity.CRITICAL,
        outcome=Verdict.FAIL,
    ),
    Rule(
        id="GEN001",
        name="incomplete-scan",
        description="The scan is incomplete: an unresolved ancestor or an unreadable input.",
        help="Something could not be read or resolved (a file, an upstream, an ancestor id); "
        "what it would show is unknown, so the tier cannot pass.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
    Rule(
        id="GEN002",
        name="possible-ancestor",
        description="A rule would fail on a component that may not be in the model: only a "
        "medium-confidence fingerprint found it (a shape copied exactly, a vocabulary partly "
        "derived).",
        help="The tier cannot fail on a doubtful ancestor, nor pass while it may be there. "
        "Establish the lineage: declare the base (base_model in the card) if it is right, or "
        "show what the model was trained from.",
        severity=Severity.MEDIUM,
        outcome=Verdict.UNKNOWN,
    ),
)

#: Static-analysis rules: what loading a model file would do. They belong to no tier (their
#: outcome is NOT-APPLICABLE); the policy instead counts the code such a file runs as a code
#: component of unknown origin.
_ANALYSIS_RULES = (
    Rule(
        id="SEC001",
        name="unsafe-import-on-load",
        description="A pickle in a model file imports a callable that runs commands, code, "
        "files or network when the file is loaded.",
        help="Loading the file with pickle, torch.load, joblib or numpy (allow_pickle) calls it. "
        "Do not load the file; use safetensors, or torch.load(weights_only=True) on a file "
        "you trust.",
        severity=Severity.HIGH,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC002",
        name="unknown-import-on-load",
        description="A pickle in a model file imports a callable outside the allowlist of "
        "tensor-rebuilding globals.",
        help="Loading the file calls it; what it does depends on the installed package. Review "
        "the callables listed, or convert the weights to safetensors.",
        severity=Severity.MEDIUM,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC003",
        name="embedded-code",
        description="A model file carries code that runs on load (TorchScript code, a Keras "
        "Lambda layer, marshalled bytecode).",
        help="That code has no provenance; review it or use a format that holds only tensors.",
        severity=Severity.HIGH,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC004",
        name="hostile-external-data",
        description="An ONNX tensor reads its external data from outside the model folder.",
        help="An absolute or '..' location makes the runtime read (or, on save, write) any "
        "file the user can reach.",
        severity=Severity.HIGH,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC005",
        name="chat-template",
        description="A chat template is present (note), or reaches beyond formatting "
        "(dunder attributes, includes, sandbox-escape gadgets, resource exhaustion).",
        help="Inference servers render chat templates with Jinja2; a template that touches "
        "Python internals can escape the sandbox of a vulnerable server.",
        severity=Severity.MEDIUM,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC006",
        name="unanalysable-model-file",
        description="A model file could not be analysed (encrypted or damaged archive, "
        "truncated pickle, a cap reached): what it does on load is unknown.",
        help="Treat it as untrusted until it can be inspected.",
        severity=Severity.MEDIUM,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC007",
        name="remote-code",
        description="Python code ships with the model and runs with trust_remote_code=True.",
        help="Review the code (it is also a code component with its origin) before enabling "
        "trust_remote_code.",
        severity=Severity.MEDIUM,
        outcome=Verdict.NOT_APPLICABLE,
    ),
    Rule(
        id="SEC008",
        name="training-state",
        description="A pickle restores training-framework classes (a Hugging Face Trainer's "
        "arguments, accelerate state, their enums) in the one form that runs none of their "
        "code.",
        help="A note: the file is a training checkpoint's state, restored as data. It is not "
        "needed to run the model; leave it out of what you deploy.",
        severity=Severity.INFO,
        outcome=Verdict.NOT_APPLICABLE,
    ),
)

#: What a model's own files show of its lineage against what it declares; no tier's (the
#: policy counts the ancestor itself: SOV005, SOV006).
_LINEAGE_RULES = (
    Rule(
        id="LIN001",
        name="undeclared-ancestor",
        description="The model's own files show an ancestor that nothing it declares names "
        "(its tokenizer's vocabulary is a published model's, or its configuration's shape and "
        "vocabulary are).",
        help="A card's base_model, an adapter's base and config.json's _name_or_path are the "
        "publisher's claims; the vocabulary's fingerprint is in the files. Ask the publisher, "
        "or declare the ancestor if it is right.",
        severity=Severity.MEDIUM,
        outcome=Verdict.NOT_APPLICABLE,
    ),
)

#: Every rule by id: the policy's, the static analysis's and the lineage checks'.
RULES: Mapping[str, Rule] = MappingProxyType(
    {rule.id: rule for rule in (*_RULE_LIST, *_ANALYSIS_RULES, *_LINEAGE_RULES)}
)
#: The rule a failing hit on a component only a medium-confidence fingerprint found becomes.
POSSIBLE_ANCESTOR_RULE = "GEN002"
#: The rule every tier applies to files whose loading runs dangerous code.
DANGEROUS_CODE_RULE = "SEC100"
#: Findings that make a file run code on load (its code component stands for that code).
ON_LOAD_RULES = frozenset({"SEC001", "SEC002", "SEC003", "SEC006"})
#: The static-analysis rules: findings about files, raised by no tier.
LOAD_ANALYSIS_RULES = frozenset(rule.id for rule in _ANALYSIS_RULES)
_DANGEROUS_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})


def is_dangerous(finding: Finding) -> bool:
    """Whether ``finding`` is a high-severity load-analysis finding (what SEC100 stands for)."""
    return (
        not finding.tiers
        and finding.rule_id in LOAD_ANALYSIS_RULES
        and finding.severity in _DANGEROUS_SEVERITIES
    )


#: The rule ids each rule kind can raise; every tier also applies GEN001, GEN002 and SEC100 (and
#: ATT00x when it requires attestations).
RULES_OF_KIND: Mapping[RuleKind, tuple[str, ...]] = {
    RuleKind.DOMESTIC_ONLY: ("SOV001", "SOV002", "SOV003", "SOV004", "SOV005", "SOV006"),
    RuleKind.OPEN_LICENSE_FOR_FOREIGN: ("NAT001", "NAT002", "SOV002"),
    RuleKind.REGISTRY: ("TRU001", "TRU002", "TRU003", "TRU004"),
    RuleKind.DENY_LIST: ("ADV001", "ADV002", "SOV002"),
}


def applied_rules(profile: Profile) -> tuple[str, ...]:
    """Every rule id a profile's evaluation can raise, sorted."""
    ids = {
        "GEN001",
        POSSIBLE_ANCESTOR_RULE,
        DANGEROUS_CODE_RULE,
        *(rule for kind in profile.rules for rule in RULES_OF_KIND[kind]),
    }
    if profile.attestations:
        ids |= {"ATT001", "ATT002"}
    return tuple(sorted(ids))
