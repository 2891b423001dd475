"""A one-line status on stderr for long steps: files walked and hashed, bytes, repos resolved.

A ``Step`` draws only when it is enabled, stderr is a terminal and the step has run for
``SHOW_AFTER_S`` (a quick step draws nothing); it redraws at most every ``REFRESH_S`` and erases
its line when it ends, so nothing of it stays on screen and nothing reaches an output file.
Only the thread that created a step may advance it.
"""

from __future__ import annotations

import shutil
import sys
import time
from types import TracebackType
from typing import Final, TextIO

#: A step that ends sooner than this never draws: progress for a blink is only flicker.
SHOW_AFTER_S: Final = 0.5
#: At most this often is the line redrawn.
REFRESH_S: Final = 0.1

_ERASE: Final = "\r\x1b[K"


class Step:
    """Counts of one long step (``advance``), drawn as one status line while it runs."""

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None,
        total: int | None = None,
        unit: str = "files",
        total_bytes: int | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.total_bytes = total_bytes
        self.done = 0
        self.bytes_done = 0
        self._stream = stream
        self._started = time.monotonic()
        self._next_draw = self._started + SHOW_AFTER_S
        self._drawn = False

    def advance(self, count: int = 1, nbytes: int = 0) -> None:
        """Add ``count`` items and ``nbytes`` bytes done; redraw if it is time."""
        self.done += count
        self.bytes_done += nbytes
        if self._stream is None:
            return
        now = time.monotonic()
        if now >= self._next_draw:
            self._next_draw = now + REFRESH_S
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The status text as it would be drawn now."""
        elapsed = (now if now is not None else time.monotonic()) - self._started
        count = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None else "")
        text = f"{self.label}: {count} {self.unit}"
        if self.bytes_done or self.total_bytes:
            text += f", {human_bytes(self.bytes_done)}"
            if self.total_bytes is not None:
                text += f" of {human_bytes(self.total_bytes)}"
        return f"{text} ({elapsed:.0f} s)"

    def close(self) -> None:
        """Erase the line if one was drawn."""
        if self._stream is not None and self._drawn:
            self._stream.write(_ERASE)
            self._stream.flush()
        self._drawn = False

    def _draw(self, now: float) -> None:
        if self._stream is None:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self._stream.write(_ERASE + self.line(now)[: max(10, width - 1)])
        self._stream.flush()
        self._drawn = True

    def __enter__(self) -> Step:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def step(
    label: str,
    *,
    enabled: bool,
    total: int | None = None,
    unit: str = "files",
    total_bytes: int | None = None,
) -> Step:
    """A ``Step`` drawn on stderr when ``enabled`` and stderr is a terminal, else silent."""
    stream = sys.stderr if enabled and stderr_is_terminal() else None
    return Step(label, stream=stream, total=total, unit=unit, total_bytes=total_bytes)


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (False for a replaced or closed stream)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def human_bytes(count: int) -> str:
    """``count`` bytes for a person: 512 B, 1.5 KiB, 3.2 GiB."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # unreachable
