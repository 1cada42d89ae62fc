"""Turn the engine's raw arrays into the tables people read and query.

Patients, lesions and a yearly timeseries; everything here is vectorised numpy over a whole chunk.

Size thresholds follow pathology usage: a deposit of at least 0.2 mm is a micrometastasis (smaller ones
are isolated tumour cells), at least 2 mm a macrometastasis; 10 mm is taken as clinically detectable size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metastasim.anatomy.sites import (
    N_SITES,
    PRIMARY,
    REGIONAL_NODES,
    ROUTES,
    SITES,
)
from metastasim.biology.growth import cells_for_diameter, size_after_array, time_to_size_array
from metastasim.biology.traits import N_TRAITS, RESIST_CHEMO, RESIST_TARGETED, RESISTANCE_NAMES
from metastasim.engine.chunk import ChunkOutput
from metastasim.engine.clinic_records import clinical_columns
from metastasim.engine.kernel_params import KernelParams
from metastasim.engine.state import (
    END_REASONS,
    ENDED_NAMES,
    S_ABSORBED,
    S_DEPTH_PER_RADIUS,
    S_DORMANT_ARRIVALS,
    S_DOUBLING_TIME,
    S_END_REASON,
    S_GROWTH_RATE,
    S_OVERFLOW,
    S_PATIENT_ID,
    S_T_BREACH,
    S_T_END,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
    S_T_INVASION,
)
from metastasim.params.load import Parameters
from metastasim.units import DAYS_PER_YEAR

MICROMETASTASIS_MM = 0.2
MACROMETASTASIS_MM = 2.0
DETECTABLE_MM = 10.0
#: Sites counted "involved at first metastatic diagnosis": lesions of at least this diameter then.
SITE_INVOLVEMENT_MM = 5.0

SITE_LABELS: dict[str, str] = {
    "liver": "liver",
    "lung": "lung",
    "bone": "bone",
    "brain": "brain",
    "adrenal": "adrenal gland",
    "pleura": "pleura",
    "peritoneum": "peritoneum",
    "other": "other organs",
    "regional_nodes": "regional lymph nodes",
    "distant_nodes": "distant lymph nodes",
    "primary": "primary",
}
ALL_SITE_NAMES = (*SITES, "primary")


def _is_distant(site: np.ndarray) -> np.ndarray:
    return (site != PRIMARY) & (site != REGIONAL_NODES)


def _first_by_patient(pidx: np.ndarray, values: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, pidx[mask], values[mask])
    return out


def _finite_or_nan(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


def categorical(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pd.Categorical:
    """Strings as a categorical: fast to build for millions of rows and compact in the database."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(names))


STATUS_NAMES = ("growing", "dormant", "eliminated")
PATH_NAMES = ("origin", "direct", "dormant")


class RecordBuilder:
    """Build tables for one simulated chunk (one instance per chunk)."""

    def __init__(self, out: ChunkOutput, params: Parameters, P: KernelParams, run_id: str) -> None:
        self.o = out
        self.params = params
        self.P = P
        self.run_id = run_id
        self.n_patients = out.scalars.shape[0]
        self.pid0 = int(out.scalars[0, S_PATIENT_ID]) if self.n_patients else 0
        self.pidx = (out.lesion_patient - self.pid0).astype(np.int64)
        self.t_end = out.scalars[:, S_T_END]
        self.lesion_t_end = self.t_end[self.pidx]
        self.base = np.zeros(self.n_patients + 1, np.int64)
        np.add.at(self.base, self.pidx + 1, 1)
        self.base = np.cumsum(self.base)[:-1]  # global row of each patient's primary
        self._derive_lesions()

    # --- lesion-level quantities -------------------------------------------------------------------
    def size_at(self, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Cells of lesions `rows` (global indices) at `day` (1 while dormant, 0 once eliminated)."""
        o = self.o
        # Before a lesion's first treatment it follows its original course; after, its current one.
        start = np.where(day < o.t_treated[rows], o.t_origin[rows], o.t_start[rows])
        cells = size_after_array(self.P.law, o.rate[rows], self.P.capacity_arg, self.P.exponent_arg, day - start)
        cells = np.where(day < start, 1.0, cells)
        return np.where(day >= o.t_clear[rows], 0.0, cells)

    def _day_reaching(self, diameter: float) -> np.ndarray:
        o = self.o
        n = len(o.rate)
        target = np.full(n, cells_for_diameter(diameter, self.P.cells_per_cm3))
        dt = time_to_size_array(self.P.law, o.rate, self.P.capacity_arg, self.P.exponent_arg, np.ones(n), target)
        day = o.t_origin + dt
        # Sizes reached after the first treatment are not reconstructed (the clinical log records effects); a
        # resistant subclone's row begins when treatment splits it off, and the sizes before are its parent's.
        ok = (day <= self.lesion_t_end) & (day < o.t_clear) & (o.t_origin <= self.lesion_t_end) & (day <= o.t_treated)
        ok &= day >= o.t_born
        return np.where(ok, day, np.nan)

    def _derive_lesions(self) -> None:
        o = self.o
        t_end = self.lesion_t_end
        self.status = np.where(o.t_start > t_end, 1, np.where(o.t_clear <= t_end, 2, 0))  # STATUS_NAMES codes
        self.cells_end = self.size_at(np.arange(len(o.rate)), t_end)
        self.cells_end = np.where(self.status == 1, 1.0, self.cells_end)
        self.day_micro = self._day_reaching(MICROMETASTASIS_MM)
        self.day_macro = self._day_reaching(MACROMETASTASIS_MM)
        self.day_detectable = self._day_reaching(DETECTABLE_MM)
        self.generation = self._generation()

    def _generation(self) -> np.ndarray:
        parent_global = np.where(self.o.parent >= 0, self.base[self.pidx] + self.o.parent, -1)
        gen = np.where(parent_global < 0, 0, -1)
        for _ in range(64):
            todo = gen < 0
            if not todo.any():
                break
            parent_gen = gen[parent_global[todo]]
            gen[np.flatnonzero(todo)[parent_gen >= 0]] = parent_gen[parent_gen >= 0] + 1
        return gen

    # --- tables ----------------------------------------------------------------------------------------
    def lesions(self) -> pd.DataFrame:
        """One row per lesion (including eliminated ones and dormant cells destined to wake)."""
        o = self.o
        keep = o.t_born <= self.lesion_t_end
        traits_end = np.zeros(len(o.rate), np.int32)
        for i in range(N_TRAITS):
            traits_end |= np.where(o.trait_time[:, i] <= self.lesion_t_end, 1 << i, 0).astype(np.int32)
        resistant = self._resistant_fraction_end()
        resists = np.where(o.clone_resists >= 0, o.clone_resists + 1, 0)
        df = pd.DataFrame(
            {
                "run_id": self.run_id,
                "patient_id": o.lesion_patient,
                "lesion_id": o.lesion_row,
                "parent_id": o.parent,
                "generation": self.generation,
                "site": categorical(o.site, ALL_SITE_NAMES),
                "node": o.node,
                "route": categorical(o.route, ROUTES),
                "path": categorical(o.path, PATH_NAMES),
                "day_seeded": o.t_born,
                "day_growth_start": _finite_or_nan(o.t_start),
                "status_end": categorical(self.status, STATUS_NAMES),
                "cells_end": self.cells_end,
                "diameter_mm_end": self.diameter_mm(self.cells_end),
                "day_micrometastasis": self.day_micro,
                "day_macrometastasis": self.day_macro,
                "day_detectable": self.day_detectable,
                "day_eliminated": np.where(o.t_clear <= self.lesion_t_end, o.t_clear, np.nan),
                "traits": traits_end,
                "targeted_resistant_fraction_end": resistant[:, RESIST_TARGETED],
                "chemo_resistant_fraction_end": resistant[:, RESIST_CHEMO],
                "ended_by": categorical(o.end_cause, ENDED_NAMES),
                "resistant_subclone_of": o.clone_of,
                "subclone_resists": categorical(resists, ("", *RESISTANCE_NAMES)),
                "day_detected": _finite_or_nan(o.t_detected),
                "day_first_treated": _finite_or_nan(o.t_treated),
            }
        )
        return df[keep].reset_index(drop=True)

    def diameter_mm(self, cells: np.ndarray) -> np.ndarray:
        """Diameter (mm) of spheres of `cells` cells (0 for none)."""
        return np.where(cells > 0, (6.0 * cells / self.P.cells_per_cm3 * 1000.0 / np.pi) ** (1 / 3), 0.0)

    def _resistant_fraction_end(self) -> np.ndarray:
        """[lesions, drug class] share of each lesion's cells resistant to each drug at the end (see evolution)."""
        o = self.o
        t_end = self.lesion_t_end[:, None]
        founded = o.t_resistant == -np.inf
        arisen = np.isfinite(o.t_resistant) & (o.t_resistant <= t_end)
        frac = np.where(arisen, np.minimum(1.0, self.P.resistant_clone_founding_cells / o.resistance_cells), 0.0)
        return np.where(founded, 1.0, frac)

    def patients(self) -> pd.DataFrame:
        """One row per patient: timing of spread, sizes then, state and true TNM at the end."""
        o, n = self.o, self.n_patients
        s = o.scalars
        pidx = self.pidx
        distant = _is_distant(o.site)
        nodal = o.site == REGIONAL_NODES
        first_lymph_seed = _first_by_patient(pidx, o.t_born, nodal, n)
        first_distant_seed = _first_by_patient(pidx, o.t_born, distant, n)
        grow_rate = s[:, S_GROWTH_RATE]
        primary_at = self._primary_cells(grow_rate, first_distant_seed)
        day_det = _first_by_patient(pidx, self.day_detectable, distant & ~np.isnan(self.day_detectable), n)
        growing_end = self.status == 0
        involved_end = nodal & growing_end & ~np.isnan(self.day_micro)
        n_nodes_end = self._distinct_nodes(involved_end)
        distant_met_end = distant & growing_end & ~np.isnan(self.day_micro)
        n_distant_end = np.bincount(pidx[distant_met_end], minlength=n)
        primary_cells_end = self.cells_end[self.base]
        t_cat = self._t_category(primary_cells_end, s)
        n_cat = self._n_category(n_nodes_end)
        m_cat = np.where(n_distant_end > 0, "M1", "M0")
        sites_end = self._site_list(distant_met_end)
        sites_at_detection = self._sites_at(day_det)
        label = self.params.meta.get("label", self.params.cancer)
        names = np.where(
            n_distant_end > 0, [f"metastatic {label}: {x}" for x in sites_end], f"{label}, no distant metastasis"
        )
        return pd.DataFrame(
            {
                "run_id": self.run_id,
                "patient_id": s[:, S_PATIENT_ID].astype(np.int64),
                "doubling_time_days": s[:, S_DOUBLING_TIME],
                "depth_per_radius": s[:, S_DEPTH_PER_RADIUS],
                "day_invasion": _finite_or_nan(s[:, S_T_INVASION]),
                "day_serosa_breach": _finite_or_nan(s[:, S_T_BREACH]),
                "day_first_lymph_entry": _finite_or_nan(s[:, S_T_FIRST_LYMPH]),
                "day_first_blood_entry": _finite_or_nan(s[:, S_T_FIRST_BLOOD]),
                "day_first_lymph_seeding": _finite_or_nan(first_lymph_seed),
                "primary_cells_at_first_lymph_seeding": _finite_or_nan(
                    self._primary_cells(grow_rate, first_lymph_seed)
                ),
                "day_first_distant_seeding": _finite_or_nan(first_distant_seed),
                "primary_cells_at_first_distant_seeding": _finite_or_nan(primary_at),
                "primary_cm3_at_first_distant_seeding": _finite_or_nan(primary_at / self.P.cells_per_cm3),
                "day_first_node_involved": _finite_or_nan(
                    _first_by_patient(pidx, self.day_micro, nodal & ~np.isnan(self.day_micro), n)
                ),
                "day_first_distant_metastasis": _finite_or_nan(
                    _first_by_patient(pidx, self.day_micro, distant & ~np.isnan(self.day_micro), n)
                ),
                "day_first_distant_macrometastasis": _finite_or_nan(
                    _first_by_patient(pidx, self.day_macro, distant & ~np.isnan(self.day_macro), n)
                ),
                "day_first_distant_detectable": _finite_or_nan(day_det),
                "sites_at_first_detectable_metastasis": sites_at_detection,
                "day_end": self.t_end,
                "end_reason": categorical(s[:, S_END_REASON].astype(int), END_REASONS),
                "n_lesions": np.bincount(pidx[o.t_born <= self.lesion_t_end], minlength=n),
                "n_dormant_arrivals": s[:, S_DORMANT_ARRIVALS].astype(np.int64),
            # Cells that lodged in a node already holding a growing deposit and joined it. The primary's cells bound
            # for an involved sentinel node are thinned away unsimulated (engine.scheduling.refresh_seeding), so
            # this counts the other arrivals only.
            "node_arrivals_joining_a_deposit": s[:, S_ABSORBED].astype(np.int64),
            "lesions_over_capacity": s[:, S_OVERFLOW].astype(np.int64),
                "primary_cells_end": primary_cells_end,
                "primary_diameter_mm_end": self.diameter_mm(primary_cells_end),
                "total_cells_end": np.bincount(
                    pidx, weights=np.where(self.status == 0, self.cells_end, 0.0), minlength=n
                ),
                "n_involved_nodes_end": n_nodes_end,
                "n_distant_metastases_end": n_distant_end,
                "sites_end": sites_end,
                "t_category_end": t_cat,
                "n_category_end": n_cat,
                "m_category_end": m_cat,
                "disease": names,
                **clinical_columns(o.clinic, self.t_end, o.symptom_day),
            }
        )

    def _distinct_nodes(self, mask: np.ndarray) -> np.ndarray:
        # A dormant cell and a later deposit can share a node: count nodes, not deposits.
        pairs = np.unique(np.stack([self.pidx[mask], self.o.node[mask].astype(np.int64)]), axis=1)
        return np.bincount(pairs[0], minlength=self.n_patients) if pairs.size else np.zeros(self.n_patients, np.int64)

    def _primary_cells(self, rate: np.ndarray, day: np.ndarray) -> np.ndarray:
        ok = np.isfinite(day)
        cells = size_after_array(self.P.law, rate, self.P.capacity_arg, self.P.exponent_arg, np.where(ok, day, 0.0))
        return np.where(ok, cells, np.inf)

    def depth_mm(self, cells: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """Depth of invasion of primaries of `cells` cells for patients with these scalars rows."""
        t_inv = scalars[:, S_T_INVASION]
        invaded = np.isfinite(t_inv)
        x_inv = self._primary_cells(scalars[:, S_GROWTH_RATE], np.where(invaded, t_inv, 0.0))
        d_now = self.diameter_mm(cells)
        d_inv = self.diameter_mm(np.where(invaded, x_inv, cells))
        return np.where(invaded, np.maximum(0.0, scalars[:, S_DEPTH_PER_RADIUS] * 0.5 * (d_now - d_inv)), 0.0)

    def _t_category(self, cells: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        thresholds = np.asarray(self.params["staging.t_thresholds_mm"], float)
        by_depth = self.params["staging.t_basis"] == "depth"
        measure = self.depth_mm(cells, scalars) if by_depth else self.diameter_mm(cells)
        cat = np.array(["T1", "T2", "T3", "T4"])[np.searchsorted(thresholds, measure, side="right")]
        return np.where(np.isfinite(scalars[:, S_T_INVASION]), cat, "Tis")

    def _n_category(self, count: np.ndarray) -> np.ndarray:
        thresholds = np.asarray(self.params["staging.n_thresholds"], float)
        labels = np.array([f"N{i}" for i in range(len(thresholds) + 1)])
        return labels[np.searchsorted(thresholds, count, side="right")]

    def _site_sets(self, mask: np.ndarray) -> np.ndarray:
        """[patient, site] True where the patient has a lesion selected by `mask` in that site."""
        has = np.zeros((self.n_patients, N_SITES + 1), bool)
        has[self.pidx[mask], self.o.site[mask]] = True
        return has[:, :N_SITES]

    def _site_list(self, mask: np.ndarray) -> list[str]:
        return [", ".join(SITE_LABELS[SITES[j]] for j in range(N_SITES) if row[j]) for row in self._site_sets(mask)]

    def _sites_at(self, day_per_patient: np.ndarray) -> list[str]:
        day = day_per_patient[self.pidx]
        ok = np.isfinite(day) & _is_distant(self.o.site)
        rows = np.flatnonzero(ok)
        cells = self.size_at(rows, day[rows])
        big = np.zeros(len(self.o.site), bool)
        big[rows] = cells >= cells_for_diameter(SITE_INVOLVEMENT_MM, self.P.cells_per_cm3)
        return [",".join(SITES[j] for j in range(N_SITES) if row[j]) for row in self._site_sets(big)]

    def timeseries(self) -> pd.DataFrame:
        """One row per patient and completed year alive: burden, involved nodes, metastases, CTCs."""
        o, n = self.o, self.n_patients
        years = o.census_total_cells.shape[1]
        counts = {}
        for name, mask in (
            ("n_involved_nodes", o.site == REGIONAL_NODES),
            ("n_distant_metastases", _is_distant(o.site)),
        ):
            m = mask & ~np.isnan(self.day_micro)
            start = np.ceil(self.day_micro[m] / DAYS_PER_YEAR).astype(np.int64)
            stop_day = np.minimum(o.t_clear[m], self.lesion_t_end[m] + 1e-9)
            stop = np.ceil(stop_day / DAYS_PER_YEAR).astype(np.int64)  # first census not counted
            diff = np.zeros((n, years + 2), np.int64)
            np.add.at(diff, (self.pidx[m], np.clip(start, 0, years + 1)), 1)
            np.add.at(diff, (self.pidx[m], np.clip(stop, 0, years + 1)), -1)
            counts[name] = np.cumsum(diff, axis=1)[:, 1 : years + 1]
        year = np.arange(1, years + 1)
        alive = year[None, :] * DAYS_PER_YEAR <= self.t_end[:, None] + 1e-9
        pid = np.repeat(o.scalars[:, S_PATIENT_ID].astype(np.int64), years)
        df = pd.DataFrame(
            {
                "run_id": self.run_id,
                "patient_id": pid,
                "year": np.tile(year, n),
                "total_cells": o.census_total_cells.ravel(),
                "primary_cells": o.census_primary_cells.ravel(),
                "n_involved_nodes": counts["n_involved_nodes"].ravel(),
                "n_distant_metastases": counts["n_distant_metastases"].ravel(),
                "ctc_per_7_5ml": o.census_ctc.ravel(),
                "ctc_expected_per_7_5ml": o.census_ctc_mean.ravel(),
            }
        )
        return df[alive.ravel()].reset_index(drop=True)


__all__ = ["DETECTABLE_MM", "MACROMETASTASIS_MM", "MICROMETASTASIS_MM", "SITE_LABELS", "RecordBuilder"]
