"""A binary min-heap of pending lesion events with lazy cancellation, compiled.

Each lesion has one pending time (``t_next``). Rescheduling pushes a new entry and bumps the lesion's
version; stale entries are skipped when they surface. When the heap fills up it is rebuilt from the
lesions' current times.
"""

from __future__ import annotations

import math

from metastasim._jit import kernel, kernel_inline


@kernel_inline
def _less(times, lesions, a: int, b: int) -> bool:
    # Ties break by lesion row so that the order of simultaneous events is fixed.
    return times[a] < times[b] or (times[a] == times[b] and lesions[a] < lesions[b])


@kernel
def _sift_up(times, lesions, versions, i: int) -> None:
    while i > 0:
        parent = (i - 1) >> 1
        if _less(times, lesions, i, parent):
            times[i], times[parent] = times[parent], times[i]
            lesions[i], lesions[parent] = lesions[parent], lesions[i]
            versions[i], versions[parent] = versions[parent], versions[i]
            i = parent
        else:
            break


@kernel
def _sift_down(times, lesions, versions, i: int, size: int) -> None:
    while True:
        left = 2 * i + 1
        smallest = i
        if left < size and _less(times, lesions, left, smallest):
            smallest = left
        if left + 1 < size and _less(times, lesions, left + 1, smallest):
            smallest = left + 1
        if smallest == i:
            break
        times[i], times[smallest] = times[smallest], times[i]
        lesions[i], lesions[smallest] = lesions[smallest], lesions[i]
        versions[i], versions[smallest] = versions[smallest], versions[i]
        i = smallest


@kernel
def rebuild(st, n_lesions: int) -> None:
    """Rebuild the heap from every lesion's current pending time (drops stale entries)."""
    size = 0
    for L in range(n_lesions):
        if st.t_next[L] < math.inf:
            st.heap_time[size] = st.t_next[L]
            st.heap_lesion[size] = L
            st.heap_version[size] = st.version[L]
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(st.heap_time, st.heap_lesion, st.heap_version, i, size)
    st.heap_size[0] = size


@kernel
def push(st, L: int, n_lesions: int) -> None:
    """Record lesion L's new pending time ``st.t_next[L]``, cancelling its previous one."""
    st.version[L] += 1
    if st.t_next[L] == math.inf:
        return
    size = st.heap_size[0]
    if size >= st.heap_time.shape[0]:
        rebuild(st, n_lesions)
        return
    st.heap_time[size] = st.t_next[L]
    st.heap_lesion[size] = L
    st.heap_version[size] = st.version[L]
    st.heap_size[0] = size + 1
    _sift_up(st.heap_time, st.heap_lesion, st.heap_version, size)


@kernel
def peek(st) -> tuple[float, int]:
    """Return (time, lesion) of the earliest live entry, dropping stale ones; (inf, -1) if none."""
    while st.heap_size[0] > 0:
        L = st.heap_lesion[0]
        if st.heap_version[0] == st.version[L]:
            return st.heap_time[0], L
        _pop(st)
    return math.inf, -1


@kernel
def _pop(st) -> None:
    size = st.heap_size[0] - 1
    st.heap_time[0] = st.heap_time[size]
    st.heap_lesion[0] = st.heap_lesion[size]
    st.heap_version[0] = st.heap_version[size]
    st.heap_size[0] = size
    if size > 0:
        _sift_down(st.heap_time, st.heap_lesion, st.heap_version, 0, size)


@kernel
def clear(st) -> None:
    """Empty the heap."""
    st.heap_size[0] = 0
