"""The trusted registry (``--trusted-registry FILE``): approved components and their hashes.

The file is YAML (or JSON with a ``.json`` suffix): a list of entries, or a mapping whose only
key is ``components`` holding that list. Each entry has at least one of ``purl``, ``ref`` and
``sha256``, and optionally a free-text ``note``::

    - purl: pkg:huggingface/acme/model@0123…   # pinned: this revision only
    - purl: pkg:pypi/numpy@2.1.0
      sha256: 9f2c…                          # and these bytes
    - purl: pkg:pypi/requests                # unpinned: every version is approved
    - ref: dataset:acme/corpus               # no purl type exists for datasets: list the bom-ref
    - sha256: 4b1e…                          # these bytes, whatever they are (a weight file)

Matching (``TrustedRegistry.match``):

- purls are compared *parsed* (type, namespace, name, ``repository_url`` qualifier; PyPI names
  PEP 503-normalised, versions compared as PEP 440 versions), never as strings;
- an entry without a version approves every version; a pinned entry only its version; a
  component whose version is unknown cannot be matched to pinned entries (UNVERIFIABLE);
- a component without a purl is matched by ``ref``; an entry with only ``sha256`` approves those
  bytes for any component that has them; a file is matched by SHA-256 alone;
- HASH_MISMATCH when every entry that matched by identity names a SHA-256 and none equals the
  component's (for a library: its own, or any of the release files its lockfile pins; for a
  model: its manifest digest, see ``scanner.sources.model_digest``);
- UNVERIFIABLE when such an entry pins a SHA-256 and the scan has none for the component (a
  Hub ancestor whose files were not all read, a folder of LFS pointers): a pin the scan cannot
  check never passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from packageurl import PackageURL

from scanner.core.errors import UsageError
from scanner.core.model import Component, ComponentKind
from scanner.core.properties import PropertyName
from scanner.policy.profile import parse_sha256, read_entries

#: Caps on a registry file.
MAX_REGISTRY_BYTES = 32 * 1024 * 1024
MAX_REGISTRY_ENTRIES = 200_000
MAX_PURL_CHARS = 2_048
MAX_REF_CHARS = 2_048
MAX_NOTE_CHARS = 1_000

_KEYS = frozenset({"purl", "ref", "sha256", "note"})


@dataclass(frozen=True, slots=True)
class PurlIdentity:
    """What makes two purls name the same package, whatever their spelling."""

    type: str
    namespace: str | None
    name: str
    repository_url: str | None


def parse_purl(purl: str) -> tuple[PurlIdentity, str | None] | None:
    """The identity and normalised version of ``purl``; None when it does not parse."""
    if len(purl) > MAX_PURL_CHARS:
        return None
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    kind = str(parsed.type).lower()
    name = str(parsed.name)
    if kind == "pypi":
        from packaging.utils import canonicalize_name  # only with a --trusted-registry file

        name = canonicalize_name(name)
    qualifiers: dict[str, str] = parsed.qualifiers or {}
    repository = qualifiers.get("repository_url")
    identity = PurlIdentity(
        type=kind,
        namespace=str(parsed.namespace) if parsed.namespace else None,
        name=name,
        repository_url=str(repository).rstrip("/") if repository else None,
    )
    return identity, normalise_version(kind, parsed.version)


def normalise_version(kind: str, version: object) -> str | None:
    """A version as the registry compares it: PEP 440 for PyPI, lower-case commits for the Hub."""
    if not version:
        return None
    text = str(version)
    if kind == "pypi":
        # 2.1 and 2.1.0 are the same release (PEP 440); compare without trailing zeros.
        from packaging.utils import canonicalize_version

        return canonicalize_version(text, strip_trailing_zero=True)
    return text.lower() if kind == "huggingface" else text


class MatchStatus(StrEnum):
    """How a component stands against the registry."""

    REGISTERED = "registered"
    NOT_REGISTERED = "not-registered"
    HASH_MISMATCH = "hash-mismatch"
    UNVERIFIABLE = "unverifiable"
    """The registry could only match it with a version or hash the scan does not have."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryEntry:
    """One approved component."""

    position: int
    """1-based position in the file, for messages."""
    purl: str | None = None
    identity: PurlIdentity | None = None
    version: str | None = None
    ref: str | None = None
    sha256: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryMatch:
    """The outcome of matching one component."""

    status: MatchStatus
    entry: RegistryEntry | None = None
    detail: str = ""
    remedy: str = ""
    """What to do when it is not REGISTERED."""
    missing: str = ""
    """For UNVERIFIABLE: what the scan lacks to check the entry, ``version`` or ``sha256``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedRegistry:
    """The approved components of one registry file, indexed for matching."""

    source: str
    entries: tuple[RegistryEntry, ...]
    _by_identity: dict[PurlIdentity, list[RegistryEntry]] = field(
        init=False, repr=False, compare=False
    )
    _by_ref: dict[str, list[RegistryEntry]] = field(init=False, repr=False, compare=False)
    _by_sha256: dict[str, list[RegistryEntry]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_identity: dict[PurlIdentity, list[RegistryEntry]] = {}
        by_ref: dict[str, list[RegistryEntry]] = {}
        by_sha256: dict[str, list[RegistryEntry]] = {}
        for entry in self.entries:
            if entry.identity is not None:
                by_identity.setdefault(entry.identity, []).append(entry)
            elif entry.ref is not None:
                by_ref.setdefault(entry.ref, []).append(entry)
            elif entry.sha256 is not None:
                by_sha256.setdefault(entry.sha256, []).append(entry)
        object.__setattr__(self, "_by_identity", by_identity)
        object.__setattr__(self, "_by_ref", by_ref)
        object.__setattr__(self, "_by_sha256", by_sha256)

    def match(self, component: Component) -> RegistryMatch:
        """Whether ``component`` is on the registry, and with the right bytes."""
        found = self._match(component)
        if found.status is MatchStatus.REGISTERED:
            return found
        return replace(found, remedy=_remedy(found, component, self.source))

    def _match(self, component: Component) -> RegistryMatch:
        digests = sha256_digests(component)
        candidates: list[RegistryEntry] = []
        if component.purl and component.kind is not ComponentKind.FILE:
            parsed = parse_purl(component.purl)
            if parsed is None:
                return RegistryMatch(
                    status=MatchStatus.NOT_REGISTERED, detail="its purl does not parse"
                )
            identity, version = parsed
            version = version or normalise_version(identity.type, component.version)
            listed = self._by_identity.get(identity, [])
            candidates = [e for e in listed if e.version is None or e.version == version]
            if listed and not candidates:
                return _version_miss(listed, version)
        elif component.kind is not ComponentKind.FILE:
            candidates = list(self._by_ref.get(component.ref, []))
        if candidates:
            return _check_hashes(candidates, digests, declared=_declared_revision(component))
        for digest in sorted(digests):
            approved = self._by_sha256.get(digest)
            if approved:
                return RegistryMatch(
                    status=MatchStatus.REGISTERED,
                    entry=approved[0],
                    detail=f"SHA-256 {digest[:12]}… is approved",
                )
        if component.kind is ComponentKind.FILE and not digests:
            return RegistryMatch(
                status=MatchStatus.UNVERIFIABLE,
                detail="the file has no SHA-256 to match",
                missing="sha256",
            )
        return RegistryMatch(status=MatchStatus.NOT_REGISTERED, detail="no registry entry")


def sha256_digests(component: Component) -> frozenset[str]:
    """The component's SHA-256 values, lower-case: its own, and for a library those of the
    release files its lockfile pins (any of them is the package's bytes on some platform)."""
    digests = (
        *component.hashes,
        *(digest for dist in component.distributions for digest in dist.hashes),
    )
    return frozenset(
        digest.value.lower()
        for digest in digests
        if digest.alg.upper().replace("-", "") == "SHA256"
    )


def _version_miss(listed: list[RegistryEntry], version: str | None) -> RegistryMatch:
    pinned = ", ".join(sorted({e.version for e in listed if e.version})[:5])
    if version is None:
        return RegistryMatch(
            status=MatchStatus.UNVERIFIABLE,
            entry=listed[0],
            detail=f"its version is unknown and the registry approves only {pinned}",
            missing="version",
        )
    return RegistryMatch(
        status=MatchStatus.NOT_REGISTERED,
        entry=listed[0],
        detail=f"version {version} is not approved (approved: {pinned})",
    )


def _declared_revision(component: Component) -> bool:
    """Whether the component's revision is only what its own folder declares."""
    return any(name == PropertyName.MODEL_REVISION_SOURCE for name, _ in component.properties)


def _check_hashes(
    candidates: list[RegistryEntry], digests: frozenset[str], *, declared: bool = False
) -> RegistryMatch:
    for entry in candidates:
        if entry.sha256 is not None and entry.sha256 in digests:
            return RegistryMatch(
                status=MatchStatus.REGISTERED, entry=entry, detail="SHA-256 matches"
            )
    unhashed = next((entry for entry in candidates if entry.sha256 is None), None)
    if unhashed is not None and unhashed.version is not None and declared:
        # A folder's download records can name any commit: a revision pin alone proves
        # nothing about its bytes.
        return RegistryMatch(
            status=MatchStatus.UNVERIFIABLE,
            entry=unhashed,
            detail=f"its revision {unhashed.version[:12]} is only what the folder's own records "
            "say; the registry entry pins no SHA-256 to check the bytes against",
            missing="sha256",
        )
    if unhashed is not None:
        return RegistryMatch(status=MatchStatus.REGISTERED, entry=unhashed)
    entry = candidates[0]
    if not digests:
        return RegistryMatch(
            status=MatchStatus.UNVERIFIABLE,
            entry=entry,
            detail=f"the registry pins SHA-256 {str(entry.sha256)[:12]}… and the scan has no "
            "SHA-256 for it to compare",
            missing="sha256",
        )
    ours = sorted(digests)[0]
    return RegistryMatch(
        status=MatchStatus.HASH_MISMATCH,
        entry=entry,
        detail=f"SHA-256 {ours[:12]}… differs from the approved {str(entry.sha256)[:12]}…",
    )


def _remedy(found: RegistryMatch, component: Component, source: str) -> str:
    """What to do about a component the registry does not approve."""
    ours = sorted(sha256_digests(component))
    entry = found.entry
    if found.status is MatchStatus.HASH_MISMATCH and entry is not None:
        return (
            f"The bytes of {component.name} are not the approved ones: restore them, or after "
            f'review set entry {entry.position} of {source} to sha256 "{ours[0]}"'
        )
    if found.status is MatchStatus.UNVERIFIABLE and found.missing == "sha256" and ours and entry:
        return (
            f"Pin the bytes: after checking they are the approved ones, add sha256 "
            f'"{ours[0]}" (the manifest digest of {component.name}) to entry {entry.position} '
            f"of {source}"
        )
    if found.status is MatchStatus.UNVERIFIABLE and found.missing == "sha256":
        return (
            f"The scan has no SHA-256 for {component.name} (for a model: the manifest digest "
            "over every file's SHA-256): scan its files themselves (a local folder, or "
            "hf-cache: with --verify), or pin it by version only"
        )
    if found.status is MatchStatus.UNVERIFIABLE:
        return (
            f"Pin the version of {component.name} (hf:ORG/NAME@COMMIT, or an exact version in "
            "the lockfile) so the registry entry can be checked, and scan again"
        )
    if component.kind is ComponentKind.FILE:
        if not ours:
            return f"{component.name} has no SHA-256 to register: make it readable and rescan"
        return f'After review, add it to {source}: {{sha256: "{ours[0]}"}}'
    key, name = ("purl", component.purl) if component.purl else ("ref", component.ref)
    pin = f', sha256: "{ours[0]}"' if ours else ""
    return f'After review, add it to {source}: {{{key}: "{name}"{pin}}}'


# --- loading -----------------------------------------------------------------------------------


def load_registry(path: Path) -> TrustedRegistry:
    """Read ``--trusted-registry FILE``; ``UsageError`` naming the file and entry when malformed."""
    data = read_entries(
        path,
        what="trusted registry",
        key="components",
        noun="components",
        max_bytes=MAX_REGISTRY_BYTES,
        max_entries=MAX_REGISTRY_ENTRIES,
    )
    entries = tuple(_entry(item, index + 1, path) for index, item in enumerate(data))
    return TrustedRegistry(source=str(path), entries=entries)


def _entry(item: object, position: int, path: Path) -> RegistryEntry:
    where = f"{path}: entry {position}"
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: must be a mapping with purl, ref or sha256")
    unknown = sorted(_key(key) for key in item if key not in _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]}")
    purl = _string(item.get("purl"), where, "purl", MAX_PURL_CHARS)
    ref = _string(item.get("ref"), where, "ref", MAX_REF_CHARS)
    note = _string(item.get("note"), where, "note", MAX_NOTE_CHARS)
    raw_sha = item.get("sha256")
    sha256 = parse_sha256(raw_sha, where=where) if raw_sha is not None else None
    if purl is None and ref is None and sha256 is None:
        raise UsageError(f"{where}: needs a purl, a ref or a sha256")
    if purl is not None and ref is not None:
        raise UsageError(f"{where}: give a purl or a ref, not both")
    identity: PurlIdentity | None = None
    version: str | None = None
    if purl is not None:
        parsed = parse_purl(purl)
        if parsed is None:
            raise UsageError(f"{where}: key 'purl': {purl[:80]!r} is not a valid package URL")
        identity, version = parsed
    return RegistryEntry(
        position=position,
        purl=purl,
        identity=identity,
        version=version,
        ref=ref,
        sha256=sha256,
        note=note,
    )


def _string(value: object, where: str, key: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: key {key!r}: must be a non-empty string")
    if len(value) > limit:
        raise UsageError(f"{where}: key {key!r}: longer than {limit} characters")
    return value.strip()


def _key(key: object) -> str:
    return repr(key[:60]) if isinstance(key, str) else f"a {type(key).__name__}"
