"""Functions imported on their first call, for tables whose rows name readers that most scans
never run (a GGUF reader in a safetensors folder, a 7z analyser among plain files): start-up
then pays only for what a scan uses."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def later(module: str, function: str) -> Callable[..., Any]:
    """``module.function``, imported the first time it is called (and looked up on each call,
    so that it is whatever the module holds then)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args, **kwargs)

    call.__name__ = call.__qualname__ = function
    call.__module__ = module
    return call
