"""The first bytes that name a container, in one light module: the load-analysis routes
(``scanner.analysis.dispatch``) test them on every file without importing the analysers, which
load only when a file needs them."""

from __future__ import annotations

import re
from typing import Final

#: A zip's first local file header, and an empty zip's end record.
ZIP_MAGIC: Final = b"PK\x03\x04"
EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"
#: A 7z archive's signature.
SEVEN_ZIP_MAGIC: Final = b"7z\xbc\xaf\x27\x1c"
#: A NumPy ``.npy`` file.
NPY_MAGIC: Final = b"\x93NUMPY"
#: A tar archive: ``ustar`` at offset 257 (torch.load's legacy checkpoints).
TAR_START: Final = re.compile(rb"(?s).{257}ustar[\x00 ]")
#: An HDF5 superblock's signature.
HDF5_MAGIC: Final = b"\x89HDF\r\n\x1a\n"
#: How a pickle of protocol 2 to 5 starts: its PROTO opcode.
PICKLE_START: Final = re.compile(rb"\x80[\x02-\x05]")
#: The first byte of every pickle opcode (``pickletools.opcodes``; tested): the unpickler
#: stops at a first byte that is none of them, so such a file is no pickle and names nothing.
PICKLE_OPCODE_START: Final = re.compile(rb"[().012BCFGIJKLMNPQRSTUVX\]abcdeghijlopqrstu}\x80-\x98]")
