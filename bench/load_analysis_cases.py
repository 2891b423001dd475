"""Labelled model-file cases for bench/load_analysis_peers.py, each with the advisory or issue
thread it comes from; their bytes are assembled by bench/load_analysis_payloads.py (nothing is
unpickled, loaded or run).

Labels: ``malicious-high`` (loading runs a dangerous call), ``malicious`` (loading runs code
that is unknown, or the file hides what it unpacks to), ``benign``.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import pickle
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from load_analysis_payloads import (
    BENIGN_TEMPLATE,
    COMMAND,
    FORMAT_TEMPLATE,
    GLOBALS_TEMPLATE,
    H5Writer,
    broken_after_payload,
    call_pickle,
    corrupt_crcs,
    dense_layer,
    enable_unsafe_layer,
    getattr_chain_pickle,
    ggml_bin,
    gguf_with_template,
    input_layer,
    keras_file,
    lambda_bytecode_layer,
    lambda_function_layer,
    legacy_keras_config,
    legacy_torch,
    legacy_torch_tar,
    npy,
    safetensors_0x280,
    set_flag_bits,
    seven_zip,
    state_dict_pickle,
    system_pickle,
    tokenizer_config,
    torch_zip,
    zip_bytes,
)

if TYPE_CHECKING:
    pass

HIGH: Final = "malicious-high"
MALICIOUS: Final = "malicious"
BENIGN: Final = "benign"
LABELS: Final = (HIGH, MALICIOUS, BENIGN)


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
MSGPACK_SPEC: Final = "https://github.com/msgpack/msgpack/blob/master/spec.md#map-format-family"
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
            "msgpack-pickle-polyglot",
            "flax_model.msgpack",
            # A map of 12 entries whose first key is a 160-byte string (8c a0), which a pickle
            # reads as SHORT_BINUNICODE: popped, then the call.
            b"\x8c\xa0" + b"k" * 160 + b"0" + system_pickle(2)[2:],
            HIGH,
            MSGPACK_SPEC,
            "a valid Flax msgpack start that is also a pickle",
        ),
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
            keras_file([input_layer(), lambda_bytecode_layer()], weights_h5),
            MALICIOUS,
            KERAS_LAMBDA,
        ),
        Case(
            "keras-lambda-os-system",
            "model.keras",
            keras_file([input_layer(), lambda_function_layer("os", "system")], weights_h5),
            HIGH,
            KERAS_FUNCTION,
        ),
        Case(
            "keras-cve-2025-1550-subprocess",
            "model.keras",
            keras_file([input_layer(), lambda_function_layer("subprocess", "run")], weights_h5),
            HIGH,
            CVE_2025_1550,
        ),
        Case(
            "keras-enable-unsafe",
            "model.keras",
            keras_file([enable_unsafe_layer(), input_layer(), lambda_bytecode_layer()], weights_h5),
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
            keras_file([input_layer(), dense_layer()], weights_h5),
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
