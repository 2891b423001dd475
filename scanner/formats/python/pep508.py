"""Requirement-level parsing shared by the Python dependency readers.

PEP 508 requirements and markers, exact pins, extras, wheel and sdist file names, VCS URLs and
hash digests: each parsed with ``packaging`` within this module's caps, each failure a
``ValueError`` whose message says why (the readers turn it into a problem).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from scanner.core.model import Hash

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.specifiers import SpecifierSet

#: Longest requirement or marker text parsed; a long VCS URL is under 2 KB.
MAX_REQUIREMENT_CHARS = 16 * 1024
#: Deepest parenthesis nesting accepted in a requirement (markers); real ones nest 1 or 2 deep.
MAX_MARKER_NESTING = 32
#: Longest package, extra, group or file name kept; PyPI names stay well under 100 characters.
MAX_NAME_CHARS = 256

#: hashlib names (``sha3-256`` is read as ``sha3_256``) → (CycloneDX name, hex digits). pip
#: itself takes only the SHA-2 ones; MD5 and SHA-1 are read because real files carry them.
HASH_ALGORITHMS: Final[dict[str, tuple[str, int]]] = {
    "md5": ("MD5", 32),
    "sha1": ("SHA-1", 40),
    "sha256": ("SHA-256", 64),
    "sha384": ("SHA-384", 96),
    "sha512": ("SHA-512", 128),
    "sha3_256": ("SHA3-256", 64),
    "sha3_384": ("SHA3-384", 96),
    "sha3_512": ("SHA3-512", 128),
    "blake2b": ("BLAKE2b-512", 128),
}
#: The scheme of a pip VCS URL (``git+https``, ``hg+ssh`` …).
VCS_SCHEME = re.compile(r"(?:git|hg|svn|bzr)\+[a-z][a-z0-9.+-]*")
#: File name endings pip reads as a wheel or an sdist archive.
ARCHIVE_SUFFIXES = (
    ".whl",
    ".tar.gz",
    ".zip",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)

_HEX = re.compile(r"[0-9a-f]+")


class UnsupportedHashAlgorithm(ValueError):
    """A hash names an algorithm that is not in ``HASH_ALGORITHMS``."""


def parse_pep508(text: str) -> Requirement:
    """Parse one PEP 508 requirement with ``packaging``, within this module's size caps.

    Raises:
        ValueError: the text is too long, nested too deep or not a valid requirement; the
            message is one line saying why.
    """
    check_requirement_size(text)
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        raise ValueError(_first_line(error)) from None


def parse_marker(text: str) -> Marker:
    """Parse one PEP 508 environment marker, within this module's size caps.

    Raises:
        ValueError: the text is too long, nested too deep or not a valid marker.
    """
    check_requirement_size(text)
    try:
        return Marker(text)
    except InvalidMarker as error:
        raise ValueError(_first_line(error)) from None


def check_requirement_size(text: str) -> None:
    """Refuse a requirement or marker longer or more deeply nested than the caps.

    Raises:
        ValueError: longer than ``MAX_REQUIREMENT_CHARS`` or nested deeper than
            ``MAX_MARKER_NESTING`` parentheses.
    """
    if len(text) > MAX_REQUIREMENT_CHARS:
        raise ValueError(f"longer than {MAX_REQUIREMENT_CHARS} characters")
    depth = deepest = 0
    for character in text:
        if character == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif character == ")":
            depth -= 1
    if deepest > MAX_MARKER_NESTING:
        raise ValueError(f"parentheses nested deeper than {MAX_MARKER_NESTING} levels")


def pinned_version(specifier: SpecifierSet) -> str | None:
    """The exact version a specifier pins (``==X`` but not ``==X.*``, or ``===X``), else None."""
    pins = [
        spec
        for spec in specifier
        if spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))
    ]
    if len(pins) != 1:
        return None
    pin = pins[0]
    if pin.operator == "===":
        return pin.version
    try:
        return str(Version(pin.version))
    except ValueError:  # InvalidVersion, or a number past Python's int digit limit
        return pin.version


def normalized_extras(extras: Iterable[str]) -> tuple[str, ...]:
    """Extras as PEP 685 compares them: normalised, sorted, without duplicates."""
    return tuple(sorted({canonicalize_name(extra) for extra in extras}))


def archive_filename(url: str) -> str | None:
    """The file name a URL or path ends with when it is an archive (wheel, sdist), else None."""
    filename = unquote(url.partition("#")[0].partition("?")[0].replace("\\", "/").rsplit("/")[-1])
    return filename if filename.lower().endswith(ARCHIVE_SUFFIXES) else None


def archive_release(url: str) -> tuple[str, str] | None:
    """(project name as written, version) from a wheel or sdist URL or path, else None."""
    filename = archive_filename(url)
    if filename is None:
        return None
    try:
        if filename.endswith(".whl"):
            _, version, _, _ = parse_wheel_filename(filename)
        elif filename.endswith((".tar.gz", ".zip")):
            _, version = parse_sdist_filename(filename)
        else:
            return None
    except ValueError:  # InvalidWheelFilename, InvalidSdistFilename, InvalidVersion
        return None
    if filename.endswith(".whl"):
        display_name = filename.split("-", 1)[0]
    else:  # an sdist's name may hold dashes itself: it is everything before the version
        display_name = filename.removesuffix(".tar.gz").removesuffix(".zip").rpartition("-")[0]
    return display_name, str(version)


def archive_version(url: str, name: str) -> str | None:
    """The version a wheel or sdist URL or path gives, when its file is of package ``name``
    (canonical); else None."""
    archive = archive_release(url)
    if archive is None or canonicalize_name(archive[0]) != name:
        return None
    return archive[1]


def artifact_filename(location: str) -> str | None:
    """The file name at the end of a URL or a path (``…/numpy-2.0.whl#sha256=…`` → the wheel)."""
    try:
        path = urlsplit(location).path if "://" in location else location
    except ValueError:  # a malformed URL (unbalanced IPv6 brackets)
        path = location
    name = unquote(path.replace("\\", "/").rstrip("/").rpartition("/")[2])
    return name[:MAX_NAME_CHARS] or None


def vcs_url(kind: str, url: str, revision: str | None, subdirectory: str | None) -> str:
    """A pip-style VCS requirement URL: ``git+https://host/repo@rev#subdirectory=sub``."""
    prefix = f"{kind.lower()}+"
    base = url if url.lower().startswith(prefix) else prefix + url
    base, hash_mark, fragment = base.partition("#")
    if revision:
        base = f"{base}@{revision}"
    fragments = [fragment] if hash_mark and fragment else []
    if subdirectory:
        fragments.append(f"subdirectory={subdirectory}")
    return f"{base}#{'&'.join(fragments)}" if fragments else base


def parse_hash(algorithm: str, value: str) -> Hash:
    """The digest ``value`` (hex, either case) of the hashlib ``algorithm`` (either case).

    Raises:
        UnsupportedHashAlgorithm: ``algorithm`` is not in ``HASH_ALGORITHMS``.
        ValueError: ``value`` is not the algorithm's number of hex digits; the message is
            ``is not 64 hex digits`` (or the algorithm's count).
    """
    known = HASH_ALGORITHMS.get(algorithm.lower().replace("-", "_"))
    if known is None:
        raise UnsupportedHashAlgorithm(algorithm)
    name, digits = known
    hex_value = value.lower()
    if len(hex_value) != digits or _HEX.fullmatch(hex_value) is None:
        raise ValueError(f"is not {digits} hex digits")
    return Hash(alg=name, value=hex_value)


def _first_line(error: Exception) -> str:
    """packaging's messages draw a caret under the text on later lines; keep the sentence."""
    return str(error).split("\n", 1)[0].strip() or type(error).__name__
