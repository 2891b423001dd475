"""Files a run keeps for the next one (compiled validators, parsed shipped data), kept private.

What is read back must be exactly what an earlier run of this user wrote: a regular file, not a
symlink, owned by this user and writable by no one else. Anything else is ignored (and later
replaced), so another local user cannot plant a file that changes a verdict or runs code.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_private(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a private file of this user's; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return None
        try:
            return handle.read()
        except OSError:
            return None


def write_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically, readable by this user only; False if the folder
    cannot be written (the caller goes on without the cache)."""
    import tempfile  # only when something is written: its import costs a few ms

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(temporary).replace(path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True
