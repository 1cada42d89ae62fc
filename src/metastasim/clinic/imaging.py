"""Virtual scans: each lesion is found with the modality's sensitivity at its size and organ.

What the doctors see is not the truth: a lesion below a modality's reach, or in an organ the scan does not
cover, stays hidden, so the observed stage can understate the true one (and better imaging moves patients
to a higher stage: stage migration).
"""

from __future__ import annotations

import numpy as np

from metastasim._jit import kernel
from metastasim.biology.growth import diameter_mm
from metastasim.biology.shedding import lesion_size
from metastasim.clinic.burden import is_alive
from metastasim.clinic.codes import LOG_SCAN_FOUND, LOG_SCAN_MISSED, LOG_SCAN_SUMMARY, N_STEPS
from metastasim.clinic.log import log
from metastasim.engine.scheduling import pid
from metastasim.engine.state import C_SCAN_N, S_N_LESIONS
from metastasim.rng.philox import uniform
from metastasim.rng.streams import ST_SCAN

#: Missed lesions smaller than this are not written to the log one by one (they are counted).
LOG_MISSED_MM = 1.0


@kernel
def sensitivity(C, modality: int, target: int, diameter: float) -> float:
    """Probability that `modality` finds a lesion of `diameter` mm in `target` (step table)."""
    s = 0.0
    for k in range(N_STEPS):
        if diameter >= C.sens_edges[modality, target, k]:
            s = C.sens_values[modality, target, k]
        else:
            break
    return s


@kernel
def scan(st, P, C, t: float, modality: int, coverage: int, purpose: int, log_rows: bool) -> tuple[int, float, int]:
    """Scan the sites in the `coverage` bitmask at day t.

    Returns (lesions found, sum of their diameters in mm, lesions found for the first time). Found lesions
    get ``t_detected``; with `log_rows`, each found lesion and each missed one of 1 mm or more is logged.
    """
    n_scan = int(st.clinic[C_SCAN_N])
    st.clinic[C_SCAN_N] = n_scan + 1
    patient = pid(st)
    found = 0
    new = 0
    total_mm = 0.0
    present = 0
    for L in range(int(st.scalars[S_N_LESIONS])):
        if not is_alive(st, L, t):
            continue
        target = int(st.site[L])
        d = diameter_mm(lesion_size(st, P, L, t), P.cells_per_cm3)
        if d >= 0.2:
            present += 1
        if not coverage & (1 << target):
            if log_rows and d >= LOG_MISSED_MM:
                log(st, t, LOG_SCAN_MISSED, modality, L, d, 2.0)
            continue
        s = sensitivity(C, modality, target, d)
        if s > 0.0 and uniform(P.stream_keys[ST_SCAN], patient, st.key[L], n_scan) < s:
            found += 1
            total_mm += d
            if st.t_detected[L] == np.inf:
                st.t_detected[L] = t
                new += 1
            if log_rows:
                log(st, t, LOG_SCAN_FOUND, modality, L, d, 0.0)
        elif log_rows and d >= LOG_MISSED_MM:
            log(st, t, LOG_SCAN_MISSED, modality, L, d, 1.0)
    log(st, t, LOG_SCAN_SUMMARY, modality, found, float(present), float(purpose))
    return found, total_mm, new
