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
from metastasim.clinic.codes import DEATH_CAUSES, LOG_KINDS
from metastasim.engine.clinic_records import DEATH_PHRASES, clinic_event_columns
from metastasim.engine.records import ALL_SITE_NAMES, SITE_LABELS, RecordBuilder, categorical
from metastasim.engine.state import (
    C_DEATH_CAUSE,
    END_HORIZON,
    ENDED_IMMUNE,
    ENDED_SURGERY,
    ENDED_TREATMENT,
    S_DEPTH_PER_RADIUS,
    S_END_REASON,
    S_GROWTH_RATE,
    S_T_BREACH,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
)

EVENT_NAMES = (
    "onset",
    "invasion",
    "t_category",
    "serosa_breached",
    "first_lymph_entry",
    "first_blood_entry",
    "trait_acquired",
    "resistant_subclone",
    "resistant_subclone_survives",
    "seeding",
    "dormant_cell_wakes",
    "micrometastasis",
    "macrometastasis",
    "reaches_10mm",
    "n_category",
    "immune_elimination",
    "removed_by_surgery",
    "eradicated_by_treatment",
    "end",
    *LOG_KINDS,
)

TRAIT_PHRASES = {
    "invasion": "breaks through its basement membrane (in situ to invasive)",
    "motility": "acquires motility (more cells enter vessels)",
    "circulation_survival": "acquires resistance to death in circulation",
    "colonisation": "acquires the ability to colonise distant organs",
    "immune_evasion": "acquires immune evasion",
}


#: The event log's columns, in order (after run_id).
EVENT_COLUMNS = ("patient_id", "day", "event", "lesion_id", "site", "node", "cells", "diameter_mm", "route",
                 "source_lesion_id", "detail", "value")


class EventLog:
    """Collects event rows from a :class:`RecordBuilder` as column arrays; `table` makes one DataFrame.

    Columns are kept as plain arrays (codes for the categorical ones) and concatenated once at the end: building a
    DataFrame per kind of event cost more than the events themselves for small chunks such as one patient.
    """

    def __init__(self, rb: RecordBuilder) -> None:
        self.rb = rb
        self.columns: dict[str, list[np.ndarray]] = {c: [] for c in EVENT_COLUMNS}

    def add(
        self,
        rows: np.ndarray,
        day: np.ndarray,
        event: str,
        detail: pd.Categorical | str,
        cells: np.ndarray | None = None,
        patient_level: bool = False,
    ) -> None:
        """Add one event per lesion row (global index) at `day`, dropping those after the patient's end.

        A `patient_level` event (the end of the course) is kept even when its lesion is already gone.
        """
        rb, o = self.rb, self.rb.o
        # Nothing happens to a lesion after the patient's end or after it was eliminated or removed.
        keep = np.isfinite(day) & (day <= rb.lesion_t_end[rows])
        if not patient_level:
            keep &= day <= o.t_clear[rows]
        rows, day = rows[keep], day[keep]
        n = len(rows)
        if n == 0:
            return
        cells = rb.size_at(rows, day) if cells is None else cells[keep]
        details = np.full(n, detail, object) if isinstance(detail, str) else np.asarray(detail[keep], object)
        self.append(
            patient_id=o.lesion_patient[rows],
            day=day,
            event=np.full(n, EVENT_NAMES.index(event), np.int16),
            lesion_id=o.lesion_row[rows],
            site=o.site[rows],
            node=o.node[rows],
            cells=cells,
            diameter_mm=rb.diameter_mm(cells),
            route=o.route[rows],
            source_lesion_id=o.parent[rows],
            detail=details,
            value=np.full(n, np.nan),
        )

    def append(self, **columns: np.ndarray) -> None:
        """Add rows given as one array per column (codes for event, site and route; -1 for none)."""
        for name in EVENT_COLUMNS:
            self.columns[name].append(np.asarray(columns[name]))

    def table(self) -> pd.DataFrame:
        """All events, ordered by patient and day (then lesion; rows added earlier first among equals)."""
        if not self.columns["day"]:
            return pd.DataFrame()
        c = {name: np.concatenate(parts) for name, parts in self.columns.items()}
        order = np.lexsort((c["lesion_id"], c["day"], c["patient_id"]))  # stable
        c = {name: a[order] for name, a in c.items()}
        return pd.DataFrame(
            {
                "run_id": self.rb.run_id,
                "patient_id": c["patient_id"],
                "day": c["day"],
                "event": pd.Categorical.from_codes(c["event"], categories=EVENT_NAMES),
                "lesion_id": c["lesion_id"],
                "site": categorical(c["site"], ALL_SITE_NAMES),
                "node": c["node"],
                "cells": c["cells"],
                "diameter_mm": c["diameter_mm"],
                "route": categorical(c["route"], ROUTES),
                "source_lesion_id": c["source_lesion_id"],
                "detail": pd.array(c["detail"], dtype="string"),
                "value": c["value"],
            }
        )


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
        log.add(rows, o.trait_time[rows, i], event, prefix + TRAIT_PHRASES[name])
    _t_category_events(rb, log)
    log.add(
        primaries,
        s[:, S_T_BREACH],
        "serosa_breached",
        "the primary breaches the serosa: its cells can seed the body cavity",
    )
    log.add(primaries, s[:, S_T_FIRST_LYMPH], "first_lymph_entry", "first cells enter lymphatic vessels")
    log.add(primaries, s[:, S_T_FIRST_BLOOD], "first_blood_entry", "first cells enter the blood")
    _resistance_events(rb, log)
    _seeding_events(rb, log)
    _size_events(rb, log)
    rows = np.flatnonzero(np.isfinite(o.t_clear) & (o.end_cause == ENDED_IMMUNE))
    log.add(
        rows,
        o.t_clear[rows],
        "immune_elimination",
        "eliminated by immune surveillance while small",
        cells=rb.size_at(rows, o.t_clear[rows] - 1e-9),
    )
    rows = np.flatnonzero(np.isfinite(o.t_clear) & (o.end_cause == ENDED_SURGERY))
    log.add(rows, o.t_clear[rows], "removed_by_surgery", "removed by surgery", cells=rb.size_at(rows, o.t_clear[rows]))
    rows = np.flatnonzero(np.isfinite(o.t_clear) & (o.end_cause == ENDED_TREATMENT))
    log.add(
        rows, o.t_clear[rows], "eradicated_by_treatment", "no cells left after treatment", cells=np.zeros(len(rows))
    )
    cause = o.clinic[:, C_DEATH_CAUSE].astype(np.int64)
    texts = ["end of the simulated period"] + [f"death from {DEATH_PHRASES[c]}" for c in DEATH_CAUSES[1:]]
    died = s[:, S_END_REASON] != END_HORIZON
    log.add(primaries, rb.t_end, "end", categorical(np.where(died, cause, 0), texts), patient_level=True)
    log.append(**clinic_event_columns(o, rb, first_code=EVENT_NAMES.index(LOG_KINDS[0])))
    return log.table()


#: Per drug class (biology.traits.RESIST_*): how its resistant subclone arises, and the drug named when it survives.
_ARISING_TEXTS = (
    "a subclone resistant to targeted therapy arises (Bozic et al. 2013)",
    "a subclone resistant to chemotherapy arises (Goldie and Coldman 1979)",
)
_AGENT_NAMES = ("targeted therapy", "chemotherapy")


def _resistance_events(rb: RecordBuilder, log: EventLog) -> None:
    """The day a resistant subclone arises in a lesion, and the day treatment leaves it as its own lesion.

    A subclone split off by treatment keeps the day it arose as its t_origin (its parent's t_resistant for
    that drug is cleared then), so the arising is logged on the parent the same day whether or not it was
    treated.
    """
    o = rb.o
    for drug in range(len(_ARISING_TEXTS)):
        t_res = o.t_resistant[:, drug]
        arisen = np.flatnonzero(np.isfinite(t_res) & (t_res > 0))
        clones = np.flatnonzero((o.clone_of >= 0) & (o.clone_resists == drug))
        parents = rb.base[rb.pidx[clones]] + o.clone_of[clones]
        days = np.r_[t_res[arisen], o.t_origin[clones]]
        log.add(np.r_[arisen, parents], days, "resistant_subclone", _ARISING_TEXTS[drug])
        used, inverse = np.unique(o.clone_of[clones], return_inverse=True)
        agent = _AGENT_NAMES[drug]
        texts = [
            f"{agent} kills the sensitive cells of lesion {p}; its resistant subclone survives as this lesion"
            for p in used
        ]
        log.add(
            clones,
            o.t_born[clones],
            "resistant_subclone_survives",
            categorical(inverse, texts),
            cells=np.full(len(clones), np.nan),  # its size then is in the treatment_effect row of the same day
        )


def _seeding_events(rb: RecordBuilder, log: EventLog) -> None:
    o = rb.o
    rows = np.flatnonzero((o.parent >= 0) & (o.clone_of < 0))  # a resistant subclone is not a seeding
    src = rb.base[rb.pidx[rows]] + o.parent[rows]
    dormant = (o.path[rows] == PATH_DORMANT).astype(np.int64)
    # One sentence per combination of source site, destination, route and fate: few distinct texts.
    n_sites, n_routes = len(ALL_SITE_NAMES), len(ROUTES)
    code = ((o.site[src].astype(np.int64) * n_sites + o.site[rows]) * n_routes + o.route[rows]) * 2 + dormant
    texts = []
    for c in range(n_sites * n_sites * n_routes * 2):
        fate, rest = c % 2, c // 2
        route, rest = rest % n_routes, rest // n_routes
        dst, source = rest % n_sites, rest // n_sites
        texts.append(
            f"a cell from the {SITE_LABELS[ALL_SITE_NAMES[source]]} arrests in the "
            f"{SITE_LABELS[ALL_SITE_NAMES[dst]]} (route: {ROUTES[route]}); "
            + ("it stays dormant" if fate else "it starts dividing")
        )
    used, inverse = np.unique(code, return_inverse=True)
    detail = categorical(inverse, [texts[c] for c in used])
    log.add(rows, o.t_born[rows], "seeding", detail, cells=np.ones(len(rows)))
    woke = rows[dormant.astype(bool)]
    log.add(
        woke,
        o.t_origin[woke],
        "dormant_cell_wakes",
        "a dormant cell wakes and starts dividing",
        cells=np.ones(len(woke)),
    )


def _size_events(rb: RecordBuilder, log: EventLog) -> None:
    o = rb.o
    met = np.flatnonzero(o.site != PRIMARY)
    nodal = o.site[met] == REGIONAL_NODES
    detail = categorical(nodal.astype(int), ["micrometastasis (0.2 mm)", "lymph node involved (deposit of 0.2 mm)"])
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
    d_inv = rb.diameter_mm(x_inv)
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
        day = np.where(day <= o.t_treated[primaries], day, np.inf)  # not reconstructed after treatment
        log.add(primaries, day, "t_category", text)


__all__ = ["build_events"]
