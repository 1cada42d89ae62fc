"""The compiler settings of every hot function in the engine.

``kernel`` compiles with numba, caches the machine code on disk (so later runs start warm), and switches
off numba's reference counting: these functions only read and write arrays allocated by Python, and with
reference counting on, every call that passed the patient state (then a tuple of some 40 arrays) paid about
half a microsecond in atomic increments and decrements — more than the arithmetic it did. The state and the
parameters now reach kernels by reference (metastasim.by_reference), one pointer per call.

Numba checks a cached function against its own source file only, so after an edit to a kernel in one module
its callers in other modules would run the old code from the cache. `_drop_stale_cache` prevents that: when
any kernel source changes it removes the package's whole on-disk cache, and everything recompiles once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba as nb

_PACKAGE = Path(__file__).resolve().parent
_STAMP = _PACKAGE / "__pycache__" / "numba_kernel_sources.sha256"


def _drop_stale_cache() -> None:
    """Delete the cached machine code when the source of any module with kernels has changed since it was built."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        text = path.read_bytes()
        if b"@kernel" in text or b"nb.njit" in text:
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + text)
    current = digest.hexdigest()
    try:
        if _STAMP.exists() and _STAMP.read_text() == current:
            return
        for cached in (*_PACKAGE.rglob("__pycache__/*.nbi"), *_PACKAGE.rglob("__pycache__/*.nbc")):
            cached.unlink(missing_ok=True)
        _STAMP.parent.mkdir(exist_ok=True)
        _STAMP.write_text(current)
    except OSError:  # a read-only install: numba keeps its cache elsewhere, and installed sources do not change
        pass


_drop_stale_cache()

# `_nrt` is accepted by numba's njit but missing from its type hints.
kernel: Callable[[Any], Any] = nb.njit(cache=True, _nrt=False)  # type: ignore[call-overload]
kernel_inline: Callable[[Any], Any] = nb.njit(cache=True, _nrt=False, inline="always")  # type: ignore[call-overload]
