"""The status line: what it says, when it draws, and that it leaves nothing behind."""

from __future__ import annotations

import io

import pytest

from scanner.core import progress
from scanner.core.progress import Step, human_bytes


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_says_counts_bytes_and_time() -> None:
    line = Step("Hashing", stream=None, total=10, total_bytes=3 * 2**30)
    line.advance(4, 2**30)
    assert line.line(line._started + 12) == "Hashing: 4/10 files, 1.0 GiB of 3.0 GiB (12 s)"
    walking = Step("Walking", stream=None)
    walking.advance(1234)
    assert walking.line(walking._started) == "Walking: 1,234 files (0 s)"


def test_nothing_is_drawn_before_show_after(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    with Step("Walking", stream=terminal) as line:
        line.advance(5)
    assert terminal.getvalue() == ""


def test_drawn_then_erased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    terminal = Terminal()
    with Step("Walking", stream=terminal) as line:
        line.advance(5)
        line.advance(5)  # within REFRESH_S: not drawn again
    drawn = terminal.getvalue()
    assert drawn.count("Walking: ") == 1
    assert drawn.startswith("\r\x1b[KWalking: 5 files")
    assert drawn.endswith("\r\x1b[K")


def test_silent_unless_enabled_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    assert progress.step("x", enabled=False)._stream is None
    assert progress.step("x", enabled=True)._stream is not None
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: False)
    assert progress.step("x", enabled=True)._stream is None


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (512, "512 B"), (1536, "1.5 KiB"), (5 * 2**20, "5.0 MiB"), (2**42, "4096.0 GiB")],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text
