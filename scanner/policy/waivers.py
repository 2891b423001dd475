"""Waivers (``--accept FILE``): reviewed decisions to accept a file's load-analysis findings.

In the spirit of VEX statements and ``.trivyignore``, each entry names a file by its content
(SHA-256, never by name), the rule it accepts, why, who accepted it and until when::

    accepted:
      - sha256: "aee5dec6a88863ec4b1dfe853da67124aca7b1df040ea699d676a6ad2364a468"
        rule: SEC002                 # SEC001-SEC008, or SEC100 for all of a file's findings
        reason: Trainer arguments of our own fine-tune; classes reviewed
        accepted_by: Jane Doe <jane@example.org>
        expires: 2027-06-30          # ISO 8601 date; the entry no longer applies after it
        file: training_args.bin      # optional, for the reader; matching is by SHA-256 only

A list of entries is accepted too (without the ``accepted`` key), and JSON with a ``.json``
suffix. Quote the hash: YAML reads an unquoted all-digit value as a number.

What an entry does:

- it accepts the findings of its rule on every scanned file with its SHA-256; ``SEC100``
  (dangerous code) accepts all of such a file's load-analysis findings, and applies only to a
  file that has a dangerous one;
- an accepted finding stays in every output, marked accepted, and decides no verdict;
- the code a file runs on load (its ``code:on-load:`` component) is accepted, and no longer
  counted, once every finding that made the file run code is accepted;
- an expired entry, or one that matches no finding, is ignored and reported as a scan issue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from scanner.core.errors import UsageError
from scanner.core.model import (
    Acceptance,
    Component,
    ComponentKind,
    Finding,
    RelationKind,
    ScanIssue,
    ScanResult,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.policy.profile import parse_sha256, read_entries
from scanner.policy.rules import (
    DANGEROUS_CODE_RULE,
    LOAD_ANALYSIS_RULES,
    ON_LOAD_RULES,
    is_dangerous,
)
from scanner.sources.model_digest import content_sha256

#: The rules a waiver may name: what loading a file would do, and the policy's verdict on it.
WAIVABLE_RULES = frozenset({*LOAD_ANALYSIS_RULES, DANGEROUS_CODE_RULE})

#: Caps on a waiver file.
MAX_WAIVER_BYTES = 4 * 1024 * 1024
MAX_WAIVERS = 10_000
MAX_TEXT_CHARS = 1_000

_KEYS = frozenset({"sha256", "rule", "reason", "accepted_by", "expires", "file"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """One entry of a waiver file."""

    position: int
    sha256: str
    rule: str
    reason: str
    accepted_by: str
    expires: dt.date
    file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Waivers:
    """The entries of one ``--accept`` file."""

    source: str
    entries: tuple[Waiver, ...]


def accept_entry(sha256: str, rule: str) -> str:
    """A waiver entry to fill in, as one YAML flow mapping a report can show."""
    return (
        f'{{sha256: "{sha256}", rule: {rule}, reason: "…", accepted_by: "…", expires: YYYY-MM-DD}}'
    )


def load_waivers(path: Path) -> Waivers:
    """Read ``--accept FILE``; ``UsageError`` naming the file and entry when malformed."""
    data = read_entries(
        path,
        what="waiver file",
        key="accepted",
        noun="entries",
        max_bytes=MAX_WAIVER_BYTES,
        max_entries=MAX_WAIVERS,
    )
    return Waivers(
        source=str(path),
        entries=tuple(_entry(item, index + 1, path) for index, item in enumerate(data)),
    )


def apply_waivers(result: ScanResult, waivers: Waivers, today: dt.date) -> ScanResult:
    """``result`` with the findings and on-load code the waivers accept marked, and an issue
    for every entry that is expired or matches nothing."""
    files_by_digest: dict[str, list[str]] = {}
    for component in result.components:
        # Only a digest read from the file's bytes identifies them: an unread cache blob's name
        # or an LFS pointer's claim does not.
        digest = content_sha256(component) if component.kind is ComponentKind.FILE else None
        if digest is not None:
            files_by_digest.setdefault(digest.lower(), []).append(component.ref)
    accepted: dict[int, Acceptance] = {}
    issues: list[ScanIssue] = []
    for waiver in waivers.entries:
        where = f"entry {waiver.position} ({waiver.rule}, SHA-256 {waiver.sha256[:12]}…)"
        matched = _matches(result.findings, files_by_digest.get(waiver.sha256, []), waiver.rule)
        if waiver.expires < today:
            issues.append(
                _issue(waivers, f"{where} expired on {waiver.expires.isoformat()}; not applied")
            )
            continue
        if not matched:
            issues.append(_issue(waivers, f"{where} matches no finding of this scan; not used"))
            continue
        acceptance = Acceptance(
            source=waivers.source,
            entry=waiver.position,
            reason=waiver.reason,
            accepted_by=waiver.accepted_by,
            expires=waiver.expires.isoformat(),
        )
        for index in matched:
            accepted.setdefault(index, acceptance)
    findings = tuple(
        replace(finding, accepted=accepted[index]) if index in accepted else finding
        for index, finding in enumerate(result.findings)
    )
    marked = replace(result, findings=findings)
    return replace(
        marked,
        components=_with_accepted_code(marked),
        issues=tuple(sorted({*result.issues, *issues}, key=lambda i: (i.location, i.problem))),
    )


def _matches(findings: Sequence[Finding], files: list[str], rule: str) -> list[int]:
    """Indexes of the analysis findings on ``files`` that a waiver of ``rule`` accepts."""
    on_files = [
        (index, finding)
        for index, finding in enumerate(findings)
        if not finding.tiers
        and finding.component_ref in files
        and finding.rule_id in LOAD_ANALYSIS_RULES
    ]
    if rule != DANGEROUS_CODE_RULE:
        return [index for index, finding in on_files if finding.rule_id == rule]
    dangerous = {f.component_ref for _, f in on_files if is_dangerous(f)}
    return [index for index, finding in on_files if finding.component_ref in dangerous]


def _with_accepted_code(result: ScanResult) -> tuple[Component, ...]:
    """The components, with the code a file runs on load marked accepted once every finding
    that made the file run code is accepted."""
    by_file: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if not finding.tiers and finding.rule_id in ON_LOAD_RULES:
            by_file.setdefault(finding.component_ref, []).append(finding)
    code_of: dict[str, str] = {
        relation.dst: relation.src
        for relation in result.relations
        if relation.kind is RelationKind.CONTAINS
    }
    components = []
    for component in result.components:
        findings = by_file.get(code_of.get(component.ref, ""), [])
        first = findings[0].accepted if findings else None
        if (
            component.kind is ComponentKind.CODE
            and first is not None
            and all(f.accepted is not None for f in findings)
        ):
            note = f"{first.source} entry {first.entry}: {first.reason} ({first.accepted_by})"
            component = replace(
                component, properties=(*component.properties, (PropertyName.ACCEPTED, note))
            )
        components.append(component)
    return tuple(components)


def _issue(waivers: Waivers, problem: str) -> ScanIssue:
    return ScanIssue(location=waivers.source, problem=problem, severity=Severity.LOW)


def _entry(item: object, position: int, path: Path) -> Waiver:
    where = f"{path}: entry {position}"
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: must be a mapping (sha256, rule, reason, accepted_by, expires)")
    unknown = sorted(str(key)[:60] for key in item if key not in _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}")
    sha256 = parse_sha256(item.get("sha256"), where=where)
    rule = _text(item.get("rule"), where, "rule").upper()
    if rule not in WAIVABLE_RULES:
        raise UsageError(
            f"{where}: key 'rule': {rule[:20]!r} cannot be waived; use one of "
            + ", ".join(sorted(WAIVABLE_RULES))
        )
    file = item.get("file")
    return Waiver(
        position=position,
        sha256=sha256,
        rule=rule,
        reason=_text(item.get("reason"), where, "reason"),
        accepted_by=_text(item.get("accepted_by"), where, "accepted_by"),
        expires=_date(item.get("expires"), where),
        file=_text(file, where, "file") if file is not None else None,
    )


def _text(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: key {key!r}: required, a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise UsageError(f"{where}: key {key!r}: longer than {MAX_TEXT_CHARS} characters")
    return value.strip()


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise UsageError(f"{where}: key 'expires': required, an ISO 8601 date such as 2027-06-30")
