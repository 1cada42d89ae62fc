"""Simulate a chunk of patients in one compiled loop and return their records as flat arrays.

Patient i of a run always has patient_id i and draws only from its own counter-based streams, so a chunk's
output does not depend on which other patients share the chunk, process or machine.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from metastasim.biology.traits import N_TRAITS
from metastasim.engine.kernel_params import KernelParams
from metastasim.engine.loop import advance, start_patient
from metastasim.engine.state import N_SCALARS, S_N_LESIONS, PatientState, new_state
from metastasim.units import DAYS_PER_YEAR

LESION_CAPACITY = 4096


class ChunkOutput(NamedTuple):
    """Raw per-patient and per-lesion arrays of a simulated chunk."""

    scalars: np.ndarray  # [patients, N_SCALARS]
    census_total_cells: np.ndarray  # [patients, years]
    census_primary_cells: np.ndarray
    census_ctc: np.ndarray
    census_ctc_mean: np.ndarray
    lesion_patient: np.ndarray  # [lesions] patient_id
    lesion_row: np.ndarray  # lesion_id within the patient
    key: np.ndarray
    parent: np.ndarray
    site: np.ndarray
    node: np.ndarray
    route: np.ndarray
    path: np.ndarray
    phase: np.ndarray
    t_born: np.ndarray
    t_start: np.ndarray
    rate: np.ndarray
    inherited: np.ndarray
    traits: np.ndarray
    trait_time: np.ndarray  # [lesions, N_TRAITS]
    t_resistant: np.ndarray
    t_clear: np.ndarray
    n_seeded: np.ndarray


def chunk_output_of(st: PatientState, patient_id: int) -> ChunkOutput:
    """The records of one patient's state as a one-patient chunk (copies, so the state can go on)."""
    n = int(st.scalars[S_N_LESIONS])
    per_lesion = [st.key, st.parent, st.site, st.node, st.route, st.path, st.phase, st.t_born, st.t_start,
                  st.rate, st.inherited, st.traits, st.trait_time, st.t_resistant, st.t_clear, st.n_seeded]
    return ChunkOutput(
        st.scalars[None, :].copy(), st.census_total_cells[None, :].copy(), st.census_primary_cells[None, :].copy(),
        st.census_ctc[None, :].copy(), st.census_ctc_mean[None, :].copy(), np.full(n, patient_id, np.int64),
        np.arange(n, dtype=np.int32), *(a[:n].copy() for a in per_lesion),
    )


def _empty_lesion_buffers(n: int) -> list[np.ndarray]:
    return [
        np.zeros(n, np.int64),
        np.zeros(n, np.int32),
        np.zeros(n, np.uint64),
        np.zeros(n, np.int32),
        np.zeros(n, np.int8),
        np.zeros(n, np.int16),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, np.int32),
        np.zeros(n, np.int32),
        np.zeros((n, N_TRAITS)),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, np.int32),
    ]


@nb.njit(cache=True)
def _run_patients(
    st,
    P,
    first_id,
    n_patients,
    start_index,
    horizon_days,
    scalars,
    c_total,
    c_primary,
    c_ctc,
    c_ctc_mean,
    buffers,
    cursor,
):
    """Simulate patients from start_index on; return (next index, cursor) when done or the buffer is full."""
    (
        b_pat,
        b_row,
        b_key,
        b_parent,
        b_site,
        b_node,
        b_route,
        b_path,
        b_phase,
        b_born,
        b_start,
        b_rate,
        b_inh,
        b_traits,
        b_ttime,
        b_tres,
        b_tclear,
        b_nseed,
    ) = buffers
    cap = b_pat.shape[0]
    for i in range(start_index, n_patients):
        pid = first_id + i
        start_patient(st, P, pid)
        advance(st, P, horizon_days, horizon_days)
        n = int(st.scalars[S_N_LESIONS])
        if cursor + n > cap:
            return i, cursor
        scalars[i, :] = st.scalars
        c_total[i, :] = st.census_total_cells
        c_primary[i, :] = st.census_primary_cells
        c_ctc[i, :] = st.census_ctc
        c_ctc_mean[i, :] = st.census_ctc_mean
        for L in range(n):
            j = cursor + L
            b_pat[j] = pid
            b_row[j] = L
            b_key[j] = st.key[L]
            b_parent[j] = st.parent[L]
            b_site[j] = st.site[L]
            b_node[j] = st.node[L]
            b_route[j] = st.route[L]
            b_path[j] = st.path[L]
            b_phase[j] = st.phase[L]
            b_born[j] = st.t_born[L]
            b_start[j] = st.t_start[L]
            b_rate[j] = st.rate[L]
            b_inh[j] = st.inherited[L]
            b_traits[j] = st.traits[L]
            b_ttime[j, :] = st.trait_time[L, :]
            b_tres[j] = st.t_resistant[L]
            b_tclear[j] = st.t_clear[L]
            b_nseed[j] = st.n_seeded[L]
        cursor += n
    return n_patients, cursor


def simulate_chunk(P: KernelParams, first_patient_id: int, n_patients: int, years: int) -> ChunkOutput:
    """Simulate patients ``first_patient_id .. first_patient_id + n_patients - 1`` for `years` years."""
    horizon_days = years * DAYS_PER_YEAR
    st: PatientState = new_state(LESION_CAPACITY, P.regional_nodes, years)
    scalars = np.zeros((n_patients, N_SCALARS))
    census = [np.zeros((n_patients, years)) for _ in range(2)]
    ctc = np.zeros((n_patients, years), np.int64)
    ctc_mean = np.zeros((n_patients, years))
    capacity = max(1024, 32 * n_patients)
    buffers = _empty_lesion_buffers(capacity)
    index, cursor = 0, 0
    while True:
        index, cursor = _run_patients(
            st,
            P,
            first_patient_id,
            n_patients,
            index,
            horizon_days,
            scalars,
            census[0],
            census[1],
            ctc,
            ctc_mean,
            tuple(buffers),
            cursor,
        )
        if index >= n_patients:
            break
        grown = _empty_lesion_buffers(2 * len(buffers[0]))
        for old, new in zip(buffers, grown, strict=True):
            new[:cursor] = old[:cursor]
        buffers = grown
    trimmed = [b[:cursor] for b in buffers]
    return ChunkOutput(scalars, census[0], census[1], ctc, ctc_mean, *trimmed)
