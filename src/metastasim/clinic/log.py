"""The clinical log: dated rows of what the clinic saw and did, written by the compiled clinic."""

from __future__ import annotations

from metastasim._jit import kernel
from metastasim.engine.state import C_LOG_N, C_LOG_OVERFLOW


@kernel
def log(st, t: float, kind: int, a: int, b: int, x: float, y: float) -> None:
    """Append one row (kind from clinic.codes.LOG_*); rows beyond the log's capacity are counted, not kept."""
    n = int(st.clinic[C_LOG_N])
    if n >= st.log_day.shape[0]:
        st.clinic[C_LOG_OVERFLOW] += 1
        return
    st.log_day[n] = t
    st.log_kind[n] = kind
    st.log_a[n] = a
    st.log_b[n] = b
    st.log_x[n] = x
    st.log_y[n] = y
    st.clinic[C_LOG_N] = n + 1
