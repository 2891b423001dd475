"""Schema validation of CycloneDX documents: a compiled validator cached on disk, and the
library's (jsonschema / lxml) as the reference.

Loading cyclonedx-python-lib's JSON validator costs ~0.2 s per process (jsonschema and its format
checkers, the schema and its registry) before it checks anything, and jsonschema checks
``uniqueItems`` pairwise. ``fastjsonschema`` compiles the same schema files into Python; the
compiled code is kept, marshalled, in ``schema_cache`` (one file per schema version, Python and
fastjsonschema version), so later runs load it in a few milliseconds.

A document the compiled validator accepts is valid. One it rejects, or any document when no
compiled validator is at hand, is checked by the library's validator, whose verdict and
messages are the ones reported: the compiled validator can only make a valid document faster,
never an invalid one pass on its own (tests/unit/sbom/test_cdx_validation.py checks that it
rejects what the library rejects).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from scanner.core.private_cache import read_private, write_private
from scanner.sbom.integrity import is_absolute_uri

if TYPE_CHECKING:
    from cyclonedx.validation import SchemabasedValidator

#: Long top-level arrays are checked by the library in slices of this size (see
#: ``_library_problems``).
_VALIDATION_SLICE: Final = 64
#: What a URL is replaced by while the shape around it is schema-checked by the library.
_STAND_IN_URL: Final = "https://stand-in.invalid/"
#: Compiling costs ~1.3 s, once per schema version and machine; the library's validator checks
#: a small BOM in ~0.2 s. So a small BOM compiles only on the second miss in a cache folder (a
#: one-off run in a fresh container never pays), a BOM of this many components at once (the
#: library would take longer than compiling: ~2 s per 1,000 components).
COMPILE_AT_ONCE_COMPONENTS: Final = 500
#: Bump when the compiled code or its surroundings change meaning.
_COMPILED_FORMAT: Final = "1"
#: Where the schema files cross-reference each other.
_SCHEMA_PREFIX: Final = "http://cyclonedx.org/schema/"

_Check = Callable[[Any], Any]


def json_schema_problems(
    doc: Mapping[str, Any], spec_version: str, schema_cache: Path | None
) -> list[str]:
    """Schema problems of a CycloneDX JSON ``doc``; [] if it is valid.

    Every URL must also be an absolute RFC 3986 URI (stricter than the schema's
    ``iri-reference``). ``schema_cache`` holds compiled validators; None uses the library's only.
    """
    eager = len(doc.get("components", ())) >= COMPILE_AT_ONCE_COMPONENTS
    compiled = (
        _compiled_validator(spec_version, schema_cache, eager=eager) if schema_cache else None
    )
    if compiled is not None and _passes(compiled, doc):
        return _url_check(doc)
    # The library's road: a copy without URLs (see _library_problems).
    stripped = json.loads(json.dumps(doc))
    problems, shapes = _take_urls(stripped)
    return problems + _library_problems(stripped, shapes, spec_version)


def xml_schema_problems(text: str, spec_version: str) -> list[str]:
    """Schema problems of a CycloneDX XML document (the library's XSD validator, lxml)."""
    errors = _library_validator("xml", spec_version).validate_str(text, all_errors=True)
    return [f"schema: {error}" for error in errors or ()]


def _passes(check: _Check, doc: Mapping[str, Any]) -> bool:
    from fastjsonschema import JsonSchemaException

    try:
        check(doc)
    except JsonSchemaException:
        return False
    except RecursionError:  # absurdly deep input: let the reference decide
        return False
    return True


# --- the compiled validator ---------------------------------------------------------------


def _compiled_validator(
    spec_version: str, schema_cache: Path, *, eager: bool = True
) -> _Check | None:
    """The compiled check for ``spec_version``: from memory, the disk cache, or compiled now
    (and stored); None when fastjsonschema cannot compile the schema, or when it is not worth
    compiling yet (not ``eager`` and the first miss in this cache folder: see
    ``COMPILE_AT_ONCE_COMPONENTS``)."""
    key = _cache_key(spec_version)
    loaded = _LOADED.get(key)
    if loaded is not None:
        return loaded
    path = schema_cache / f"cyclonedx-{spec_version}-{key}.marshal"
    code = read_private(path)
    if code is None:
        wanted = path.with_suffix(".wanted")
        if not eager and read_private(wanted) is None:
            write_private(wanted, b"")
            return None
        code = _compile(spec_version)
        if code is None:
            return None
        write_private(path, code)
    namespace = _load(code)
    if namespace is None:  # a damaged cache file: compile again and replace it
        code = _compile(spec_version)
        if code is None:
            return None
        write_private(path, code)
        namespace = _load(code)
    if namespace is None:
        return None
    entry = namespace[namespace["_ENTRY"]]

    def check(doc: Any) -> Any:
        return entry(doc, custom_formats=_FORMATS)

    _LOADED[key] = check
    return check


_LOADED: dict[str, _Check] = {}


def _load(code: bytes) -> dict[str, Any] | None:
    """The namespace of the marshalled validator ``code``; None if it does not load."""
    namespace: dict[str, Any] = {}
    try:
        # Code compiled here from the library's schema files, read back only from a private
        # file of this user's (scanner.core.private_cache); never anything that was scanned.
        exec(marshal.loads(code), namespace)  # noqa: S102, S302
    except (ValueError, EOFError, TypeError, SyntaxError):
        return None
    return namespace if isinstance(namespace.get("_ENTRY"), str) else None


@cache
def _cache_key(spec_version: str) -> str:
    """What the compiled code depends on: the schema files (path, size and modification time:
    reading ~0.5 MB of schemas on every run cost more than loading the compiled code),
    fastjsonschema, Python, this module."""
    import fastjsonschema

    digest = hashlib.sha256()
    for part in (_COMPILED_FORMAT, fastjsonschema.VERSION, sys.version, spec_version):
        digest.update(part.encode() + b"\0")
    for file in _schema_files(spec_version):
        st = Path(file).stat()
        digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:24]


def _schema_files(spec_version: str) -> list[str]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

    main = BOM_JSON_STRICT[SchemaVersion.from_version(spec_version)]
    if main is None:
        raise ValueError(f"no CycloneDX {spec_version} JSON schema in cyclonedx-python-lib")
    return [main, SPDX_JSON, JSF, CRYPTOGRAPHY_DEFS]


def _compile(spec_version: str) -> bytes | None:
    """The marshalled code of a fastjsonschema validator for the library's strict schema."""
    import fastjsonschema

    main, *referenced = _schema_files(spec_version)
    store = {
        _SCHEMA_PREFIX + Path(file).name: json.loads(Path(file).read_text(encoding="utf-8"))
        for file in referenced
    }
    schema = json.loads(Path(main).read_text(encoding="utf-8"))
    try:
        source = fastjsonschema.compile_to_code(
            schema, handlers={"http": store.__getitem__}, formats=_FORMATS, use_default=False
        )
    except (fastjsonschema.JsonSchemaDefinitionException, KeyError):
        return None
    # The entry point is the first function; compile_to_code names it after the schema's $id.
    entry = next(
        line[4:].split("(", 1)[0] for line in source.splitlines() if line.startswith("def ")
    )
    module = source + f"\n_ENTRY = {entry!r}\n"
    return marshal.dumps(compile(module, f"<cyclonedx {spec_version} schema>", "exec"))


#: Formats checked as jsonschema checks them when its optional checkers are absent: URLs are
#: taken out and checked by ``is_absolute_uri`` instead (see the module doc).
_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "iri-reference": lambda value: True,
    "idn-email": lambda value: "@" in value,
    "email": lambda value: "@" in value,
}


# --- the library's validator: the reference -------------------------------------------------


@cache
def _library_validator(fmt: Literal["json", "xml"], spec_version: str) -> SchemabasedValidator:
    """One validator per format and version: loading a schema is the slow part."""
    _skip_iri_grammar()
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation import make_schemabased_validator

    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    return make_schemabased_validator(output_format, SchemaVersion.from_version(spec_version))


def _skip_iri_grammar() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax``, whose import compiles a grammar (~2 s):
    jsonschema uses it only for the ``iri-reference`` format, and URLs never reach the schema
    validator: ``_take_urls`` removes them and ``is_absolute_uri`` checks them. A ``None`` entry
    in ``sys.modules`` makes the optional import fail, so jsonschema skips that checker.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _library_problems(stripped: dict[str, Any], shapes: set[str], spec_version: str) -> list[str]:
    """The library's schema errors of a document whose URLs were taken out, checked in parts
    that add up to the same verdict, but fast.

    The library's validator (jsonschema) has two costs that grow badly with a BOM's size:
    - ``uniqueItems`` on arrays of objects is checked pairwise (O(n²): ~10 s for 2,000
      components), so the long top-level arrays are validated in slices; uniqueness across
      slices is what check_integrity proves (unique bom-refs, one dependencies entry per ref).
    - ``iri-reference`` is checked by an Earley parser (4-80 ms per URL, jsonschema#1392), so
      URLs are taken out and checked by ``is_absolute_uri`` (stricter: every RFC 3986 URI is an
      RFC 3987 IRI reference); each distinct external reference shape is validated once, with a
      stand-in URL.
    """
    validator = _library_validator("json", spec_version)
    problems: list[str] = []
    head = {"bomFormat": stripped.get("bomFormat"), "specVersion": stripped.get("specVersion")}
    if shapes:
        holder = {
            "type": "library",
            "name": "external reference shapes",
            "externalReferences": [json.loads(shape) for shape in sorted(shapes)],
        }
        problems.extend(_json_errors(validator, head | {"components": [holder]}, None, 0))
    sliced = ("components", "dependencies")
    skeleton = {key: value for key, value in stripped.items() if key not in sliced}
    problems.extend(_json_errors(validator, skeleton, None, 0))
    for key in sliced:
        items = stripped.get(key, [])
        for start in range(0, len(items), _VALIDATION_SLICE):
            part = head | {key: items[start : start + _VALIDATION_SLICE]}
            problems.extend(_json_errors(validator, part, key, start))
    return problems


def _take_urls(doc: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Remove every URL from ``doc`` (in place) after checking it; return the problems and the
    distinct external reference shapes (with a stand-in URL, as sorted JSON)."""
    problems: list[str] = []
    shapes: set[str] = set()
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for reference in node.pop("externalReferences", []):
            problems.extend(_url_problems(reference.get("url")))
            shapes.add(json.dumps(reference | {"url": _STAND_IN_URL}, sort_keys=True))
        if "url" in node:
            problems.extend(_url_problems(node.pop("url")))
        stack.extend(node.values())
    return problems, shapes


def _url_check(doc: Mapping[str, Any]) -> list[str]:
    """The URL problems ``_take_urls`` reports, without copying or changing ``doc``."""
    problems: list[str] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "url" in node:
                problems.extend(_url_problems(node["url"]))
            stack.extend(value for key, value in node.items() if key != "url")
    return problems


def _url_problems(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [f"url {url!r} is not a valid absolute URI" for url in values if not _is_url(url)]


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and is_absolute_uri(value)


def _json_errors(
    validator: SchemabasedValidator, doc: Mapping[str, Any], key: str | None, offset: int
) -> list[str]:
    """The validator's errors for ``doc``; paths inside a slice are given as in the whole."""
    errors = validator.validate_str(json.dumps(doc), all_errors=True)
    problems = []
    for error in errors or ():
        path = list(error.data.absolute_path)
        if key is not None and len(path) > 1 and path[0] == key:
            path[1] += offset
        where = "/".join(str(step) for step in path) or "(document)"
        problems.append(f"schema: {where}: {error.data.message}")
    return problems
