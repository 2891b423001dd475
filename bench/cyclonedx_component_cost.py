"""Reproduction for cyclonedx-python-lib: what one package component costs in time and memory.

Usage: python bench/cyclonedx_component_cost.py [--sizes 1000,5000]

What: every ``Component`` keeps its hashes, licences, external references, properties and more
in ``SortedSet``s (17 per component, each holding bound methods of its own), and sorting them
compares tuples built on every comparison (``__comparable_tuple``). A lockfile's package with a
purl, a licence, a wheel reference with its hash and a few properties costs milliseconds and
tens of kilobytes per document (cyclonedx-python-lib 11.x, ``cyclonedx/model/component.py``).

For n such packages, in a fresh process each: the library's objects are built, the Bom is
written as JSON and as XML (``make_outputter(...).output_as_string()``, with sovscan's index
for the quadratic ``register_dependency``, ``scanner/sbom/cdx_library.py``); the time comes
from one process, the peak of Python's allocations from another that traces them (tracing
slows the library several times over). The second row writes the same components as text the way
``scanner/sbom/cdx_bulk_text.py`` does (without the library's objects), for scale.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time, tracemalloc, uuid
from datetime import UTC, datetime
count, mode, traced = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "traced"
sha = "ab" * 32
def rows():
    for index in range(count):
        name = f"package-{index:05d}"
        yield name, f"pkg:pypi/{name}@1.0.0", f"https://files.example/{name}-1.0.0-py3-none-any.whl"
if mode == "library":
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm
    from cyclonedx.model import HashType, Property, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from packageurl import PackageURL
    from scanner.sbom.cdx_library import index_dependencies
    factory = LicenseFactory()
else:
    from scanner.sbom.cdx_bulk_text import BulkComponent, component_json_text, component_xml_text
if traced:
    tracemalloc.start()
start = time.perf_counter()
if mode == "library":
    root = Component(type=ComponentType.APPLICATION, name="root", bom_ref="root")
    packages = [
        Component(
            type=ComponentType.LIBRARY, name=name, version="1.0.0", bom_ref=purl,
            purl=PackageURL.from_string(purl), licenses=[factory.make_from_string("MIT")],
            external_references=[ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url), comment="from uv.lock",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha)])],
            properties=[Property(name="x:kind", value="library"),
                        Property(name="x:scope", value="required")],
        )
        for name, purl, url in rows()
    ]
    bom = Bom(components=packages, serial_number=uuid.UUID(int=count))
    bom.metadata.component = root
    bom.metadata.timestamp = datetime(2026, 1, 1, tzinfo=UTC)
    bom.dependencies = [
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=p.bom_ref) for p in packages]),
        *(Dependency(ref=p.bom_ref) for p in packages),
    ]
    index_dependencies(bom)
    size = 0
    for fmt in (OutputFormat.JSON, OutputFormat.XML):
        size += len(make_outputter(bom, fmt, SchemaVersion.V1_6).output_as_string())
else:
    size = 0
    for name, purl, url in rows():
        package = BulkComponent(
            ref=purl, name=name, type="library", version="1.0.0", purl=purl,
            licenses=(("id", "MIT"),),
            references=(("distribution", url, "from uv.lock", (("SHA-256", sha),)),),
            properties=(("x:kind", "library"), ("x:scope", "required")),
        )
        size += len(component_json_text(package)) + len(component_xml_text(package, "    "))
wall = time.perf_counter() - start
print(f"{wall:.3f} {tracemalloc.get_traced_memory()[1] / 2**20:.1f} {size}")
"""


def _child(count: int, mode: str, how: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(count), mode, how],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    args = parser.parse_args()
    print(f"{'packages':>8}  {'writer':<28}{'s':>8}{'ms each':>9}{'peak MB':>9}{'KB each':>9}")
    for count in (int(size) for size in args.sizes.split(",")):
        for mode, label in (("library", "cyclonedx-python-lib"), ("text", "text (cdx_bulk_text)")):
            wall, _, _ = _child(count, mode, "timed")
            _, peak, _ = _child(count, mode, "traced")
            print(
                f"{count:>8}  {label:<28}{float(wall):>8.2f}{float(wall) * 1000 / count:>9.2f}"
                f"{float(peak):>9.1f}{float(peak) * 1024 / count:>9.1f}"
            )


if __name__ == "__main__":
    main()
