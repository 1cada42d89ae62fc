"""The care pathway of one patient: symptoms, visits, scans, diagnosis, treatment, follow-up, death.

Step order (each a dated event; the engine's loop interleaves them with the cascade's lesion events):

1. health check (adaptive, up to weekly near a limit): burden by site; lethal total burden or a failing
   vital organ ends the course at the day the limit was crossed; new symptoms are noted and lead to a visit
   after a delay;
2. death from other causes, drawn at onset from the life table for the person's age and sex;
3. screening rounds, for participants in the programme's age range; a positive test leads to a workup;
4. incidental imaging (scans done for other reasons);
5. visit: the workup (primary test, staging scan, MRI for brain symptoms, bone scan for bone pain),
   biopsy, and diagnosis with staging; after treatment a visit looks for recurrence instead;
6. treatment steps, by the plan for the diagnosed stage: surgery, radiation, adjuvant or palliative
   systemic therapy with response scans, then surveillance;
7. surveillance scans after curative treatment; a finding is a recurrence and is treated as metastatic.
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.clinic.checks import health_check
from metastasim.clinic.codes import (
    CAUSE_OTHER,
    CE_INCIDENTAL,
    CE_OTHER_DEATH,
    CE_SCREEN,
    CE_SURVEIL,
    CE_TREAT,
    CE_VISIT,
    N_CLINIC_EVENTS,
)
from metastasim.clinic.death import die
from metastasim.clinic.diagnosis import incidental, screen, visit
from metastasim.clinic.start import start_clinic
from metastasim.clinic.therapy import follow_up_scan, treat
from metastasim.engine.state import (
    C_STOPPED,
    END_RUNNING,
    S_END_REASON,
)


@kernel
def next_clinic_event(st) -> tuple[float, int]:
    """(day, kind) of the earliest pending clinical event."""
    best = math.inf
    kind = -1
    for k in range(N_CLINIC_EVENTS):
        if st.clinic_t[k] < best:
            best = st.clinic_t[k]
            kind = k
    return best, kind


@kernel
def process_clinic_event(st, P, C, kind: int, t: float) -> None:
    """Apply the pending clinical event `kind` at day t (see the module docstring for the order)."""
    if kind == CE_OTHER_DEATH:
        die(st, t, CAUSE_OTHER)
    elif kind == CE_VISIT:
        visit(st, P, C, t)
    elif kind == CE_SCREEN:
        screen(st, P, C, t)
    elif kind == CE_INCIDENTAL:
        incidental(st, P, C, t)
    elif kind == CE_TREAT:
        treat(st, P, C, t)
    elif kind == CE_SURVEIL:
        st.clinic_t[CE_SURVEIL] = math.inf
        follow_up_scan(st, P, C, t, False)


@kernel
def is_over(st) -> bool:
    """Whether the course has ended (death or horizon) or stopped at a requested milestone."""
    return st.scalars[S_END_REASON] != END_RUNNING or st.clinic[C_STOPPED] > 0.0


__all__ = ["health_check", "is_over", "next_clinic_event", "process_clinic_event", "start_clinic"]

