"""Trusted registry: loading, parsed-purl matching, versions, refs and hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.errors import UsageError
from scanner.core.model import Component, ComponentKind, Hash
from scanner.policy import registry as registry_module
from scanner.policy.registry import (
    MatchStatus,
    PurlIdentity,
    TrustedRegistry,
    load_registry,
    parse_purl,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64

REGISTRY = f"""\
- purl: pkg:huggingface/meta-llama/Meta-Llama-3-8B@{COMMIT.upper()}
- purl: pkg:pypi/Zope_Interface@5.0
  sha256: {SHA_A.upper()}
  note: reviewed 2026-05
- purl: pkg:pypi/requests
- purl: pkg:huggingface/acme/mirror?repository_url=https://hub.example.org/
- ref: dataset:acme/corpus
- sha256: {SHA_C}
"""


@pytest.fixture
def registry(tmp_path: Path) -> TrustedRegistry:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return load_registry(path)


def component(
    ref: str,
    *,
    purl: str | None = None,
    kind: ComponentKind = ComponentKind.MODEL,
    version: str | None = None,
    sha256: str | None = None,
) -> Component:
    return Component(
        ref=ref,
        kind=kind,
        name=ref,
        purl=purl,
        version=version,
        hashes=(Hash(alg="SHA-256", value=sha256),) if sha256 else (),
    )


def test_loaded_entries(registry: TrustedRegistry) -> None:
    first, zope = registry.entries[:2]
    assert first.identity == PurlIdentity(
        type="huggingface", namespace="meta-llama", name="Meta-Llama-3-8B", repository_url=None
    )
    assert first.version == COMMIT
    assert (zope.identity.name if zope.identity else None, zope.version) == ("zope-interface", "5")
    assert zope.sha256 == SHA_A
    assert zope.note == "reviewed 2026-05"
    assert [e.position for e in registry.entries] == [1, 2, 3, 4, 5, 6]


def test_parse_purl() -> None:
    assert parse_purl("pkg:pypi/Foo.Bar_baz@1.0.0") == (
        PurlIdentity(type="pypi", namespace=None, name="foo-bar-baz", repository_url=None),
        "1",
    )
    assert parse_purl("not a purl") is None
    assert parse_purl("pkg:pypi/" + "x" * 3000) is None


@pytest.mark.parametrize(
    ("comp", "status"),
    [
        # pinned Hub entry: the same commit, in any case, matches
        (component("a", purl=f"pkg:huggingface/meta-llama/Meta-Llama-3-8B@{COMMIT}"), "registered"),
        (
            component("a", purl="pkg:huggingface/meta-llama/Meta-Llama-3-8B", version=COMMIT),
            "registered",
        ),
        (
            component("a", purl="pkg:huggingface/meta-llama/Meta-Llama-3-8B@" + "f" * 40),
            "not-registered",
        ),
        # its version unknown: it cannot be matched to a pinned entry
        (component("a", purl="pkg:huggingface/meta-llama/Meta-Llama-3-8B"), "unverifiable"),
        # Hub names are case-sensitive
        (
            component("a", purl=f"pkg:huggingface/meta-llama/meta-llama-3-8b@{COMMIT}"),
            "not-registered",
        ),
        # PyPI names and versions are normalised; the hash must match
        (
            component(
                "z", purl="pkg:pypi/zope.interface@5.0.0", kind=ComponentKind.LIBRARY, sha256=SHA_A
            ),
            "registered",
        ),
        (
            component(
                "z", purl="pkg:pypi/zope-interface@5.0", kind=ComponentKind.LIBRARY, sha256=SHA_B
            ),
            "hash-mismatch",
        ),
        # a pinned SHA-256 the scan has nothing to compare with is never approved
        (
            component("z", purl="pkg:pypi/zope-interface@5.0", kind=ComponentKind.LIBRARY),
            "unverifiable",
        ),
        # an unpinned entry approves every version, whatever the bytes
        (
            component(
                "r", purl="pkg:pypi/requests@2.32.3", kind=ComponentKind.LIBRARY, sha256=SHA_B
            ),
            "registered",
        ),
        (component("n", purl="pkg:pypi/numpy@2.1.0", kind=ComponentKind.LIBRARY), "not-registered"),
        # the repository_url qualifier is part of the identity
        (
            component(
                "m", purl="pkg:huggingface/acme/mirror?repository_url=https://hub.example.org"
            ),
            "registered",
        ),
        (component("m", purl="pkg:huggingface/acme/mirror"), "not-registered"),
        # no purl: by ref; then by hash alone
        (component("dataset:acme/corpus", kind=ComponentKind.DATASET), "registered"),
        (component("dataset:acme/other", kind=ComponentKind.DATASET), "not-registered"),
        (
            component("file:x/model.safetensors", kind=ComponentKind.FILE, sha256=SHA_C),
            "registered",
        ),
        (
            component("file:x/model.safetensors", kind=ComponentKind.FILE, sha256=SHA_B),
            "not-registered",
        ),
        (component("file:x/model.safetensors", kind=ComponentKind.FILE), "unverifiable"),
        # a hash-only entry approves those bytes under any name
        (
            component("q", purl="pkg:pypi/other@1", kind=ComponentKind.LIBRARY, sha256=SHA_C),
            "registered",
        ),
        (component("bad", purl="pkg:"), "not-registered"),
    ],
)
def test_match(registry: TrustedRegistry, comp: Component, status: str) -> None:
    assert registry.match(comp).status is MatchStatus(status)


def test_match_details(registry: TrustedRegistry) -> None:
    lib = component("z", purl="pkg:pypi/zope-interface@5", kind=ComponentKind.LIBRARY, sha256=SHA_B)
    mismatch = registry.match(lib)
    assert mismatch.entry is registry.entries[1]
    assert mismatch.detail == "SHA-256 bbbbbbbbbbbb… differs from the approved aaaaaaaaaaaa…"
    other = registry.match(
        component("a", purl="pkg:huggingface/meta-llama/Meta-Llama-3-8B@" + "f" * 40)
    )
    assert other.detail == f"version {'f' * 40} is not approved (approved: {COMMIT})"


def test_several_builds_of_one_version(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "components": [
                    {"purl": "pkg:pypi/torch@2.4.0", "sha256": SHA_A},
                    {"purl": "pkg:pypi/torch@2.4.0", "sha256": SHA_B},
                ]
            }
        ),
        encoding="utf-8",
    )
    registry = load_registry(path)
    lib = component("t", purl="pkg:pypi/torch@2.4.0", kind=ComponentKind.LIBRARY, sha256=SHA_B)
    match = registry.match(lib)
    assert (match.status, match.entry) == (MatchStatus.REGISTERED, registry.entries[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- purl: pkg:pypi/x\n  sha: abc\n", "entry 1: unknown key 'sha'"),
        ("- note: only a note\n", "entry 1: needs a purl, a ref or a sha256"),
        ("- purl: 'not a purl'\n", "entry 1: key 'purl': 'not a purl' is not a valid package URL"),
        ("- purl: pkg:pypi/x\n- sha256: xyz\n", "entry 2: key 'sha256': must be 64 hexadecimal"),
        ("- purl: pkg:pypi/x\n  ref: dataset:y\n", "a purl or a ref, not both"),
        ("- purl: 42\n", "key 'purl': must be a non-empty string"),
        ("- pkg:pypi/x\n", "entry 1: must be a mapping"),
        ("components: []\nextra: 1\n", "exactly one key, 'components'"),
        ("purl: pkg:pypi/x\n", "exactly one key, 'components'"),
        ("true\n", "a trusted registry is a list"),
        ("- {purl: [\n", "not valid YAML"),
    ],
)
def test_malformed_registry_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as caught:
        load_registry(path)
    assert str(caught.value).startswith(str(path))


def test_caps(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- purl: pkg:pypi/a\n- purl: pkg:pypi/b\n", encoding="utf-8")
    monkeypatch.setattr(registry_module, "MAX_REGISTRY_ENTRIES", 1)
    with pytest.raises(UsageError, match="more than 1 components"):
        load_registry(path)
    monkeypatch.setattr(registry_module, "MAX_REGISTRY_BYTES", 5)
    with pytest.raises(UsageError, match="larger than 5 bytes"):
        load_registry(path)
    with pytest.raises(UsageError, match="cannot read the trusted registry"):
        load_registry(tmp_path / "absent.yaml")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["purl", "ref", "sha256", "note", "x"]),
            st.one_of(
                st.text(max_size=30),
                st.sampled_from(["pkg:pypi/a@1", "pkg:huggingface/a/b", SHA_A, "dataset:d"]),
                st.integers(),
                st.none(),
            ),
            max_size=4,
        ),
        max_size=5,
    )
)
def test_fuzz_registry(tmp_path_factory, entries) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    try:
        registry = load_registry(path)
    except UsageError as exc:
        message = str(exc)
    else:
        probe = component("p", purl="pkg:pypi/a@1", kind=ComponentKind.LIBRARY, sha256=SHA_A)
        assert isinstance(registry.match(probe).status, MatchStatus)
        return
    assert message.startswith(str(path))
