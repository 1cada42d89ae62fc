"""Ending a course with its cause of death."""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.clinic.codes import (
    CAUSE_BURDEN,
    LOG_DEATH,
)
from metastasim.clinic.log import drop_log_after, log
from metastasim.engine.scheduling import finish
from metastasim.engine.state import (
    C_DEATH_CAUSE,
    C_T_DEATH,
    END_DEATH,
    END_LETHAL,
)


@kernel
def die(st, t: float, cause: int) -> None:
    """The patient dies at day t of `cause` (clinic.codes.CAUSE_*); log rows dated after t are removed."""
    st.clinic[C_DEATH_CAUSE] = cause
    st.clinic[C_T_DEATH] = t
    drop_log_after(st, t)
    log(st, t, LOG_DEATH, cause, 0, 0.0, 0.0)
    st.clinic_t[:] = math.inf
    finish(st, t, END_LETHAL if cause == CAUSE_BURDEN else END_DEATH)
