"""Plain file components written without the library: the same bytes as the library's."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from scanner.core.model import (
    Component,
    ComponentKind,
    Confidence,
    Distribution,
    Evidence,
    Hash,
    Layer,
    Origin,
    OriginBasis,
    Relation,
    RelationKind,
    ScanResult,
    StewardKind,
)
from scanner.core.properties import PropertyName
from scanner.sbom.cyclonedx import SPEC_VERSIONS, BomOptions, render_cyclonedx
from tests.unit.sbom.test_cyclonedx import FIXED, REPO, SUBJECT, scan_result

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA1 = "c" * 40


def file(ref: str, path: str, **extra: object) -> Component:
    fields: dict[str, object] = {
        "ref": ref,
        "kind": ComponentKind.FILE,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "size": 10,
        "hashes": (Hash(alg="SHA-256", value=SHA_A),),
        "layer": Layer.FILES,
    }
    fields.update(extra)
    return Component(**fields)  # type: ignore[arg-type]


def with_files(result: ScanResult) -> ScanResult:
    """``result`` plus every shape of file a scan makes, plain and not."""
    files = (
        file("file:a/config.json", "a/config.json"),
        file("file:b/config.json", "b/config.json"),  # same name: ordered by bom-ref
        file(
            "file:zz",
            "zz",
            hashes=(Hash(alg="SHA-256", value=SHA_B), Hash(alg="SHA-1", value=SHA1)),
        ),
        file("file:nul", "odd\x00name\x1b.bin", properties=((PropertyName.FILE_FORMAT, "x\x07"),)),
        file("file:none", "none.bin", hashes=(), size=None, layer=None),
        file("file:0first", "0first"),
        file("file:quote", "a\"b<c>&d'e\\f\tg\nh]]>i</name><x>"),
        file("file:unicode", "модель/веса.bin", properties=((PropertyName.FILE_FORMAT, "中文 ✓"),)),
        file("file:spaces", "  leading and trailing  "),
        file("file:lookalike", "\\u0000sovscan-bulk\\u0000", properties=(("p", "sovscan-bulk"),)),
        file("file:long", "x" * 5000),
        file("file:empty-value", "empty-value", properties=(("p", ""), ("q", "\t"))),
        file("file:~last", "~last"),
        file(
            "file:supplied",
            "supplied.bin",
            origin=Origin(
                organization="ACME AO",
                steward=StewardKind.ORGANIZATION,
                country="RU",
                basis=OriginBasis.CURATED,
                confidence=Confidence.HIGH,
            ),
        ),
        file(
            "file:evidenced",
            "evidenced.bin",
            evidence=(Evidence(location="x", field="f", value="v", method="m"),),
        ),
        file("file:versioned", "versioned.bin", version="1.0"),
        Component(ref="code:on-load:zz", kind=ComponentKind.LIBRARY, name="zz on load"),
    )
    relations = (
        *(Relation(src=SUBJECT, dst=f.ref, kind=RelationKind.CONTAINS) for f in files[:-1]),
        Relation(src="file:zz", dst="code:on-load:zz", kind=RelationKind.DEPENDS_ON),
        Relation(src="code:on-load:zz", dst="file:a/config.json", kind=RelationKind.DEPENDS_ON),
        Relation(src="file:a/config.json", dst="file:b/config.json", kind=RelationKind.CONTAINS),
    )
    return replace(
        result,
        components=(*result.components, *files),
        relations=(*result.relations, *relations),
    )


def only_files() -> ScanResult:
    """A subject whose every other component is a plain file (no library components at all)."""
    subject = Component(ref="model:x", kind=ComponentKind.MODEL, name="x")
    files = tuple(file(f"file:{index}", f"f{index}") for index in range(5))
    return ScanResult(
        subjects=(subject.ref,),
        components=(subject, *files),
        relations=tuple(
            Relation(src=subject.ref, dst=f.ref, kind=RelationKind.CONTAINS) for f in files
        ),
    )


def several_subjects() -> ScanResult:
    one, two = only_files(), replace(only_files(), subjects=("model:y",))
    two = replace(
        two,
        components=tuple(
            replace(c, ref=c.ref.replace("x", "y").replace("file:", "file:y"), name="y")
            if c.kind is ComponentKind.MODEL or c.kind is ComponentKind.FILE
            else c
            for c in two.components
        ),
        relations=tuple(
            replace(r, src="model:y", dst=r.dst.replace("file:", "file:y")) for r in two.relations
        ),
    )
    return ScanResult(
        subjects=("model:x", "model:y"),
        components=(*one.components, *two.components),
        relations=(*one.relations, *two.relations),
    )


RESULTS = {
    "rich": lambda: with_files(scan_result()),
    "only-files": only_files,
    "several-subjects": several_subjects,
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("spec_version", SPEC_VERSIONS)
@pytest.mark.parametrize("name", RESULTS)
def test_same_bytes_as_the_library(name: str, spec_version: str, fmt: str) -> None:
    result = RESULTS[name]()
    options = replace(FIXED, spec_version=spec_version)
    fast = render_cyclonedx(result, fmt, options)  # type: ignore[arg-type]
    library = render_cyclonedx(result, fmt, replace(options, bulk_files=False))  # type: ignore[arg-type]
    assert fast == library


def test_json_and_xml_of_one_result_share_one_build(monkeypatch) -> None:
    """A scan written as JSON and XML builds the library's part once; the bytes are those of
    separate renders, and another result or other options build again."""
    import scanner.sbom.cyclonedx as cyclonedx

    builds: list[int] = []
    build = cyclonedx._BomBuilder.build

    def counted(self: cyclonedx._BomBuilder):
        builds.append(1)
        return build(self)

    monkeypatch.setattr(cyclonedx._BomBuilder, "build", counted)
    result = with_files(scan_result())
    written = [render_cyclonedx(result, fmt, FIXED) for fmt in ("json", "xml", "json")]
    assert len(builds) == 1
    alone = [render_cyclonedx(replace(result), fmt, FIXED) for fmt in ("json", "xml")]
    assert len(builds) == 3
    assert written == [alone[0], alone[1], alone[0]]
    other = replace(FIXED, spec_version="1.5")
    assert render_cyclonedx(result, "json", other) != written[0]
    assert len(builds) == 4
    changed = replace(result, issues=result.issues[1:])
    assert render_cyclonedx(changed, "json", FIXED) != written[0]


def test_the_plain_files_are_the_ones_written_here() -> None:
    doc = json.loads(render_cyclonedx(with_files(scan_result()), "json", BomOptions()))
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    assert set(by_ref["file:supplied"]) >= {"supplier"}
    assert "evidence" in by_ref["file:evidenced"]
    assert by_ref["file:versioned"]["version"] == "1.0"
    assert by_ref["file:zz"]["hashes"] == [
        {"alg": "SHA-1", "content": SHA1},
        {"alg": "SHA-256", "content": SHA_B},
    ]
    needs = {e["ref"]: e.get("dependsOn", []) for e in doc["dependencies"]}
    assert needs["file:zz"] == ["code:on-load:zz"]
    assert needs["code:on-load:zz"] == ["file:a/config.json"]
    assert "file:a/config.json" in needs[SUBJECT]
    names = [c["name"] for c in doc["components"] if c["type"] == "file"]
    assert names == sorted(names)


@pytest.mark.parametrize("example", ["ru-chat-lora", "ru-legal-8b", "ru-legal-8b-gguf"])
def test_same_bytes_as_the_library_on_real_scans(example: str, tmp_path) -> None:
    from scanner.core.config import ScanConfig
    from scanner.pipeline import run
    from scanner.sources.targets import parse_target

    folder = REPO / "examples" / example
    config = ScanConfig(cache_dir=tmp_path, jobs=2, progress=False, offline=True)
    result = run(config, [parse_target(str(folder))])
    assert any(c.kind is ComponentKind.FILE for c in result.components)
    for fmt in ("json", "xml"):
        fast = render_cyclonedx(result, fmt, FIXED)
        library = render_cyclonedx(result, fmt, replace(FIXED, bulk_files=False))
        assert fast == library


def test_the_serial_number_follows_every_value_but_not_the_roots() -> None:
    """The serial is a digest of the result streamed field by field (never one big text)."""
    from functools import partial

    from scanner.sbom.cdx_serial import serial_number as serial

    result = with_files(scan_result())
    serial_number = partial(serial, tool_version="1", timestamp=None)
    first = serial_number(result, spec_version="1.6")
    assert serial_number(replace(result), spec_version="1.6") == first  # same data
    assert serial_number(replace(result, roots=(("x", "y"),)), spec_version="1.6") == first
    changed = tuple(
        replace(c, hashes=(Hash(alg="SHA-256", value=SHA_B),)) if c.ref == "file:0first" else c
        for c in result.components
    )
    assert serial_number(replace(result, components=changed), spec_version="1.6") != first
    moved = replace(result, issues=result.issues[1:])
    assert serial_number(moved, spec_version="1.6") != first
    assert serial_number(result, spec_version="1.7") != first


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_value_in_a_plain_file_is_still_refused(fmt: str) -> None:
    from scanner.core.errors import InvalidOutputError

    result = only_files()
    broken = tuple(
        replace(c, hashes=(Hash(alg="SHA-256", value="not hex"),)) if c.ref == "file:3" else c
        for c in result.components
    )
    with pytest.raises(InvalidOutputError, match="file:3"):
        render_cyclonedx(replace(result, components=broken), fmt, FIXED)  # type: ignore[arg-type]


def test_the_schema_sees_one_file_of_each_shape() -> None:
    from scanner.sbom.cdx_bulk import BulkPart
    from scanner.sbom.cdx_bulk_text import BulkComponent

    part = BulkPart(
        components=(
            BulkComponent(ref="a", name="a", hashes=(("SHA-256", SHA_A),)),
            BulkComponent(ref="b", name="b", hashes=(("SHA-256", SHA_B),)),
            BulkComponent(ref="c", name="c", properties=(("p", "v"),)),
            BulkComponent(ref="d", name="d", hashes=(("SHA-256", SHA_A),)),
        ),
        depends_on={"d": ["a"]},
    )
    assert part.representatives() == {"a", "c", "d"}


def test_bulk_problems_are_what_the_integrity_checks_would_find() -> None:
    from scanner.sbom.cdx_bulk import BulkPart, bulk_problems, splice_json
    from scanner.sbom.cdx_bulk_text import BulkComponent
    from scanner.sbom.integrity import check_integrity

    doc = {
        "metadata": {"component": {"bom-ref": "model:x", "type": "application", "name": "x"}},
        "components": [{"bom-ref": "lib", "type": "library", "name": "lib"}],
        "dependencies": [{"ref": "lib"}, {"ref": "model:x"}],
    }
    part = BulkPart(
        components=(
            BulkComponent(ref="lib", name="clash"),
            BulkComponent(ref="f", name="f", hashes=(("SHA-256", "ABC"),)),
        ),
        depends_on={"f": ["nowhere"], "model:x": ["f"]},
    )
    ours = bulk_problems(doc, part)
    assert "bom-ref 'lib' is used more than once" in ours
    assert "'f' depends on 'nowhere', which is no top-level component" in ours
    assert any(p.startswith("SHA-256 of 'f' is not 64 lowercase hex digits") for p in ours)
    whole = check_integrity(splice_json(doc, part))
    assert any("'lib'" in p for p in whole)
    assert any("nowhere" in p for p in whole)
    assert any("'f'" in p and "hex" in p for p in whole)


def test_a_value_that_spells_the_placeholder_takes_the_slow_road() -> None:
    import io

    from scanner.sbom.cdx_bulk import _PLACEHOLDER, BulkPart, splice_json, write_json
    from scanner.sbom.cdx_bulk_text import BulkComponent

    doc = {
        "metadata": {"properties": [{"name": "x", "value": _PLACEHOLDER}]},
        "components": [],
        "dependencies": [],
    }
    part = BulkPart(components=(BulkComponent(ref="f", name="f"),))
    out = io.StringIO()
    write_json(doc, part, out)
    assert out.getvalue() == json.dumps(splice_json(doc, part), indent=2) + "\n"


# --- components beyond files: packages, remote code, applications ---------------------------

META_ORIGIN = Origin(
    organization="Meta Platforms, Inc.",
    steward=StewardKind.ORGANIZATION,
    country="US",
    basis=OriginBasis.CURATED,
    confidence=Confidence.HIGH,
    evidence=(Evidence(location="uv.lock\r\nline 2", field="package", value="x", method="lock"),),
)


def library(ref: str, name: str, **extra: object) -> Component:
    fields: dict[str, object] = {"ref": ref, "kind": ComponentKind.LIBRARY, "name": name}
    fields.update(extra)
    return Component(**fields)  # type: ignore[arg-type]


def wheel(url: str, *digests: str, comment: str | None = "from uv.lock") -> Distribution:
    return Distribution(
        url=url, hashes=tuple(Hash(alg="SHA-256", value=d) for d in digests), comment=comment
    )


#: Every shape a package, remote code or application component takes, plain and hostile: the
#: ref says what each one tries.
LIBRARIES = (
    library(
        "pkg:pypi/torch@2.1.0",
        "torch",
        version="2.1.0",
        group="grp",
        description="Tensors\tand <things>\r\nover lines & more",
        purl="pkg:pypi/torch@2.1.0",
        licenses=("BSD-3-Clause", "Custom thing", "bsd-3-clause", "  "),
        hashes=(Hash(alg="SHA-256", value=SHA_A), Hash(alg="SHA-1", value=SHA1)),
        external_urls=(
            ("website", "https://pytorch.org/"),
            ("vcs", "https://github.com/pytorch/pytorch"),
            ("website", "https://pytorch.org/"),
            ("website", "not a uri"),
            ("documentation", 'https://ex.org/доки path/"q"<a>'),
        ),
        distributions=(
            wheel("https://files/x y.whl", SHA_B),
            wheel("https://files/a.whl", comment=None),
            wheel("https://files/a.whl", SHA_A, comment="\tfrom\rlock "),
            wheel("https://files/b.whl", SHA_A, SHA_B),
        ),
        origin=META_ORIGIN,
        evidence=(
            Evidence(location="pkg:pypi/torch", field="name", value="torch", method="name"),
            Evidence(location="", field="dropped", value="no location", method="m"),
        ),
        properties=(("sovscan:x", "y\tz\nw"), ("sovscan:x", "a")),
    ),
    library("pkg:pypi/mit@1", "mit", version="1", licenses=("mit",), purl="pkg:pypi/mit@1"),
    library("pkg:pypi/expr@1", "expr", licenses=("MIT OR Apache-2.0",)),
    library("pkg:pypi/expr-two@1", "expr-two", licenses=("MIT OR Apache-2.0", "GPL-2.0-only")),
    library("pkg:pypi/names@1", "names", licenses=("Zeta licence", "Alpha licence", "Apache-2.0")),
    library("pkg:pypi/same@1", "same", version="1"),  # same name and version, other refs
    library("pkg:pypi/same@1?x", "same", version="1"),
    library("pkg:pypi/noversion", "same"),
    library("pkg:pypi/empty-version", "empty", version=""),  # the library's
    library("pkg:pypi/bad-purl", "bad", purl="pkg:pypi/Bad_Purl@1 "),  # the library reports
    library("pkg:pypi/odd-ref-type", "odd", external_urls=(("chat", "https://chat.example/"),)),
    library("pkg:pypi/no-uri-wheel", "nouri", distributions=(wheel("::not a uri::"),)),
    library(
        "pkg:pypi/twin-wheels",
        "twins",
        distributions=(wheel("https://f/a.whl", SHA_A), wheel("https://f/a.whl", SHA_B)),
    ),
    library(
        "pkg:pypi/country-only",
        "country-only",
        origin=replace(META_ORIGIN, organization=None, country="RU", evidence=()),
    ),
    library(
        "pkg:pypi/org-only",
        "org-only",
        origin=replace(META_ORIGIN, country=None, organization="Яндекс & <Co>"),
    ),
    library("pkg:pypi/ctl", "ctl\x01\x00 name", description="\x0b", properties=(("p", ""),)),
    library("pkg:pypi/md5", "md5", hashes=(Hash(alg="MD5", value="d" * 32),)),
    library("pkg:pypi/blake", "blake", hashes=(Hash(alg="BLAKE2b-256", value="e" * 64),)),
    Component(ref="code:remote:modeling.py", kind=ComponentKind.CODE, name="modeling.py"),
    Component(ref="app:tool", kind=ComponentKind.APPLICATION, name="tool", version="3"),
)


#: Packages whose BOM the library refuses (the scan reports an internal error), and why.
REFUSED = {
    "pkg:pypi/bad-purl": "Bad_Purl",
    "pkg:pypi/no-uri-wheel": "not a URI",
    "pkg:pypi/blake": "BLAKE2b-256",
}


def with_libraries(result: ScanResult, refused: frozenset[str] = frozenset()) -> ScanResult:
    """``result`` plus ``LIBRARIES``: of those the library refuses, only ``refused``."""
    chosen = [c for c in LIBRARIES if c.ref not in REFUSED or c.ref in refused]
    relations = tuple(
        Relation(src=SUBJECT, dst=c.ref, kind=RelationKind.DEPENDS_ON) for c in chosen
    )
    return replace(
        result,
        components=(*result.components, *chosen),
        relations=(
            *result.relations,
            *relations,
            Relation(src="pkg:pypi/mit@1", dst="pkg:pypi/expr@1", kind=RelationKind.DEPENDS_ON),
        ),
    )


def written_by_the_library(result: ScanResult, spec_version: str) -> set[str]:
    from scanner.sbom.cyclonedx import _BomBuilder

    builder = _BomBuilder(result, replace(FIXED, spec_version=spec_version))
    builder.build()
    bulk = {c.ref for c in builder.bulk.components}
    return {c.ref for c in builder.result.components} - bulk


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("spec_version", SPEC_VERSIONS)
def test_packages_code_and_applications_are_the_librarys_bytes(spec_version: str, fmt: str) -> None:
    clean = with_libraries(with_files(scan_result()))
    options = replace(FIXED, spec_version=spec_version)
    fast = render_cyclonedx(clean, fmt, options)  # type: ignore[arg-type]
    library_text = render_cyclonedx(clean, fmt, replace(options, bulk_files=False))  # type: ignore[arg-type]
    assert fast == library_text
    # What went where: the rich package is written here, the odd ones by the library.
    by_library = written_by_the_library(clean, spec_version)
    assert "pkg:pypi/torch@2.1.0" not in by_library
    assert {"pkg:pypi/mit@1", "pkg:pypi/names@1", "code:remote:modeling.py", "app:tool"}.isdisjoint(
        by_library
    )
    assert {
        "pkg:pypi/empty-version",
        "pkg:pypi/odd-ref-type",
        "pkg:pypi/twin-wheels",
        "pkg:pypi/country-only",
        SUBJECT,
    } <= by_library


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("ref", sorted(REFUSED))
def test_a_package_the_library_refuses_is_still_refused(ref: str, fmt: str) -> None:
    from scanner.core.errors import InvalidOutputError

    result = with_libraries(scan_result(), refused=frozenset({ref}))
    assert ref in written_by_the_library(result, "1.6")
    with pytest.raises(InvalidOutputError, match=REFUSED[ref]):
        render_cyclonedx(result, fmt, FIXED)  # type: ignore[arg-type]


def test_a_bad_hash_in_a_package_reference_is_refused() -> None:
    from scanner.core.errors import InvalidOutputError

    broken = library("pkg:pypi/broken@1", "broken", distributions=(wheel("https://f/x", "XYZ"),))
    result = scan_result()
    result = replace(
        result,
        components=(*result.components, broken),
        relations=(
            *result.relations,
            Relation(src=SUBJECT, dst=broken.ref, kind=RelationKind.DEPENDS_ON),
        ),
    )
    assert "pkg:pypi/broken@1" not in written_by_the_library(result, "1.6")
    for fmt in ("json", "xml"):
        with pytest.raises(InvalidOutputError, match=r"broken@1 https://f/x.*lowercase hex"):
            render_cyclonedx(result, fmt, FIXED)


@pytest.mark.parametrize(
    "project", ["fickling", "modelscan", "rupersonaagent-0.2.0", "DMalakhov1-PROJECT_LORA"]
)
def test_same_bytes_as_the_library_on_real_locks(project: str, corpus, tmp_path) -> None:
    from scanner.core.config import ScanConfig
    from scanner.pipeline import run
    from scanner.sources.targets import parse_target

    folder = corpus / "python" / project
    config = ScanConfig(cache_dir=tmp_path, jobs=2, progress=False, offline=True)
    result = run(config, [parse_target(str(folder))])
    packages = [c for c in result.components if c.kind is ComponentKind.LIBRARY]
    assert len(packages) >= 5
    assert len(written_by_the_library(result, "1.6") & {c.ref for c in packages}) == 0
    for fmt in ("json", "xml"):
        fast = render_cyclonedx(result, fmt, FIXED)
        library_text = render_cyclonedx(result, fmt, replace(FIXED, bulk_files=False))
        assert fast == library_text
