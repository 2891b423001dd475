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
