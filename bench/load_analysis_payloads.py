"""The bytes of bench/load_analysis_cases.py: pickles assembled opcode by opcode, containers
written with the standard library (zipfile, tarfile, gzip, bz2, lzma, zlib, struct, json) or by
hand (7z, GGUF, GGML), Keras configs and chat templates.

Nothing is unpickled, loaded or run, and no live object is pickled: ``pickle.dumps`` is used
only on plain ints, strings and dicts (the legacy torch header records). The HDF5 files are
written by h5py in a separate interpreter (``H5_WRITER``), which only writes. The Keras Lambda
bytecode is ``marshal`` of ``compile()`` output, which compiles and never runs.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import marshal
import pickle
import struct
import tarfile
import zipfile
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

#: The command every malicious payload would run (harmless, and never run: nothing is loaded).
COMMAND: Final = "echo sovscan-bench"


# --- pickle assembly -------------------------------------------------------------------------


class _Pickle:
    """A pickle written opcode by opcode; ``proto`` picks the opcodes a real pickler would."""

    def __init__(self, proto: int) -> None:
        self.proto = proto
        self.out = bytearray(b"\x80" + bytes([proto]) if proto >= 2 else b"")

    def global_(self, module: str, name: str) -> _Pickle:
        if self.proto >= 4:
            self.string(module).string(name)
            self.out += b"\x93"  # STACK_GLOBAL
        else:
            self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    def string(self, text: str) -> _Pickle:
        raw = text.encode()
        if self.proto == 0:
            self.out += b"V" + text.encode("raw_unicode_escape") + b"\n"
        elif self.proto >= 4 and len(raw) < 256:
            self.out += b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE
        else:
            self.out += b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE
        return self

    def int_(self, value: int) -> _Pickle:
        if self.proto == 0:
            self.out += b"I" + str(value).encode() + b"\n"
        elif 0 <= value < 256:
            self.out += b"K" + bytes([value])
        else:
            self.out += b"J" + struct.pack("<i", value)
        return self

    def op(self, raw: bytes) -> _Pickle:
        self.out += raw
        return self

    def call(self, module: str, name: str, *args: str) -> _Pickle:
        """``module.name(*args)``: GLOBAL, MARK, args, TUPLE, REDUCE."""
        self.global_(module, name).op(b"(")
        for arg in args:
            self.string(arg)
        return self.op(b"tR")

    def done(self) -> bytes:
        body = bytes(self.out) + b"."
        if self.proto >= 4:  # one FRAME around everything after PROTO, as picklers write it
            inner = body[2:]
            return body[:2] + b"\x95" + struct.pack("<Q", len(inner)) + inner
        return body


def call_pickle(module: str, name: str, *args: str, proto: int = 2) -> bytes:
    """A pickle whose load returns ``module.name(*args)``."""
    return _Pickle(proto).call(module, name, *args).done()


def system_pickle(proto: int = 2, module: str = "posix") -> bytes:
    return call_pickle(module, "system", COMMAND, proto=proto)


def getattr_chain_pickle() -> bytes:
    """builtins.getattr(importlib.import_module('os'), 'system')('echo …')."""
    p = _Pickle(2).global_("builtins", "getattr").op(b"(")
    p.call("importlib", "import_module", "os").string("system").op(b"tR")
    return p.op(b"(").string(COMMAND).op(b"tR").done()


def broken_after_payload() -> bytes:
    """nullifAI: the payload runs, then the stream breaks (no STOP, an invalid opcode)."""
    return bytes(_Pickle(2).call("posix", "system", COMMAND).op(b"0\xff\xfe garbage").out)


def state_dict_pickle(proto: int = 2) -> bytes:
    """A real-shaped ``torch.save(state_dict)`` data.pkl: OrderedDict of one rebuilt tensor."""
    p = _Pickle(proto).global_("collections", "OrderedDict").op(b")R").op(b"(")
    p.string("linear.weight")
    p.global_("torch._utils", "_rebuild_tensor_v2").op(b"(")
    p.op(b"(").string("storage").global_("torch", "FloatStorage").string("0").string("cpu")
    p.int_(4).op(b"tQ")  # BINPERSID: the storage is a persistent id, not an object
    p.int_(0).op(b"(").int_(2).int_(2).op(b"t").op(b"(").int_(2).int_(1).op(b"t")
    p.op(b"\x89")  # NEWFALSE: requires_grad
    p.global_("collections", "OrderedDict").op(b")R").op(b"tR")
    return p.op(b"u").done()


# --- containers --------------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def torch_zip(data_pkl: bytes, pickle_name: str = "archive/data.pkl") -> bytes:
    return zip_bytes(
        {
            pickle_name: data_pkl,
            "archive/byteorder": b"little",
            "archive/data/0": struct.pack("<4f", 0.1, 0.2, 0.3, 0.4),
            "archive/version": b"3\n",
        }
    )


def corrupt_crcs(archive: bytes) -> bytes:
    """Flip every CRC-32 in local and central headers (CVE-2025-10156: Python's zipfile
    raises on read, torch's reader does not check)."""
    out = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        at = out.find(signature)
        while at != -1:
            crc = struct.unpack_from("<I", out, at + offset)[0]
            struct.pack_into("<I", out, at + offset, crc ^ 0xFFFFFFFF)
            at = out.find(signature, at + 4)
    return bytes(out)


def set_flag_bits(archive: bytes, bits: int) -> bytes:
    out = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at != -1:
            flags = struct.unpack_from("<H", out, at + offset)[0]
            struct.pack_into("<H", out, at + offset, flags | bits)
            at = out.find(signature, at + 4)
    return bytes(out)


def legacy_torch(main_pickle: bytes) -> bytes:
    """torch's pre-1.6 (non-zip) format: magic, protocol, sys_info, the object, storage keys."""
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps(
        {
            "protocol_version": 1001,
            "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4},
        },
        protocol=2,
    )
    keys = pickle.dumps([], protocol=2)
    return magic + version + sys_info + main_pickle + keys


def legacy_torch_tar(main_pickle: bytes) -> bytes:
    """torch's oldest format: a tar of sys_info, pickle, storages, tensors."""
    buffer = io.BytesIO()
    members = {
        "sys_info": pickle.dumps({"protocol_version": 1000, "little_endian": True}, protocol=2),
        "pickle": main_pickle,
        "storages": pickle.dumps(0, protocol=2),
        "tensors": pickle.dumps(0, protocol=2),
    }
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def npy(descr: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    pad = 64 - (10 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _7z_number(value: int) -> bytes:
    if value < 0x80:
        return bytes([value])
    if value < 0x4000:
        return bytes([0x80 | (value >> 8), value & 0xFF])
    if value < 0x200000:
        return bytes([0xC0 | (value >> 16), value & 0xFF, (value >> 8) & 0xFF])
    return b"\xff" + struct.pack("<Q", value)


def seven_zip(name: str, data: bytes) -> bytes:
    """A 7z archive holding one file, stored with the Copy coder (no compression)."""
    n = _7z_number
    utf16 = name.encode("utf-16-le") + b"\x00\x00"
    header = (
        b"\x01\x04"  # Header, MainStreamsInfo
        + b"\x06"  # PackInfo
        + n(0)
        + n(1)
        + b"\x09"
        + n(len(data))
        + b"\x00"
        + b"\x07\x0b"  # UnPackInfo, Folder
        + n(1)
        + b"\x00"  # not external
        + n(1)  # one coder
        + b"\x01\x00"  # id size 1, simple coder; id 0x00 = Copy
        + b"\x0c"
        + n(len(data))
        + b"\x00"
        + b"\x08\x00"  # SubStreamsInfo (one stream), end
        + b"\x00"  # end of MainStreamsInfo
        + b"\x05"  # FilesInfo
        + n(1)
        + b"\x11"
        + n(len(utf16) + 1)
        + b"\x00"
        + utf16
        + b"\x00"
        + b"\x00"  # end of Header
    )
    start = struct.pack("<QQI", len(data), len(header), binascii.crc32(header))
    signature = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", binascii.crc32(start)) + start
    return signature + data + header


def safetensors_0x280() -> bytes:
    """A valid safetensors file whose 8-byte header length is 0x280: it starts 0x80 0x02."""
    tensors = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    header = json.dumps(tensors).encode()
    header += b" " * (0x280 - len(header))
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)


def ggml_bin() -> bytes:
    """A legacy GGML (ggjt v3) .bin: magic, hyperparameters, a little vocab, zeros."""
    hparams = struct.pack("<7i", 32000, 64, 1, 2, 2, 8, 2)
    vocab = b"".join(struct.pack("<i", 1) + b"a" + struct.pack("<f", 0.0) for _ in range(4))
    return b"tjgg" + struct.pack("<I", 3) + hparams + vocab + bytes(256)


def gguf_with_template(template: str) -> bytes:
    """A GGUF v3 file with one metadata key, tokenizer.chat_template, and no tensors."""

    def gguf_str(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    kv = gguf_str("tokenizer.chat_template") + struct.pack("<I", 8) + gguf_str(template)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv


def keras_file(layers: list[dict[str, object]], weights_h5: bytes) -> bytes:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "registered_name": None,
    }
    metadata = {"keras_version": "3.8.0", "date_saved": "2025-03-01@10:00:00"}
    return zip_bytes(
        {
            "metadata.json": json.dumps(metadata).encode(),
            "config.json": json.dumps(config).encode(),
            "model.weights.h5": weights_h5,
        }
    )


def input_layer() -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"},
        "registered_name": None,
    }


def dense_layer() -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "dense", "units": 2, "activation": "relu", "use_bias": True},
        "registered_name": None,
    }


def lambda_bytecode() -> str:
    """Base64 of the marshalled code of a lambda that calls os.system (compiled, never run)."""
    code = compile(f"lambda x: __import__('os').system({COMMAND!r}) or x", "<lambda>", "eval")
    lambda_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(lambda_code)).decode()


def lambda_bytecode_layer() -> dict[str, object]:
    encoded = lambda_bytecode()
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": encoded, "defaults": None, "closure": None},
            },
            "arguments": {},
        },
        "registered_name": None,
    }


def lambda_function_layer(module: str, function: str) -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": {"class_name": "function", "config": function, "module": module},
            "arguments": {"command": COMMAND},
        },
        "registered_name": None,
    }


def enable_unsafe_layer() -> dict[str, object]:
    return {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "function",
    }


#: Writes an HDF5 file with h5py: argv[1] the path; argv[2] a legacy (tf.keras 2) model_config
#: JSON, or empty for the weights file of a Keras 3 ``.keras`` archive (groups, no tensors). Run
#: by a separate interpreter that has h5py; it only writes.
H5_WRITER: Final = """
import sys
import h5py
with h5py.File(sys.argv[1], "w") as f:
    if sys.argv[2]:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = sys.argv[2]
        f.create_group("model_weights").attrs["layer_names"] = [b"dense"]
    else:
        f.create_group("layers").create_group("dense").create_group("vars")
        f.create_group("optimizer").create_group("vars")
"""

#: Turns a model_config (or "" for Keras 3 weights) into HDF5 bytes; see ``H5_WRITER``.
H5Writer: TypeAlias = "Callable[[str], bytes]"


def legacy_keras_config(with_lambda: bool) -> str:
    """The model_config of a tf.keras 2 Sequential saved to .h5, with a Lambda or a Dense."""
    layer: dict[str, object]
    if with_lambda:
        layer = {
            "class_name": "Lambda",
            "config": {
                "name": "lambda",
                "function": [lambda_bytecode(), None, None],
                "function_type": "lambda",
                "module": "__main__",
                "output_shape": None,
                "output_shape_type": "raw",
                "arguments": {},
            },
        }
    else:
        layer = {"class_name": "Dense", "config": {"name": "dense", "units": 2}}
    input_layer = {
        "class_name": "InputLayer",
        "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "input_1"},
    }
    return json.dumps(
        {
            "class_name": "Sequential",
            "config": {"name": "sequential", "layers": [input_layer, layer]},
        }
    )


def tokenizer_config(template: str) -> bytes:
    return json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "chat_template": template}, indent=2
    ).encode()


BENIGN_TEMPLATE: Final = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] "
    "+ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
GLOBALS_TEMPLATE: Final = (
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('" + COMMAND + "').read() }}"
)
FORMAT_TEMPLATE: Final = (
    "{% set f = '{0.__class__.__base__.__subclasses__}'.format %}{{ messages | map(f) | list }}"
)
