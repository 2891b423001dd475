"""Remote code: auto_map and similar references, local or in another repo, and stray ``*.py``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path, PurePosixPath

import pytest

from scanner.core.ids import HubId
from scanner.core.model import (
    Component,
    ComponentKind,
    Evidence,
    Hash,
    Layer,
    Relation,
    RelationKind,
    Severity,
)
from scanner.core.properties import PropertyName
from scanner.sources.folder_facts import read_folder_facts
from scanner.sources.identity import ModelIdentity
from scanner.sources.inventory_builder import InventoryBuilder
from scanner.sources.remote_code import add_code
from scanner.sources.walk import walk_target

HUB = "https://hub.example.org"
SUBJECT = "model:subject"
PY = b"raise SystemExit('sovscan must never import scanned code')\n"


def write(folder: Path, files: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def code_of(folder: Path, label: str = "acme/model") -> InventoryBuilder:
    """Run add_code over ``folder`` as the inventory does: files first (hashed), then code."""
    namespace, _, name = label.rpartition("/")
    hub_id = HubId(namespace=namespace, name=name) if namespace else None
    identity = ModelIdentity(name=name, hub_id=hub_id, revision=None, evidence=())
    builder = InventoryBuilder(identity=identity, hub=HUB)
    builder.add(Component(ref=SUBJECT, kind=ComponentKind.MODEL, name=name))
    walk = walk_target(folder)
    file_refs: dict[PurePosixPath, str] = {}
    for entry in walk.files:
        digest = hashlib.sha256(entry.path.read_bytes()).hexdigest()
        file_refs[entry.relpath] = builder.add(
            Component(
                ref=f"file:{label}/{entry.relpath.as_posix()}",
                kind=ComponentKind.FILE,
                name=entry.relpath.as_posix(),
                path=entry.relpath.as_posix(),
                hashes=(Hash(alg="SHA-256", value=digest),),
            )
        )
    add_code(builder, SUBJECT, read_folder_facts(walk), file_refs)
    return builder


def code(builder: InventoryBuilder) -> dict[str, Component]:
    return {ref: c for ref, c in builder.components.items() if c.kind is ComponentKind.CODE}


def edges(builder: InventoryBuilder) -> set[tuple[str, RelationKind, str]]:
    return {(r.src, r.kind, r.dst) for r in builder.relations.values()}


def relation(builder: InventoryBuilder, src: str, dst: str) -> Relation:
    return next(r for r in builder.relations.values() if (r.src, r.dst) == (src, dst))


# --- local code --------------------------------------------------------------------------------


def test_local_auto_map_module_is_code_with_the_file_hash(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "config.json": {"auto_map": {"AutoModel": "modeling_acme.AcmeModel"}},
            "modeling_acme.py": PY,
        },
    )
    b = code_of(folder)
    ref = "code:acme/model/modeling_acme.py"
    assert set(code(b)) == {ref}
    module = b.components[ref]
    assert (module.name, module.path, module.layer) == (
        "modeling_acme.py",
        "modeling_acme.py",
        Layer.CODE,
    )
    assert module.hashes == (Hash(alg="SHA-256", value=hashlib.sha256(PY).hexdigest()),)
    assert module.evidence == (
        Evidence(
            location="config.json",
            field="auto_map.AutoModel",
            value="modeling_acme.AcmeModel",
            method="auto-map",
        ),
    )
    assert edges(b) == {
        (SUBJECT, RelationKind.DEPENDS_ON, ref),
        (ref, RelationKind.CONTAINS, "file:acme/model/modeling_acme.py"),
    }
    assert b.issues == []


def test_several_classes_in_one_module_are_one_component(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "config.json": {
                "auto_map": {
                    "AutoConfig": "configuration_acme.AcmeConfig",
                    "AutoModel": "modeling_acme.AcmeModel",
                    "AutoModelForCausalLM": "modeling_acme.AcmeForCausalLM",
                }
            },
            "configuration_acme.py": PY,
            "modeling_acme.py": PY,
        },
    )
    b = code_of(folder)
    modeling = b.components["code:acme/model/modeling_acme.py"]
    assert [e.field for e in modeling.evidence] == [
        "auto_map.AutoModel",
        "auto_map.AutoModelForCausalLM",
    ]
    assert set(code(b)) == {
        "code:acme/model/configuration_acme.py",
        "code:acme/model/modeling_acme.py",
    }
    depends = relation(b, SUBJECT, "code:acme/model/modeling_acme.py")
    assert [e.field for e in depends.evidence] == [
        "auto_map.AutoModel",
        "auto_map.AutoModelForCausalLM",
    ]


def test_a_dotted_module_is_a_file_in_a_subfolder(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {"config.json": {"auto_map": {"AutoModel": "models.acme.AcmeModel"}}, "models/acme.py": PY},
    )
    b = code_of(folder)
    module = b.components["code:acme/model/models/acme.py"]
    assert module.path == "models/acme.py"
    assert module.hashes[0].value == hashlib.sha256(PY).hexdigest()


def test_a_nested_config_names_modules_beside_it(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "text_encoder/config.json": {"auto_map": {"AutoModel": "enc.Encoder"}},
            "text_encoder/enc.py": PY,
            "enc.py": PY,  # same name at the top: a different, unreferenced file
        },
    )
    b = code_of(folder)
    nested = b.components["code:acme/model/text_encoder/enc.py"]
    assert [e.location for e in nested.evidence] == ["text_encoder/config.json"]
    top = b.components["code:acme/model/enc.py"]
    assert [e.method for e in top.evidence] == ["python-file"]


def test_a_missing_module_is_one_issue_naming_the_config(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m", {"config.json": {"auto_map": {"AutoModel": "modeling_gone.GoneModel"}}}
    )
    b = code_of(folder)
    module = b.components["code:acme/model/modeling_gone.py"]
    assert module.hashes == ()
    assert (SUBJECT, RelationKind.DEPENDS_ON, module.ref) in edges(b)
    assert not any(r.src == module.ref for r in b.relations.values())  # no file to contain
    (issue,) = b.issues
    assert issue.location == "config.json"
    assert issue.severity is Severity.MEDIUM
    assert issue.problem == (
        "modeling_gone.py is not in the folder but config.json:auto_map.AutoModel needs it "
        "(remote code that cannot be checked)"
    )


def test_a_module_missing_for_several_files_is_one_issue_at_the_root(corpus: Path) -> None:
    """DNABERT-2 as vendored: four auto_map entries, two modules, neither shipped."""
    b = code_of(corpus / "models" / "zhihan1996__DNABERT-2-117M", "zhihan1996/DNABERT-2-117M")
    assert set(code(b)) == {
        "code:zhihan1996/DNABERT-2-117M/configuration_bert.py",
        "code:zhihan1996/DNABERT-2-117M/bert_layers.py",
    }
    problems = {i.location: i.problem for i in b.issues}
    assert problems == {
        "config.json": "configuration_bert.py is not in the folder but "
        "config.json:auto_map.AutoConfig needs it (remote code that cannot be checked)",
        ".": "bert_layers.py is not in the folder but config.json:auto_map.AutoModel, "
        "config.json:auto_map.AutoModelForMaskedLM, "
        "config.json:auto_map.AutoModelForSequenceClassification need it "
        "(remote code that cannot be checked)",
    }


def test_tokenizer_auto_map_with_a_null_fast_class(corpus: Path) -> None:
    """ChatGLM-6B: model code in config.json, tokenizer code in tokenizer_config.json."""
    b = code_of(corpus / "models" / "THUDM__chatglm-6b", "THUDM/chatglm-6b")
    tokenizer = b.components["code:THUDM/chatglm-6b/tokenization_chatglm.py"]
    assert [(e.location, e.field, e.value) for e in tokenizer.evidence] == [
        ("tokenizer_config.json", "auto_map.AutoTokenizer", "tokenization_chatglm.ChatGLMTokenizer")
    ]
    assert set(code(b)) == {
        "code:THUDM/chatglm-6b/configuration_chatglm.py",
        "code:THUDM/chatglm-6b/modeling_chatglm.py",
        "code:THUDM/chatglm-6b/tokenization_chatglm.py",
    }
    assert {i.location for i in b.issues} == {"config.json", ".", "tokenizer_config.json"}


# --- code in another repo ----------------------------------------------------------------------


def test_auto_map_into_another_repo_is_remote_code_from_that_repo(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "config.json": {
                "auto_map": {
                    "AutoConfig": "microsoft/Phi-3-mini-4k-instruct--configuration_phi3.Phi3Config",
                    "AutoModelForCausalLM": (
                        "microsoft/Phi-3-mini-4k-instruct--modeling_phi3.Phi3ForCausalLM"
                    ),
                }
            }
        },
    )
    b = code_of(folder)
    ref = "remote-code:microsoft/Phi-3-mini-4k-instruct/modeling_phi3.py"
    remote = b.components[ref]
    assert (remote.name, remote.group, remote.purl, remote.path, remote.layer) == (
        "modeling_phi3.py",
        "microsoft",
        "pkg:huggingface/microsoft/Phi-3-mini-4k-instruct",
        None,
        Layer.CODE,
    )
    assert remote.properties == ((PropertyName.CODE_CLASS, "Phi3ForCausalLM"),)
    assert remote.external_urls == (("vcs", f"{HUB}/microsoft/Phi-3-mini-4k-instruct"),)
    assert edges(b) == {
        (SUBJECT, RelationKind.REMOTE_CODE_FROM, ref),
        (
            SUBJECT,
            RelationKind.REMOTE_CODE_FROM,
            "remote-code:microsoft/Phi-3-mini-4k-instruct/configuration_phi3.py",
        ),
    }
    # Not a file of this folder: nothing is reported missing.
    assert b.issues == []


def test_remote_tokenizer_code_and_a_local_file_of_the_same_name_stay_apart(
    tmp_path: Path,
) -> None:
    folder = write(
        tmp_path / "m",
        {
            "tokenizer_config.json": {
                "auto_map": {
                    "AutoTokenizer": ["Vikhrmodels/ru-tokenizer-code--tokenization_ru.RuTok", None]
                }
            },
            "tokenization_ru.py": PY,
        },
    )
    b = code_of(folder)
    assert edges(b) >= {
        (
            SUBJECT,
            RelationKind.REMOTE_CODE_FROM,
            "remote-code:Vikhrmodels/ru-tokenizer-code/tokenization_ru.py",
        ),
        (SUBJECT, RelationKind.DEPENDS_ON, "code:acme/model/tokenization_ru.py"),
    }
    local = b.components["code:acme/model/tokenization_ru.py"]
    assert [e.method for e in local.evidence] == ["python-file"]


def test_custom_pipelines_in_config_are_code_references(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "config.json": {
                "custom_pipelines": {
                    "text-classification": {"impl": "pipe.AcmePipeline", "pt": ["AutoModel"]},
                    "ner": {"impl": "other/repo--ner_pipe.NerPipeline"},
                }
            },
            "pipe.py": PY,
        },
    )
    b = code_of(folder)
    local = b.components["code:acme/model/pipe.py"]
    assert [e.field for e in local.evidence] == ["custom_pipelines.text-classification"]
    remote = b.components["remote-code:other/repo/ner_pipe.py"]
    assert [e.field for e in remote.evidence] == ["custom_pipelines.ner"]


# --- diffusers and sentence-transformers -------------------------------------------------------


def test_diffusers_custom_pipeline_and_component_code(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "model_index.json": {
                "_class_name": ["pipeline_acme", "AcmePipeline"],
                "unet": ["unet_acme", "AcmeUNet"],
                "vae": ["diffusers", "AutoencoderKL"],
                "scheduler": ["diffusers", "PNDMScheduler"],
            },
            "pipeline_acme.py": PY,
            "unet/unet_acme.py": PY,
        },
    )
    b = code_of(folder)
    assert set(code(b)) == {"code:acme/model/pipeline_acme.py", "code:acme/model/unet/unet_acme.py"}
    pipeline = b.components["code:acme/model/pipeline_acme.py"]
    assert [(e.location, e.field, e.value) for e in pipeline.evidence] == [
        ("model_index.json", "_class_name", "pipeline_acme.Pipeline")
    ]
    unet = b.components["code:acme/model/unet/unet_acme.py"]
    assert [(e.location, e.field, e.value) for e in unet.evidence] == [
        ("unet/model_index.json", "model_index.unet", "unet_acme.AcmeUNet")
    ]
    assert unet.hashes[0].value == hashlib.sha256(PY).hexdigest()
    assert b.issues == []


def test_a_stock_diffusers_pipeline_has_no_code(corpus: Path) -> None:
    b = code_of(corpus / "models" / "runwayml__stable-diffusion-v1-5", "runwayml/sd-v1-5")
    assert code(b) == {}
    assert b.issues == []


def test_sentence_transformers_custom_module(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m",
        {
            "modules.json": [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.models.Transformer",
                },
                {"idx": 1, "name": "1", "path": "1_Custom", "type": "custom_st.AcmePooling"},
            ],
            "custom_st.py": PY,
        },
    )
    b = code_of(folder)
    (module,) = code(b).values()
    assert module.ref == "code:acme/model/custom_st.py"
    assert [(e.location, e.field, e.value) for e in module.evidence] == [
        ("modules.json", "modules.1.type", "custom_st.AcmePooling")
    ]


def test_real_sentence_transformers_folder_runs_no_code(minilm_dir: Path) -> None:
    b = code_of(minilm_dir, "sentence-transformers/all-MiniLM-L6-v2")
    assert code(b) == {}
    assert b.relations == {}
    assert b.issues == []


# --- stray *.py and hostile references ---------------------------------------------------------


def test_unreferenced_python_files_are_code_the_model_depends_on(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", {"handler.py": PY, "scripts/convert.py": PY, "notes.txt": "x"})
    b = code_of(folder)
    assert set(code(b)) == {"code:acme/model/handler.py", "code:acme/model/scripts/convert.py"}
    convert = b.components["code:acme/model/scripts/convert.py"]
    assert convert.evidence == (
        Evidence(
            location="scripts/convert.py", field="file", value="convert.py", method="python-file"
        ),
    )
    assert (SUBJECT, RelationKind.DEPENDS_ON, convert.ref) in edges(b)
    assert (convert.ref, RelationKind.CONTAINS, "file:acme/model/scripts/convert.py") in edges(b)


@pytest.mark.parametrize(
    ("reference", "complaint"),
    [
        ("../../etc/passwd.Cls", "is not a relative module path"),
        ("/abs/mod.Cls", "is not a relative module path"),
        ("modeling", "is not of the form module.Class"),
        ("mod.2bad", "which is not a class name"),
        ("evil/repo--a--b.Cls", "has more than one '--'"),
        ("not a repo--mod.Cls", "which is not a Hub repo id"),
        ("https://evil.example/x--mod.Cls", "which is not a Hub repo id"),
        ("m" * 600 + ".Cls", "over the 512-character limit"),
    ],
    ids=["dotdot", "absolute", "no-class", "bad-class", "double-dash", "bad-repo", "url", "long"],
)
def test_a_hostile_reference_is_an_issue_and_no_component(
    tmp_path: Path, reference: str, complaint: str
) -> None:
    folder = write(tmp_path / "m", {"config.json": {"auto_map": {"AutoModel": reference}}})
    b = code_of(folder)
    assert code(b) == {}
    assert b.relations == {}
    (issue,) = b.issues
    assert issue.location == "config.json"
    assert issue.severity is Severity.MEDIUM
    assert issue.problem.startswith("auto_map.AutoModel: code reference ")
    assert complaint in issue.problem


def test_missing_module_issue_names_a_config_whose_path_holds_a_colon(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "m", {"enc:v2/config.json": {"auto_map": {"AutoModel": "gone.Model"}}}
    )
    b = code_of(folder)
    (issue,) = b.issues
    assert issue.location == "enc:v2/config.json"


def test_a_local_file_is_never_merged_into_another_repos_code(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "acme",
        {"config.json": {"auto_map": {"AutoModel": "acme/x--mod.Model"}}, "x/mod.py": PY},
    )
    b = code_of(folder, label="acme")
    remote = [c for c in code(b).values() if c.purl == "pkg:huggingface/acme/x"]
    local = [c for c in code(b).values() if c.path == "x/mod.py"]
    assert len(remote) == 1
    assert len(local) == 1
    assert remote[0].ref != local[0].ref


def test_the_corpus_remote_code_models_name_every_module(corpus: Path, tmp_path: Path) -> None:
    """Qwen-7B-Chat ships config + tokenizer auto_map but no .py (the corpus holds no code)."""
    folder = tmp_path / "qwen"
    shutil.copytree(corpus / "models" / "Qwen__Qwen-7B-Chat", folder)
    (folder / "modeling_qwen.py").write_bytes(PY)
    b = code_of(folder, "Qwen/Qwen-7B-Chat")
    assert set(code(b)) == {
        "code:Qwen/Qwen-7B-Chat/configuration_qwen.py",
        "code:Qwen/Qwen-7B-Chat/modeling_qwen.py",
        "code:Qwen/Qwen-7B-Chat/tokenization_qwen.py",
    }
    present = b.components["code:Qwen/Qwen-7B-Chat/modeling_qwen.py"]
    assert present.hashes[0].value == hashlib.sha256(PY).hexdigest()
    assert sorted(i.problem.split(" ", 1)[0] for i in b.issues) == [
        "configuration_qwen.py",
        "tokenization_qwen.py",
    ]
