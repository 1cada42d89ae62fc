"""Data files: parameter defaults, cancer types and reference figures, each with its source."""

from __future__ import annotations

import copy
import functools
import tomllib
from importlib import resources
from typing import Any


@functools.lru_cache(maxsize=64)
def _parse_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("metastasim.data").joinpath(name).read_text(encoding="utf-8"))


def read_toml(name: str) -> dict[str, Any]:
    """A packaged TOML file (e.g. "defaults.toml", "cancers/colorectal.toml"), parsed once per process.

    Each caller gets its own copy, so it may change what it reads.
    """
    return copy.deepcopy(_parse_toml(name))
