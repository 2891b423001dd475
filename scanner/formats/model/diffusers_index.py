"""Read a diffusers ``model_index.json``: the pipeline class and its components, and which of
them load code from the repository (a reader of ``scanner.formats.model.hf_config``'s kind)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from scanner.formats.model.json_fields import MAX_MAP_ENTRIES, Fields, read_object

if TYPE_CHECKING:
    from pathlib import Path

#: Libraries a diffusers ``model_index.json`` component may name without being repo code:
#: diffusers' LOADABLE_CLASSES keys, then the ``diffusers.pipelines`` subpackages of 2026, then
#: older subpackage names since moved under ``deprecated``.
KNOWN_DIFFUSERS_LIBRARIES = frozenset(
    """
    diffusers transformers onnxruntime.training

    ace_step allegro animatediff anyflow audioldm2 aura_flow auto_pipeline bria bria_fibo chroma
    chronoedit cogvideo cogview3 cogview4 consisid consistency_models controlnet
    controlnet_hunyuandit controlnet_sd3 cosmos ddim ddpm deepfloyd_if deprecated diffusion_gemma
    dit dreamlite easyanimate ernie_image flux flux2 glm_image helios hidream_image hunyuan_image
    hunyuan_video hunyuan_video1_5 hunyuandit ideogram4 joyimage kandinsky kandinsky2_2
    kandinsky3 kandinsky5 kolors krea2 latent_consistency_models latent_diffusion latte
    ledits_pp llada2 longcat_audio_dit longcat_image ltx ltx2 lucy lumina lumina2 marigold mochi
    motif_video nucleusmoe_image omnigen onnx_utils ovis_image pag pipeline_utils pixart_alpha
    prx qwenimage sana sana_video shap_e skyreels_v2 stable_audio stable_cascade
    stable_diffusion stable_diffusion_3 stable_diffusion_xl stable_video_diffusion t2i_adapter
    visualcloze wan z_image

    alt_diffusion amused audio_diffusion audioldm blip_diffusion controlnet_xs dance_diffusion
    i2vgen_xl musicldm paint_by_example pia pndm repaint score_sde_ve semantic_stable_diffusion
    spectrogram_diffusion stable_diffusion_attend_and_excite stable_diffusion_diffedit
    stable_diffusion_gligen stable_diffusion_ldm3d stable_diffusion_panorama
    stable_diffusion_safe stable_diffusion_sag stochastic_karras_ve text_to_video_synthesis
    unclip unidiffuser versatile_diffusion vq_diffusion wuerstchen
    """.split()  # noqa: SIM905 (a table of words reads better than 120 quoted strings)
)
# Folder and module names in a diffusers index: one relative path segment.
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffusersComponent:
    """One component of a diffusers pipeline: ``"unet": ["diffusers", "UNet2DConditionModel"]``."""

    name: str
    """Component name, also its subfolder."""
    library: str | None
    class_name: str | None
    is_custom_code: bool
    """The library is neither a known library nor a diffusers pipeline module: the class is
    loaded from a ``.py`` in the repo (``[null, null]`` is a disabled component, not code)."""
    module_file: str | None = None
    """Where custom code would live: ``<name>/<library>.py``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelIndex:
    """Diffusers ``model_index.json``."""

    class_name: str | None = None
    """``_class_name``: the pipeline class."""
    custom_pipeline_module: str | None = None
    """Set when ``_class_name`` is ``[module, Class]``: a pipeline defined in repo code."""
    diffusers_version: str | None = None
    name_or_path: str | None = None
    components: tuple[DiffusersComponent, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_custom_code(self) -> bool:
        """Whether the pipeline or any component is loaded from repo code."""
        return self.custom_pipeline_module is not None or any(
            component.is_custom_code for component in self.components
        )


def read_model_index(path: Path) -> ModelIndex:
    """Read a diffusers ``model_index.json``.

    Raises:
        MalformedFileError: not a capped, strict JSON object.
        OSError: the file cannot be opened or read.
    """
    fields = read_object(path, "model_index.json")
    class_name, custom_module = _pipeline_class(fields)
    components: list[DiffusersComponent] = []
    for key, value in fields.document.items():
        if key.startswith("_") or not _is_component_spec(value):
            continue  # "_diffusers_version" and pipeline options such as requires_safety_checker
        component = _component(fields, key, value)
        if component is not None:
            components.append(component)
        if len(components) >= MAX_MAP_ENTRIES:
            fields.note(key, f"more than {MAX_MAP_ENTRIES} components; the rest are ignored")
            break
    return ModelIndex(
        class_name=class_name,
        custom_pipeline_module=custom_module,
        diffusers_version=fields.text("_diffusers_version"),
        name_or_path=fields.text("_name_or_path"),
        components=tuple(components),
        problems=fields.problems.freeze(),
    )


def _is_component_spec(value: object) -> TypeGuard[list[str | None]]:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(item is None or isinstance(item, str) for item in value)
    )


def _pipeline_class(fields: Fields) -> tuple[str | None, str | None]:
    """``_class_name``: a class, or ``[module, Class]`` for a pipeline in repo code."""
    value = fields.document.get("_class_name")
    if not _is_component_spec(value):
        return fields.text("_class_name"), None
    module, class_name = (fields.as_text("_class_name", item) for item in value)
    if module is None:
        fields.note("_class_name", "a [module, Class] pair without a module")
    return class_name, module


def _component(fields: Fields, name: str, spec: list[str | None]) -> DiffusersComponent | None:
    if not _is_safe_segment(name):
        fields.note(name, "component name is not a plain folder name; ignored")
        return None
    library = fields.as_text(name, spec[0])
    class_name = fields.as_text(name, spec[1])
    if library is None:
        # [null, null] is a component saved as None (e.g. a disabled safety checker).
        return DiffusersComponent(
            name=name, library=None, class_name=class_name, is_custom_code=class_name is not None
        )
    if library in KNOWN_DIFFUSERS_LIBRARIES:
        return DiffusersComponent(
            name=name, library=library, class_name=class_name, is_custom_code=False
        )
    module_file = f"{name}/{library}.py" if _is_safe_segment(library) else None
    if module_file is None:
        fields.note(name, f"custom module {library[:60]!r} is not a plain module name")
    return DiffusersComponent(
        name=name,
        library=library,
        class_name=class_name,
        is_custom_code=True,
        module_file=module_file,
    )


def _is_safe_segment(value: str) -> bool:
    return _COMPONENT_NAME.fullmatch(value) is not None and ".." not in value
