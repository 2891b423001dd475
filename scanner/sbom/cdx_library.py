"""cyclonedx-python-lib's serialisation, with its one quadratic step made linear.

``Bom.validate()``, which every outputter runs first, calls ``Bom.register_dependency`` for each
component, and that method finds the component's entry by scanning every entry
(``next(filter(lambda d: d.ref == target.bom_ref, self.dependencies))``): O(n) per call, O(n²)
per document. A 20,000-file folder made 12.5 million ``BomRef.__eq__`` calls and took about three
minutes. ``output`` gives the Bom an instance-level ``register_dependency`` that finds the entry
in a dict and otherwise defers to the library's own method, so the document is the same.
Reported upstream with a reproduction (see CHANGELOG.md, 0.1 performance notes).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from scanner.core.errors import InvalidOutputError

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.schema import SchemaVersion

#: The library warns when metadata.component depends on nothing; a fine-tune without files
#: legitimately does (its base is pedigree, not a dependency).
_ROOT_WITHOUT_DEPENDENCIES = "The Component this BOM is describing"


def schema_version(spec_version: str) -> SchemaVersion:
    """The library's ``SchemaVersion`` for "1.5", "1.6" or "1.7"."""
    from cyclonedx.schema import SchemaVersion

    return SchemaVersion.from_version(spec_version)


def output(bom: Bom, fmt: Literal["json", "xml"], version: SchemaVersion, label: str) -> str:
    """The library's serialisation of ``bom`` (XML unindented: the model card indents after
    injecting); ``InvalidOutputError`` when the library refuses the Bom."""
    from cyclonedx.exception import CycloneDxException
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat

    output_format = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    index_dependencies(bom)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_ROOT_WITHOUT_DEPENDENCIES, category=UserWarning
            )
            return make_outputter(bom, output_format, version).output_as_string()
    except CycloneDxException as error:
        raise InvalidOutputError(label, [f"{type(error).__name__}: {error}"]) from error


def index_dependencies(bom: Bom) -> None:
    """Make ``bom.register_dependency`` find an existing entry in O(1) (see the module doc)."""
    from cyclonedx.model.dependency import Dependency

    entries = {entry.ref.value: entry for entry in bom.dependencies}
    library_register = type(bom).register_dependency

    def register_dependency(target: Any, depends_on: Iterable[Any] | None = None) -> None:
        entry = entries.get(target.bom_ref.value)
        if entry is None:
            library_register(bom, target, depends_on)
            entries.update((found.ref.value, found) for found in bom.dependencies)
        elif depends_on:
            entry.dependencies.update(Dependency(ref=needed.bom_ref) for needed in depends_on)

    bom.register_dependency = register_dependency  # type: ignore[method-assign]
