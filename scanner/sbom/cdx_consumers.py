"""The dependency graph in the form consumers read it: the root's entry first, every entry with
``dependsOn``.

The schema allows an entry without ``dependsOn`` and any order, but tools that walk the graph
from the root do not: cdxgen's ``cdx-validate`` rejects an entry without ``dependsOn``, and the
NTIA minimum-elements checker (through an SPDX conversion) starts from the first entry. A leaf
gets ``"dependsOn": []`` (JSON; XML has no empty form) and the root's entry comes first; the
others stay in the library's order (by ref).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def root_ref(doc: Mapping[str, Any]) -> str | None:
    """The bom-ref of ``metadata.component``, if any."""
    ref = doc.get("metadata", {}).get("component", {}).get("bom-ref")
    return ref if isinstance(ref, str) else None


def with_leaf_edges(doc: dict[str, Any]) -> None:
    """Give every dependency entry of ``doc`` a ``dependsOn`` (empty for a leaf), in place, in
    the library's key order (``dependsOn`` before ``ref``)."""
    entries = doc.get("dependencies")
    if not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and "dependsOn" not in entry:
            entries[index] = {"dependsOn": [], **entry}


def root_first(
    entries: Iterable[Any], root: str | None, ref_of: Callable[[Any], object]
) -> list[Any]:
    """``entries`` with the root's entry (``ref_of(entry) == root``) moved to the front."""
    ordered = list(entries)
    for index, entry in enumerate(ordered):
        if root is not None and ref_of(entry) == root:
            return [entry, *ordered[:index], *ordered[index + 1 :]]
    return ordered


def root_first_xml(bom: ET.Element) -> None:
    """Move the root's ``<dependency>`` to the front of ``<dependencies>`` (local names, in
    place)."""
    component = bom.find("metadata/component")
    dependencies = bom.find("dependencies")
    if component is None or dependencies is None:
        return
    dependencies[:] = root_first(
        list(dependencies), component.get("bom-ref"), lambda element: element.get("ref")
    )
