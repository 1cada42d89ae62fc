"""One virtual patient that can be advanced day by day, saved, restored and branched.

This is the engine's handle for single-patient work (the story, the clinic's branching in later issues):
the same compiled loop as a cohort, with the state kept between calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.engine.chunk import chunk_output_of
from metastasim.engine.events import build_events
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.engine.loop import advance_state, handles, start_patient_state
from metastasim.engine.records import RecordBuilder
from metastasim.engine.state import (
    C_STOP_AT_DIAGNOSIS,
    C_STOPPED,
    C_T_DIAGNOSIS,
    S_N_LESIONS,
    S_T_NOW,
    PatientState,
    copy_state,
    new_state,
)
from metastasim.errors import MetastasimError, unknown_key_message
from metastasim.params.load import Parameters, load_parameters
from metastasim.units import DAYS_PER_YEAR

CAPACITY = 4096


class PatientSimulation:
    """A single patient's simulation; ``advance_to`` runs it forward, ``save``/``load`` keep its state."""

    def __init__(
        self,
        params: Parameters,
        seed: int,
        patient_id: int = 0,
        years: int = 20,
        state: PatientState | None = None,
        natural_history: bool = False,
    ) -> None:
        self.params = params
        self.seed = seed
        self.patient_id = patient_id
        self.years = years
        self.natural_history = natural_history
        self.horizon_days = years * DAYS_PER_YEAR
        self.P = build_kernel_params(params, seed)
        self.C = build_clinic_params(params, active=not natural_history)
        fresh = state is None
        if state is None:
            state = new_state(CAPACITY, self.P.regional_nodes, years)
        self.state = state
        self._refs = handles(state, self.P, self.C)  # built once: the compiled code works on these arrays
        if fresh:
            start_patient_state(self._refs, patient_id)

    @property
    def day(self) -> float:
        """The day up to which the patient has been simulated."""
        return float(self.state.scalars[S_T_NOW])

    def advance_to(self, day: float | None = None) -> PatientSimulation:
        """Run events up to `day` (default: the end of the horizon)."""
        self.state.clinic[C_STOP_AT_DIAGNOSIS] = 0.0
        advance_state(self._refs, self.horizon_days if day is None else float(day), self.horizon_days)
        return self

    def advance_to_diagnosis(self) -> bool:
        """Run until the cancer is diagnosed (before any treatment); False if the course ended undiagnosed."""
        self.state.clinic[C_STOP_AT_DIAGNOSIS] = 1.0
        advance_state(self._refs, self.horizon_days, self.horizon_days)
        self.state.clinic[C_STOP_AT_DIAGNOSIS] = 0.0
        stopped = bool(self.state.clinic[C_STOPPED])
        self.state.clinic[C_STOPPED] = 0.0
        return stopped

    @property
    def diagnosed(self) -> bool:
        """Whether the cancer has been diagnosed."""
        return bool(np.isfinite(self.state.clinic[C_T_DIAGNOSIS]))

    def with_params(self, params: Parameters) -> PatientSimulation:
        """This patient's current state continued under other parameters (e.g. another treatment policy).

        Only clinic parameters may differ: the biology of a branched patient must stay the same.
        """
        return PatientSimulation(
            params, self.seed, self.patient_id, self.years, copy_state(self.state), self.natural_history
        )

    def lesion_ids(self, site: str) -> list[int]:
        """Lesions (rows) currently in `site` (a name from anatomy.sites.SITES, or "primary")."""
        from metastasim.anatomy.sites import PRIMARY, SITES

        code = PRIMARY if site == "primary" else SITES.index(site) if site in SITES else None
        if code is None:
            raise MetastasimError(unknown_key_message("site", site, (*SITES, "primary")))
        n = int(self.state.scalars[S_N_LESIONS])
        return [int(i) for i in np.flatnonzero(self.state.site[:n] == code)]

    def branch(self) -> PatientSimulation:
        """An independent copy of this patient at its current day."""
        return PatientSimulation(
            self.params, self.seed, self.patient_id, self.years, copy_state(self.state), self.natural_history
        )

    def save(self, path: str | Path) -> None:
        """Write the full state, with the parameters and seed needed to continue it, to an .npz file."""
        meta = json.dumps(
            {
                "cancer": self.params.cancer,
                "meta": self.params.meta,
                "values": self.params.values,
                "seed": self.seed,
                "patient_id": self.patient_id,
                "years": self.years,
                "natural_history": self.natural_history,
            }
        )
        np.savez_compressed(path, _meta=np.array(meta), **self.state._asdict())

    @classmethod
    def load(cls, path: str | Path) -> PatientSimulation:
        """Restore a patient written by :meth:`save`; continuing it gives the same result as never stopping."""
        with np.load(path) as data:
            meta = json.loads(str(data["_meta"]))
            lacking = [name for name in PatientState._fields if name not in data.files]
            lacking += sorted(set(load_parameters(meta["cancer"]).values) - set(meta["values"]))
            if lacking:
                raise MetastasimError(
                    f"{path} was saved by another version of metastasim (it lacks {', '.join(lacking)}); "
                    "simulate the patient again with this version"
                )
            state = PatientState(**{name: data[name].copy() for name in PatientState._fields})
        params = Parameters(meta["cancer"], meta["meta"], meta["values"])
        return cls(params, meta["seed"], meta["patient_id"], meta["years"], state, meta.get("natural_history", False))

    def records(self, run_id: str = "patient") -> RecordBuilder:
        """Tables of this patient as simulated so far (call after ``advance_to``)."""
        out = chunk_output_of(self.state, self.patient_id)
        return RecordBuilder(out, self.params, self.P, run_id)

    def tables(self, run_id: str = "patient") -> dict[str, pd.DataFrame]:
        """Patients (one row), lesions, events and timeseries of this patient."""
        rb = self.records(run_id)
        return {
            "patients": rb.patients(),
            "lesions": rb.lesions(),
            "events": build_events(rb),
            "timeseries": rb.timeseries(),
        }
