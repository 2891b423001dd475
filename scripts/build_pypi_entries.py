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
organisation only when the metadata points at an entry that already cites its source. The
licence is the release's SPDX expression: ``License-Expression``, else a ``License`` field that
is one, else a licence classifier that names one licence unambiguously (without one, the entry
has no licence). Each proposed entry cites the release's page and what its metadata says, and
names the entry it was matched to. ``--licences`` gets the licences of names that already have
an entry without one.

Names without a wheel, or whose metadata points at no known organisation, are written to
``--gaps`` with the reason: they are left out, never guessed.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import sys
import zipfile
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.core.model import Component, ComponentKind, OriginBasis, StewardKind
from scanner.formats.python.records import PackageMetadata
from scanner.origins.knowledge import EntryKind, KnowledgeBase, load_builtin, normalise_id
from scanner.origins.package_metadata import library_origin_from_metadata
from scanner.sources.python.components import metadata_evidence

#: Largest METADATA read from a wheel.
MAX_METADATA_BYTES = 1024 * 1024
#: Licence classifiers that name exactly one SPDX licence.
CLASSIFIER_SPDX = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: Zope Public License": "ZPL-2.1",
    "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)": (
        "LGPL-3.0-or-later"
    ),
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)": (
        "GPL-3.0-or-later"
    ),
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)": (
        "GPL-2.0-or-later"
    ),
    "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)": (
        "AGPL-3.0-or-later"
    ),
    "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}


@dataclass(frozen=True)
class Release:
    """One wheel's distribution: its normalised name, version and metadata."""

    name: str
    version: str
    metadata: PackageMetadata


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
            license = spdx_license(release.metadata) if release else None
            if found.entry.license is None and release is not None and license is not None:
                licences[found.entry.id] = {"license": license, "license_release": release.version}
            else:
                gaps.append((name, "has an entry already"))
            continue
        if found is not None:  # a family (nvidia-*) attributes it already, by its own source
            gaps.append((name, f"the family {found.entry.id} covers it"))
            continue
        if release is None:
            gaps.append((name, "no wheel of it here"))
            continue
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
    return {
        key: Release(name=key, version=str(version), metadata=read_metadata(wheel))
        for key, (version, wheel) in found.items()
    }


def read_metadata(wheel: Path) -> PackageMetadata:
    """The core metadata of ``wheel`` (its METADATA headers, read as text)."""
    from packaging.utils import parse_wheel_filename

    name, _, _, _ = parse_wheel_filename(wheel.name)
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

    def one(key: str) -> str | None:
        value = headers.get(key)
        return str(value).strip() if value else None

    urls = []
    for value in headers.get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        urls.append((label.strip(), url.strip()))
    return PackageMetadata(
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


def spdx_license(metadata: PackageMetadata) -> str | None:
    """The release's licence as an SPDX expression, or None when it names none for sure."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    for text in (metadata.license_expression, metadata.license):
        if text and "\n" not in text.strip() and len(text) < 200:
            try:
                return str(canonicalize_license_expression(text.strip()))
            except InvalidLicenseExpression:
                pass
    named = {CLASSIFIER_SPDX[c] for c in metadata.classifiers if c in CLASSIFIER_SPDX}
    others = [
        c for c in metadata.classifiers if c.startswith("License ::") and c not in CLASSIFIER_SPDX
    ]
    return named.pop() if len(named) == 1 and not others else None


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
    if origin is None or origin.steward is StewardKind.UNKNOWN:
        return None, "its metadata points at no organisation the knowledge base knows"
    if origin.basis is OriginBasis.EMAIL_DOMAIN and origin.steward is StewardKind.COMMUNITY:
        # A list host such as python.org also gives personal addresses: not a steward.
        return None, "only a community mail domain names it (research the project itself)"
    license = spdx_license(metadata)
    seen = next(e for e in origin.evidence if e.location == metadata.source)
    matched = next(e.field for e in origin.evidence if e.location != metadata.source)
    said = f"{seen.field}: {seen.value}"[:200]
    source = f"https://pypi.org/project/{release.name}/{release.version}/ ({said})"
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
    if license is not None:  # else the steward alone: a licence it cannot name is left out
        entry.update({"license": license, "license_release": release.version})
    return entry, ""


if __name__ == "__main__":
    sys.exit(main())
