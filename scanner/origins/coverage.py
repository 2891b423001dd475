"""What the knowledge base covers: ``sovscan origins stats`` and ``sovscan origins check FILE``."""

from __future__ import annotations

import datetime
import fnmatch
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.core.errors import UsageError
from scanner.origins.knowledge import EntryKind, KnowledgeBase, OriginEntry
from scanner.origins.known_licenses import known_license

if TYPE_CHECKING:
    from scanner.formats.python.records import PythonPackage

#: An entry whose ``as_of`` is older than this many months is flagged as stale.
STALE_MONTHS = 12


def months_old(as_of: str | None, today: datetime.date) -> int | None:
    """Whole months from ``as_of`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``) to ``today``;
    None when it is no such date. A bare year counts from its January."""
    if not as_of:
        return None
    parts = as_of.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
    except ValueError:
        return None
    if not 1 <= month <= 12:
        return None
    return (today.year - year) * 12 + (today.month - month)


def is_stale(entry: OriginEntry, today: datetime.date) -> bool:
    """Whether the entry's fact was last believed current more than ``STALE_MONTHS`` ago."""
    age = months_old(entry.as_of, today)
    return age is not None and age > STALE_MONTHS


def steward_kind(entry: OriginEntry) -> str:
    """organisation, community, individual, or what a non-steward entry is."""
    if entry.consumer_mail:
        return "consumer mail"
    if entry.url_domain:
        return "hosting domain"
    if entry.reuploader:
        return "re-uploader"
    if entry.community:
        return "community"
    if entry.individual:
        return "individual"
    return "organisation"


def stats(kb: KnowledgeBase, today: datetime.date, top: int = 10) -> str:
    """Entries by kind, steward kind, country (the ``top`` most frequent) and source age;
    for PyPI packages, how many carry a licence and how many are families."""
    entries = list(kb)
    lines = [f"{len(entries)} entries"]
    lines += _counted("by kind", Counter(e.kind.value for e in entries))
    lines += _counted("by steward", Counter(steward_kind(e) for e in entries))
    countries = Counter(e.country or "none" for e in entries)
    shown = dict(countries.most_common(top))
    rest = sum(countries.values()) - sum(shown.values())
    lines += _counted(f"by country (top {top})", Counter(shown), rest=rest)
    lines += _counted("by source age", Counter(_age_bucket(e, today) for e in entries))
    packages = [e for e in entries if e.kind is EntryKind.PYPI_PACKAGE]
    lines.append("pypi-package entries")
    lines.append(f"  {'families (NAME-*)':<28}{sum(1 for e in packages if e.id.endswith('*'))}")
    lines.append(f"  {'with a licence':<28}{sum(1 for e in packages if e.license)}")
    lines.append(f"  {'with licence changes':<28}{sum(1 for e in packages if e.license_changes)}")
    return "\n".join(lines) + "\n"


def check(kb: KnowledgeBase, path: Path, today: datetime.date) -> str:
    """Which packages of a requirements or lock file have an entry, only a family, or none,
    and whether a licence is known offline for each."""
    names = [(p.name, p.version) for p in _packages(path)]
    rows: list[tuple[str, str, str, str]] = []
    missing: list[str] = []
    for name, version in dict.fromkeys(names):
        found = kb.match(EntryKind.PYPI_PACKAGE, name)
        if found is None:
            missing.append(name)
            rows.append((name, version or "-", "none", "-"))
            continue
        entry = found.entry
        what = "entry" if found.exact else f"family {entry.id}"
        if is_stale(entry, today):
            what += f" (stale: as of {entry.as_of})"
        license = known_license(entry, version) if found.exact else None
        rows.append((name, version or "-", what, license or "-"))
    exact = sum(1 for row in rows if row[2].startswith("entry"))
    family = sum(1 for row in rows if row[2].startswith("family"))
    licensed = sum(1 for row in rows if row[3] != "-")
    header = ("PACKAGE", "VERSION", "KNOWLEDGE", "LICENCE OFFLINE")
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]])
        for row in table
    ]
    lines.append("")
    lines.append(
        f"{len(rows)} packages: {exact} with an entry, {family} only by family, "
        f"{len(missing)} with none; a licence known offline for {licensed}"
    )
    if missing:
        lines.append("no entry: " + ", ".join(missing))
    return "\n".join(lines) + "\n"


def _packages(path: Path) -> tuple[PythonPackage, ...]:
    from scanner.formats.python.dependency_files import DEPENDENCY_FILES

    name = path.name.lower()
    row = next(
        (r for r in DEPENDENCY_FILES if any(fnmatch.fnmatch(name, p) for p in r.patterns)), None
    )
    if row is None:
        kinds = ", ".join(p for r in DEPENDENCY_FILES for p in r.patterns)
        raise UsageError(f"{path}: not a requirements or lock file ({kinds})")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    document = row.read(path, path.parent)
    if document.problems and not document.packages:
        raise UsageError(f"{path}: {document.problems[0]}")
    return document.packages


def _age_bucket(entry: OriginEntry, today: datetime.date) -> str:
    age = months_old(entry.as_of, today)
    if age is None:
        return "undated"
    if age <= 6:
        return "6 months or less"
    if age <= STALE_MONTHS:
        return "7-12 months"
    return "older than 12 months (stale)"


def _counted(title: str, counts: Counter[str], *, rest: int = 0) -> list[str]:
    lines = [title]
    lines += [f"  {key:<28}{count}" for key, count in sorted(counts.items(), key=_by_count)]
    if rest:
        lines.append(f"  {'others':<28}{rest}")
    return lines


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])
