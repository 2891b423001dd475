"""Read the root attributes of an HDF5 file in a child process that is stopped after a timeout.

libhdf5 can loop forever on a crafted file, and a C loop cannot be interrupted from Python, so
h5py runs in a child process (this interpreter, a short script) with a deadline. A file on disk
is opened by the child itself; any other stream (a ranged Hub file, a zip member) is served to
the child read by read over its standard input and output: the child's file object asks for
``(offset, length)``, the parent reads those bytes from the stream and sends them back. Only
the time the parent waits for the child counts towards the deadline, not the time it spends
fetching bytes.

Messages from the child are a kind byte and a payload: ``R`` and two little-endian 64-bit
integers (offset, length) for a read, ``A`` and a 64-bit length and that many bytes of JSON for
the answer. The parent answers a read with a 64-bit length and the bytes.
"""

from __future__ import annotations

import io
import json
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING, Final

from scanner.core.errors import MalformedFileError

if TYPE_CHECKING:
    from typing import BinaryIO

#: Longest an HDF5 file may take to parse, in seconds of the child's time.
PARSE_TIMEOUT_S: Final = 20.0
#: Largest read the child may ask for at once (h5py reads metadata in small pieces).
MAX_READ_BYTES: Final = 16 * 1024 * 1024
_NUMBERS: Final = struct.Struct("<QQ")
_LENGTH: Final = struct.Struct("<Q")

#: The child: argv is (config cap, read cap, a path or "-", the size when "-"); it reads the
#: root attributes of the path, or of the stream its parent serves, and answers with JSON.
_CHILD: Final = """\
import io, json, struct, sys
import h5py
from scanner.analysis.keras_h5 import read_root_attributes
from scanner.core.errors import MalformedFileError

NUMBERS, LENGTH = struct.Struct("<QQ"), struct.Struct("<Q")
OUT, IN = sys.stdout.buffer, sys.stdin.buffer


class Served(io.RawIOBase):
    def __init__(self, size):
        self.size, self.position = size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = max(base + offset, 0)
        return self.position

    def readinto(self, buffer):
        want = min(len(buffer), max(self.size - self.position, 0), int(sys.argv[2]))
        if want == 0:
            return 0
        OUT.write(b"R" + NUMBERS.pack(self.position, want))
        OUT.flush()
        (count,) = LENGTH.unpack(IN.read(LENGTH.size))
        data = IN.read(count)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def answer(document):
    raw = json.dumps(document).encode()
    OUT.write(b"A" + LENGTH.pack(len(raw)) + raw)
    OUT.flush()


try:
    source = sys.argv[3] if sys.argv[3] != "-" else io.BufferedReader(Served(int(sys.argv[4])))
    with h5py.File(source, "r") as document:
        answer({"found": read_root_attributes(document.attrs, int(sys.argv[1]))})
except MalformedFileError as error:
    answer({"malformed": error.problem})
except Exception as error:
    answer({"error": str(error)})
"""


def root_attributes_in_child(
    stream: BinaryIO, path: str | None, max_config_bytes: int
) -> tuple[str, list[str]] | None:
    """(model_config, the version lines) of the HDF5 file ``path`` (when the stream reads a
    file on disk) or ``stream``, parsed by h5py in a child process; None without a config.

    Raises:
        MalformedFileError: an attribute is not what Keras writes, or the parse timed out.
        RuntimeError: h5py cannot parse the file, or the child stopped.
        OSError: ``stream`` cannot be read.
    """
    size = stream.seek(0, io.SEEK_END)
    source = [path] if path is not None else ["-", str(size)]
    command = [sys.executable, "-c", _CHILD, str(max_config_bytes), str(MAX_READ_BYTES), *source]
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(  # noqa: S603 (an argument list: this interpreter, our script)
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        ) as child,
    ):
        try:
            answer = _serve(child, stream)
        finally:
            child.kill()
            child.wait()
        if answer is None:
            errors.seek(0)
            tail = errors.read()[-300:].decode("utf-8", "replace")
            raise RuntimeError(f"the HDF5 reader stopped (exit {child.returncode}): {tail}")
    if "malformed" in answer:
        raise MalformedFileError(str(answer["malformed"]))
    if "error" in answer:
        raise RuntimeError(str(answer["error"]))
    found = answer.get("found")
    if not isinstance(found, list) or len(found) != 2 or not isinstance(found[1], list):
        return None
    return str(found[0]), [str(line) for line in found[1]]


def _serve(child: subprocess.Popen[bytes], stream: BinaryIO) -> dict[str, object] | None:
    """Answer the child's reads from ``stream`` until it answers; None if it stops first."""
    assert child.stdout is not None  # noqa: S101  (both pipes were asked for)
    assert child.stdin is not None  # noqa: S101
    messages: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue()
    threading.Thread(target=_read_messages, args=(child.stdout, messages), daemon=True).start()
    left = PARSE_TIMEOUT_S
    while True:
        waited_from = time.monotonic()
        try:
            message = messages.get(timeout=max(left, 0.001))
        except queue.Empty:
            raise MalformedFileError(
                f"file: parsing it did not finish within {PARSE_TIMEOUT_S:g} s (a crafted file "
                "can keep libhdf5 busy forever)"
            ) from None
        left -= time.monotonic() - waited_from
        if message is None:
            return None
        kind, payload = message
        if kind == b"A":
            document = json.loads(payload.decode("utf-8", "replace"))
            return document if isinstance(document, dict) else None
        offset, length = _NUMBERS.unpack(payload)
        stream.seek(offset)
        data = stream.read(min(length, MAX_READ_BYTES))
        try:
            child.stdin.write(_LENGTH.pack(len(data)) + data)
            child.stdin.flush()
        except BrokenPipeError:
            return None


def _read_messages(source: IO[bytes], messages: queue.Queue[tuple[bytes, bytes] | None]) -> None:
    """Put each message of the child on ``messages``; None when its output ends."""
    try:
        _read_each(source, messages)
    except (OSError, ValueError):  # the pipe closed under the read: the child is gone
        messages.put(None)


def _read_each(source: IO[bytes], messages: queue.Queue[tuple[bytes, bytes] | None]) -> None:
    while True:
        kind = source.read(1)
        if kind == b"R":
            payload = source.read(_NUMBERS.size)
        elif kind == b"A":
            header = source.read(_LENGTH.size)
            payload = source.read(_LENGTH.unpack(header)[0]) if len(header) == 8 else b""
        else:
            messages.put(None)
            return
        if kind == b"R" and len(payload) != _NUMBERS.size:
            messages.put(None)
            return
        messages.put((kind, payload))
