"""The compiler settings of every hot function in the engine.

``kernel`` compiles with numba, caches the machine code on disk (so later runs start warm), and switches
off numba's reference counting: these functions only read and write arrays allocated by Python, and with
reference counting on, every call that passes the patient state (a tuple of some 40 arrays) paid about
half a microsecond in atomic increments and decrements — more than the arithmetic it did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba as nb

# `_nrt` is accepted by numba's njit but missing from its type hints.
kernel: Callable[[Any], Any] = nb.njit(cache=True, _nrt=False)  # type: ignore[call-overload]
kernel_inline: Callable[[Any], Any] = nb.njit(cache=True, _nrt=False, inline="always")  # type: ignore[call-overload]
