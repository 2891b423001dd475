"""Hub repo ids and remote-code references, recognised strictly in untrusted metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from scanner.core.errors import MalformedFileError

#: Longest namespace or repo name the Hub accepts (``huggingface_hub`` validate_repo_id).
MAX_NAME_LENGTH = 96
#: Longest hint examined at all; anything longer is not a repo id or Hub URL.
MAX_HINT_LENGTH = 512
#: Longest ``auto_map`` value examined; real ones are under 100 characters.
MAX_CODE_REFERENCE_LENGTH = 512

# The Hub's rules: ASCII letters, digits, "-", "_", "."; starts with a letter or digit; does
# not end with "-" or "."; "--" and ".." are forbidden (checked separately).
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?", re.ASCII)
_MODULE_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*", re.ASCII)
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)

HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
#: First path segments of huggingface.co URLs that are site pages, not a namespace.
HUB_SITE_PAGES = frozenset(
    {
        "api",
        "blog",
        "chat",
        "collections",
        "docs",
        "join",
        "learn",
        "login",
        "models",
        "organizations",
        "papers",
        "posts",
        "pricing",
        "settings",
        "tasks",
    }
)
#: First path segments that introduce a non-model repo (``/datasets/ORG/NAME``).
HUB_REPO_TYPES = frozenset({"datasets", "spaces"})
_NON_MODEL_PATHS = HUB_SITE_PAGES | HUB_REPO_TYPES
_CODE_REPO_SEPARATOR = "--"


@dataclass(frozen=True, slots=True, kw_only=True)
class HubId:
    """A Hub repo id of the form ``namespace/name``."""

    namespace: str
    """The user or organisation."""
    name: str
    """The repository name."""

    @property
    def repo_id(self) -> str:
        """``namespace/name``, as the Hub API spells it."""
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return self.repo_id


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeReference:
    """Where an ``auto_map`` entry says the Python class lives."""

    repo: HubId | None
    """The repo the code comes from, or None for the repo holding the config itself."""
    module: str
    """Dotted module name inside that repo, e.g. ``modeling_chatglm``."""
    class_name: str
    """Class inside the module."""
    module_file: str
    """POSIX path of the module file relative to the repo root, e.g. ``modeling_chatglm.py``."""


def _is_hub_name(value: str) -> bool:
    return (
        len(value) <= MAX_NAME_LENGTH
        and _NAME.fullmatch(value) is not None
        and "--" not in value
        and ".." not in value
        and not value.endswith(".git")
    )


def _hub_id_from_parts(namespace: str, name: str) -> HubId | None:
    if _is_hub_name(namespace) and _is_hub_name(name):
        return HubId(namespace=namespace, name=name)
    return None


def _parse_hub_url(value: str) -> HubId | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in {"http", "https"}
        or parts.hostname not in HUB_HOSTS
        or port is not None
        or parts.username is not None
    ):
        return None
    segments = parts.path.split("/")
    # "/ns/name[/...]" splits into "", "ns", "name", ...
    if len(segments) < 3 or segments[0] or segments[1] in _NON_MODEL_PATHS:
        return None
    return _hub_id_from_parts(segments[1], segments[2])


def parse_hub_id(value: str) -> HubId | None:
    """Return the Hub model repo id ``value`` names, or None when it is not one.

    Accepts ``ORG/NAME`` (exactly one "/", both parts following the Hub's naming rules) and
    ``https://huggingface.co/ORG/NAME[/...]`` (also ``hf.co``). Paths (``/x/y``, ``./x``,
    ``~/x``, ``C:\\x``), single names (``gpt2``), other URLs and dataset or Space URLs give None:
    a lineage hint is only trusted as a Hub id when it cannot be anything else.
    """
    value = value.strip()
    if not value or len(value) > MAX_HINT_LENGTH:
        return None
    if "://" in value:
        return _parse_hub_url(value)
    namespace, slash, name = value.partition("/")
    if not slash:
        return None
    return _hub_id_from_parts(namespace, name)


def parse_code_reference(value: str) -> CodeReference:
    """Parse an ``auto_map`` value: ``module.Class`` or ``ORG/NAME--module.Class``.

    The second form makes transformers fetch and run code from ANOTHER repo. ``module`` may be
    dotted (``a.b`` is ``a/b.py``).

    Raises:
        MalformedFileError: the value is not of either form, names something that is not a
            Hub repo id, or its module is not a plain relative module path (``..``, ``/x``).
    """
    if len(value) > MAX_CODE_REFERENCE_LENGTH:
        raise MalformedFileError(
            f"code reference is {len(value)} characters, over the "
            f"{MAX_CODE_REFERENCE_LENGTH}-character limit"
        )
    repo: HubId | None = None
    reference = value
    if _CODE_REPO_SEPARATOR in value:
        repo_part, _, reference = value.partition(_CODE_REPO_SEPARATOR)
        repo = parse_hub_id(repo_part)
        if repo is None or repo_part != repo.repo_id:
            raise MalformedFileError(
                f"code reference {value!r} names {repo_part!r}, which is not a Hub repo id "
                "of the form ORG/NAME"
            )
    module, dot, class_name = reference.rpartition(".")
    if _CODE_REPO_SEPARATOR in reference:
        raise MalformedFileError(f"code reference {value!r} has more than one '--'")
    if not dot or not module or not class_name:
        raise MalformedFileError(f"code reference {value!r} is not of the form module.Class")
    segments = module.split(".")
    if not all(_MODULE_SEGMENT.fullmatch(segment) for segment in segments):
        raise MalformedFileError(
            f"code reference {value!r} has module {module!r}, which is not a relative module path"
        )
    if _CLASS_NAME.fullmatch(class_name) is None:
        raise MalformedFileError(
            f"code reference {value!r} has class {class_name!r}, which is not a class name"
        )
    return CodeReference(
        repo=repo,
        module=module,
        class_name=class_name,
        module_file="/".join(segments) + ".py",
    )
