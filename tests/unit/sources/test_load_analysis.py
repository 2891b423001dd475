"""Load analysis of a scanned folder: findings, file properties, code of unknown origin."""

from __future__ import annotations

import zipfile
from pathlib import Path

from scanner.core.config import ScanConfig
from scanner.core.model import ComponentKind, RelationKind, Severity
from scanner.sources.inventory import Inventory
from scanner.sources.local_dir import scan_local

#: PROTO 2, GLOBAL 'posix system', SHORT_BINUNICODE 'id', TUPLE1, REDUCE, STOP (never loaded).
EVIL_PICKLE = b"\x80\x02cposix\nsystem\n\x8c\x02id\x85R."


def _scan(folder: Path, tmp_path: Path) -> Inventory:
    config = ScanConfig(cache_dir=tmp_path / "cache", jobs=1, use_cache=False, progress=False)
    return scan_local(folder, config, None)


def test_malicious_pickle_becomes_a_finding_a_property_and_unknown_code(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}')
    (folder / "pytorch_model.bin").write_bytes(EVIL_PICKLE)
    inventory = _scan(folder, tmp_path)
    (finding,) = [f for f in inventory.findings if f.rule_id == "SEC001"]
    assert finding.severity is Severity.HIGH
    assert "posix.system" in finding.message
    assert finding.tiers == ()
    file = next(c for c in inventory.components if c.path == "pytorch_model.bin")
    assert ("sovscan:security:executable-on-load", "true") in file.properties
    assert ("sovscan:security:import", "posix.system") in file.properties
    code = next(c for c in inventory.components if c.ref == "code:on-load:pytorch_model.bin")
    assert code.kind is ComponentKind.CODE
    assert any(
        r.src == file.ref and r.dst == code.ref and r.kind is RelationKind.CONTAINS
        for r in inventory.relations
    )


def test_an_encrypted_archive_is_unreadable_code_and_a_low_issue(
    tmp_path: Path, corpus: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    # modelscan's password-protected zip: really encrypted, so nothing can be analysed.
    encrypted = (corpus / "pickles" / "modelscan" / "password_protected.zip").read_bytes()
    (folder / "weights.pt").write_bytes(encrypted)
    inventory = _scan(folder, tmp_path)
    assert [f.rule_id for f in inventory.findings] == ["SEC006"]
    # What it would do on load is unknown: it counts as code of unknown origin.
    assert any(c.ref == "code:on-load:weights.pt" for c in inventory.components)
    assert any(
        i.location.endswith("weights.pt") and "encrypted" in i.problem for i in inventory.issues
    )


def test_a_plain_pickle_flagged_encrypted_is_walked_anyway(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    with zipfile.ZipFile(folder / "weights.pt", "w") as archive:
        archive.writestr("archive/data.pkl", EVIL_PICKLE)
    raw = bytearray((folder / "weights.pt").read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        raw[raw.index(signature) + offset] |= 0x01  # the "encrypted" flag, nothing encrypted
    (folder / "weights.pt").write_bytes(bytes(raw))
    inventory = _scan(folder, tmp_path)
    assert [f.rule_id for f in inventory.findings] == ["SEC001"]
    assert any("flagged encrypted" in i.problem for i in inventory.issues)


def test_safe_state_dict_pickle_gives_no_finding(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    # An OrderedDict, as torch writes: only allowlisted globals.
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02ccollections\nOrderedDict\n)R.")
    inventory = _scan(folder, tmp_path)
    assert [f.rule_id for f in inventory.findings] == []
    file = next(c for c in inventory.components if c.path == "pytorch_model.bin")
    assert ("sovscan:security:executable-on-load", "false") in file.properties
    assert not any(c.ref.startswith("code:on-load:") for c in inventory.components)


def test_python_files_and_broken_tokenizer_config_are_reported_once(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(
        '{"auto_map": {"AutoModel": "modeling_x.XModel"}, "architectures": ["XModel"]}'
    )
    (folder / "modeling_x.py").write_text("class XModel: ...\n")
    (folder / "tokenizer_config.json").write_text('{"chat_template": ')
    inventory = _scan(folder, tmp_path)
    assert [f.rule_id for f in inventory.findings] == ["SEC007"]
    tokenizer_issues = [i for i in inventory.issues if i.location.endswith("tokenizer_config.json")]
    assert len(tokenizer_issues) == 1


def test_small_files_are_read_once_for_analysis_and_hash(tmp_path: Path, monkeypatch) -> None:
    """A small file the analysers read is hashed from the same bytes: opened once, not twice;
    large files and files the analysers do not open whole are hashed by the pool."""
    import hashlib

    import scanner.hashing.digest as digest
    import scanner.sources.local_dir as local_dir

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}')
    (folder / "tokenizer_config.json").write_text('{"chat_template": "{{ messages }}"}')
    (folder / "pytorch_model.bin").write_bytes(EVIL_PICKLE)
    header = b'{"w":{"dtype":"U8","shape":[1048576],"data_offsets":[0,1048576]}}'
    large = len(header).to_bytes(8, "little") + header + b"\x00" * digest.SMALL_FILE_BYTES
    (folder / "weights.safetensors").write_bytes(large)
    pooled: list[str] = []
    from scanner.hashing.digest import hash_files

    def spy(requests, **options):
        pooled.extend(sorted(r.path.name for r in requests))
        return hash_files(requests, **options)

    monkeypatch.setattr(local_dir, "hash_files", spy)
    inventory = _scan(folder, tmp_path)
    assert pooled == ["tokenizer_config.json", "weights.safetensors"]
    by_path = {c.path: c for c in inventory.components if c.kind is ComponentKind.FILE}
    for name in ("config.json", "pytorch_model.bin", "weights.safetensors"):
        (stored,) = by_path[name].hashes
        assert stored.value == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert any(f.rule_id == "SEC001" for f in inventory.findings)


def test_a_small_file_that_changes_after_listing_is_not_hashed(tmp_path: Path, monkeypatch) -> None:
    """The single read keeps the hashing checks: a file that is not what was listed (grown,
    or swapped for a symlink) gets no digest and an issue, and is still analysed."""
    import scanner.sources.local_dir as local_dir

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"]}')
    grown = folder / "pytorch_model.bin"
    grown.write_bytes(EVIL_PICKLE)
    swapped = folder / "extra.pkl"
    swapped.write_bytes(EVIL_PICKLE)
    (tmp_path / "elsewhere.pkl").write_bytes(EVIL_PICKLE)
    from scanner.sources.folder_facts import read_folder_facts

    def then_change(walk):
        facts = read_folder_facts(walk)
        grown.write_bytes(EVIL_PICKLE + b"more")
        swapped.unlink()
        swapped.symlink_to(tmp_path / "elsewhere.pkl")
        return facts

    monkeypatch.setattr(local_dir, "read_folder_facts", then_change)
    inventory = _scan(folder, tmp_path)
    problems = {i.location.rsplit("/", 1)[-1]: i.problem for i in inventory.issues}
    assert "changed size since it was listed" in problems["pytorch_model.bin"]
    assert "cannot hash" in problems["extra.pkl"]
    by_path = {c.path: c for c in inventory.components if c.kind is ComponentKind.FILE}
    assert by_path["pytorch_model.bin"].hashes == ()
    assert by_path["extra.pkl"].hashes == ()
    assert any(
        f.rule_id == "SEC001" and f.component_ref.endswith("pytorch_model.bin")
        for f in inventory.findings
    )
