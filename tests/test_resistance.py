"""Goldie-Coldman resistance to chemotherapy: when resistant subclones arise and what treatment does to them.

Goldie and Coldman (1979, Cancer Treat Rep 63:1727): resistant cells arise at a constant rate u per new cell,
so a lesion that has grown to N cells holds a surviving resistant lineage with probability 1 - exp(-u(N - 1)).
Chemotherapy kills the sensitive cells and spares the resistant ones, which regrow.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import metastasim as ms
from metastasim.cohort.chunks import simulate_tables

SEED = 1
YEARS = 30
U_CHEMO = 1e-7  # the default evolution.chemo_resistance_rate_per_cell


def _chemo_arising(events: pd.DataFrame) -> pd.DataFrame:
    return events[(events.event == "resistant_subclone") & events.detail.astype(str).str.contains("to chemotherapy")]


def _chemo_clones(lesions: pd.DataFrame) -> pd.DataFrame:
    return lesions[lesions.subclone_resists.astype(str) == "chemotherapy"]


@pytest.fixture(scope="module")
def untreated():
    """300 colorectal patients (seed 1) with the clinic off: every lesion grows untouched to the end."""
    params = ms.load_parameters("colorectal", {"evolution.chemo_resistance_rate_per_cell": U_CHEMO})
    return simulate_tables(params, SEED, 0, 300, YEARS, "x", with_events=True, natural_history=True)


def test_chemo_resistance_arises_with_the_goldie_coldman_probability(untreated):
    """Among growing lesions not founded by a resistant cell, the number holding a resistant subclone at the end
    matches the sum of 1 - exp(-u(N - 1)) over their final sizes N: |z| < 4 (binomial variance of independent
    lesions). The same count is far (|z| > 4) from what ten times the rate would give, so the test can tell."""
    les, ev = untreated["lesions"], untreated["events"]
    arose = set(zip(*(_chemo_arising(ev)[c] for c in ("patient_id", "lesion_id")), strict=True))
    has_event = np.array([(p, lesion) in arose for p, lesion in zip(les.patient_id, les.lesion_id, strict=True)])
    founded = (les.chemo_resistant_fraction_end == 1.0) & ~has_event
    keep = (les.status_end.astype(str) == "growing") & ~founded & (les.resistant_subclone_of < 0)
    n_cells = les.cells_end[keep].to_numpy()
    observed = int((les.chemo_resistant_fraction_end[keep] > 0).sum())

    def z(u: float) -> float:
        p = -np.expm1(-u * np.maximum(n_cells - 1.0, 0.0))
        return (observed - p.sum()) / math.sqrt((p * (1 - p)).sum())

    p = -np.expm1(-U_CHEMO * np.maximum(n_cells - 1.0, 0.0))
    assert (p * (1 - p)).sum() > 20, "too few lesions of intermediate size to test the probability"
    assert abs(z(U_CHEMO)) < 4, z(U_CHEMO)
    assert abs(z(10 * U_CHEMO)) > 4, z(10 * U_CHEMO)


def _arising_keys(events: pd.DataFrame) -> set[tuple[int, int]]:
    arising = _chemo_arising(events)
    return set(zip(arising.patient_id, arising.lesion_id, strict=True))


def test_metastases_are_founded_resistant_with_their_sources_resistant_share():
    """A metastasis is founded by a resistant cell with probability equal to its source's resistant share on the
    day it was seeded (0 before the source's subclone arose, 1 if the source was itself founded resistant), and
    is then entirely resistant with no arising of its own. At a high rate (1e-4 per cell, so resistant sources
    are common) the count of founded metastases matches the sum of those shares: |z| < 4."""
    params = ms.load_parameters("colorectal", {"evolution.chemo_resistance_rate_per_cell": 1e-4})
    t = simulate_tables(params, SEED, 0, 100, YEARS, with_events=True, natural_history=True, run_id="x")
    les, ev = t["lesions"], t["events"]
    arising = _chemo_arising(ev).groupby(["patient_id", "lesion_id"]).day.min()
    keys = list(zip(les.patient_id, les.lesion_id, strict=True))
    arose_day = arising.reindex(keys).to_numpy()
    founded = ((les.chemo_resistant_fraction_end == 1.0) & np.isnan(arose_day)).to_numpy()
    by_key = {k: i for i, k in enumerate(keys)}
    mets = np.flatnonzero((les.parent_id >= 0).to_numpy() & (les.resistant_subclone_of < 0).to_numpy())
    src = np.array([by_key[(p, q)] for p, q in zip(les.patient_id.iloc[mets], les.parent_id.iloc[mets], strict=True)])
    seeded = les.day_seeded.to_numpy()[mets]
    share = np.where(
        founded[src],
        1.0,
        np.where(arose_day[src] <= seeded, les.chemo_resistant_fraction_end.to_numpy()[src], 0.0),
    )
    assert len(mets) > 1000 and (share * (1 - share)).sum() > 20
    z = (founded[mets].sum() - share.sum()) / math.sqrt((share * (1 - share)).sum())
    assert abs(z) < 4, z


@pytest.fixture(scope="module")
def palliative_chemo():
    """Colorectal patients (seed 1) whose metastatic disease gets chemotherapy alone, with and without
    chemotherapy resistance."""
    base = {"treatment.plan_stage_IV": ["chemotherapy"], "treatment.target_share": 0.0}
    return {
        name: simulate_tables(
            ms.load_parameters("colorectal", {**base, "evolution.chemo_resistance_rate_per_cell": u}),
            SEED,
            0,
            600,
            YEARS,
            "x",
            with_events=True,
        )
        for name, u in (("resistance", U_CHEMO), ("none", 0.0))
    }


def test_chemotherapy_spares_resistant_subclones_that_regrow(palliative_chemo):
    """Under chemotherapy each resistant subclone large enough to be logged grows over its course (cells after >
    cells at the split) while its sensitive parent shrinks (at least 90% of parents: the last weeks of a course
    are free regrowth); each subclone is split from a lesion of the same patient and site."""
    les, ev = palliative_chemo["resistance"]["lesions"], palliative_chemo["resistance"]["events"]
    clones = _chemo_clones(les)
    assert len(clones) > 20
    parents = les.set_index(["patient_id", "lesion_id"]).loc[
        list(zip(clones.patient_id, clones.resistant_subclone_of, strict=True))
    ]
    assert (parents.site.astype(str).to_numpy() == clones.site.astype(str).to_numpy()).all()
    eff = ev[(ev.event == "treatment_effect") & ev.detail.astype(str).str.startswith("chemotherapy")]
    clone_rows = eff.merge(clones[["patient_id", "lesion_id", "resistant_subclone_of"]], on=["patient_id", "lesion_id"])
    assert len(clone_rows) > 20
    assert (clone_rows.cells > clone_rows.value).all()
    parent_rows = eff.merge(
        clone_rows[["patient_id", "day", "resistant_subclone_of"]].rename(
            columns={"resistant_subclone_of": "lesion_id"}
        ),
        on=["patient_id", "day", "lesion_id"],
    )
    assert len(parent_rows) > 20
    assert (parent_rows.cells < parent_rows.value).mean() >= 0.9


def test_without_chemo_resistance_no_chemo_subclones_and_the_same_diagnoses(palliative_chemo):
    """Rate 0: no chemotherapy-resistant subclone, resistant cells or arising; resistance acts only under
    treatment, so the same patients are diagnosed on the same days."""
    none, ref = palliative_chemo["none"], palliative_chemo["resistance"]
    assert _chemo_clones(none["lesions"]).empty
    assert (none["lesions"].chemo_resistant_fraction_end == 0).all()
    assert _chemo_arising(none["events"]).empty
    assert not _chemo_clones(ref["lesions"]).empty
    pd.testing.assert_series_equal(none["patients"].day_diagnosis, ref["patients"].day_diagnosis)
