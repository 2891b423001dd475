"""Propose ``pypi-package`` knowledge-base entries from the packages' own release metadata.

Usage: python scripts/build_pypi_entries.py WHEELS... --names FILE [--as-of YYYY-MM]
                                            [--out entries.yaml] [--gaps gaps.tsv]

WHEELS are wheel files or folders of them (``pip download --no-deps NAME``): each wheel's
``*.dist-info/METADATA`` is read as text (nothing in it is run). ``--names`` is a file with one
package name per line, or a TSV whose header has a ``name`` column (the download ranking in
``../shared/reference/pypi-top2000.tsv``), or a requirements or lock file sovscan reads.

For each name with a wheel (the highest version found), the release's metadata goes through
sovscan's own inference (``library_origin_from_metadata``: organisational e-mail domains, then
the project URLs' ``github.com/ORG``) against the built-in knowledge base, so an entry names an
organisation only when the metadata points at an entry that already cites its source. A name
a family entry (``nvidia-*``) covers gets an entry of its own when its metadata names one. The
licence is the one the release names for sure (``licence_texts.py``: its SPDX expression, an
unmistakable licence name or classifier, or bundled licence texts that agree); without one, the
entry has no licence. Each proposed entry cites the release's page and what its metadata says,
and names the entry it was matched to. ``--licences`` gets the licence, and the release page
stating it, of names whose entry has none or cites none for it.

Names without a wheel, or whose metadata points at no known organisation, are written to
``--gaps`` with the reason: they are left out, never guessed.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import sys
import zipfile
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.core.model import Component, ComponentKind, OriginBasis, StewardKind
from scanner.formats.python.records import PackageMetadata
from scanner.origins.knowledge import (
    EntryKind,
    KnowledgeBase,
    OriginEntry,
    load_builtin,
    normalise_id,
)
from scanner.origins.package_metadata import library_origin_from_metadata
from scanner.sources.python.components import URL_FIELD_PREFIX, metadata_evidence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from licence_texts import NamedLicence, licence_of_release

#: Largest METADATA read from a wheel.
MAX_METADATA_BYTES = 1024 * 1024
#: Largest licence file read from a wheel, and most licence files read.
MAX_LICENCE_BYTES = 256 * 1024
MAX_LICENCE_FILES = 20


@dataclass(frozen=True)
class Release:
    """One wheel's distribution: its normalised name, version and metadata."""

    name: str
    version: str
    metadata: PackageMetadata
    licence: NamedLicence | None


def normalise(name: str) -> str:
    """PEP 503's normal form of a distribution name (the knowledge base's own rule)."""
    return normalise_id(EntryKind.PYPI_PACKAGE, name)


def main() -> int:
    """Write the proposed entries and the gaps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="+", type=Path)
    parser.add_argument("--names", type=Path, required=True, action="append")
    parser.add_argument("--as-of", required=True, help="YYYY-MM the metadata was read")
    parser.add_argument("--out", type=Path, default=Path("entries.yaml"))
    parser.add_argument("--gaps", type=Path, default=Path("gaps.tsv"))
    parser.add_argument(
        "--licences",
        type=Path,
        default=Path("licences.yaml"),
        help="where to write {id: {license, license_release}} for names that have an entry "
        "without a licence",
    )
    args = parser.parse_args()
    import yaml

    kb = load_builtin()
    releases = latest_releases(args.wheels)
    entries: list[dict[str, Any]] = []
    gaps: list[tuple[str, str]] = []
    licences: dict[str, dict[str, str]] = {}
    names = dict.fromkeys(name for path in args.names for name in read_names(path))
    for name in names:
        found = kb.match(EntryKind.PYPI_PACKAGE, name)
        release = releases.get(name)
        if found is not None and found.exact:
            addition = licence_addition(found.entry, release)
            if addition is not None:
                licences[found.entry.id] = addition
            else:
                gaps.append((name, "has an entry already"))
            continue
        if release is None:
            gaps.append((name, "no wheel of it here"))
            continue
        # A family entry (nvidia-*) is a name match only: the release's metadata may say more.
        entry, reason = propose(release, kb, args.as_of)
        if entry is None:
            gaps.append((name, reason))
        else:
            entries.append(entry)
    args.out.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100))
    args.licences.write_text(yaml.safe_dump(licences, sort_keys=True, allow_unicode=True))
    with args.gaps.open("w") as out:
        out.writelines(f"{name}\t{reason}\n" for name, reason in gaps)
    print(
        f"{len(entries)} entries proposed, {len(licences)} licences for existing entries, "
        f"{len(gaps)} names left out (see {args.gaps})"
    )
    return 0


def read_names(path: Path) -> list[str]:
    """Package names, normalised, in file order, each once."""
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    if "\t" in first and "name" in first.split("\t"):
        rows = csv.DictReader(text.splitlines(), delimiter="\t")
        names = [row["name"] for row in rows]
    elif path.suffix in {".lock", ".toml"} or path.name.startswith("requirements"):
        from scanner.formats.python.dependency_files import DEPENDENCY_FILES

        row = next(
            r
            for r in DEPENDENCY_FILES
            if any(fnmatch.fnmatch(path.name.lower(), pattern) for pattern in r.patterns)
        )
        names = [p.name for p in row.read(path, path.parent).packages]
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    return list(dict.fromkeys(normalise(name) for name in names))


def latest_releases(paths: list[Path]) -> dict[str, Release]:
    """The highest version of each distribution among the wheels in ``paths``."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import Version

    found: dict[str, tuple[Version, Path]] = {}
    wheels = [w for p in paths for w in (sorted(p.glob("*.whl")) if p.is_dir() else [p])]
    for wheel in wheels:
        try:
            name, version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        key = normalise(name)
        if key not in found or version > found[key][0]:
            found[key] = (version, wheel)
    return {key: read_release(key, str(version), wheel) for key, (version, wheel) in found.items()}


def read_release(name: str, version: str, wheel: Path) -> Release:
    """The release's core metadata and its licence (METADATA and licence files, read as text)."""
    with zipfile.ZipFile(wheel) as archive:
        # The wheel's own ``NAME-VERSION.dist-info`` at the top, not a vendored package's.
        member = next(
            n
            for n in archive.namelist()
            if n.count("/") == 1
            and n.endswith(".dist-info/METADATA")
            and normalise(n.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0]) == name
        )
        with archive.open(member) as stream:
            raw = stream.read(MAX_METADATA_BYTES)
        headers = BytesHeaderParser().parsebytes(raw)
        info = member.rsplit("/", 1)[0]
        names = set(archive.namelist())
        declared = [str(f) for f in headers.get_all("License-File") or []]
        if not declared:  # older wheels: the licence files sit in the dist-info folder
            declared = [
                n.rsplit("/", 1)[1]
                for n in sorted(names)
                if n.startswith(f"{info}/")
                and n.count("/") == 1
                and n.rsplit("/", 1)[1].upper().startswith(("LICEN", "COPYING"))
            ]
        texts: dict[str, str] = {}
        for file in declared[:MAX_LICENCE_FILES]:
            for candidate in (f"{info}/licenses/{file}", f"{info}/{file}"):
                if candidate in names:
                    with archive.open(candidate) as stream:
                        data = stream.read(MAX_LICENCE_BYTES)
                    texts[file] = data.decode("utf-8", "replace")
                    break

    def one(key: str) -> str | None:
        value = headers.get(key)
        return str(value).strip() if value else None

    urls = []
    for value in headers.get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        urls.append((label.strip(), url.strip()))
    metadata = PackageMetadata(
        summary=one("Summary"),
        author=one("Author"),
        author_email=one("Author-email"),
        maintainer=one("Maintainer"),
        maintainer_email=one("Maintainer-email"),
        home_page=one("Home-page"),
        project_urls=tuple(urls),
        license=one("License"),
        license_expression=one("License-Expression"),
        classifiers=tuple(str(c) for c in headers.get_all("Classifier") or []),
        source=f"{wheel.name}/METADATA",
    )
    licence = licence_of_release(
        metadata.license_expression, metadata.license, metadata.classifiers, texts
    )
    return Release(name=name, version=version, metadata=metadata, licence=licence)


def licence_addition(entry: OriginEntry, release: Release | None) -> dict[str, str] | None:
    """The licence (with its source) for an entry that names none or cites none for it."""
    if release is None or release.licence is None:
        return None
    cited = entry.license is not None and (
        "licen" in (entry.source or "").lower()
        or str(entry.license_release) in (entry.source or "")
    )
    if cited or (entry.license is not None and entry.license != release.licence.expression):
        return None
    return {
        "license": release.licence.expression,
        "license_release": release.version,
        "source": release_page(release, release.licence.said),
    }


def release_page(release: Release, said: str) -> str:
    """The release's PyPI page, followed by what its metadata says."""
    return f"https://pypi.org/project/{release.name}/{release.version}/ ({said[:200]})"


def propose(release: Release, kb: KnowledgeBase, as_of: str) -> tuple[dict[str, Any] | None, str]:
    """The entry for ``release``, or None and why it is left out."""
    metadata = release.metadata
    evidence = tuple(metadata_evidence(metadata, "installed-metadata"))
    component = Component(
        ref=f"pkg:pypi/{release.name}@{release.version}",
        kind=ComponentKind.LIBRARY,
        name=release.name,
        version=release.version,
        evidence=evidence,
    )
    origin, _ = library_origin_from_metadata(component, kb)
    if (
        origin is not None
        and origin.basis is OriginBasis.EMAIL_DOMAIN
        and origin.steward is StewardKind.COMMUNITY
    ):
        # A list host such as python.org also gives personal addresses: not a steward. The
        # project's own URLs (github.com/ORG) may still name one.
        urls = tuple(e for e in evidence if e.field.startswith(f"{URL_FIELD_PREFIX}:"))
        origin, _ = library_origin_from_metadata(replace(component, evidence=urls), kb)
        if origin is None or origin.steward is StewardKind.UNKNOWN:
            return None, "only a community mail domain names it (research the project itself)"
    if origin is None or origin.steward is StewardKind.UNKNOWN:
        return None, "its metadata points at no organisation the knowledge base knows"
    seen = next(e for e in origin.evidence if e.location == metadata.source)
    matched = next(e.field for e in origin.evidence if e.location != metadata.source)
    said = f"{seen.field}: {seen.value}"
    source = release_page(release, said)
    if release.licence is not None and release.licence.said not in said:
        source = f"{source} ; {release_page(release, release.licence.said)}"
    entry: dict[str, Any] = {
        "id": release.name,
        "kind": "pypi-package",
        "organisation": origin.organization,
        "country": origin.country,
    }
    if origin.steward is StewardKind.COMMUNITY:
        entry["community"] = True
    if origin.steward is StewardKind.INDIVIDUAL:
        entry["individual"] = True
    entry.update(
        {
            "note": f"the release's {seen.field} points at the {matched} entry",
            "source": source,
            "confidence": "medium",
            "verified": "checked",
            "as_of": as_of,
        }
    )
    if release.licence is not None:  # else the steward alone: a licence it cannot name is left out
        entry.update({"license": release.licence.expression, "license_release": release.version})
    return entry, ""


if __name__ == "__main__":
    sys.exit(main())
