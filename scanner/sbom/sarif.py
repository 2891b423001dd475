"""SARIF 2.1.0 of a ScanResult's findings and scan issues, ready for GitHub code scanning.

One run, tool ``sovscan``. The rules are the ones the results use (sorted by id), described from
the policy's rule table; a finding whose rule the table does not know still gets a generic rule,
and every ScanIssue becomes a result of rule GEN002 (unreadable-input), so nothing is lost.

Locations (GitHub wants a file relative to the repository root, with a line):
- the repository root is taken to be the working directory: a target typed as
  ``examples/ru-chat-lora`` prefixes every path found in it; an absolute target is made relative
  to the working directory; a target outside it (or not a path, e.g. ``hf:org/name``) leaves the
  paths relative to the target itself.
- a finding is located at the first of its evidence that names a file of its subject (a model
  card key has its line; a config key has none, so line 1); its other such evidence become
  ``relatedLocations``. Evidence elsewhere (a knowledge-base entry, a URL) names no file here;
  when none of it does, the component's own evidence is used (where the model names its base),
  unless the component is a scanned model itself.
- a finding without such evidence is located at the subject's ``README.md``, else at the target
  file (a single-file target), else at the subject's first file, else at the target folder:
  always a relative path, so the upload is accepted, and the alert shows on the model it is about.
- a ScanIssue's location is already prefixed with the target as typed.

A finding is one result, whichever tiers raise it (``properties.tiers`` lists them); its
message ends with what to do. A finding accepted by an ``--accept`` waiver keeps its result,
with an accepted external ``suppression`` carrying the waiver's reason, author and expiry.

``partialFingerprints["sovscan/v2"]`` is sha256(rule id, component ref, finding key) (for an
issue: rule id, location, problem), so an alert keeps its identity when lines move, messages
change or another tier starts raising it. Output is deterministic: results are sorted and text
is stripped of characters JSON/XML tools choke on.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePath, PurePosixPath
from typing import Any
from urllib.parse import quote

import scanner
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Finding,
    ScanIssue,
    ScanResult,
    Severity,
)
from scanner.sbom.cdx_model_card import xml_safe
from scanner.sbom.rendering import (
    PLAIN,
    URI_SCHEME,
    GenericRule,
    RenderOptions,
    RuleDescription,
    describe_rule,
)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "sovscan"
#: The project's home page for ``tool.driver.informationUri``; None (left out) until it has one.
INFORMATION_URI: str | None = None
#: Tags on every rule; ``security`` makes GitHub read ``security-severity``.
RULE_TAGS = ("security", "supply-chain", "provenance")
#: The key of sovscan's own partial fingerprint (versioned: a new scheme gets a new key).
FINGERPRINT_KEY = "sovscan/v3"
#: ``uriBaseId`` prefix of the folder of a target outside the working directory (1, 2, …).
TARGET_BASE_PREFIX = "TARGET"
#: Related locations kept per result (the rest of a finding's evidence is in the BOM).
MAX_RELATED_LOCATIONS = 10

#: Finding severity → SARIF level (what GitHub shows for non-security tools).
SEVERITY_LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: Finding severity → GitHub ``security-severity`` (critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0).
SECURITY_SEVERITIES: dict[Severity, str] = {
    Severity.CRITICAL: "9.0",
    Severity.HIGH: "7.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}

_README = "README.md"


#: Rule of the results made from ScanIssues (unless the policy's table describes GEN002 itself).
UNREADABLE_INPUT = GenericRule(
    id="GEN002",
    name="unreadable-input",
    description="A file or upstream could not be read; the scan went on without it.",
    help=(
        "Fix or remove the file (or restore access to the upstream) and scan again: what it "
        "would have shown is missing from the verdicts, which therefore cannot PASS on it."
    ),
    severity=Severity.MEDIUM,
)


def render_sarif(result: ScanResult, options: RenderOptions = PLAIN) -> str:
    """The SARIF 2.1.0 JSON text of ``result``'s findings and issues (deterministic)."""
    rules = options.rules
    locator = Locator(result)
    drafts = [_finding_draft(finding, locator) for finding in result.findings]
    drafts.extend(_issue_draft(issue, locator) for issue in result.issues)
    drafts.sort(key=lambda draft: draft.sort_key)
    used = _used_rules(drafts, rules)
    index = {rule.id: position for position, rule in enumerate(used)}
    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "fullName": f"{TOOL_NAME} {scanner.__version__}: supply-chain provenance of AI models",
        "version": scanner.__version__,
        "semanticVersion": scanner.__version__,
    }
    if INFORMATION_URI:
        driver["informationUri"] = INFORMATION_URI
    driver["rules"] = [_rule_json(rule) for rule in used]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": automation_id(result)},
    }
    bases = locator.base_descriptions()
    if bases:
        run["originalUriBaseIds"] = bases
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = [draft.json(index[draft.rule_id]) for draft in drafts]
    summary = _run_properties(result)
    if summary:
        run["properties"] = summary
    doc = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def automation_id(result: ScanResult) -> str:
    """``automationDetails.id``: ``sovscan/<jurisdiction>-<policy>/<subjects>/``. GitHub keeps
    one set of alerts per category (all but the last part), so two models scanned apart, or
    one model judged under two policies, never close each other's alerts; content-derived,
    so a rescan of the same model replaces its own."""
    policy = xml_safe(result.policy or "report").replace("/", "_")
    subjects = ",".join(sorted(xml_safe(ref).replace("/", "_") for ref in result.subjects))
    if len(subjects) > 120:
        subjects = f"{subjects[:80]}…{fingerprint(subjects)[:16]}"
    return f"{TOOL_NAME}/{xml_safe(result.jurisdiction or 'none')}-{policy}/{subjects or 'none'}/"


def fingerprint(*parts: str) -> str:
    """The stable partial fingerprint of a result: sha256 of its identifying parts, 32 hex."""
    # surrogatepass: a hostile name may hold lone surrogates; they still hash, stably.
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


# --- locations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Place:
    """A file (relative to the repository root, POSIX) and a 1-based line."""

    uri: str
    line: int = 1
    base: str | None = None
    """``uriBaseId``: the folder of a target outside the working directory (``uri`` is then
    relative to it); None: ``uri`` is relative to the repository root."""

    def json(self) -> dict[str, Any]:
        """A SARIF ``location``."""
        artifact: dict[str, Any] = {"uri": self.uri}
        if self.base is not None:
            artifact["uriBaseId"] = self.base
        return {
            "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": self.line}}
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _Subject:
    """What locating needs of one scanned model: its folder and its files."""

    ref: str
    base: str | None
    """Its folder relative to the repository root ("" for the root); None: not below it."""
    uri_base: str | None
    """For a target not below the repository root: the ``uriBaseId`` its paths are relative
    to (``TARGET1``, …, in the order of the subjects)."""
    target_file: str | None
    """For a single-file target, that file's path relative to ``base``."""
    files: frozenset[str]
    """Paths (relative to the folder) of its file components."""
    reach: frozenset[str]
    """Refs of every component reachable from it through relations (itself included)."""


class Locator:
    """Finds where in the repository a finding or an issue is best shown."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        roots = dict(result.roots)
        by_ref = {component.ref: component for component in result.components}
        self.subjects = []
        outside = 0
        for ref in result.subjects:
            subject = _subject(result, ref, roots.get(ref), by_ref)
            if subject.base is None:
                outside += 1
                subject = replace(subject, uri_base=f"{TARGET_BASE_PREFIX}{outside}")
            self.subjects.append(subject)
        self.by_ref = by_ref

    def base_descriptions(self) -> dict[str, Any]:
        """``originalUriBaseIds``: what each target folder outside the repository is. Its
        absolute path is left out (it differs between machines; the output must not)."""
        return {
            subject.uri_base: {
                "description": {"text": f"the folder scanned as {xml_safe(subject.ref)}"}
            }
            for subject in self.subjects
            if subject.uri_base is not None
        }

    def component_evidence(self, ref: str) -> tuple[Evidence, ...]:
        """The evidence of the component itself (where the scan saw it), if it is known."""
        component = self.by_ref.get(ref)
        return component.evidence if component is not None else ()

    def subject_of(self, component_ref: str) -> _Subject | None:
        """The first scanned model the component belongs to (None if there is none)."""
        for subject in self.subjects:
            if component_ref in subject.reach:
                return subject
        return self.subjects[0] if self.subjects else None

    def evidence_places(
        self, subject: _Subject | None, evidence: Iterable[Evidence]
    ) -> list[Place]:
        """Places of the evidence that names a file of ``subject``, in order, without repeats."""
        places: dict[Place, None] = {}
        if subject is None:
            return []
        for seen in evidence:
            path = _clean_relative(seen.location)
            if path is None or path not in subject.files:
                continue
            line = seen.line if seen.line is not None and seen.line >= 1 else 1
            places.setdefault(_place(_join(subject.base, path), line, subject.uri_base), None)
        return list(places)

    def default_place(self, subject: _Subject | None) -> Place:
        """Where a result without a file of its own goes: README, target file, first file."""
        if subject is None:
            return _place(".")
        for candidate in (
            _README if _README in subject.files else None,
            subject.target_file,
            min(subject.files, default=None),
        ):
            if candidate is not None:
                return _place(_join(subject.base, candidate), base=subject.uri_base)
        return _place(subject.base or ".", base=subject.uri_base)

    def issue_place(self, issue: ScanIssue) -> Place:
        """An issue's location is already prefixed with the target as typed."""
        path = _repository_path(issue.location)
        if path:
            return _place(path)
        return self.default_place(self.subjects[0] if self.subjects else None)


def _subject(
    result: ScanResult, ref: str, target: str | None, by_ref: Mapping[str, Component]
) -> _Subject:
    reach = _reachable(result, ref)
    # The folder's files, not those of installed packages (``--python``): their paths are
    # relative to site-packages, and no such file is in the repository.
    own = _reachable(result, ref, through=lambda r: _kind(by_ref, r) is not ComponentKind.LIBRARY)
    files = frozenset(
        path
        for component_ref in own
        if (component := by_ref.get(component_ref)) is not None
        and component.kind is ComponentKind.FILE
        and component.path
        and (path := _clean_relative(component.path)) is not None
    )
    base = _repository_path(target) if target is not None else None
    target_file = None
    if base:
        # A single-file target: its evidence is relative to the file's folder.
        name = PurePosixPath(base).name
        if name in files:
            target_file = name
            base = posixpath.dirname(base)
    return _Subject(
        ref=ref, base=base, uri_base=None, target_file=target_file, files=files, reach=reach
    )


def _reachable(
    result: ScanResult, start: str, through: Callable[[str], bool] = lambda _: True
) -> frozenset[str]:
    """Refs reachable from ``start`` through relations of any kind (breadth first), going on
    from a ref only when ``through`` says so."""
    edges: dict[str, list[str]] = {}
    for relation in result.relations:
        edges.setdefault(relation.src, []).append(relation.dst)
    seen = {start}
    queue = deque([start])
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                if through(target):
                    queue.append(target)
    return frozenset(seen)


def _kind(by_ref: Mapping[str, Component], ref: str) -> ComponentKind | None:
    component = by_ref.get(ref)
    return component.kind if component is not None else None


def _repository_path(location: str) -> str | None:
    """``location`` (a path as typed) relative to the working directory, POSIX, normalised;
    "" for the directory itself; None for a URL or a path outside it."""
    location = xml_safe(location)
    if not location or URI_SCHEME.match(location):
        return None
    path = PurePath(location)
    if path.is_absolute():
        root = PurePath(os.path.normpath(Path.cwd()))
        try:
            path = PurePath(os.path.normpath(path)).relative_to(root)
        except ValueError:
            return None
    text = posixpath.normpath(path.as_posix())
    if text == ".":
        return ""
    if text == ".." or text.startswith(("../", "/")):
        return None
    return text


def _clean_relative(location: str) -> str | None:
    """A location relative to a target, normalised; None if it is a URL, absolute or escapes."""
    location = xml_safe(location)
    if not location or URI_SCHEME.match(location) or location.startswith("/"):
        return None
    text = posixpath.normpath(location)
    if text in {".", ".."} or text.startswith("../"):
        return None
    return text


def _join(base: str | None, path: str) -> str:
    return posixpath.join(base, path) if base else path


def _place(path: str, line: int = 1, base: str | None = None) -> Place:
    """A place whose uri is ``path`` percent-encoded: a relative URI reference (a space or a
    ``:`` in a file name would otherwise make it invalid, or read as a scheme)."""
    return Place(uri=quote(xml_safe(path), safe="/") or ".", line=line, base=base)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Draft:
    """A result before its rule index is known."""

    rule_id: str
    severity: Severity
    message: str
    place: Place
    related: tuple[Place, ...]
    fingerprint: str
    properties: tuple[tuple[str, object], ...]
    sort_key: tuple[str, ...]
    rule: RuleDescription | None = None
    """The rule to describe it with, when it is not the policy's (issues)."""
    suppression: dict[str, str] | None = None
    """For an accepted finding: the SARIF suppression that records the waiver."""

    def json(self, rule_index: int) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ruleId": self.rule_id,
            "ruleIndex": rule_index,
            "level": SEVERITY_LEVELS[self.severity],
            "message": {"text": self.message},
            "locations": [self.place.json()],
        }
        if self.related:
            result["relatedLocations"] = [
                {"id": number, **place.json()} for number, place in enumerate(self.related, 1)
            ]
        result["partialFingerprints"] = {FINGERPRINT_KEY: self.fingerprint}
        if self.suppression is not None:
            result["suppressions"] = [self.suppression]
        result["properties"] = dict(self.properties)
        return result


def _finding_draft(finding: Finding, locator: Locator) -> _Draft:
    subject = locator.subject_of(finding.component_ref)
    places = locator.evidence_places(subject, finding.evidence)
    if not places and finding.component_ref not in locator.result.subjects:
        # E.g. a foreign base known from the knowledge base: shown where the model names it.
        # (A scanned model's own evidence is everything about it: no one place to point at.)
        own = locator.component_evidence(finding.component_ref)
        places = locator.evidence_places(subject, own)
    place = places[0] if places else locator.default_place(subject)
    tiers = [xml_safe(tier) for tier in finding.tiers]
    # GitHub needs a rule id and a message text, whatever an engine bug leaves empty.
    rule_id = xml_safe(finding.rule_id) or "unnamed-rule"
    message = xml_safe(finding.message) or rule_id
    if tiers:
        message = f"[{', '.join(tiers)}] {message}"
    if finding.remediation:
        message = f"{message}. What to do: {xml_safe(finding.remediation)}"
    properties: list[tuple[str, object]] = [("component", xml_safe(finding.component_ref))]
    if finding.layer is not None:
        properties.append(("layer", finding.layer.value))
    properties.append(("severity", finding.severity.value))
    if tiers:
        properties.append(("tiers", tiers))
    if finding.remediation:
        properties.append(("remediation", xml_safe(finding.remediation)))
    suppression = None
    waiver = finding.accepted
    if waiver is not None:
        suppression = {
            "kind": "external",
            "status": "accepted",
            "justification": xml_safe(
                f"{waiver.reason} (accepted by {waiver.accepted_by} until {waiver.expires}; "
                f"{waiver.source} entry {waiver.entry})"
            ),
        }
    return _Draft(
        rule_id=rule_id,
        severity=finding.severity,
        message=message,
        place=place,
        related=tuple(places[1 : 1 + MAX_RELATED_LOCATIONS]),
        # The scanned model too: torch's finding in two models is two alerts, not one.
        fingerprint=fingerprint(
            finding.rule_id, subject.ref if subject else "", finding.component_ref, finding.key
        ),
        properties=tuple(properties),
        # Findings that decide a verdict first, then those of no tier, then the issues.
        sort_key=(
            "0" if tiers else "1",
            rule_id,
            place.uri,
            f"{place.line:09d}",
            finding.component_ref,
            finding.key,
            message,
        ),
        suppression=suppression,
    )


def _issue_draft(issue: ScanIssue, locator: Locator) -> _Draft:
    place = locator.issue_place(issue)
    problem = xml_safe(issue.problem)
    return _Draft(
        rule_id=UNREADABLE_INPUT.id,
        # Always a warning: an unreadable input blocks a PASS but is no violation by itself;
        # the issue's own severity stays in the properties.
        severity=UNREADABLE_INPUT.severity,
        message=f"{xml_safe(issue.location)}: {problem}",
        place=place,
        related=(),
        fingerprint=fingerprint(UNREADABLE_INPUT.id, issue.location, issue.problem),
        properties=(("location", xml_safe(issue.location)), ("severity", issue.severity.value)),
        sort_key=(
            "2",
            UNREADABLE_INPUT.id,
            place.uri,
            f"{place.line:09d}",
            issue.location,
            problem,
        ),
        rule=UNREADABLE_INPUT,
    )


def _used_rules(
    drafts: Iterable[_Draft], rules: Mapping[str, RuleDescription]
) -> list[RuleDescription]:
    """The rules the results use, sorted by id; the first result of a rule gives its severity."""
    used: dict[str, RuleDescription] = {}
    for draft in drafts:
        if draft.rule_id in used:
            continue
        if draft.rule is not None and draft.rule_id not in rules:
            used[draft.rule_id] = draft.rule
        else:
            used[draft.rule_id] = describe_rule(rules, draft.rule_id, draft.severity)
    return [used[rule_id] for rule_id in sorted(used)]


def _rule_json(rule: RuleDescription) -> dict[str, Any]:
    description = xml_safe(rule.description) or xml_safe(rule.name)
    help_text = xml_safe(rule.help) or description
    return {
        "id": xml_safe(rule.id),
        "name": xml_safe(rule.name),
        "shortDescription": {"text": _first_sentence(description)},
        "fullDescription": {"text": description},
        "help": {
            "text": help_text,
            "markdown": f"**{xml_safe(rule.id)} {xml_safe(rule.name)}**: {description}\n\n"
            f"{help_text}",
        },
        "defaultConfiguration": {"level": SEVERITY_LEVELS[rule.severity]},
        "properties": {
            "tags": list(RULE_TAGS),
            "security-severity": SECURITY_SEVERITIES[rule.severity],
        },
    }


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return f"{head}." if dot else text


def _run_properties(result: ScanResult) -> dict[str, Any]:
    """The policy context of the run: jurisdiction, chosen tier, verdict per tier."""
    properties: dict[str, Any] = {}
    if result.jurisdiction:
        properties["jurisdiction"] = xml_safe(result.jurisdiction)
    if result.policy:
        properties["policy"] = xml_safe(result.policy)
    if result.verdicts:
        properties["verdicts"] = {
            xml_safe(verdict.tier): verdict.verdict.value for verdict in result.verdicts
        }
    bases = {xml_safe(v.tier): xml_safe(v.basis) for v in result.verdicts if v.basis}
    if bases:
        properties["against"] = bases
    return properties
