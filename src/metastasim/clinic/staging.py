"""TNM categories, stage groups and SEER summary stage: as observed by the clinic and as true.

T comes from the primary's size or depth of invasion, N from the number of involved regional nodes, M from
distant disease. The observed stage uses only lesions a test has found (imaging, sentinel node biopsy, the
pathologist's node count after surgery); the true stage uses every deposit of at least 0.2 mm.
"""

from __future__ import annotations

from metastasim._jit import kernel
from metastasim.anatomy.sites import PRIMARY, REGIONAL_NODES
from metastasim.biology.growth import diameter_mm, size_after
from metastasim.biology.shedding import lesion_size
from metastasim.biology.traits import INVASION_BIT
from metastasim.clinic.burden import is_alive
from metastasim.clinic.codes import SEER_DISTANT, SEER_LOCALIZED, SEER_REGIONAL
from metastasim.engine.state import S_DEPTH_PER_RADIUS, S_N_LESIONS, S_T_INVASION

RULE_GENERIC, RULE_COLORECTAL, RULE_BREAST, RULE_LUNG = 0, 1, 2, 3


@kernel
def t_category(st, P, C, t: float) -> int:
    """T category of the primary at day t: 0 for Tis (in situ), else 1-4 (0 if the primary is gone)."""
    if not is_alive(st, 0, t):
        return 0
    if not st.traits[0] & INVASION_BIT:
        return 0
    d_now = diameter_mm(lesion_size(st, P, 0, t), P.cells_per_cm3)
    if C.t_by_depth:
        x_inv = size_after(
            P.law, st.rate[0], P.capacity_arg, P.exponent_arg, 1.0, st.scalars[S_T_INVASION] - st.t_origin[0]
        )
        measure = max(0.0, st.scalars[S_DEPTH_PER_RADIUS] * 0.5 * (d_now - diameter_mm(x_inv, P.cells_per_cm3)))
    else:
        measure = d_now
    cat = 1
    for k in range(C.t_thresholds_mm.shape[0]):
        if measure >= C.t_thresholds_mm[k]:
            cat = k + 2
    return cat


@kernel
def n_category(C, nodes: int) -> int:
    """N category (0..3) from the number of involved regional nodes."""
    cat = 0
    for k in range(C.n_thresholds.shape[0]):
        if nodes >= C.n_thresholds[k]:
            cat = k + 1
    return cat


@kernel
def stage_group(rule: int, T: int, N: int, M: int) -> int:
    """Stage group 0-IV (as 0..4) from TNM, by the cancer's rule (AJCC-like simplifications)."""
    if M:
        return 4
    if T == 0 and N == 0:
        return 0
    if rule == RULE_BREAST:
        if N >= 2 or T == 4 or (T == 3 and N >= 1):
            return 3
        if N >= 1 or T >= 2:
            return 2
        return 1
    if rule == RULE_LUNG:
        if N >= 2 or T == 4 or (T == 3 and N >= 1):
            return 3
        if N >= 1 or T >= 3:
            return 2
        return 1
    if N >= 1:
        return 3
    if T >= 3:
        return 2
    return 1


@kernel
def seer_stage(T: int, N: int, M: int) -> int:
    """SEER summary stage: distant (M1), regional (nodes or T4 extension beyond the organ), else localized."""
    if M:
        return SEER_DISTANT
    if N >= 1 or T == 4:
        return SEER_REGIONAL
    return SEER_LOCALIZED


@kernel
def true_nodes_and_m(st, P, C, t: float) -> tuple[int, int]:
    """(involved regional nodes, 1 if any distant deposit) counting every deposit of at least 0.2 mm."""
    nodes = 0
    m = 0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if st.site[L] == PRIMARY or not is_alive(st, L, t):
            continue
        if lesion_size(st, P, L, t) < C.micro_cells:
            continue
        if st.site[L] == REGIONAL_NODES:
            if st.node[L] >= 0 and st.node_lesion[st.node[L]] == L:
                nodes += 1
        else:
            m = 1
    return nodes, m


@kernel
def observed_m(st, t: float) -> int:
    """1 if a test has found a living distant lesion by day t."""
    for L in range(int(st.scalars[S_N_LESIONS])):
        s = st.site[L]
        if s != PRIMARY and s != REGIONAL_NODES and st.t_detected[L] <= t and is_alive(st, L, t):
            return 1
    return 0
