"""Unit checks of the clinic's mechanisms against independent formulas and the published tables.

The compiled clinic's kernels (numba functions in ``metastasim.clinic``) are called directly on a real patient
state: a colorectal patient simulated with ``PatientSimulation`` up to the day of diagnosis, before any
treatment. Every expected value is computed here from a textbook formula and the parameter files, never copied
from a simulation:

- radiation: the linear-quadratic surviving fraction ln S = -n(αd + βd²), β = α/(α/β);
- chemotherapy: Norton-Simon log-kill, proportional to the Gompertz growth rate b·ln(K/x) and capped;
- imaging: the CT liver sensitivity by size of Ko et al. 2017 (data/imaging.toml, data/reference/imaging.csv);
- staging: AJCC-like N categories, stage groups and SEER summary stage.

Deterministic checks use tight relative tolerances (1e-9, round-off of the closed-form growth law); the one
statistical check (scan detection rates) uses 4 binomial standard errors.
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import metastasim as ms
from metastasim.anatomy.sites import BRAIN, LIVER, PRIMARY, SITES
from metastasim.api import load_policies
from metastasim.biology.growth import cells_for_diameter
from metastasim.biology.shedding import lesion_size
from metastasim.biology.traits import RESIST_CHEMO, RESIST_TARGETED
from metastasim.clinic import therapy, treatment
from metastasim.clinic.burden import is_alive
from metastasim.clinic.clinic_params import _lq_ln_survival, build_clinic_params
from metastasim.clinic.codes import (
    CAUSE_BURDEN,
    CT,
    IMAGING_TARGETS,
    LOG_DEATH,
    LOG_SYMPTOM,
    MODALITIES,
    SEER_DISTANT,
    SEER_LOCALIZED,
    SEER_REGIONAL,
    TR_CHEMO,
)
from metastasim.clinic.death import die
from metastasim.clinic.imaging import scan, sensitivity
from metastasim.clinic.log import log
from metastasim.clinic.staging import (
    RULE_BREAST,
    RULE_COLORECTAL,
    RULE_GENERIC,
    RULE_LUNG,
    n_category,
    seer_stage,
    stage_group,
)
from metastasim.cohort.chunks import simulate_tables
from metastasim.engine.patient import PatientSimulation
from metastasim.engine.state import (
    C_GROUP_OBS,
    C_LOG_N,
    C_M_OBS,
    C_N_OBS,
    C_T_OBS,
    C_TARGETED_REGRESSION,
    PHASE_DORMANT,
    S_N_LESIONS,
    S_T_END,
    copy_state,
)

LN10 = math.log(10.0)
SEED = 1


def _data_toml(name: str) -> dict:
    return tomllib.loads(resources.files("metastasim.data").joinpath(name).read_text("utf-8"))


@pytest.fixture(scope="module")
def colorectal():
    return ms.load_parameters("colorectal")


@pytest.fixture(scope="module")
def at_diagnosis(colorectal):
    """The first colorectal patient (seed 1) diagnosed with a growing metastasis and a dormant cell."""
    for pid in range(60):
        sim = PatientSimulation(colorectal, SEED, pid, 30)
        if not sim.advance_to_diagnosis():
            continue
        st, t = sim.state, sim.day
        n = int(st.scalars[S_N_LESIONS])
        dormant = [L for L in range(n) if st.phase[L] == PHASE_DORMANT and st.t_start[L] > t and st.t_born[L] <= t]
        growing_mets = [
            L for L in range(1, n) if st.t_start[L] <= t < st.t_clear[L] and st.site[L] not in (PRIMARY, BRAIN)
        ]
        if dormant and growing_mets:
            return sim
    pytest.fail("no patient among the first 60 has a dormant cell and a growing metastasis at diagnosis")


# --- radiation: linear-quadratic model ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alpha", "alpha_beta", "dose", "fractions", "ln_s"),
    [
        # β = 0.03; 30 × (0.3·2 + 0.03·4) = 30 × 0.72
        (0.3, 10.0, 2.0, 30, -21.6),
        # β = 0.03; 1 × (0.3·8 + 0.03·64) = 2.4 + 1.92
        (0.3, 10.0, 8.0, 1, -4.32),
        # β = 0.05; 28 × (0.15·1.8 + 0.05·3.24) = 28 × 0.432
        (0.15, 3.0, 1.8, 28, -12.096),
        # β = 0.05; 5 × (0.5·5 + 0.05·25) = 5 × 3.75 (hypofractionation: the quadratic term matters)
        (0.5, 10.0, 5.0, 5, -18.75),
        (0.0, 10.0, 2.0, 30, 0.0),
    ],
)
def test_lq_surviving_fraction_matches_hand_computed_values(alpha, alpha_beta, dose, fractions, ln_s):
    """ln S = -n(αd + βd²) with β = α/(α/β), against values worked out by hand (exact up to round-off)."""
    assert _lq_ln_survival(alpha, alpha_beta, dose, fractions) == pytest.approx(ln_s, rel=1e-12, abs=1e-12)


def test_clinic_params_hold_the_lq_course_of_the_parameter_files(colorectal):
    """The curative and palliative courses of ClinicParams are the LQ fractions of the parameter values."""
    p = colorectal
    C = build_clinic_params(p)
    alpha, ab = p["treatment.radiation_alpha_per_gy"], p["treatment.radiation_alpha_beta_gy"]
    beta = alpha / ab
    for dose_key, n_key, field in (
        ("treatment.radiation_dose_per_fraction_gy", "treatment.radiation_fractions", "rt_ln_survival_curative"),
        ("treatment.palliative_dose_per_fraction_gy", "treatment.palliative_fractions", "rt_ln_survival_palliative"),
    ):
        d, n = p[dose_key], p[n_key]
        assert getattr(C, field) == pytest.approx(-n * (alpha * d + beta * d * d), rel=1e-12)
    # Five fractions a week.
    assert C.rt_days_curative == pytest.approx(p["treatment.radiation_fractions"] * 7 / 5)


def test_radiation_course_leaves_the_lq_fraction_of_each_irradiated_lesion(colorectal):
    """A simulated patient treated by radiotherapy: every irradiated lesion keeps exactly S of its cells.

    Five fractions (2 Gy by default: ln S = -3.6, S = 2.7%) keep every logged lesion (0.2 mm, 4,000 cells, or
    more) far above the 50 cells below which survivors are drawn at random, so after/before must equal S to
    round-off (relative 1e-9). Only the primary and regional nodes are irradiated (curative course).
    """
    overrides = dict(load_policies()["radiation"], **{"treatment.radiation_fractions": 5})
    params = ms.load_parameters("colorectal", overrides)
    alpha, ab = params["treatment.radiation_alpha_per_gy"], params["treatment.radiation_alpha_beta_gy"]
    d = params["treatment.radiation_dose_per_fraction_gy"]
    expected = math.exp(-5 * (alpha * d + alpha / ab * d * d))  # exp(-3.6) with the defaults
    assert expected * cells_for_diameter(0.2, params["growth.cells_per_cm3"]) > 2 * treatment.EXTINCTION_CELLS
    rows = []
    for pid in range(30):
        ev = PatientSimulation(params, SEED, pid, 30).advance_to().tables()["events"]
        eff = ev[(ev.event == "treatment_effect") & ev.detail.astype(str).str.startswith("radiation:")]
        rows.append(eff)
        if sum(len(r) for r in rows) >= 3:
            break
    eff = pd.concat(rows)
    assert len(eff) >= 3, "no radiotherapy given to the first 30 patients"
    assert set(eff.site.astype(str)) <= {"primary", "regional_nodes"}
    np.testing.assert_allclose(eff.cells.to_numpy() / eff.value.to_numpy(), expected, rtol=1e-9)


def test_kill_kernel_leaves_exp_minus_ln_kill(at_diagnosis):
    """treatment.kill with the curative LQ course on the primary: cells after = cells before × S."""
    sim = at_diagnosis
    st, P, t = copy_state(sim.state), sim.P, sim.day
    ln_s = _lq_ln_survival(0.3, 10.0, 2.0, 5)
    before = lesion_size(st, P, 0, t)
    left = treatment.kill(st, P, 0, t, -ln_s)
    assert left == pytest.approx(before * math.exp(ln_s), rel=1e-9)
    assert lesion_size(st, P, 0, t) == pytest.approx(left, rel=1e-9)
    assert st.n_kills[0] == sim.state.n_kills[0] + 1


# --- chemotherapy: Norton-Simon log-kill -----------------------------------------------------------------


def _gompertz_rate_ratio(params, x: float, site_factor: float = 1.0) -> float:
    """Growth rate at x relative to the primary's rate at the reference size: factor·ln(K/x)/ln(K/x_ref)."""
    K = params["growth.carrying_capacity_cells"]
    return site_factor * math.log(K / x) / math.log(K / params["growth.reference_cells"])


def test_one_cycle_kills_the_parameterised_log_fraction_at_the_reference_rate(at_diagnosis, colorectal):
    """A primary of growth.reference_cells grows at the patient's reference rate ln2/DT: one cycle kills
    treatment.chemo_log10_kill_per_cycle logs (exactly, relative 1e-9), and the kill kernel applies it."""
    sim = at_diagnosis
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    assert colorectal["growth.law"] == "gompertz"
    log10_kill = colorectal["treatment.chemo_log10_kill_per_cycle"]
    treatment.set_size(st, P, 0, t, colorectal["growth.reference_cells"])
    k = treatment.chemo_ln_kill(st, P, C, 0, t, 1.0)
    assert k == pytest.approx(log10_kill * LN10, rel=1e-9)
    before = lesion_size(st, P, 0, t)
    left = treatment.kill(st, P, 0, t, k)
    assert math.log10(before / left) == pytest.approx(log10_kill, rel=1e-9)


@pytest.mark.parametrize("cells", [1e4, 1e6, 1e8, 1e9, 1e11, 1e12])
def test_chemo_kill_scales_with_growth_rate_and_is_capped(at_diagnosis, colorectal, cells):
    """Norton-Simon: kill = min(k_ref · g(x)/g_ref, k_max) with the Gompertz rate g(x) = b·ln(K/x).

    Smaller (faster) primaries lose more than the reference kill, larger (slower) ones less; very small ones
    are capped at treatment.chemo_max_log10_kill_per_cycle. A second-line factor scales the kill.
    """
    sim = at_diagnosis
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    k_ref = colorectal["treatment.chemo_log10_kill_per_cycle"] * LN10
    k_max = colorectal["treatment.chemo_max_log10_kill_per_cycle"] * LN10
    treatment.set_size(st, P, 0, t, cells)
    expected = min(k_ref * _gompertz_rate_ratio(colorectal, cells), k_max)
    k = treatment.chemo_ln_kill(st, P, C, 0, t, 1.0)
    assert k == pytest.approx(expected, rel=1e-9)
    if cells < colorectal["growth.reference_cells"]:
        assert k > k_ref
    else:
        assert k < k_ref
    factor = colorectal["treatment.second_line_factor"]
    assert treatment.chemo_ln_kill(st, P, C, 0, t, factor) == pytest.approx(factor * expected, rel=1e-9)


def test_chemo_kill_of_metastases_follows_their_own_growth_rate(at_diagnosis, colorectal):
    """Every growing metastasis at diagnosis: its kill follows its site's rate factor (faster sites, more kill),
    and a brain lesion gets only treatment.brain_penetration of it."""
    sim = at_diagnosis
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    k_ref = colorectal["treatment.chemo_log10_kill_per_cycle"] * LN10
    k_max = colorectal["treatment.chemo_max_log10_kill_per_cycle"] * LN10
    factors = colorectal["growth.site_rate_factor"]
    n = int(st.scalars[S_N_LESIONS])
    checked = 0
    for L in range(1, n):
        if not (st.t_start[L] <= t < st.t_clear[L]) or st.site[L] == BRAIN:
            continue
        site = SITES[st.site[L]]
        x = lesion_size(st, P, L, t)
        expected = min(k_ref * _gompertz_rate_ratio(colorectal, x, factors[site]), k_max)
        assert treatment.chemo_ln_kill(st, P, C, L, t, 1.0) == pytest.approx(expected, rel=1e-9), site
        checked += 1
    assert checked > 0
    # The same lesion in the brain: the blood-brain barrier keeps most of the drug out.
    L = next(L for L in range(1, n) if st.t_start[L] <= t < st.t_clear[L] and st.site[L] != BRAIN)
    k_outside = treatment.chemo_ln_kill(st, P, C, L, t, 1.0)
    st.site[L] = BRAIN
    assert treatment.chemo_ln_kill(st, P, C, L, t, 1.0) == pytest.approx(
        colorectal["treatment.brain_penetration"] * k_outside, rel=1e-12
    )


def test_chemo_cycle_kills_growing_lesions_and_spares_dormant_cells(at_diagnosis):
    """One cycle (therapy._cycle) on the real patient: each growing lesion loses its own Norton-Simon kill;
    dormant cells (not cycling) are untouched: same growth start, no kill counted, still dormant. Resistance
    is switched off here (its split is tested below), so every cell of a lesion is sensitive."""
    sim = at_diagnosis
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    st.t_resistant[:, RESIST_CHEMO] = math.inf
    n = int(st.scalars[S_N_LESIONS])
    growing = [L for L in range(n) if st.t_born[L] <= t and st.t_start[L] <= t < st.t_clear[L]]
    dormant = [L for L in range(n) if st.phase[L] == PHASE_DORMANT and st.t_start[L] > t and st.t_born[L] <= t]
    assert growing and dormant
    before = {L: lesion_size(st, P, L, t) for L in growing}
    kill = {L: treatment.chemo_ln_kill(st, P, C, L, t, 1.0) for L in growing}
    t_start_dormant = st.t_start[dormant].copy()
    kills_before = st.n_kills.copy()
    therapy._cycle(st, P, C, t, 1 << TR_CHEMO)
    for L in growing:
        assert st.n_kills[L] == kills_before[L] + 1
        expected = before[L] * math.exp(-kill[L])
        after = lesion_size(st, P, L, t) if st.t_clear[L] > t else 0.0
        if expected >= treatment.EXTINCTION_CELLS:
            assert after == pytest.approx(expected, rel=1e-9)
        else:  # few survivors: extinct, or at least one cell left
            assert after == 0.0 or after >= 1.0
    np.testing.assert_array_equal(st.t_start[dormant], t_start_dormant)
    np.testing.assert_array_equal(st.n_kills[dormant], kills_before[dormant])
    assert (st.phase[dormant] == PHASE_DORMANT).all()


def test_chemo_cycle_splits_off_resistant_subclones_that_it_spares(at_diagnosis):
    """Goldie-Coldman: a lesion whose chemotherapy-resistant subclone has arisen is split by the cycle into the
    subclone, with exactly its share resistant_clone_founding_cells / resistance_cells of the lesion, and the
    sensitive rest. The cycle kills the rest and spares the subclone, now and at every later cycle (its kill is
    0); a lesion whose subclone has not arisen is not split."""
    sim = at_diagnosis
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    n = int(st.scalars[S_N_LESIONS])
    growing = [L for L in range(n) if st.t_born[L] <= t and st.t_start[L] <= t < st.t_clear[L]]
    assert len(growing) >= 2
    resistant, sensitive = growing[0], growing[1:]
    before = {L: lesion_size(st, P, L, t) for L in growing}
    share = 1e-3
    st.t_resistant[resistant, RESIST_CHEMO] = t - 1.0
    st.resistance_cells[resistant, RESIST_CHEMO] = P.resistant_clone_founding_cells / share
    st.t_resistant[sensitive, RESIST_CHEMO] = t + 1.0
    st.t_resistant[:, RESIST_TARGETED] = math.inf
    therapy._cycle(st, P, C, t, 1 << TR_CHEMO)
    m = int(st.scalars[S_N_LESIONS])
    clones = [L for L in range(n, m) if st.clone_of[L] >= 0]
    assert [st.clone_of[L] for L in clones] == [resistant]
    clone = clones[0]
    assert st.clone_resists[clone] == RESIST_CHEMO and st.t_resistant[clone, RESIST_CHEMO] == -math.inf
    assert lesion_size(st, P, clone, t) == pytest.approx(share * before[resistant], rel=1e-9)
    assert st.n_kills[clone] == 0 and st.n_kills[resistant] == 1
    assert lesion_size(st, P, resistant, t) < (1 - share) * before[resistant] * (1 - 1e-9)
    assert st.t_resistant[resistant, RESIST_CHEMO] == math.inf  # the parent's resistant cells are gone
    assert treatment.chemo_ln_kill(st, P, C, clone, t, 1.0) == 0.0
    assert all(st.clone_of[L] != L2 for L in range(n, m) for L2 in sensitive)


# --- targeted therapy: net regression of sensitive cells -------------------------------------------------


def _one_targeted_cycle(sim, params, doubling_days: float, cells: float) -> float:
    """ln(cells one cycle later / cells now) of a sensitive primary of `cells` cells with the given doubling time
    (at growth.reference_cells) under one targeted cycle: the kill now, then Gompertz regrowth until the next."""
    st, P, C, t = copy_state(sim.state), sim.P, sim.C, sim.day
    K, x_ref = params["growth.carrying_capacity_cells"], params["growth.reference_cells"]
    st.rate[0] = math.log(2.0) / doubling_days / math.log(K / x_ref)  # Gompertz b: b·ln(K/x_ref) = ln2/DT
    st.t_resistant[0, :] = math.inf  # no resistant subclone: sensitive cells only
    treatment.set_size(st, P, 0, t, cells)
    treatment.kill(st, P, 0, t, treatment.targeted_ln_kill(st, P, C, 0, t))
    return math.log(lesion_size(st, P, 0, t + params["treatment.cycle_days"]) / cells)


@pytest.mark.parametrize("cells", [1e6, 1e8, 1e10])
@pytest.mark.parametrize("doubling_days", [400.0, 150.0, 15.0])
def test_targeted_cycle_shrinks_sensitive_cells_at_the_published_rate(at_diagnosis, colorectal, cells, doubling_days):
    """Bozic et al. 2013: sensitive cells regress at the patient's own rate (drawn around
    treatment.targeted_regression_per_day), so one cycle of cycle_days changes their number by
    exp(-rate·cycle_days) whatever their own growth. Tolerance: 5% of that log change. Doubling times 150-400 d
    span the colorectal IQR (112-404 d); 15 d is the fast tail (about the 0.3rd percentile of the lognormal with
    log-sd 0.95 around 211 d)."""
    rate = at_diagnosis.state.clinic[C_TARGETED_REGRESSION]
    assert rate > 0.0
    expected = -rate * colorectal["treatment.cycle_days"]
    got = _one_targeted_cycle(at_diagnosis, colorectal, doubling_days, cells)
    assert got == pytest.approx(expected, rel=0.05)


def test_targeted_cycle_eradicates_a_lesion_too_fast_for_its_starting_size_to_be_a_double(at_diagnosis, colorectal):
    """A lesion growing several e-folds a day (doubling 0.5 d at the reference size, a far-tail draw that a breast
    calibration met): the size from which one cycle's regrowth reaches the target is below the smallest double,
    and the cycle kills every cell instead of dividing by zero."""
    st, P, C, t = copy_state(at_diagnosis.state), at_diagnosis.P, at_diagnosis.C, at_diagnosis.day
    K, x_ref = colorectal["growth.carrying_capacity_cells"], colorectal["growth.reference_cells"]
    st.rate[0] = math.log(2.0) / 0.5 / math.log(K / x_ref)
    st.t_resistant[0, :] = math.inf
    treatment.set_size(st, P, 0, t, 2e9)
    assert treatment.targeted_ln_kill(st, P, C, 0, t) == math.inf
    assert treatment.kill(st, P, 0, t, math.inf) == 0.0
    assert not is_alive(st, 0, t + 1.0)


def test_targeted_regression_rates_are_lognormal_around_the_published_median(colorectal):
    """Each patient's rate is the median times exp(log_sd·z), z standard normal: with 4,000 patients the mean
    of ln(rate / median) is within 4 standard errors (0.76/√4000 = 0.012) of 0 and its sd within 4 standard
    errors (0.76/√8000 = 0.0085) of log_sd; with log_sd 0 every patient has the median."""
    median = colorectal["treatment.targeted_regression_per_day"]
    log_sd = colorectal["treatment.targeted_regression_log_sd"]
    patients = simulate_tables(colorectal, 1, 0, 4000, 1, "t", with_events=False)["patients"]
    logs = np.log(patients["targeted_regression_per_day"].to_numpy() / median)
    assert abs(logs.mean()) < 4 * log_sd / math.sqrt(4000)
    assert abs(logs.std(ddof=1) - log_sd) < 4 * log_sd / math.sqrt(8000)
    fixed = colorectal.with_overrides({"treatment.targeted_regression_log_sd": 0.0})
    same = simulate_tables(fixed, 1, 0, 200, 1, "t", with_events=False)["patients"]["targeted_regression_per_day"]
    assert np.all(same.to_numpy() == median)


# --- imaging: sensitivity by size ------------------------------------------------------------------------


def _ko_rows() -> list[tuple[float, float]]:
    """(diameter in the middle of the band, published sensitivity) of Ko et al. 2017 (reference/imaging.csv)."""
    text = resources.files("metastasim.data").joinpath("reference/imaging.csv").read_text("utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        if row["modality"] == "CT" and "Ko et al. 2017" in row["source"]:
            band = row["lesion_size"]
            if m := re.fullmatch(r"(\d+)-(\d+) mm", band):
                d = (float(m[1]) + float(m[2])) / 2
            elif m := re.fullmatch(r">(\d+) mm", band):
                d = float(m[1]) + 5.0
            else:
                raise AssertionError(f"unexpected band {band!r}")
            out.append((d, float(row["sensitivity"])))
    return out


def _ct_liver_bands() -> list[tuple[float, float, float]]:
    """(low, high, sensitivity) of each size band of the CT liver table in data/imaging.toml (0 below it)."""
    steps = _data_toml("imaging.toml")["CT"]["liver"]["steps"]
    edges = [d for d, _ in steps]
    bands = [(0.05, edges[0], 0.0)]
    for k, (d, s) in enumerate(steps):
        hi = edges[k + 1] if k + 1 < len(edges) else d + 20.0
        bands.append((d, hi, s))
    return bands


def test_ct_liver_table_holds_the_published_ko_2017_sensitivities(colorectal):
    """Each Ko et al. band (1-5, 6-10, 11-15, 16-20, >20 mm) read from reference/imaging.csv: the engine's
    lookup at the band's middle returns the published sensitivity (0.08 / 0.55 / 0.91 / 0.95 / 1.0)."""
    C = build_clinic_params(colorectal)
    rows = _ko_rows()
    assert len(rows) == 5
    for d, s in rows:
        assert sensitivity(C, CT, IMAGING_TARGETS.index("liver"), d) == pytest.approx(s, abs=1e-12), d


def test_every_imaging_table_is_read_as_its_step_function(colorectal):
    """All rows of data/imaging.toml: 0 below the first step, the step's value at its edge and between edges,
    and 0 for organs a modality does not cover."""
    C = build_clinic_params(colorectal)
    data = _data_toml("imaging.toml")
    for modality, rows in data.items():
        if modality not in MODALITIES:
            continue
        m = MODALITIES.index(modality)
        for target in IMAGING_TARGETS:
            t = IMAGING_TARGETS.index(target)
            if target not in rows:
                assert sensitivity(C, m, t, 1000.0) == 0.0, (modality, target)
                continue
            steps = rows[target]["steps"]
            assert sensitivity(C, m, t, steps[0][0] * 0.999) == 0.0, (modality, target)
            for k, (d, s) in enumerate(steps):
                nxt = steps[k + 1][0] if k + 1 < len(steps) else d * 2
                for diameter in (d, (d + nxt) / 2):
                    assert sensitivity(C, m, t, diameter) == pytest.approx(s, abs=1e-12), (modality, target, d)


def test_scans_find_liver_lesions_at_the_tabulated_rate(colorectal):
    """Virtual CT scans (imaging.scan, the engine's own random stream) of one liver lesion whose size is drawn
    uniformly inside each band of the CT liver table, 3,000 scans per band: the detection rate is within
    4 binomial standard errors sqrt(s(1-s)/n) of the table's s (exact for s = 0 and s = 1).

    The lesion is the patient's first cell grown to the chosen size and placed in the liver; each scan has its
    own counter in the scan stream, so the scans are independent draws.
    """
    n_scans = 3000
    sim = PatientSimulation(colorectal, SEED, 0, 30)  # day 0: one lesion
    st, P, C = sim.state, sim.P, sim.C
    st.site[0] = LIVER
    t = 1000.0
    liver_only = 1 << LIVER
    rng = np.random.default_rng(2017)
    for lo, hi, s in _ct_liver_bands():
        found = 0
        for d in rng.uniform(lo, hi, n_scans):
            cells = math.pi / 6.0 * (d / 10.0) ** 3 * P.cells_per_cm3  # sphere of diameter d mm
            treatment.set_size(st, P, 0, t, cells)
            hit, total_mm, _ = scan(st, P, C, t, CT, liver_only, 0, False)
            if hit:
                assert total_mm == pytest.approx(d, rel=1e-6)
            found += hit
        rate = found / n_scans
        se = math.sqrt(s * (1 - s) / n_scans)
        assert abs(rate - s) <= 4 * se, f"band {lo:g}-{hi:g} mm: found {rate:.3f}, table {s}"
    # A scan that does not cover the liver never finds it.
    treatment.set_size(st, P, 0, t, 1e10)
    assert all(scan(st, P, C, t, CT, 1 << SITES.index("lung"), 0, False)[0] == 0 for _ in range(200))


# --- staging ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cancer", "nodes_to_n"),
    [
        ("colorectal", {0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 7: 2, 20: 2}),  # AJCC: N1 1-3, N2 4 or more
        ("breast", {0: 0, 1: 1, 3: 1, 4: 2, 9: 2, 10: 3, 25: 3}),  # AJCC: N1 1-3, N2 4-9, N3 10 or more
        ("stomach", {0: 0, 1: 1, 2: 1, 3: 2, 6: 2, 7: 3, 16: 3}),  # AJCC: N1 1-2, N2 3-6, N3 7 or more
        ("kidney", {0: 0, 1: 1, 5: 1}),  # AJCC: N1 any regional node
    ],
)
def test_node_counts_map_to_ajcc_n_categories(cancer, nodes_to_n):
    """Involved regional nodes → N category with each cancer's thresholds (AJCC 8th edition counts)."""
    C = build_clinic_params(ms.load_parameters(cancer))
    for nodes, n_cat in nodes_to_n.items():
        assert n_category(C, nodes) == n_cat, (cancer, nodes)


# (T, N, M) → stage group 0..4 (0, I, II, III, IV), written from the AJCC 8th edition anatomic groups.
COLORECTAL_GROUPS = {
    (0, 0, 0): 0,  # Tis N0
    (1, 0, 0): 1,
    (2, 0, 0): 1,  # I: T1-2 N0
    (3, 0, 0): 2,
    (4, 0, 0): 2,  # II: T3-4 N0
    (1, 1, 0): 3,
    (2, 2, 0): 3,
    (4, 2, 0): 3,  # III: any T, N+
    (1, 0, 1): 4,
    (4, 2, 1): 4,  # IV: M1
}
BREAST_GROUPS = {
    (0, 0, 0): 0,
    (1, 0, 0): 1,  # IA
    (1, 1, 0): 2,
    (2, 0, 0): 2,  # IIA
    (2, 1, 0): 2,
    (3, 0, 0): 2,  # IIB
    (1, 2, 0): 3,
    (2, 2, 0): 3,
    (3, 1, 0): 3,  # IIIA
    (4, 0, 0): 3,
    (4, 1, 0): 3,  # IIIB
    (1, 3, 0): 3,  # IIIC
    (2, 0, 1): 4,
}
LUNG_GROUPS = {
    (1, 0, 0): 1,  # IA
    (2, 0, 0): 1,  # IB (T2a; the model's T2 does not split a/b)
    (1, 1, 0): 2,
    (2, 1, 0): 2,
    (3, 0, 0): 2,  # IIB
    (1, 2, 0): 3,
    (3, 1, 0): 3,
    (4, 1, 0): 3,  # IIIA
    (2, 3, 0): 3,
    (3, 2, 0): 3,  # IIIB
    (4, 3, 0): 3,  # IIIC
    (1, 0, 1): 4,
}


@pytest.mark.parametrize(
    ("rule", "table"),
    [
        (RULE_COLORECTAL, COLORECTAL_GROUPS),
        (RULE_GENERIC, COLORECTAL_GROUPS),  # generic: IV if M1, III if N+, II if T3-4, else I
        (RULE_BREAST, BREAST_GROUPS),
        (RULE_LUNG, LUNG_GROUPS),
    ],
    ids=["colorectal", "generic", "breast", "lung"],
)
def test_stage_groups_follow_ajcc(rule, table):
    """Stage group of each T/N/M combination by the cancer's rule, against the AJCC 8th edition groups."""
    for (T, N, M), group in table.items():
        assert stage_group(rule, T, N, M) == group, (T, N, M)


def test_lung_t4_n0_is_stage_iii():
    """AJCC 8th edition lung: T4 (> 70 mm) N0 M0 is stage IIIA."""
    assert stage_group(RULE_LUNG, 4, 0, 0) == 3


@pytest.mark.parametrize(
    ("T", "N", "M", "seer"),
    [
        (0, 0, 0, SEER_LOCALIZED),
        (1, 0, 0, SEER_LOCALIZED),
        (3, 0, 0, SEER_LOCALIZED),
        (4, 0, 0, SEER_REGIONAL),  # extension beyond the organ
        (1, 1, 0, SEER_REGIONAL),  # regional nodes
        (2, 3, 0, SEER_REGIONAL),
        (1, 0, 1, SEER_DISTANT),
        (4, 2, 1, SEER_DISTANT),
    ],
)
def test_seer_summary_stage(T, N, M, seer):
    """SEER summary stage: distant if M1, regional if nodes or T4 extension, else localized."""
    assert seer_stage(T, N, M) == seer


def test_observed_stage_at_diagnosis_is_consistent_with_its_tnm(at_diagnosis):
    """The stage the clinic records at diagnosis equals stage_group of its own recorded T, N and M."""
    st, C = at_diagnosis.state, at_diagnosis.C
    T, N, M = (int(st.clinic[i]) for i in (C_T_OBS, C_N_OBS, C_M_OBS))
    assert int(st.clinic[C_GROUP_OBS]) == stage_group(C.group_rule, T, N, M)


def test_only_resection_candidates_have_their_metastases_resected(colorectal):
    """A patient is a resection candidate by one draw of its own stream; the courses of candidates are the same
    whatever the share, so the patients resected at a share of 0.25 are exactly those resected at a share of 1
    whose draw is below 0.25 (seed 1, 3,000 patients)."""
    from metastasim.engine.kernel_params import build_kernel_params
    from metastasim.rng.philox import uniform
    from metastasim.rng.streams import ST_RESECTION_CANDIDATE

    def resected(share: float) -> set[int]:
        params = colorectal.with_overrides({"treatment.resection_candidate_share": share})
        les = simulate_tables(params, 1, 0, 3000, 30, "t", with_events=False)["lesions"]
        organ = les["site"].astype(str).isin(["liver", "lung"]) & (les["ended_by"].astype(str) == "surgery")
        return set(les.loc[organ, "patient_id"].tolist())

    key = build_kernel_params(colorectal, 1).stream_keys[ST_RESECTION_CANDIDATE]
    everyone, quarter = resected(1.0), resected(0.25)
    assert len(everyone) > 100
    candidates = {p for p in everyone if uniform(key, np.int64(p), np.uint64(1), 0) < 0.25}
    assert quarter == candidates
    assert resected(0.0) == set()


# --- death dated back by a health check -------------------------------------------------------------------


def test_a_death_removes_the_log_rows_dated_after_it(at_diagnosis):
    """die() at day t keeps the rows up to t in their order, adds the death row, and drops later rows (such as a
    scan of a lesion seeded after t, which `finish` removes from the lesion rows)."""
    st, t = copy_state(at_diagnosis.state), at_diagnosis.day
    n0 = int(st.clinic[C_LOG_N])
    days_before = st.log_day[:n0].copy()
    assert n0 > 0 and days_before.max() <= t
    for k, day in enumerate((t + 1.0, t + 3.0, t + 2.0)):
        log(st, day, LOG_SYMPTOM, k, 0, 0.0, 0.0)
    die(st, t + 2.0, CAUSE_BURDEN)
    n = int(st.clinic[C_LOG_N])
    assert n == n0 + 3  # the rows at t+1 and t+2 and the death row; the row at t+3 is gone
    assert st.log_day[:n0].tolist() == days_before.tolist()
    assert st.log_day[n0:n].tolist() == [t + 1.0, t + 2.0, t + 2.0]
    assert st.log_kind[n - 1] == LOG_DEATH and st.scalars[S_T_END] == t + 2.0


def test_no_clinical_day_or_event_falls_after_death(colorectal):
    """A health check locates a crossed limit since the previous check, but never dates the death before a
    clinical event the loop has already applied: 3,000 colorectal patients (seed 1; before this rule one was
    diagnosed after the day of their death and another recurred after it) have no diagnosis, treatment, symptom,
    recurrence or remission after death, and no event after the end of their course."""
    tables = simulate_tables(colorectal, 1, 0, 3000, 30, "t", with_events=True)
    pts, ev = tables["patients"], tables["events"]
    dead = pts[pts["died"].astype(bool)]
    assert len(dead) > 1000
    for column in ("day_diagnosis", "day_first_treatment", "day_first_symptom", "day_recurrence", "day_remission"):
        assert not (dead[column] > dead["day_death"]).any(), column
    end = ev.merge(pts[["patient_id", "day_end"]], on="patient_id")
    assert not (end["day"] > end["day_end"]).any()
