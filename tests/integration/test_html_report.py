"""The HTML report in a real headless browser (Debian's Chromium): it renders, shows the
lineage graph, loads nothing, logs no console error, and a hostile name stays text.

Chromium is found as ``chromium`` on PATH (``.ci/run`` installs Debian's package); without it
the tests skip, or fail in CI, like any other real input.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import cli
from tests.conftest import EXAMPLES, _missing

#: Flags for a headless run on a machine with no network or display (no background fetches).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _missing("Chromium (Debian package chromium)")
    assert found is not None
    return found


def browse(
    chromium: str, page: Path, profile: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_problems(log: str) -> list[str]:
    """Console messages and refused loads in Chromium's log (its own D-Bus noise aside)."""
    return [
        line
        for line in log.splitlines()
        if "CONSOLE" in line or "Refused to" in line or "net::ERR" in line
    ]


def report(tmp_path: Path, folder: Path) -> Path:
    page = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["scan", str(folder), "--offline", "-q", "--policy", "sovereign", "-o", str(page)]
    )
    assert result.exit_code == 1, result.output  # ru-chat-lora sits on Llama 3: FAIL
    return page


def test_the_report_renders_its_graph_without_errors(chromium: str, tmp_path: Path) -> None:
    page = report(tmp_path, EXAMPLES / "ru-chat-lora")
    dom = browse(chromium, page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert '<svg class="lineage"' in html
    nodes = re.findall(r'<g class="node (\w+)', html)
    # The adapter, its base (Meta, foreign) and its two datasets.
    assert sorted(nodes) == ["foreign", "unknown", "unknown", "unknown"]
    assert "meta-llama/Meta-Llama-3-8B-Instruct" in html
    assert "adapter, tokenizer-from" in html
    assert '<span class="badge FAIL">FAIL</span>' in html
    assert console_problems(dom.stderr) == []
    shot = tmp_path / "page.png"
    drawn = browse(
        chromium, page, tmp_path / "profile-shot", "--window-size=1280,1000", f"--screenshot={shot}"
    )
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 1000)
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
    assert console_problems(drawn.stderr) == []


def test_a_hostile_name_is_text_in_the_browser(chromium: str, tmp_path: Path) -> None:
    """A card whose base model is markup: the page shows it as text, runs nothing."""
    folder = tmp_path / "m"
    shutil.copytree(EXAMPLES / "ru-chat-lora", folder)
    hostile = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
    card = (folder / "README.md").read_text()
    assert "base_model:" in card
    (folder / "README.md").write_text(
        card.replace("base_model:", f"base_model: '{hostile}'\nformer_base_model:", 1)
    )
    page = tmp_path / "hostile.html"
    result = CliRunner().invoke(cli, ["scan", str(folder), "--offline", "-q", "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert "&lt;script&gt;" in page.read_text()  # the name is in the report, escaped
    dom = browse(chromium, page, tmp_path / "profile-hostile", "--dump-dom")
    assert dom.returncode == 0
    assert "<script" not in dom.stdout
    assert "<img" not in dom.stdout
    title = re.findall(r"<title>(.*?)</title>", dom.stdout)[0]  # the page's, then the boxes'
    assert title.startswith("sovscan report: ")
    assert "<script" not in title
    assert console_problems(dom.stderr) == []
