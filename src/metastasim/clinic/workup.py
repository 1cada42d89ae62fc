"""The diagnostic scans chosen by the cancer type and the symptoms present."""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.anatomy.sites import BONE, BRAIN, N_SITES, PRIMARY
from metastasim.clinic.codes import (
    BONE_SCAN,
    MRI,
    N_SYMPTOMS,
)
from metastasim.clinic.imaging import scan

# Coverage bitmasks (burden indices) of the scans.
BODY_SCAN = ((1 << N_SITES) - 1) & ~(1 << BRAIN) | (1 << PRIMARY)
PRIMARY_ONLY = 1 << PRIMARY


@kernel
def symptom_mask(st) -> int:
    """Bitmask of the symptoms present."""
    m = 0
    for s in range(N_SYMPTOMS):
        if st.symptom_day[s] < math.inf:
            m |= 1 << s
    return m


@kernel
def has_symptom_of(st, C, site: int) -> bool:
    """Whether a symptom caused by disease in `site` is present."""
    for s in range(N_SYMPTOMS):
        if st.symptom_day[s] < math.inf and C.symptom_mask[s] & (1 << site):
            return True
    return False


@kernel
def workup_scans(st, P, C, t: float, purpose: int) -> int:
    """The diagnostic scans: primary test, staging scan, and scans directed by symptoms."""
    found = scan(st, P, C, t, C.primary_modality, PRIMARY_ONLY, purpose, True)[0]
    found += scan(st, P, C, t, C.staging_modality, BODY_SCAN, purpose, True)[0]
    if has_symptom_of(st, C, BRAIN):
        found += scan(st, P, C, t, MRI, 1 << BRAIN, purpose, True)[0]
    if has_symptom_of(st, C, BONE):
        found += scan(st, P, C, t, BONE_SCAN, 1 << BONE, purpose, True)[0]
    return found
