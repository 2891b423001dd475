"""Reproduction for cyclonedx-python-lib: `Bom.validate()` is quadratic in the components.

Usage: python bench/cyclonedx_register_dependency.py [--sizes 1000,2000,4000]

What: every outputter (``make_outputter(bom, ...).output_as_string()``) calls
``Bom.validate()``, which calls ``Bom.register_dependency(component)`` once per component, and
``register_dependency`` finds the component's entry with
``next(filter(lambda _d: _d.ref == target.bom_ref, self.dependencies), None)``: a scan of every
entry. A BOM of n components therefore makes n²/2 ``BomRef.__eq__`` calls before writing a
byte (cyclonedx-python-lib 11.x, ``cyclonedx/model/bom.py``).

This script builds BOMs of n ``file`` components, each with its own dependency entry (as any
tool that declares the graph does), and times ``output_as_string()`` as the library ships and
with ``register_dependency`` finding the entry in a dict (sovscan's workaround,
``scanner/sbom/cdx_library.py``); both documents must be identical. The ratio between sizes
shows the growth: about 4x per doubling as shipped, about 2x with the index.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(count: int):  # type: ignore[no-untyped-def]
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency

    root = Component(type=ComponentType.APPLICATION, name="root", bom_ref="root")
    files = [
        Component(type=ComponentType.FILE, name=f"f{index}", bom_ref=f"f{index}")
        for index in range(count)
    ]
    bom = Bom(components=files, serial_number=uuid.UUID(int=count))
    bom.metadata.component = root
    bom.metadata.timestamp = datetime(2026, 1, 1, tzinfo=UTC)
    bom.dependencies = [
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=f.bom_ref) for f in files]),
        *(Dependency(ref=f.bom_ref) for f in files),
    ]
    return bom


def timed_output(count: int, *, indexed: bool) -> tuple[float, str]:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    from scanner.sbom.cdx_library import index_dependencies

    bom = build(count)
    if indexed:
        index_dependencies(bom)
    start = time.perf_counter()
    text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string()
    return time.perf_counter() - start, text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000")
    args = parser.parse_args()
    import cyclonedx

    version = getattr(cyclonedx, "__version__", "?")
    print(f"cyclonedx-python-lib {version}")
    print(f"{'components':>10} {'as shipped s':>13} {'indexed s':>10}")
    for size in (int(part) for part in args.sizes.split(",")):
        shipped, text = timed_output(size, indexed=False)
        indexed, same = timed_output(size, indexed=True)
        if text != same:
            print("the documents differ")
            return 1
        print(f"{size:>10} {shipped:>13.2f} {indexed:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
