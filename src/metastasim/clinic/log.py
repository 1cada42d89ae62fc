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


@kernel
def drop_log_after(st, t: float) -> None:
    """Remove the rows dated after day t (kept rows stay in their order).

    A death found by a health check is dated back to the day its limit was crossed, which can precede events
    the loop had already applied since the previous check (a scan, a visit, a lesion seeded and found). Those
    never happened: their rows go, and with them every reference to lesions that `finish` drops as seeded after
    the death.
    """
    n = int(st.clinic[C_LOG_N])
    k = 0
    for i in range(n):
        if st.log_day[i] <= t:
            if k != i:
                st.log_day[k] = st.log_day[i]
                st.log_kind[k] = st.log_kind[i]
                st.log_a[k] = st.log_a[i]
                st.log_b[k] = st.log_b[i]
                st.log_x[k] = st.log_x[i]
                st.log_y[k] = st.log_y[i]
            k += 1
    st.clinic[C_LOG_N] = k
