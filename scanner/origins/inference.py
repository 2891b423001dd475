"""Origins from weaker signals: licence names, email domains, project URLs, organisation names."""

# Every function here is pure and total: odd input gives None (with a reason from the infer_*
# variant), never an exception. Each signal stays separate evidence with its own confidence
# (jurisdiction.md §9); none of them turns into a curated fact.

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from scanner.core.ids import HUB_HOSTS, HUB_REPO_TYPES, HUB_SITE_PAGES
from scanner.core.model import Confidence, Evidence, Origin, OriginBasis, StewardKind
from scanner.origins.knowledge import EntryKind, EntryMatch, KnowledgeBase, OriginEntry

#: Longest licence id, address, URL or name examined; longer input carries no signal.
MAX_SIGNAL_LENGTH: Final = 2048
#: Longest value copied into an Evidence record.
MAX_EVIDENCE_VALUE: Final = 400
#: Where an observed value was seen when the caller does not say.
UNSPECIFIED_LOCATION: Final = "(unspecified)"

_CONFIDENCE_ORDER = (Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)
_DOMAIN = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})",
    re.ASCII,
)
_TWO_LETTERS = re.compile(r"[a-z]{2}", re.ASCII)
_ANGLE_ADDRESS = re.compile(r"<([^<>]{1,512})>")
_SCP_URL = re.compile(r"[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):/?(.*)", re.ASCII)
_URL_SCHEMES = frozenset({"http", "https", "git", "ssh", "git+https", "git+ssh", "git+http"})
_GITHUB_HOSTS = frozenset({"github.com", "raw.githubusercontent.com", "codeload.github.com"})
#: Words that say what legal form a company has, not who it is.
_LEGAL_FORMS = frozenset(
    {
        "ab",
        "ag",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "inc",
        "kk",
        "limited",
        "llc",
        "llp",
        "ltd",
        "mkpao",
        "nv",
        "oy",
        "pjsc",
        "plc",
        "pte",
        "sa",
        "sas",
        "spa",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Inference:
    """What one signal says: an origin, or None, and why."""

    origin: Origin | None
    reason: str


# --- shared helpers ----------------------------------------------------------------------------


def weaker(confidence: Confidence, cap: Confidence) -> Confidence:
    """The lower of two confidences."""
    return min(confidence, cap, key=_CONFIDENCE_ORDER.index)


def steward_of(entry: OriginEntry) -> StewardKind:
    """Who an entry says stands behind the id."""
    if entry.individual:
        return StewardKind.INDIVIDUAL
    if entry.community:
        return StewardKind.COMMUNITY
    return StewardKind.ORGANIZATION


def entry_evidence(entry: OriginEntry) -> Evidence:
    """The knowledge-base entry as evidence: where it is defined, what it says, its source."""
    summary = (
        f"{entry.organization}; country {entry.country or 'none'}; "
        f"confidence {entry.confidence}; source: {entry.source}"
    )
    return Evidence(
        location=entry.defined_in,
        field=f"{entry.kind}:{entry.id}",
        value=_clip(summary),
        method="origins-override" if entry.user else "origins-curated",
    )


def origin_from_entry(
    entry: OriginEntry,
    *,
    basis: OriginBasis,
    observed: tuple[Evidence, ...] = (),
    note: str | None = None,
    confidence_cap: Confidence = Confidence.HIGH,
) -> Origin:
    """The origin an entry gives, with the observed evidence that led to it.

    Community projects and individuals have no country (a fiscal sponsor or a reported
    residence is a note, not an origin) unless the entry is the user's own. User entries
    always have basis OVERRIDE.
    """
    steward = steward_of(entry)
    country = entry.country if entry.user or steward is StewardKind.ORGANIZATION else None
    return Origin(
        organization=entry.organization,
        steward=steward,
        country=country,
        basis=OriginBasis.OVERRIDE if entry.user else basis,
        confidence=weaker(entry.confidence, confidence_cap),
        evidence=(*observed, entry_evidence(entry)),
        parent=entry.parent,
        note=_join_notes(note, *_entry_notes(entry, country)),
    )


def unknown_origin(note: str, evidence: tuple[Evidence, ...] = ()) -> Origin:
    """An origin nobody could establish: unknown, which is not the same as foreign."""
    return Origin(
        organization=None,
        steward=StewardKind.UNKNOWN,
        country=None,
        basis=OriginBasis.METADATA,
        confidence=Confidence.LOW,
        evidence=evidence,
        note=note,
    )


def is_known(origin: Origin) -> bool:
    """Whether an origin names an organisation or a country at all."""
    return origin.organization is not None or origin.country is not None


def _entry_notes(entry: OriginEntry, country: str | None) -> list[str]:
    notes: list[str] = []
    if entry.fiscal_sponsor:
        where = f" ({entry.fiscal_sponsor_country})" if entry.fiscal_sponsor_country else ""
        notes.append(f"fiscal sponsor {entry.fiscal_sponsor}{where}: a note, not an origin")
    if entry.reported_origin and entry.reported_origin != country:
        notes.append(
            f"reported origin {entry.reported_origin}: a weak hint, not a jurisdiction fact"
        )
    if entry.origin_country and entry.origin_country != country:
        notes.append(f"originated in {entry.origin_country}")
    if entry.coordinator_country and entry.coordinator_country != country:
        notes.append(f"coordinated from {entry.coordinator_country}")
    if entry.user:
        notes.append(f"user entry from {entry.defined_in}")
    return notes


def _join_notes(*notes: str | None) -> str | None:
    present = [note for note in notes if note]
    return "; ".join(present) if present else None


def _clip(value: str) -> str:
    return value if len(value) <= MAX_EVIDENCE_VALUE else value[: MAX_EVIDENCE_VALUE - 1] + "…"


def _observed(location: str, field: str, value: str, method: str) -> Evidence:
    return Evidence(location=location, field=field, value=_clip(value), method=method)


def cctld_country(tld: str, kb: KnowledgeBase) -> str | None:
    """The country a top-level domain points to, or None (generic or not a country code).

    Curated signals first (``su`` → RU, ``uk`` → GB, ``ai``/``io``/``co``/``me``/``tv`` → none);
    any other two-letter TLD is the country code itself.
    """
    name = tld.strip().lower().lstrip(".")
    signal = kb.tld_signal(name)
    if signal is not None:
        return signal.country
    return name.upper() if _TWO_LETTERS.fullmatch(name) else None


# --- licence -----------------------------------------------------------------------------------


def infer_license(
    license_id: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Inference:
    """What a licence id says about a component's lineage: a hint, never authorship."""
    text = license_id.strip()
    if not text or len(text) > MAX_SIGNAL_LENGTH:
        return Inference(origin=None, reason="empty or overlong licence id")
    found = kb.match(EntryKind.LICENSE, text)
    if found is None:
        return Inference(
            origin=None,
            reason=f"licence {text!r} names no organisation "
            "(licences such as MIT or Apache-2.0 carry no origin signal)",
        )
    entry = found.entry
    origin = origin_from_entry(
        entry,
        basis=OriginBasis.LICENSE,
        observed=(_observed(location, "license", text, "license-name"),),
        note=f"licence {entry.id} shows an ancestor by {entry.organization}; derivatives keep "
        "their base's licence, so it is a lineage hint, not authorship",
    )
    return Inference(
        origin=origin,
        reason=f"licence {entry.id} belongs to {entry.organization} "
        f"({entry.country or 'no single country'})",
    )


def from_license(
    license_id: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Origin | None:
    """The organisation a licence name points to (``llama3`` → Meta, US), basis LICENSE.

    A licence travels with derivatives, so the result is a lineage hint, never authorship.
    """
    return infer_license(license_id, kb, location=location).origin


# --- email and domains -------------------------------------------------------------------------


def email_domain(address: str) -> str | None:
    """The domain of an address (``Name <user@host>`` accepted), lower-cased, or None."""
    text = address.strip()
    if not text or len(text) > MAX_SIGNAL_LENGTH:
        return None
    bracketed = _ANGLE_ADDRESS.search(text)
    if bracketed is not None:
        text = bracketed.group(1).strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    return _clean_domain(domain)


def _clean_domain(domain: str) -> str | None:
    name = domain.strip().lower().rstrip(".")
    return name if _DOMAIN.fullmatch(name) else None


def infer_domain(
    domain: str,
    kb: KnowledgeBase,
    *,
    basis: OriginBasis = OriginBasis.EMAIL_DOMAIN,
    observed: tuple[Evidence, ...] = (),
) -> Inference:
    """What a domain says: an organisational entry, consumer mail, hosting, or a ccTLD hint."""
    name = _clean_domain(domain)
    if name is None:
        return Inference(origin=None, reason=f"{domain[:80]!r} is not a domain name")
    found = kb.match(EntryKind.EMAIL_DOMAIN, name)
    if found is not None:
        return _from_domain_entry(name, found, basis=basis, observed=observed)
    tld = name.rsplit(".", 1)[-1]
    country = cctld_country(tld, kb)
    if country is None:
        return Inference(origin=None, reason=f"no entry for {name}, and .{tld} carries no country")
    hint = Origin(
        organization=None,
        steward=StewardKind.UNKNOWN,
        country=country,
        basis=basis,
        confidence=Confidence.LOW,
        evidence=observed,
        note=f"weak hint: the .{tld} domain {name} suggests where its owner lives; "
        "not an organisation",
    )
    return Inference(
        origin=hint, reason=f"no entry for {name}; ccTLD .{tld} is a weak {country} hint"
    )


def _from_domain_entry(
    name: str, found: EntryMatch, *, basis: OriginBasis, observed: tuple[Evidence, ...]
) -> Inference:
    entry = found.entry
    via = "" if found.exact else f" (via its parent domain {found.matched})"
    if entry.consumer_mail:
        return Inference(
            origin=None,
            reason=f"{name} is consumer mail ({entry.organization}){via}: never an organisation",
        )
    if entry.url_domain:
        hint = Origin(
            organization=None,
            steward=StewardKind.UNKNOWN,
            country=entry.country if entry.user or not entry.community else None,
            basis=OriginBasis.OVERRIDE if entry.user else basis,
            confidence=Confidence.LOW,
            evidence=(*observed, entry_evidence(entry)),
            note=f"hosted on {entry.organization}: where the code lives, not who wrote it",
        )
        return Inference(
            origin=hint,
            reason=f"{name} is a hosting service ({entry.organization}){via}: a weak hint only",
        )
    origin = origin_from_entry(entry, basis=basis, observed=observed)
    return Inference(
        origin=origin,
        reason=f"{name} is an organisational domain of {entry.organization}{via}",
    )


def infer_email(
    address: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Inference:
    """What an author or maintainer address says (see ``from_email``)."""
    domain = email_domain(address)
    if domain is None:
        return Inference(origin=None, reason=f"{address[:80]!r} is not an email address")
    observed = (_observed(location, "email", address.strip(), "email-domain"),)
    return infer_domain(domain, kb, basis=OriginBasis.EMAIL_DOMAIN, observed=observed)


def from_email(
    address: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Origin | None:
    """The origin an address's domain gives.

    An organisational domain (``@yandex-team.ru``, also its subdomains) gives its entry;
    consumer mail (gmail.com, ya.ru, mail.ru, qq.com, …) gives None; a domain with no entry
    under a real ccTLD gives a LOW, steward-UNKNOWN country hint (never for .ai, .io, .co, …).
    """
    return infer_email(address, kb, location=location).origin


# --- URLs --------------------------------------------------------------------------------------


def infer_url(url: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION) -> Inference:
    """What a project or repository URL says (see ``from_url``)."""
    parsed = _host_and_path(url)
    if parsed is None:
        return Inference(origin=None, reason=f"{url[:80]!r} is not an http(s) or git URL")
    host, segments = parsed
    observed = (_observed(location, "url", url.strip(), "project-url"),)
    forge = _forge_owner(host, segments)
    if forge is not None:
        kind, owner = forge
        return _from_owner(kind, owner, kb, observed)
    return infer_domain(host, kb, basis=OriginBasis.URL, observed=observed)


def from_url(url: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION) -> Origin | None:
    """The origin a URL gives, basis URL.

    ``github.com/ORG/…`` (and ``ORG.github.io``) → the github-org entry; ``huggingface.co/ORG``
    → the hf-namespace entry; ``pypi.org/project/NAME`` → the pypi-package entry; any other
    host → its domain entry (hosting such as gitee.com or gitflic.ru is only a weak hint) or
    a weak ccTLD hint. Other forges (gitlab.com, …) have no org table: only their domain counts.
    """
    return infer_url(url, kb, location=location).origin


def _host_and_path(url: str) -> tuple[str, list[str]] | None:
    text = url.strip()
    if not text or len(text) > MAX_SIGNAL_LENGTH:
        return None
    scp = _SCP_URL.fullmatch(text) if "://" not in text else None
    if scp is not None:
        host, path = scp.group(1), scp.group(2)
    else:
        if "://" not in text:
            text = f"https://{text}"
        try:
            parts = urlsplit(text)
            _ = parts.port  # raises ValueError on a malformed port
        except ValueError:
            return None
        if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path
    host = host.lower().rstrip(".")
    host = host.removeprefix("www.")
    if _DOMAIN.fullmatch(host) is None:
        return None
    return host, [segment for segment in path.split("/") if segment]


def _forge_owner(host: str, segments: list[str]) -> tuple[EntryKind, str] | None:
    if host in _GITHUB_HOSTS and segments:
        return EntryKind.GITHUB_ORG, segments[0]
    if host.endswith(".github.io") and host.count(".") == 2:
        return EntryKind.GITHUB_ORG, host.removesuffix(".github.io")
    if host in HUB_HOSTS and segments:
        if segments[0] in HUB_REPO_TYPES:
            return (EntryKind.HF_NAMESPACE, segments[1]) if len(segments) > 2 else None
        if segments[0] not in HUB_SITE_PAGES:
            return EntryKind.HF_NAMESPACE, segments[0]
        return None
    if host == "pypi.org" and len(segments) >= 2 and segments[0] in {"project", "simple"}:
        return EntryKind.PYPI_PACKAGE, segments[1]
    return None


def _from_owner(
    kind: EntryKind, owner: str, kb: KnowledgeBase, observed: tuple[Evidence, ...]
) -> Inference:
    found = kb.match(kind, owner)
    if found is None:
        return Inference(
            origin=None, reason=f"{kind} {owner[:80]!r} has no entry: unknown (not foreign)"
        )
    entry = found.entry
    if entry.reuploader:
        return Inference(
            origin=None,
            reason=f"{kind} {entry.id} re-uploads others' weights: not an origin by itself",
        )
    cap = Confidence.HIGH if found.exact else Confidence.MEDIUM
    origin = origin_from_entry(entry, basis=OriginBasis.URL, observed=observed, confidence_cap=cap)
    return Inference(origin=origin, reason=f"{kind} {entry.id} is {entry.organization}")


# --- organisation names ------------------------------------------------------------------------


def normalize_organization(name: str) -> str:
    """A name reduced for comparison: lower case, words only, no parentheses or legal form."""
    text = re.sub(r"\([^()]*\)", " ", name[:MAX_SIGNAL_LENGTH])
    words = re.findall(r"[a-z0-9]+", text.casefold())
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def infer_organization_name(
    name: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Inference:
    """What a free-text organisation name says (see ``from_organisation_name``)."""
    wanted = normalize_organization(name)
    if not wanted:
        return Inference(origin=None, reason="empty organisation name")
    candidates = [entry for entry in kb if _names(entry, wanted)]
    if not candidates:
        return Inference(origin=None, reason=f"no entry is named {name.strip()[:80]!r}")
    countries = {origin_from_entry(e, basis=OriginBasis.METADATA).country for e in candidates}
    if len(countries) > 1:
        shown = ", ".join(sorted(c or "none" for c in countries))
        return Inference(
            origin=None,
            reason=f"{name.strip()[:80]!r} matches entries in different countries ({shown})",
        )
    best = max(candidates, key=lambda e: _CONFIDENCE_ORDER.index(e.confidence))
    observed = (_observed(location, "organization", name.strip(), "organisation-name"),)
    origin = origin_from_entry(
        best, basis=OriginBasis.METADATA, observed=observed, confidence_cap=Confidence.MEDIUM
    )
    return Inference(origin=origin, reason=f"{name.strip()[:80]!r} names {best.organization}")


def from_organization_name(
    name: str, kb: KnowledgeBase, *, location: str = UNSPECIFIED_LOCATION
) -> Origin | None:
    """The entry a declared organisation name (e.g. GGUF ``general.organization``) names.

    Conservative: the whole name must equal an entry's organisation (parentheses and legal
    forms dropped) or a Hub namespace / GitHub org with dashes read as spaces (``Meta Llama``
    → meta-llama); entries that disagree on the country give None. Confidence at most MEDIUM.
    """
    return infer_organization_name(name, kb, location=location).origin


def _names(entry: OriginEntry, wanted: str) -> bool:
    if entry.consumer_mail or entry.url_domain or entry.reuploader:
        return False
    if normalize_organization(entry.organization) == wanted:
        return True
    if entry.kind in {EntryKind.HF_NAMESPACE, EntryKind.GITHUB_ORG}:
        return normalize_organization(entry.id.replace("-", " ").replace("_", " ")) == wanted
    return False
