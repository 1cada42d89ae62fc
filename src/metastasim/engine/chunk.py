"""Simulate a chunk of patients in one compiled loop and return their records as flat arrays.

Patient i of a run always has patient_id i and draws only from its own counter-based streams, so a chunk's
output does not depend on which other patients share the chunk, process or machine.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from metastasim.clinic.clinic_params import ClinicParams, clinic_reference
from metastasim.clinic.codes import N_SYMPTOMS
from metastasim.engine.kernel_params import KernelParams, params_reference
from metastasim.engine.loop import advance, start_patient
from metastasim.engine.state import C_LOG_N, N_CLINIC, N_SCALARS, S_N_LESIONS, PatientState, new_state, state_reference
from metastasim.units import DAYS_PER_YEAR

LESION_CAPACITY = 4096

#: Per-lesion state arrays copied into the records, in ChunkOutput order (after patient and row).
LESION_FIELDS: tuple[str, ...] = (
    "key",
    "parent",
    "site",
    "node",
    "route",
    "path",
    "phase",
    "t_born",
    "t_start",
    "rate",
    "inherited",
    "traits",
    "trait_time",
    "t_resistant",
    "t_clear",
    "n_seeded",
    "t_origin",
    "t_treated",
    "t_detected",
    "clone_of",
    "end_cause",
    "resistance_cells",
    "clone_resists",
)
LOG_FIELDS: tuple[str, ...] = ("log_day", "log_kind", "log_a", "log_b", "log_x", "log_y")


class ChunkOutput(NamedTuple):
    """Raw per-patient, per-lesion and clinical-log arrays of a simulated chunk."""

    scalars: np.ndarray  # [patients, N_SCALARS]
    clinic: np.ndarray  # [patients, N_CLINIC]
    symptom_day: np.ndarray  # [patients, N_SYMPTOMS]
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
    t_resistant: np.ndarray  # [lesions, N_RESISTANCES]
    t_clear: np.ndarray
    n_seeded: np.ndarray
    t_origin: np.ndarray
    t_treated: np.ndarray
    t_detected: np.ndarray
    clone_of: np.ndarray
    end_cause: np.ndarray
    resistance_cells: np.ndarray  # [lesions, N_RESISTANCES]
    clone_resists: np.ndarray
    log_patient: np.ndarray  # [log rows] patient_id
    log_day: np.ndarray
    log_kind: np.ndarray
    log_a: np.ndarray
    log_b: np.ndarray
    log_x: np.ndarray
    log_y: np.ndarray


def chunk_output_of(st: PatientState, patient_id: int) -> ChunkOutput:
    """The records of one patient's state as a one-patient chunk (copies, so the state can go on)."""
    n = int(st.scalars[S_N_LESIONS])
    m = int(st.clinic[C_LOG_N])
    d = st._asdict()
    return ChunkOutput._make(
        [
            st.scalars[None, :].copy(),
            st.clinic[None, :].copy(),
            st.symptom_day[None, :].copy(),
            st.census_total_cells[None, :].copy(),
            st.census_primary_cells[None, :].copy(),
            st.census_ctc[None, :].copy(),
            st.census_ctc_mean[None, :].copy(),
            np.full(n, patient_id, np.int64),
            np.arange(n, dtype=np.int32),
            *(d[f][:n].copy() for f in LESION_FIELDS),
            np.full(m, patient_id, np.int64),
            *(d[f][:m].copy() for f in LOG_FIELDS),
        ]
    )


def _lesion_buffers(n: int, st: PatientState) -> list[np.ndarray]:
    d = st._asdict()
    out: list[np.ndarray] = [np.zeros(n, np.int64), np.zeros(n, np.int32)]
    for f in LESION_FIELDS:
        a = d[f]
        out.append(np.zeros((n, *a.shape[1:]), a.dtype))
    return out


def _log_buffers(n: int, st: PatientState) -> list[np.ndarray]:
    d = st._asdict()
    return [np.zeros(n, np.int64), *(np.zeros(n, d[f].dtype) for f in LOG_FIELDS)]


@nb.njit(cache=True)
def _copy_rows(src, dst, cursor, n):
    for L in range(n):
        dst[cursor + L] = src[L]


@nb.njit(cache=True)
def _copy_rows_2d(src, dst, cursor, n):
    for L in range(n):
        dst[cursor + L, :] = src[L, :]


@nb.njit(cache=True)
def _run_patients(st, P, C, first_id, n_patients, start_index, horizon_days, per_patient, lb, cursor, logb, log_cursor):
    """Simulate patients from start_index on; return (next index, cursors) when done or a buffer is full."""
    scalars, clinic, symptom_day, c_total, c_primary, c_ctc, c_ctc_mean = per_patient
    cap = lb[0].shape[0]
    log_cap = logb[0].shape[0]
    for i in range(start_index, n_patients):
        pid = first_id + i
        start_patient(st, P, C, pid)
        advance(st, P, C, horizon_days, horizon_days)
        n = int(st.scalars[S_N_LESIONS])
        m = int(st.clinic[C_LOG_N])
        if cursor + n > cap or log_cursor + m > log_cap:
            return i, cursor, log_cursor
        scalars[i, :] = st.scalars
        clinic[i, :] = st.clinic
        symptom_day[i, :] = st.symptom_day
        c_total[i, :] = st.census_total_cells
        c_primary[i, :] = st.census_primary_cells
        c_ctc[i, :] = st.census_ctc
        c_ctc_mean[i, :] = st.census_ctc_mean
        for L in range(n):
            lb[0][cursor + L] = pid
            lb[1][cursor + L] = L
        _copy_rows(st.key, lb[2], cursor, n)
        _copy_rows(st.parent, lb[3], cursor, n)
        _copy_rows(st.site, lb[4], cursor, n)
        _copy_rows(st.node, lb[5], cursor, n)
        _copy_rows(st.route, lb[6], cursor, n)
        _copy_rows(st.path, lb[7], cursor, n)
        _copy_rows(st.phase, lb[8], cursor, n)
        _copy_rows(st.t_born, lb[9], cursor, n)
        _copy_rows(st.t_start, lb[10], cursor, n)
        _copy_rows(st.rate, lb[11], cursor, n)
        _copy_rows(st.inherited, lb[12], cursor, n)
        _copy_rows(st.traits, lb[13], cursor, n)
        _copy_rows_2d(st.trait_time, lb[14], cursor, n)
        _copy_rows_2d(st.t_resistant, lb[15], cursor, n)
        _copy_rows(st.t_clear, lb[16], cursor, n)
        _copy_rows(st.n_seeded, lb[17], cursor, n)
        _copy_rows(st.t_origin, lb[18], cursor, n)
        _copy_rows(st.t_treated, lb[19], cursor, n)
        _copy_rows(st.t_detected, lb[20], cursor, n)
        _copy_rows(st.clone_of, lb[21], cursor, n)
        _copy_rows(st.end_cause, lb[22], cursor, n)
        _copy_rows_2d(st.resistance_cells, lb[23], cursor, n)
        _copy_rows(st.clone_resists, lb[24], cursor, n)
        for j in range(m):
            logb[0][log_cursor + j] = pid
        _copy_rows(st.log_day, logb[1], log_cursor, m)
        _copy_rows(st.log_kind, logb[2], log_cursor, m)
        _copy_rows(st.log_a, logb[3], log_cursor, m)
        _copy_rows(st.log_b, logb[4], log_cursor, m)
        _copy_rows(st.log_x, logb[5], log_cursor, m)
        _copy_rows(st.log_y, logb[6], log_cursor, m)
        cursor += n
        log_cursor += m
    return n_patients, cursor, log_cursor


def _grow(buffers: list[np.ndarray], used: int, st: PatientState, make) -> list[np.ndarray]:
    grown = make(2 * len(buffers[0]), st)
    for old, new in zip(buffers, grown, strict=True):
        new[:used] = old[:used]
    return grown


def simulate_chunk(P: KernelParams, C: ClinicParams, first_patient_id: int, n_patients: int, years: int) -> ChunkOutput:
    """Simulate patients ``first_patient_id .. first_patient_id + n_patients - 1`` for `years` years."""
    horizon_days = years * DAYS_PER_YEAR
    st: PatientState = new_state(LESION_CAPACITY, P.regional_nodes, years)
    per_patient = (
        np.zeros((n_patients, N_SCALARS)),
        np.zeros((n_patients, N_CLINIC)),
        np.zeros((n_patients, N_SYMPTOMS)),
        np.zeros((n_patients, years)),
        np.zeros((n_patients, years)),
        np.zeros((n_patients, years), np.int64),
        np.zeros((n_patients, years)),
    )
    lb = _lesion_buffers(max(1024, 32 * n_patients), st)
    logb = _log_buffers(max(1024, 16 * n_patients), st)
    index, cursor, log_cursor = 0, 0, 0
    ref, P_ref, C_ref = state_reference(st), params_reference(P), clinic_reference(C)
    while True:
        index, cursor, log_cursor = _run_patients(
            ref,
            P_ref,
            C_ref,
            first_patient_id,
            n_patients,
            index,
            horizon_days,
            per_patient,
            tuple(lb),
            cursor,
            tuple(logb),
            log_cursor,
        )
        if index >= n_patients:
            break
        lb = _grow(lb, cursor, st, _lesion_buffers)
        logb = _grow(logb, log_cursor, st, _log_buffers)
    return ChunkOutput(*per_patient, *(b[:cursor] for b in lb), *(b[:log_cursor] for b in logb))
