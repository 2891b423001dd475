"""Progress on a terminal: files walked, checked and hashed on stderr; never in an output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from scanner.core import progress
from tests.conftest import EXAMPLES


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr counts as a terminal and every step draws at once."""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_terminal_sees_each_long_step(terminal: None, tmp_path: Path) -> None:
    out = tmp_path / "bom.cdx.json"
    code, stdout, stderr = run(str(EXAMPLES / "ru-chat-lora"), "--offline", "-o", str(out))
    assert code in (0, 3)
    for label in ("Walking: ", "Checking what loading would run: ", "Hashing: "):
        assert label in stderr
    assert "\r\x1b[K" in stderr  # each line is erased when its step ends
    text = out.read_text()
    json.loads(text)
    assert "Walking" not in text
    assert "Hashing" not in text
    assert "\x1b" not in text
    assert "Walking" not in stdout


def test_quiet_or_no_terminal_shows_nothing(terminal: None, tmp_path: Path) -> None:
    out = tmp_path / "bom.cdx.json"
    _, _, quiet = run(str(EXAMPLES / "ru-chat-lora"), "--offline", "-q", "-o", str(out))
    assert "Walking" not in quiet
    assert "\x1b" not in quiet


def test_no_terminal_shows_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bom.cdx.json"
    _, _, stderr = run(str(EXAMPLES / "ru-chat-lora"), "--offline", "-o", str(out))
    assert "Walking" not in stderr
    assert "\x1b" not in stderr


def test_a_document_that_fails_leaves_no_output_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents are staged one at a time; a later one failing removes the earlier ones."""
    from scanner.core.errors import InvalidOutputError
    from scanner.sbom import cyclonedx

    def broken(*_args: object, **_kwargs: object) -> None:
        raise InvalidOutputError("CycloneDX 1.6 XML", ["schema: planted"])

    monkeypatch.setattr(cyclonedx, "write_cyclonedx_xml", broken)
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "scan", str(EXAMPLES / "ru-chat-lora"), "--offline", "-q",
            "-o", str(out / "bom.cdx.json"), "-o", str(out / "bom.cdx.xml"),
        ],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "planted" in result.stderr
    assert list(out.iterdir()) == []
