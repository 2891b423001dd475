"""Run by the scanned interpreter (``PYTHON -I -S -B env_probe.py SUFFIXES``): its distributions.

Standard library only, and Python 3.8 syntax (the interpreter may be any 3.8 to 3.14), so no
``X | Y`` types, no ``match``, no f-string ``=``. ``-S`` keeps ``site.py`` and the
environment's ``.pth`` files (which may execute code) from running, so this script finds the
site directories itself: the venv's, from ``pyvenv.cfg`` next to the executable (under ``-S``
``sys.prefix`` is the base installation's from 3.8 to 3.13; 3.14 sets it in getpath), the base
installation's when there is no venv or the venv includes system site packages, and the
directories that ``.pth`` files name on their plain path lines (never their ``import`` lines).
Distributions are enumerated with ``importlib.metadata`` in that path order; no package is
imported and no metadata file is read past its cap.

Output: one JSON object (ASCII) on stdout; read by ``scanner.sources.python.environment``.
"""

# ruff: noqa: UP045
# (``Optional``: this file must not use ``X | Y``, not even in postponed annotations.)
from __future__ import annotations

import sys

# On 3.8 to 3.10 ``-I`` still puts the script's folder first on sys.path: drop it before any
# other import, so no module that lies beside this file can shadow the standard library.
if sys.path and sys.argv and sys.argv[0] and not getattr(sys.flags, "safe_path", False):
    del sys.path[0]

import csv
import email.parser
import io
import json
import os
import platform
import re
import sysconfig
from pathlib import Path
from typing import Any, Optional

#: Tells the reader which output layout this is.
PROBE_FORMAT = "sovscan-env-probe/1"
#: Most distributions reported.
MAX_DISTRIBUTIONS = 50000
#: Bytes of METADATA read to find the header block (the long description after it is skipped).
METADATA_HEADER_MAX_BYTES = 256 * 1024
#: Bytes of RECORD read (torch's RECORD is about 3 MB).
RECORD_MAX_BYTES = 64 * 1024 * 1024
#: Most RECORD rows reported per distribution, for each of vendored libraries and weights.
MAX_RECORD_ROWS = 10000
#: Bytes read of direct_url.json and of INSTALLER.
DIRECT_URL_MAX_BYTES = 64 * 1024
INSTALLER_MAX_BYTES = 1024
#: Limits on the .pth files read for path lines.
MAX_PTH_FILES = 1000
PTH_MAX_BYTES = 64 * 1024
MAX_SITE_DIRS = 1000

#: Suffixes of files that hold model weights: the first argument, comma-separated (the caller
#: passes its format table's; this script cannot import it).
WEIGHT_SUFFIXES = tuple(suffix for suffix in (sys.argv[1:] or [""])[0].split(",") if suffix)
_SHARED_LIBRARY = re.compile(r"\.(?:so(?:\.[0-9A-Za-z_]+)*|dll|dylib|pyd)$", re.IGNORECASE)


def main() -> int:
    """Print the probe's JSON object; return 3 when the interpreter cannot be probed."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        version = platform.python_version()
        _emit({"probe": PROBE_FORMAT, "error": f"Python {version} has no importlib.metadata"})
        return 3
    site_dirs = find_site_dirs()
    distributions: list[dict[str, Any]] = []
    truncated = False
    for dist in metadata.distributions(path=list(site_dirs)):
        if len(distributions) >= MAX_DISTRIBUTIONS:
            truncated = True
            break
        distributions.append(describe(dist))
    _emit(
        {
            "probe": PROBE_FORMAT,
            "sys_version": sys.version,
            "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix),
            "executable": sys.executable,
            "site_dirs": site_dirs,
            "marker_environment": marker_environment(),
            "distributions": distributions,
            "truncated": truncated,
        }
    )
    return 0


def _emit(document: dict[str, Any]) -> None:
    data = json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def find_site_dirs() -> list[str]:
    """The site directories ``site.py`` would put on sys.path, in its order, existing only."""
    venv_prefix, include_system = _venv()
    candidates: list[str] = []
    if venv_prefix is not None:
        candidates.extend(_venv_site_packages(venv_prefix))
    if venv_prefix is None or include_system:
        candidates.extend(_base_site_packages())
    site_dirs: list[str] = []
    _add_dirs(site_dirs, candidates)
    found: list[str] = []
    for site_dir in site_dirs:
        # site.addsitedir appends a site dir, then the path lines of its .pth files.
        _add_dirs(found, [site_dir, *_pth_paths(Path(site_dir))])
    return found


def _add_dirs(found: list[str], candidates: list[str]) -> None:
    for candidate in candidates:
        if len(found) >= MAX_SITE_DIRS:
            return
        # Made absolute and normalised as site.makepath does, symlinks left as they are.
        path = os.path.normpath(Path(candidate).absolute())
        if path not in found and Path(path).exists():
            found.append(path)


def _venv() -> tuple[Optional[str], bool]:
    """(venv prefix, include-system-site-packages) as site.venv() finds them, or (None, True)."""
    exe_dir = Path(os.path.normpath(Path(sys.executable or "").absolute())).parent
    for config in (exe_dir / "pyvenv.cfg", exe_dir.parent / "pyvenv.cfg"):
        if config.is_file():
            return str(exe_dir.parent), _include_system_site_packages(config)
    return None, True


def _include_system_site_packages(config: Path) -> bool:
    include = False
    text = _read_text(config, PTH_MAX_BYTES) or ""
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "include-system-site-packages":
            include = value.strip().lower() == "true"
    return include


def _venv_site_packages(prefix: str) -> list[str]:
    if "venv" in sysconfig.get_scheme_names():
        # 3.11+: the scheme venvs use, even where a distribution patches the default one.
        scheme = "venv"
    else:
        scheme = "nt" if os.name == "nt" else "posix_prefix"
    paths = sysconfig.get_paths(scheme, vars={"base": prefix, "platbase": prefix})
    return [paths["purelib"], paths["platlib"]]


def _base_site_packages() -> list[str]:
    # The base prefixes, not sys.prefix: from 3.14 on, the interpreter itself (no longer
    # site.py) points sys.prefix at the venv, -S or not.
    base = getattr(sys, "base_prefix", sys.prefix)
    platbase = getattr(sys, "base_exec_prefix", sys.exec_prefix)
    # Under -S, importing site does not run site.main(). Debian's site names dist-packages
    # directories that no sysconfig scheme names, so its list comes first.
    import site

    prefixes = [base] if platbase == base else [base, platbase]
    candidates = list(site.getsitepackages(prefixes)) if hasattr(site, "getsitepackages") else []
    paths = sysconfig.get_paths(vars={"base": base, "platbase": platbase})
    return [*candidates, paths["purelib"], paths["platlib"]]


def _pth_paths(site_dir: Path) -> list[str]:
    """The directories named by the path lines of ``site_dir``'s .pth files (never executed)."""
    try:
        names = sorted(child.name for child in site_dir.iterdir() if child.name.endswith(".pth"))
    except OSError:
        return []
    paths = []
    for name in names[:MAX_PTH_FILES]:
        if name.startswith("."):
            continue
        text = _read_text(site_dir / name, PTH_MAX_BYTES) or ""
        for line in text.splitlines():
            if not line.strip() or line.startswith(("#", "import ", "import\t")):
                continue
            paths.append(str(site_dir / line.rstrip()))
    return paths


def _read_bytes(path: Path, limit: int) -> Optional[bytes]:
    """At most ``limit`` + 1 bytes of a regular file, or None when it is absent or unreadable."""
    try:
        if not path.is_file():
            return None
        with path.open("rb") as stream:
            return stream.read(limit + 1)
    except OSError:
        return None


def _read_text(path: Path, limit: int) -> Optional[str]:
    data = _read_bytes(path, limit)
    return None if data is None else data[:limit].decode("utf-8", "replace")


def describe(dist: Any) -> dict[str, Any]:
    """One distribution's record: where it is, its header block and the few files we need."""
    location = getattr(dist, "_path", None)  # PathDistribution's folder (or egg-info file)
    problems: list[str] = []
    entry: dict[str, Any] = {"path": str(location), "problems": problems}
    if not isinstance(location, Path) or not location.exists():  # e.g. a zipfile.Path
        problems.append("its metadata is not in a folder or file that can be read")
        return entry
    is_dir = location.is_dir()
    if not is_dir:  # a single-file .egg-info
        metadata_path = location
    elif location.name.lower().endswith(".dist-info"):
        metadata_path = location / "METADATA"
    else:
        metadata_path = location / "PKG-INFO"
    entry["metadata_path"] = str(metadata_path)
    header = _metadata_header(metadata_path, problems)
    entry["metadata_header"] = header
    if header is not None:
        parsed = email.parser.HeaderParser().parsestr(header)
        entry["name"] = parsed.get("Name")
        entry["version"] = parsed.get("Version")
    if is_dir:
        entry["requested"] = (location / "REQUESTED").is_file()
        entry["installer"] = _read_text(location / "INSTALLER", INSTALLER_MAX_BYTES)
        direct_url = _read_bytes(location / "direct_url.json", DIRECT_URL_MAX_BYTES)
        if direct_url is not None and len(direct_url) > DIRECT_URL_MAX_BYTES:
            problems.append(f"direct_url.json exceeds {DIRECT_URL_MAX_BYTES} bytes")
        elif direct_url is not None:
            entry["direct_url"] = direct_url.decode("utf-8", "replace")
        _add_record_rows(location / "RECORD", entry, problems)
    return entry


def _metadata_header(metadata_path: Path, problems: list[str]) -> Optional[str]:
    data = _read_bytes(metadata_path, METADATA_HEADER_MAX_BYTES)
    if data is None:
        problems.append(f"{metadata_path.name} is missing or unreadable")
        return None
    blank_line = re.search(b"\r?\n\r?\n", data)
    if blank_line is not None:
        data = data[: blank_line.start()]
    elif len(data) > METADATA_HEADER_MAX_BYTES:
        problems.append(f"its metadata header exceeds {METADATA_HEADER_MAX_BYTES} bytes")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(f"its metadata is not UTF-8 (byte {error.start})")
        return data.decode("utf-8", "replace")


def _add_record_rows(record_path: Path, entry: dict[str, Any], problems: list[str]) -> None:
    """Add RECORD's rows (path, hash, size) of vendored shared libraries and of weight files."""
    data = _read_bytes(record_path, RECORD_MAX_BYTES)
    if data is None:
        return
    if len(data) > RECORD_MAX_BYTES:
        problems.append(f"RECORD exceeds {RECORD_MAX_BYTES} bytes; the rest was not read")
        data = data[:RECORD_MAX_BYTES]
    vendored: list[list[str]] = []
    weights: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline="")):
            if not row:
                continue
            if _is_vendored_library(row[0]):
                if len(vendored) < MAX_RECORD_ROWS:
                    vendored.append(row[:3])
            elif _is_weight_file(row[0]) and len(weights) < MAX_RECORD_ROWS:
                weights.append(row[:3])
    except csv.Error as error:
        problems.append(f"RECORD is not valid CSV: {error}")
    entry["vendored"] = vendored
    entry["weights"] = weights


def _is_vendored_library(file_path: str) -> bool:
    parts = file_path.replace("\\", "/").split("/")
    in_libs = any(part.endswith((".libs", ".dylibs")) for part in parts[:-1])
    return in_libs and _SHARED_LIBRARY.search(parts[-1]) is not None


def _is_weight_file(file_path: str) -> bool:
    # A .pth at the top of the site directory is a path configuration file, not torch weights.
    if file_path.lower().endswith(".pth") and "/" not in file_path.replace("\\", "/"):
        return False
    return file_path.lower().endswith(WEIGHT_SUFFIXES)


def _full_version(info: Any) -> str:
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def marker_environment() -> dict[str, str]:
    """What ``packaging.markers.default_environment()`` returns, computed with the stdlib."""
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


if __name__ == "__main__":
    sys.exit(main())
