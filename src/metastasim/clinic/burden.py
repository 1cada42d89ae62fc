"""How much disease is where: tumour cells by site, for symptoms, organ failure and death."""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.biology.shedding import lesion_size
from metastasim.clinic.codes import N_BURDEN, TOTAL
from metastasim.engine.state import S_N_LESIONS


@kernel
def is_alive(st, L: int, t: float) -> bool:
    """Whether lesion L is a growing deposit at day t (seeded, awake and not eliminated or removed)."""
    return st.t_born[L] <= t and st.t_start[L] <= t < st.t_clear[L]


@kernel
def update_site_cells(st, P, t: float) -> None:
    """Fill ``site_cells`` with the cells by site (primary at PRIMARY, whole body at TOTAL) at day t."""
    for i in range(N_BURDEN):
        st.site_cells_prev[i] = st.site_cells[i]
        st.site_cells[i] = 0.0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if is_alive(st, L, t):
            x = lesion_size(st, P, L, t)
            st.site_cells[st.site[L]] += x
            st.site_cells[TOTAL] += x


@kernel
def masked(cells, mask: int) -> float:
    """Sum of a burden array over the indices set in `mask` (TOTAL counts as the whole body)."""
    total = 0.0
    for i in range(N_BURDEN):
        if mask & (1 << i):
            total += cells[i]
    return total


@kernel
def masked_burden_at(st, P, t: float, mask: int) -> float:
    """Cells at day t in the sites of `mask`, computed from the lesions (for root finding)."""
    if mask & (1 << TOTAL):
        mask = (1 << TOTAL) - 1
    total = 0.0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if mask & (1 << st.site[L]) and is_alive(st, L, t):
            total += lesion_size(st, P, L, t)
    return total


@kernel
def crossing_day(st, P, lo: float, hi: float, limit: float, mask: int) -> float:
    """Day in [lo, hi] when the burden of `mask` reaches `limit` (Illinois false position on its log)."""
    target = math.log(limit)
    f_lo = math.log(max(masked_burden_at(st, P, lo, mask), 1.0)) - target
    f_hi = math.log(max(masked_burden_at(st, P, hi, mask), 1.0)) - target
    if f_lo >= 0.0:
        return lo
    side = 0
    for _ in range(60):
        if hi - lo < 1e-4:
            break
        t = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < t < hi:
            t = 0.5 * (lo + hi)
        f = math.log(max(masked_burden_at(st, P, t, mask), 1.0)) - target
        if f >= 0.0:
            hi, f_hi = t, f
            if side == 1:
                f_lo *= 0.5
            side = 1
        else:
            lo, f_lo = t, f
            if side == -1:
                f_hi *= 0.5
            side = -1
    return hi
