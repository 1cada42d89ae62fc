"""The event log: every step of each patient's cascade as a dated row, derived from the lesion records.

Each row says what happened (``event``), when (``day``), where (``site``, ``lesion_id``), how big
(``cells``, ``diameter_mm``), how the cell got there (``route``, ``source_lesion_id``) and why, in words
(``detail``). The log is built after simulation from the times the engine drew, so it costs nothing in
the event loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metastasim.anatomy.sites import PRIMARY, REGIONAL_NODES, ROUTES
from metastasim.biology.colonisation import PATH_DORMANT
from metastasim.biology.growth import cells_for_diameter, time_to_size_array
from metastasim.biology.traits import INVASION, N_TRAITS, TRAIT_NAMES
from metastasim.engine.records import ALL_SITE_NAMES, SITE_LABELS, RecordBuilder
from metastasim.engine.state import (
    END_LETHAL,
    S_DEPTH_PER_RADIUS,
    S_END_REASON,
    S_GROWTH_RATE,
    S_T_BREACH,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
)

TRAIT_PHRASES = {
    "invasion": "breaks through its basement membrane (in situ to invasive)",
    "motility": "acquires motility (more cells enter vessels)",
    "circulation_survival": "acquires resistance to death in circulation",
    "colonisation": "acquires the ability to colonise distant organs",
    "immune_evasion": "acquires immune evasion",
}


def _site_label(code: np.ndarray, node: np.ndarray) -> list[str]:
    names = np.array(ALL_SITE_NAMES)[code]
    out = []
    for name, n in zip(names, node, strict=True):
        if name == "regional_nodes":
            out.append("sentinel lymph node" if n == 0 else f"regional lymph node {n}")
        else:
            out.append(SITE_LABELS[name] if name != "primary" else "primary")
    return out


class EventLog:
    """Collects event rows from a :class:`RecordBuilder` into one DataFrame."""

    def __init__(self, rb: RecordBuilder) -> None:
        self.rb = rb
        self.parts: list[pd.DataFrame] = []

    def add(self, rows: np.ndarray, day: np.ndarray, event: str, detail: list[str] | str,
            cells: np.ndarray | None = None) -> None:
        """Add one event per lesion row (global index) at `day`, dropping those after the patient's end."""
        rb, o = self.rb, self.rb.o
        # Nothing happens to a lesion after the patient's end or after its immune elimination.
        keep = np.isfinite(day) & (day <= rb.lesion_t_end[rows]) & (day <= o.t_clear[rows])
        rows, day = rows[keep], day[keep]
        if isinstance(detail, list):
            detail = list(np.asarray(detail, dtype=object)[keep])
        if cells is None:
            cells = rb.size_at(rows, day)
        else:
            cells = cells[keep]
        parent = o.parent[rows]
        self.parts.append(pd.DataFrame({
            "patient_id": o.lesion_patient[rows],
            "day": day,
            "event": event,
            "lesion_id": o.lesion_row[rows],
            "site": _site_label(o.site[rows], o.node[rows]),
            "cells": cells,
            "diameter_mm": rb._diameter(cells),
            "route": np.array(ROUTES)[o.route[rows]],
            "source_lesion_id": parent,
            "detail": detail,
        }))

    def table(self) -> pd.DataFrame:
        """All events, ordered by patient and day."""
        if not self.parts:
            return pd.DataFrame()
        df = pd.concat([p for p in self.parts if len(p)], ignore_index=True)
        df.insert(0, "run_id", self.rb.run_id)
        return df.sort_values(["patient_id", "day", "lesion_id"], kind="stable").reset_index(drop=True)


def build_events(rb: RecordBuilder) -> pd.DataFrame:
    """Return the event log of every patient of a chunk."""
    o, s = rb.o, rb.o.scalars
    log = EventLog(rb)
    primaries = rb.base
    label = rb.params.meta.get("primary_organ", "primary organ")
    log.add(primaries, np.zeros(len(primaries)), "onset", f"first malignant cell in the {label}")
    # Traits, including invasion of the primary.
    for i in range(N_TRAITS):
        rows = np.flatnonzero((o.inherited & (1 << i)) == 0)
        name = TRAIT_NAMES[i]
        event = "invasion" if i == INVASION else "trait_acquired"
        prefix = "the primary " if i == INVASION else ""
        log.add(rows, o.trait_time[rows, i], event, prefix + TRAIT_PHRASES[name] if i == INVASION else
                [f"lesion {lid} {TRAIT_PHRASES[name]}" for lid in o.lesion_row[rows]])
    _t_category_events(rb, log)
    log.add(primaries, s[:, S_T_BREACH], "serosa_breached",
            "the primary breaches the serosa: its cells can seed the body cavity")
    log.add(primaries, s[:, S_T_FIRST_LYMPH], "first_lymph_entry", "first cells enter lymphatic vessels")
    log.add(primaries, s[:, S_T_FIRST_BLOOD], "first_blood_entry", "first cells enter the blood")
    rows = np.flatnonzero(np.isfinite(o.t_resistant) & (o.t_resistant > 0))
    log.add(rows, o.t_resistant[rows], "resistant_subclone",
            "a subclone resistant to targeted therapy arises (Bozic et al. 2013)")
    _seeding_events(rb, log)
    _size_events(rb, log)
    rows = np.flatnonzero(np.isfinite(o.t_clear))
    log.add(rows, o.t_clear[rows], "immune_elimination", "eliminated by immune surveillance while small",
            cells=rb.size_at(rows, o.t_clear[rows] - 1e-9))
    end = np.where(s[:, S_END_REASON] == END_LETHAL, "lethal tumour burden reached (about 1 kg of tumour)",
                   "end of the simulated period")
    log.add(primaries, rb.t_end, "end", list(end))
    return log.table()


def _seeding_events(rb: RecordBuilder, log: EventLog) -> None:
    o = rb.o
    rows = np.flatnonzero(o.parent >= 0)
    src = rb.base[rb.pidx[rows]] + o.parent[rows]
    src_names = _site_label(o.site[src], o.node[src])
    dst_names = _site_label(o.site[rows], o.node[rows])
    routes = np.array(ROUTES)[o.route[rows]]
    dormant = o.path[rows] == PATH_DORMANT
    detail = [
        f"a cell from lesion {p} ({sn}) arrests in the {dn} (route: {r}); "
        + ("it stays dormant" if d else "it starts dividing")
        for p, sn, dn, r, d in zip(o.parent[rows], src_names, dst_names, routes, dormant, strict=True)
    ]
    log.add(rows, o.t_born[rows], "seeding", detail, cells=np.ones(len(rows)))
    woke = rows[dormant]
    waits = o.t_start[woke] - o.t_born[woke]
    log.add(woke, o.t_start[woke], "dormant_cell_wakes",
            [f"a dormant cell wakes after {w:.0f} days and starts dividing" for w in waits], cells=np.ones(len(woke)))


def _size_events(rb: RecordBuilder, log: EventLog) -> None:
    o = rb.o
    met = np.flatnonzero(o.site != PRIMARY)
    nodal = o.site[met] == REGIONAL_NODES
    detail = ["lymph node involved (deposit of 0.2 mm)" if n else "micrometastasis (0.2 mm)" for n in nodal]
    log.add(met, rb.day_micro[met], "micrometastasis", detail)
    log.add(met, rb.day_macro[met], "macrometastasis", "macrometastasis (2 mm)")
    log.add(met, rb.day_detectable[met], "reaches_10mm", "reaches 10 mm, a size imaging can usually see")
    _n_category_events(rb, log, met[nodal])


def _n_category_events(rb: RecordBuilder, log: EventLog, node_rows: np.ndarray) -> None:
    """N category rises as the count of involved regional nodes passes each threshold."""
    thresholds = [int(t) for t in rb.params["staging.n_thresholds"]]
    day = rb.day_micro[node_rows]
    ok = ~np.isnan(day)
    node_rows, day = node_rows[ok], day[ok]
    order = np.lexsort((day, rb.pidx[node_rows]))
    node_rows, day = node_rows[order], day[order]
    pid = rb.pidx[node_rows]
    rank = np.arange(len(pid)) - np.searchsorted(pid, pid)  # 0-based order of involvement per patient
    for k, t in enumerate(thresholds, start=1):
        hit = rank == t - 1
        log.add(node_rows[hit], day[hit], "n_category", f"N{k}: {t} or more regional lymph nodes involved")


def _t_category_events(rb: RecordBuilder, log: EventLog) -> None:
    """Days the primary's T category changes, from its growth law and depth (or diameter) thresholds."""
    o, s = rb.o, rb.o.scalars
    thresholds = np.asarray(rb.params["staging.t_thresholds_mm"], float)
    primaries = rb.base
    rate = s[:, S_GROWTH_RATE]
    t_inv = o.trait_time[primaries, INVASION]
    invaded = np.isfinite(t_inv)
    x_inv = rb._primary_cells(rate, np.where(invaded, t_inv, 0.0))
    d_inv = rb._diameter(x_inv)
    k = s[:, S_DEPTH_PER_RADIUS]
    log.add(primaries, np.where(invaded, t_inv, np.inf), "t_category", "T1: invasive tumour")
    for j, thr in enumerate(thresholds):
        if rb.params["staging.t_basis"] == "depth":
            diameter = d_inv + 2.0 * thr / np.maximum(k, 1e-12)
            text = f"T{j + 2}: invasion {thr:g} mm deep"
        else:
            diameter = np.full(len(primaries), thr)
            text = f"T{j + 2}: primary {thr:g} mm across"
        target = cells_for_diameter(1.0, rb.P.cells_per_cm3) * diameter**3
        dt = time_to_size_array(rb.P.law, rate, rb.P.capacity_arg, rb.P.exponent_arg, np.ones(len(rate)), target)
        day = np.where(invaded, np.maximum(dt, t_inv), np.inf)
        log.add(primaries, day, "t_category", text)


__all__ = ["build_events"]
