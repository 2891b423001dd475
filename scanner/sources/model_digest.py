"""A scanned model's digest: one SHA-256 over every file's path and SHA-256.

In the spirit of the OpenSSF model-signing manifest (a digest per file, then one over them
all), but over paths too, so that a renamed or moved file changes it. The manifest is the
``sha256sum`` listing of the model's files, sorted by path, and the digest is its SHA-256::

    <sha256 of the file>  <path relative to the model folder, POSIX>\\n   (one line per file)

so that, for a folder without backslashes or newlines in its file names, it can be checked with
standard tools::

    cd MODEL && find . \\( -name .git -o -name .hg -o -name .svn -o -name __pycache__ \\
        -o -path ./.cache/huggingface \\) -prune -o \\( -type f -o -type l \\) -printf '%P\\0' \\
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum

It is computed only when every file's SHA-256 was read from its bytes (or, for a Hub repo, is
the one the Hub lists): a folder of Git LFS pointers, a Hub repo's small files (the Hub lists only
their Git blob id) or an unread cache blob leave the model without a digest, and a registry pin
on it cannot be checked (TRU003), never passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace

from scanner.core.model import Component, ComponentKind, Hash, RelationKind, ScanResult
from scanner.core.properties import PropertyName

#: Name and version of the manifest scheme (a new scheme gets a new name).
MANIFEST_SCHEME = "sovscan-manifest-v1"
#: Where a file's SHA-256 comes from, when it may enter the manifest.
_READ_SOURCES = frozenset({"content", "hub"})
_BLOB_NAME = "hf-cache-blob-name"
#: Files named in the "why not" message.
_SHOWN = 3


def manifest_digest(files: Iterable[tuple[str, str]]) -> str:
    """The SHA-256 (hex) of the ``<sha256>  <path>`` lines of ``files``, sorted by path."""
    digest = hashlib.sha256()
    for path, sha256 in sorted(files, key=lambda item: _raw(item[0])):
        digest.update(f"{sha256.lower()}  {path}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def with_model_digests(result: ScanResult) -> ScanResult:
    """``result`` with each scanned model's manifest digest (as its SHA-256 hash), or a property
    saying why it has none."""
    by_ref = {component.ref: component for component in result.components}
    files: dict[str, list[Component]] = {ref: [] for ref in result.subjects}
    for relation in result.relations:
        target = by_ref.get(relation.dst)
        if (
            relation.kind is RelationKind.CONTAINS
            and relation.src in files
            and target is not None
            and target.kind is ComponentKind.FILE
        ):
            files[relation.src].append(target)
    changed = {
        ref: _with_digest(by_ref[ref], found) for ref, found in files.items() if ref in by_ref
    }
    return replace(result, components=tuple(changed.get(c.ref, c) for c in result.components))


def _with_digest(subject: Component, files: list[Component]) -> Component:
    unread = [file for file in files if content_sha256(file) is None]
    if not files or unread:
        shown = ", ".join(_why(file) for file in unread[:_SHOWN])
        more = f" and {len(unread) - _SHOWN} more" if len(unread) > _SHOWN else ""
        reason = (
            "no files"
            if not files
            else f"{len(unread)} of {len(files)} files have no SHA-256 read from their bytes "
            f"({shown}{more})"
        )
        return replace(
            subject,
            properties=(*subject.properties, (PropertyName.MODEL_DIGEST_UNAVAILABLE, reason)),
        )
    entries = [(file.path or file.name, content_sha256(file) or "") for file in files]
    digest = manifest_digest(entries)
    return replace(
        subject,
        hashes=(*subject.hashes, Hash(alg="SHA-256", value=digest)),
        properties=(
            *subject.properties,
            (PropertyName.MODEL_DIGEST, f"{MANIFEST_SCHEME} over {len(files)} files"),
        ),
    )


def content_sha256(file: Component) -> str | None:
    """The file's SHA-256 when it was read from its bytes (or listed by the Hub), else None."""
    digest = next((h.value for h in file.hashes if h.alg == "SHA-256"), None)
    properties = dict(file.properties)
    source = properties.get(PropertyName.FILE_HASH_SOURCE)
    if digest is None:
        return None
    if source in _READ_SOURCES:
        return digest
    if source == _BLOB_NAME and properties.get(PropertyName.FILE_VERIFIED) == "true":
        return digest
    return None


def _why(file: Component) -> str:
    properties = dict(file.properties)
    path = file.path or file.name
    if properties.get(PropertyName.FILE_LFS_POINTER) == "true":
        return f"{path}: a Git LFS pointer"
    if properties.get(PropertyName.FILE_HASH_SOURCE) == _BLOB_NAME:
        return f"{path}: a cache blob not rehashed (use --verify)"
    return f"{path}: not read"


def _raw(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")
