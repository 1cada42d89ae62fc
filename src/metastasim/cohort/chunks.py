"""Simulate one chunk of a cohort and turn it into tables; runs in the main process or a worker."""

from __future__ import annotations

import pandas as pd

from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.engine.chunk import simulate_chunk
from metastasim.engine.events import build_events
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.engine.records import RecordBuilder
from metastasim.params.load import Parameters


def simulate_tables(
    params: Parameters,
    seed: int,
    first_patient_id: int,
    n_patients: int,
    years: int,
    run_id: str,
    with_events: bool = True,
    natural_history: bool = False,
) -> dict[str, pd.DataFrame]:
    """Simulate patients ``first_patient_id ..`` and return their patients, lesions, events, timeseries.

    With `natural_history`, the clinic is off: no symptoms, diagnosis, treatment or death from other causes;
    the disease runs untreated to the lethal burden or the horizon.
    """
    P = build_kernel_params(params, seed)
    C = build_clinic_params(params, active=not natural_history)
    out = simulate_chunk(P, C, first_patient_id, n_patients, years)
    rb = RecordBuilder(out, params, P, run_id)
    tables = {"patients": rb.patients(), "lesions": rb.lesions(), "timeseries": rb.timeseries()}
    if with_events:
        tables["events"] = build_events(rb)
    return tables


def chunk_bounds(n_patients: int, chunk_size: int) -> list[tuple[int, int]]:
    """Split patient ids 0..n-1 into (first id, count) chunks."""
    return [(start, min(chunk_size, n_patients - start)) for start in range(0, n_patients, chunk_size)]
