"""Text for ``sovscan origins show ID`` and ``sovscan origins list``."""

from __future__ import annotations

import datetime
from dataclasses import fields

from scanner.core.ids import parse_hub_id
from scanner.core.model import Origin, OriginBasis
from scanner.origins.coverage import STALE_MONTHS, is_stale
from scanner.origins.inference import (
    Inference,
    email_domain,
    infer_domain,
    infer_email,
    infer_license,
    infer_organization_name,
    infer_url,
    origin_from_entry,
)
from scanner.origins.knowledge import (
    CHECKED,
    FILE_KEYS,
    MAX_QUERY_LENGTH,
    UNCHECKED,
    EntryKind,
    EntryMatch,
    KnowledgeBase,
    OriginEntry,
)

#: Where the evidence of an ``origins show`` query comes from.
QUERY_LOCATION = "(query)"
#: Widest organisation shown in the ``origins list`` table.
MAX_ORGANIZATION_WIDTH = 48
_NO_COUNTRY = ("none", "-", "null")
#: Entry fields shown by ``origins show``, in the data model's order (id and kind head the block).
_FIELD_ORDER = tuple(f.name for f in fields(OriginEntry) if f.name not in {"id", "kind", "user"})
_BASIS_FOR_KIND = {
    EntryKind.HF_NAMESPACE: OriginBasis.CURATED,
    EntryKind.PYPI_PACKAGE: OriginBasis.CURATED,
    EntryKind.GITHUB_ORG: OriginBasis.URL,
    EntryKind.EMAIL_DOMAIN: OriginBasis.EMAIL_DOMAIN,
    EntryKind.LICENSE: OriginBasis.LICENSE,
}


def explain(kb: KnowledgeBase, query: str, today: datetime.date | None = None) -> str:
    """Why ``query`` is attributed as it is (text for ``sovscan origins show``).

    ``query`` is a namespace, package, GitHub org, domain, address, URL, licence, Hub id or
    purl. The answer lists every matching entry with all its fields and source or, with no
    entry, what each inference rule says, else that the origin is unknown (not foreign). An
    entry last believed current more than 12 months before ``today`` is flagged as stale.
    """
    today = today or datetime.date.today()
    text = query.strip()
    if not text or len(text) > MAX_QUERY_LENGTH:
        return "nothing to explain: give a namespace, package, domain, address, URL or licence\n"
    lines: list[str] = []
    for found in _matching_entries(kb, text):
        lines += _describe(found, today)
        lines.append("")
    if lines:
        return "\n".join(lines)
    inferred = _inferences(kb, text)
    lines.append(f"{text}: no entry in the knowledge base under this id")
    for what, result in inferred:
        lines.append(f"  {what}: {result.reason}")
        if result.origin is not None:
            lines.append(f"    -> {_summary(result.origin)}")
    if not any(result.origin is not None for _, result in inferred):
        lines.append("  no entry; unknown (not foreign)")
    return "\n".join(lines) + "\n"


def list_entries(
    kb: KnowledgeBase, country: str | None = None, kind: EntryKind | None = None
) -> str:
    """A table (kind, id, organisation, country, confidence) sorted by kind and id.

    ``country`` filters by alpha-2 code (any case); ``none`` lists entries with no country.
    User entries are marked ``(user)``.
    """
    rows = sorted(
        (
            entry
            for entry in kb
            if (kind is None or entry.kind is kind) and _country_matches(entry, country)
        ),
        key=lambda entry: (entry.kind.value, entry.id.casefold(), entry.id),
    )
    if not rows:
        return "no entries\n"
    header = ("KIND", "ID", "ORGANISATION", "COUNTRY", "CONFIDENCE")
    table = [header] + [
        (
            entry.kind.value,
            entry.id + (" (user)" if entry.user else ""),
            _clip(entry.organization, MAX_ORGANIZATION_WIDTH),
            entry.country or "-",
            entry.confidence.value,
        )
        for entry in rows
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in table
    ]
    return "\n".join(lines) + "\n"


def _country_matches(entry: OriginEntry, country: str | None) -> bool:
    if country is None:
        return True
    wanted = country.strip()
    if wanted.lower() in _NO_COUNTRY:
        return entry.country is None
    return entry.country == wanted.upper()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- show ----------------------------------------------------------------------------------------


def _matching_entries(kb: KnowledgeBase, text: str) -> list[EntryMatch]:
    """Entries of any kind the query names, each once."""
    wanted: list[tuple[EntryKind, str]] = []
    hub_id = parse_hub_id(text.removeprefix("hf:").split("@")[0]) if "://" not in text else None
    if text.startswith("pkg:huggingface/"):
        wanted.append((EntryKind.HF_NAMESPACE, text.removeprefix("pkg:huggingface/").split("/")[0]))
    elif text.startswith("pkg:pypi/"):
        wanted.append((EntryKind.PYPI_PACKAGE, text.removeprefix("pkg:pypi/").split("@")[0]))
    elif hub_id is not None:
        wanted.append((EntryKind.HF_NAMESPACE, hub_id.namespace))
    elif "@" in text:
        domain = email_domain(text)
        if domain:
            wanted.append((EntryKind.EMAIL_DOMAIN, domain))
    elif "://" not in text and "/" not in text:
        wanted += [(kind, text) for kind in EntryKind]
    found: list[EntryMatch] = []
    for kind, ident in wanted:
        match = kb.match(kind, ident)
        if match is not None and all(match.entry is not f.entry for f in found):
            found.append(match)
    return found


def _describe(found: EntryMatch, today: datetime.date) -> list[str]:
    entry = found.entry
    where = "user file " + entry.defined_in if entry.user else "built-in knowledge base"
    lines = [f"{entry.kind} {entry.id} ({where})"]
    if not found.exact and entry.kind is EntryKind.EMAIL_DOMAIN:
        lines.append(f"  matched: {found.matched} (a parent domain of the one asked for)")
    elif not found.exact:
        lines.append(f"  matched: {found.matched} (ignoring case; the Hub namespace is spelt so)")
    for name in _FIELD_ORDER:
        value = getattr(entry, name)
        if value is None or value is False or value == "":
            continue
        if name == "defined_in" and not entry.user:
            continue
        if name == "verified" and value in (CHECKED, UNCHECKED):
            lines.append(_checked_line(entry))
            continue
        if name == "license_changes":
            changes = "; ".join(f"{c.versions}: {c.license}" for c in entry.license_changes)
            if changes:
                lines.append(f"  {'license changes:':<24}{changes}")
            continue
        shown = "yes" if value is True else str(value)
        label = FILE_KEYS.get(name, name).replace("_", " ")
        lines.append(f"  {label + ':':<24}{shown}")
    if is_stale(entry, today):
        lines.append(
            f"  STALE: as of {entry.as_of}, more than {STALE_MONTHS} months ago: check the "
            "source again before relying on it"
        )
    lines.append(f"  -> {_verdict(entry)}")
    return lines


def _checked_line(entry: OriginEntry) -> str:
    """Whether the entry was compared with its source: ``checked against source: 2026-11``."""
    if entry.verified == CHECKED:
        return f"  {'checked against source:':<24}{entry.as_of or 'date unknown'}"
    return "  not checked against its source"


def _verdict(entry: OriginEntry) -> str:
    if entry.consumer_mail:
        return "consumer mail: never an organisation (at most a weak hint about an individual)"
    if entry.url_domain:
        return "hosting domain: where code lives, not who wrote it (a weak hint only)"
    if entry.reuploader:
        return (
            "re-uploader: not the origin of the weights; attribution follows the base_model lineage"
        )
    origin = origin_from_entry(entry, basis=_BASIS_FOR_KIND[entry.kind])
    if entry.kind is EntryKind.LICENSE:
        return f"lineage hint (a licence shows an ancestor, not authorship): {_summary(origin)}"
    return f"attribution: {_summary(origin)}"


def _summary(origin: Origin) -> str:
    parts = [
        origin.organization or "no organisation",
        f"country {origin.country or 'none'}",
        f"steward {origin.steward}",
        f"basis {origin.basis}",
        f"confidence {origin.confidence}",
    ]
    if origin.note:
        parts.append(origin.note)
    return "; ".join(parts)


def _inferences(kb: KnowledgeBase, text: str) -> list[tuple[str, Inference]]:
    """What each applicable inference rule says about a query with no entry."""
    if text.startswith("pkg:"):
        return []
    if "://" in text or ("/" in text and "." in text.split("/", 1)[0]):
        return [("url", infer_url(text, kb, location=QUERY_LOCATION))]
    if "@" in text:
        return [("email", infer_email(text, kb, location=QUERY_LOCATION))]
    results: list[tuple[str, Inference]] = []
    if not any(ch.isspace() for ch in text):
        results.append(("licence", infer_license(text, kb, location=QUERY_LOCATION)))
    if "." in text and " " not in text:
        results.append(("domain", infer_domain(text, kb)))
    results.append(
        ("organisation name", infer_organization_name(text, kb, location=QUERY_LOCATION))
    )
    return results
