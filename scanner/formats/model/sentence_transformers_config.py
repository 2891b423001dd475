"""Read a sentence-transformers model's ``modules.json`` (its modules, and which are imported
from outside the library) and ``config_sentence_transformers.json`` (the versions it was saved
with)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.core.capped_io import read_json_capped
from scanner.core.errors import MalformedFileError
from scanner.formats.model.json_fields import (
    MAX_LIST_ITEMS,
    MAX_MAP_ENTRIES,
    Fields,
    Problems,
    a_kind,
    is_relative_path,
    kind_of,
    read_object,
)

if TYPE_CHECKING:
    from pathlib import Path

_SENTENCE_TRANSFORMERS_PREFIX = "sentence_transformers."


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersModule:
    """One entry of a sentence-transformers ``modules.json``."""

    idx: int | None = None
    name: str | None = None
    path: str | None = None
    """Subfolder of the module ("" for the root); None when absent or unsafe."""
    type: str | None = None
    is_custom_code: bool = False
    """``type`` is not a ``sentence_transformers.`` class: it is imported from elsewhere."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersModules:
    """Sentence-transformers ``modules.json``."""

    modules: tuple[SentenceTransformersModule, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_custom_code(self) -> bool:
        """Whether any module is loaded from outside sentence-transformers."""
        return any(module.is_custom_code for module in self.modules)


@dataclass(frozen=True, slots=True, kw_only=True)
class SentenceTransformersConfig:
    """``config_sentence_transformers.json``: the library versions it was saved with."""

    versions: tuple[tuple[str, str], ...] = ()
    """``__version__``: (library, version) pairs in file order."""
    problems: tuple[str, ...] = ()


def read_sentence_transformers_modules(path: Path) -> SentenceTransformersModules:
    """Read a sentence-transformers ``modules.json`` (a JSON array of module entries).

    Raises:
        MalformedFileError: not a capped, strict JSON array.
        OSError: the file cannot be opened or read.
    """
    document = read_json_capped(path)
    if not isinstance(document, list):
        raise MalformedFileError(f"modules.json is a JSON {kind_of(document)}, not an array")
    problems = Problems()
    if len(document) > MAX_LIST_ITEMS:
        problems.add(f"{len(document)} modules; only the first {MAX_LIST_ITEMS} are kept")
    modules: list[SentenceTransformersModule] = []
    for position, entry in enumerate(document[:MAX_LIST_ITEMS]):
        if not isinstance(entry, dict):
            problems.add(f"[{position}]: {a_kind(entry)} where an object was expected")
            continue
        modules.append(_sentence_transformers_module(Fields(entry, problems, f"[{position}].")))
    return SentenceTransformersModules(modules=tuple(modules), problems=problems.freeze())


def _sentence_transformers_module(fields: Fields) -> SentenceTransformersModule:
    module_type = fields.text("type")
    if module_type is None:
        fields.note("type", "missing")
    return SentenceTransformersModule(
        idx=fields.integer("idx"),
        name=fields.text("name"),
        path=_module_path(fields),
        type=module_type,
        is_custom_code=module_type is not None
        and not module_type.startswith(_SENTENCE_TRANSFORMERS_PREFIX),
    )


def _module_path(fields: Fields) -> str | None:
    value = fields.document.get("path")
    if value == "":
        return ""  # the root module
    path = fields.as_text("path", value)
    if path is None:
        return None
    if not is_relative_path(path):
        fields.note("path", f"{path[:60]!r} is not a relative path inside the model; ignored")
        return None
    return path


def read_sentence_transformers_config(path: Path) -> SentenceTransformersConfig:
    """Read ``config_sentence_transformers.json``: the ``__version__`` map only.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "config_sentence_transformers.json")
    section = fields.mapping("__version__") or {}
    sub = fields.sub("__version__", section)
    versions = (
        (library, sub.as_text(library, value))
        for library, value in list(section.items())[:MAX_MAP_ENTRIES]
    )
    return SentenceTransformersConfig(
        versions=tuple((library, version) for library, version in versions if version),
        problems=fields.problems.freeze(),
    )
