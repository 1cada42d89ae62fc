"""Cohort-level checks of the clinic: causes of death, common random numbers, screening, resistance, staging.

Every comparison between arms uses the same seed and patient ids, so the arms hold the same virtual patients
(common random numbers): anything that differs between them was caused by the one clinic setting that differs.
That makes paired comparisons possible; their tolerances are stated in each test from the binomial standard
error of a paired difference, sd(d)/sqrt(n), with d = 1, 0 or -1 per patient. Seeds are fixed, and no number
produced by a simulation is written into a test.

Also here: the ``metastasim trial`` command's one-line errors on bad scenario files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metastasim as ms
from clitools import cli, one_line_error
from metastasim.api import load_policies
from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.clinic.codes import (
    CT,
    DEATH_CAUSES,
    PET,
    PET_CT,
    ROUTE_SCREENING,
    SEER_LOCALIZED,
)
from metastasim.clinic.imaging import sensitivity
from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.trial import read_trial
from metastasim.engine.chunk import LESION_CAPACITY
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.engine.loop import advance_state, handles, start_patient_state
from metastasim.engine.state import (
    C_GROUP_OBS,
    C_GROUP_TRUE,
    C_M_OBS,
    C_M_TRUE,
    C_N_TRUE,
    C_ROUTE,
    C_SCREEN_PARTICIPANT,
    C_SEER_OBS,
    C_SEER_TRUE,
    C_STOP_AT_DIAGNOSIS,
    C_T_DIAGNOSIS,
    C_T_OBS,
    C_T_TRUE,
    N_CLINIC,
    new_state,
)
from metastasim.units import DAYS_PER_YEAR

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
YEARS = 30
#: Columns of the clinic's record at diagnosis (engine.state C_* indices): codes of clinic.codes.
AT_DIAGNOSIS = {
    "day_diagnosis": C_T_DIAGNOSIS,
    "route": C_ROUTE,
    "screening_participant": C_SCREEN_PARTICIPANT,
    "t_observed": C_T_OBS,
    "m_observed": C_M_OBS,
    "stage_observed": C_GROUP_OBS,
    "seer_observed": C_SEER_OBS,
    "t_true": C_T_TRUE,
    "n_true": C_N_TRUE,
    "m_true": C_M_TRUE,
    "stage_true": C_GROUP_TRUE,
    "seer_true": C_SEER_TRUE,
}


def _tables(cancer: str, overrides: dict, n: int, seed: int, events: bool = False) -> dict[str, pd.DataFrame]:
    return simulate_tables(ms.load_parameters(cancer, overrides), seed, 0, n, YEARS, "x", with_events=events)


def _at_diagnosis(params, C, n: int, seed: int) -> pd.DataFrame:
    """Patients 0..n-1 simulated until diagnosis (the engine's stop at diagnosis, as
    PatientSimulation.advance_to_diagnosis): the clinic's record of each at that moment, as codes.

    Stage at diagnosis needs nothing after it, and skipping the rest of each course keeps cohort tests fast.
    """
    P = build_kernel_params(params, seed)
    st = new_state(LESION_CAPACITY, P.regional_nodes, YEARS)
    refs = handles(st, P, C)
    horizon = YEARS * DAYS_PER_YEAR
    rows = np.empty((n, N_CLINIC))
    for pid in range(n):
        start_patient_state(refs, pid)
        st.clinic[C_STOP_AT_DIAGNOSIS] = 1.0
        advance_state(refs, horizon, horizon)
        rows[pid] = st.clinic
    df = pd.DataFrame({name: rows[:, i] for name, i in AT_DIAGNOSIS.items()})
    df["day_diagnosis"] = df.day_diagnosis.where(np.isfinite(df.day_diagnosis))
    return df


def _paired_z(d: np.ndarray) -> float:
    """Mean of paired differences in standard errors (inf if every difference is equal and positive)."""
    se = d.std(ddof=1) / math.sqrt(len(d))
    if se > 0:
        return float(d.mean() / se)
    return math.copysign(math.inf, d.mean()) if d.mean() else 0.0


# --- 5. every death has a cause --------------------------------------------------------------------------


@pytest.mark.parametrize("cancer", ["colorectal", "breast", "lung_nsclc"])
def test_every_death_has_a_cause_and_survivors_have_none(cancer):
    """400 patients, 30 years: a patient with a day of death has one of the causes of clinic.codes.DEATH_CAUSES
    (never "alive"), ends that day with end reason "death" (or "lethal tumour burden" for that cause); a patient
    without one is alive at the horizon, with cause "alive"."""
    p = _tables(cancer, {}, 400, 11)["patients"]
    assert list(p.death_cause.cat.categories) == list(DEATH_CAUSES)
    died = p.day_death.notna()
    assert died.any() and (~died).any()
    assert (p.died == died).all()
    dead, alive = p[died], p[~died]
    assert dead.death_cause.notna().all()
    assert dead.death_cause.isin(DEATH_CAUSES[1:]).all(), dead.death_cause.value_counts()
    assert (dead.day_death == dead.day_end).all()
    assert (dead.day_death <= YEARS * DAYS_PER_YEAR).all()
    burden = dead.death_cause == "overall tumour burden"
    assert (dead.end_reason[burden] == "lethal tumour burden").all()
    assert (dead.end_reason[~burden] == "death").all()
    assert (alive.death_cause == "alive").all()
    assert (alive.end_reason == "horizon").all()
    np.testing.assert_allclose(alive.day_end, YEARS * DAYS_PER_YEAR)
    # A patient dies of a cancer cause only after the cancer has reached them: other causes exist too.
    assert (dead.death_cause == "other cause").any()


# --- 6. common random numbers: arms share everything before the first treatment ----------------------------

PATIENT_COLUMNS = [
    "doubling_time_days",
    "depth_per_radius",
    "sex",
    "age_at_onset",
    "screening_participant",
    "target_positive",
    "day_diagnosis",
    "diagnosis_route",
    "symptoms_at_diagnosis",
    "sites_at_diagnosis",
    "t_observed",
    "m_observed",
    "t_true",
    "n_true",
    "m_true",
    "stage_true",
    "seer_stage_true",
    "nodes_involved_true",
]
#: Observed N (and the stage built on it) counts the nodes of the resected basin when the plan includes surgery
#: (clinic/diagnosis.py diagnose): identical between arms only if both plan the same surgery.
PATHOLOGY_COLUMNS = ["n_observed", "stage_observed", "seer_stage_observed", "nodes_involved_observed"]
LESION_COLUMNS = ["lesion_id", "parent_id", "generation", "site", "node", "route", "path", "day_seeded"]


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality, with NaN equal to NaN and categoricals compared as text."""
    if not pd.api.types.is_numeric_dtype(a) or isinstance(a.dtype, pd.CategoricalDtype):
        a, b = a.astype(str), b.astype(str)
    x, y = a.to_numpy(), b.to_numpy()
    return (x == y) | (pd.isna(x) & pd.isna(y))


@pytest.fixture(scope="module")
def treatment_arms():
    """250 colorectal patients (seed 3) under three policies of data/policies.toml, with event logs."""
    policies = load_policies()
    arms = ("guideline", "surgery_only", "no_treatment")
    return {arm: _tables("colorectal", policies[arm], 250, 3, events=True) for arm in arms}


def _decision_day(tables: dict) -> pd.Series:
    """Per patient, the first day the arms may differ: the treatment decision (the plan row) or the first
    treatment, whichever is first (infinity for patients never diagnosed)."""
    p = tables["patients"].set_index("patient_id")
    ev = tables["events"]
    plan = ev[ev.event == "plan"].groupby("patient_id").day.min()
    return np.fmin(p.day_first_treatment, plan.reindex(p.index)).fillna(np.inf)


def _rows_before(frame: pd.DataFrame, day_column: str, cut: pd.Series) -> pd.DataFrame:
    keep = frame[day_column].to_numpy() < frame.patient_id.map(cut).to_numpy()
    return frame[keep].reset_index(drop=True)


@pytest.mark.parametrize("other", ["surgery_only", "no_treatment"])
def test_arms_share_each_patient_until_the_first_treatment(treatment_arms, other):
    """Guideline vs another policy on the same patients (250, seed 3):

    - every patient: the same person, symptoms, day and route of diagnosis, T, M and true stage; also the
      observed N and stage when both policies operate on non-metastatic patients (surgery_only);
    - the same lesions seeded before the treatment decision, and the same event rows (cascade and clinical log)
      dated before it;
    - afterwards the arms differ (treatments, deaths), so the test can tell.

    Left out: for no_treatment, the pathological N (no surgery planned) and so the stage event.
    """
    a, b = treatment_arms["guideline"], treatment_arms[other]
    pa, pb = a["patients"], b["patients"]
    assert (pa.patient_id.to_numpy() == pb.patient_id.to_numpy()).all()
    columns = PATIENT_COLUMNS + (PATHOLOGY_COLUMNS if other == "surgery_only" else [])
    for col in columns:
        assert _same(pa[col], pb[col]).all(), col
    assert pa.day_diagnosis.notna().sum() > 100
    cut = _decision_day(a)
    la, lb = (_rows_before(t["lesions"], "day_seeded", cut) for t in (a, b))
    assert len(la) == len(lb) > 0
    for col in LESION_COLUMNS:
        assert _same(la[col], lb[col]).all(), col
    ea, eb = (_rows_before(t["events"], "day", cut) for t in (a, b))
    left_out = {"stage"} if other == "no_treatment" else set()
    ea = ea[~ea.event.isin(left_out)].reset_index(drop=True)
    eb = eb[~eb.event.isin(left_out)].reset_index(drop=True)
    assert len(ea) == len(eb) > 1000
    for col in ("patient_id", "day", "event", "lesion_id", "site", "cells", "detail", "value"):
        assert _same(ea[col], eb[col]).all(), col
    assert {"symptom", "visit", "diagnosis", "scan_summary"} <= set(ea.event.astype(str))
    # ... and the arms do differ afterwards.
    treated_a = (a["events"].event == "treatment_start").sum()
    treated_b = (b["events"].event == "treatment_start").sum()
    assert treated_a > treated_b
    assert (~_same(pa.day_death, pb.day_death)).sum() > 10


def test_observed_stage_depends_on_the_planned_surgery(treatment_arms):
    """Without a planned operation the nodes are staged by imaging only: the observed node count is never
    higher than when the resected basin is examined too (same patients, same imaging draws)."""
    pa, pb = treatment_arms["guideline"]["patients"], treatment_arms["no_treatment"]["patients"]
    dx = pa.day_diagnosis.notna()
    assert dx.sum() > 100
    assert (pb.nodes_involved_observed[dx].to_numpy() <= pa.nodes_involved_observed[dx].to_numpy()).all()


def test_event_log_before_the_first_treatment_is_identical_between_arms(treatment_arms):
    """The whole event log dated before each patient's treatment decision is the same under the guideline
    (which includes a targeted drug) and surgery alone."""
    a, b = treatment_arms["guideline"], treatment_arms["surgery_only"]
    cut = _decision_day(a)
    ea, eb = (_rows_before(t["events"], "day", cut) for t in (a, b))
    assert len(ea) == len(eb)
    for col in ("patient_id", "day", "event", "lesion_id", "detail"):
        assert _same(ea[col], eb[col]).all(), col


# --- 7. screening shifts stage at diagnosis towards localized ----------------------------------------------


def test_screening_shifts_stage_towards_localized_on_the_same_patients():
    """The two arms of examples/trial_screening_colorectal.toml (no programme vs colonoscopy, 60% uptake),
    3,000 colorectal patients, seed 1, each followed to diagnosis.

    - People who do not take part in the programme have exactly the same diagnosis and stage in both arms.
    - Among patients diagnosed in both arms, the paired difference d = localized(screening) - localized(none)
      has a mean above 3 standard errors sd(d)/sqrt(n) (one-sided p < 0.0014).
    - The localized share among all diagnosed patients is higher with screening.
    """
    spec = read_trial(EXAMPLES / "trial_screening_colorectal.toml")
    arms = {}
    for name, arm in spec.arms.items():
        params = ms.load_parameters(spec.cancer, arm["parameters"])
        arms[name] = _at_diagnosis(params, build_clinic_params(params), 3000, spec.seed)
    off, on = arms["no_screening"], arms["colonoscopy"]
    participant = on.screening_participant > 0
    assert not (off.screening_participant > 0).any() and participant.mean() > 0.3
    for col in ("day_diagnosis", "route", "stage_observed", "seer_observed", "stage_true"):
        assert _same(on.loc[~participant, col], off.loc[~participant, col]).all(), col
    assert (on.route == ROUTE_SCREENING).sum() > 50
    both = (on.day_diagnosis.notna() & off.day_diagnosis.notna()).to_numpy()
    localized_on = (on.seer_observed == SEER_LOCALIZED).to_numpy()
    localized_off = (off.seer_observed == SEER_LOCALIZED).to_numpy()
    d = localized_on[both].astype(int) - localized_off[both].astype(int)
    assert _paired_z(d) > 3, f"mean {d.mean():.4f}, se {d.std(ddof=1) / math.sqrt(len(d)):.4f}"
    assert localized_on[on.day_diagnosis.notna()].mean() > localized_off[off.day_diagnosis.notna()].mean()


# --- 8. targeted therapy: resistant subclones regrow ------------------------------------------------------

N_TARGETED = 600


@pytest.fixture(scope="module")
def targeted_arms():
    """The arms of examples/trial_targeted_resistance.toml (targeted drug alone for metastatic disease, every
    tumour carrying the target; with published resistance, and with point mutations off), 600 colorectal
    patients, seed 1, with event logs."""
    spec = read_trial(EXAMPLES / "trial_targeted_resistance.toml")
    return {
        name: _tables(spec.cancer, arm["parameters"], N_TARGETED, spec.seed, events=True)
        for name, arm in spec.arms.items()
    }


def _targeted_starts(events: pd.DataFrame) -> pd.Series:
    ts = events[(events.event == "treatment_start") & events.detail.astype(str).str.startswith("targeted")]
    return ts.groupby("patient_id").day.min()


def _targeted_clones(lesions: pd.DataFrame) -> pd.DataFrame:
    """Subclones split off by the targeted drug (second-line chemotherapy splits off its own)."""
    return lesions[lesions.subclone_resists.astype(str) == "targeted"]


def _targeted_arising(events: pd.DataFrame) -> pd.DataFrame:
    """The days subclones resistant to the targeted drug arose."""
    return events[(events.event == "resistant_subclone") & events.detail.astype(str).str.contains("to targeted")]


def _first_progression_after(events: pd.DataFrame, start: pd.Series) -> pd.Series:
    prog = events[(events.event == "response") & (events.detail.astype(str) == "response scan: progression")]
    prog = prog[prog.day.to_numpy() > prog.patient_id.map(start).to_numpy()]
    return prog.groupby("patient_id").day.min()


def test_targeted_responses_end_in_regrowth_of_resistant_subclones(targeted_arms):
    """With resistance as published (Bozic et al. 2013):

    - most patients treated with the targeted drug who progress carry resistant subclone lesions (at least
      90% of them; subclones arise in a lesion once it has made about 1/u = 2e7 cells);
    - every subclone is split from a lesion of the same patient and site, when that lesion was treated;
    - over the targeted course, every subclone large enough to be logged grows (cells after > cells at split)
      while its sensitive parent shrinks (at least 95% of parents: the course's last 21 days are free regrowth):
      the response ends in regrowth from the resistant cells;
    - the event log dates each subclone correctly: its parent's "resistant_subclone" event (the day it arose)
      comes before the split, its own log starts with "resistant_subclone_survives" on the day of the split,
      and it has no seeding or size events of its own before then.
    """
    t = targeted_arms["resistance"]
    les, ev = t["lesions"], t["events"]
    start = _targeted_starts(ev)
    progressed = _first_progression_after(ev, start).index
    assert len(start) > 100 and len(progressed) > 50
    clones = _targeted_clones(les)
    with_clones = set(clones.patient_id)
    share = np.isin(progressed, list(with_clones)).mean()
    assert share >= 0.9, share
    parents = les.set_index(["patient_id", "lesion_id"]).loc[
        list(zip(clones.patient_id, clones.resistant_subclone_of, strict=True))
    ]
    assert (parents.site.astype(str).to_numpy() == clones.site.astype(str).to_numpy()).all()
    assert (parents.day_first_treated.to_numpy() <= clones.day_first_treated.to_numpy()).all()
    assert (clones.day_first_treated.to_numpy() >= clones.patient_id.map(start).to_numpy()).all()
    eff = ev[(ev.event == "treatment_effect") & ev.detail.astype(str).str.startswith("targeted")]
    clone_rows = eff.merge(clones[["patient_id", "lesion_id", "resistant_subclone_of"]], on=["patient_id", "lesion_id"])
    assert len(clone_rows) > 20
    assert (clone_rows.cells > clone_rows.value).all()  # the subclone grows under the drug
    parent_rows = eff.merge(
        clone_rows[["patient_id", "day", "resistant_subclone_of"]].rename(
            columns={"resistant_subclone_of": "lesion_id"}
        ),
        on=["patient_id", "day", "lesion_id"],
    )
    assert len(parent_rows) > 20
    assert (parent_rows.cells < parent_rows.value).mean() >= 0.95  # its sensitive parent regresses
    keys = ["patient_id", "lesion_id"]
    own = ev.merge(clones[[*keys, "day_seeded"]], on=keys)
    assert (own.day >= own.day_seeded).all()
    assert not own.event.isin(["seeding", "dormant_cell_wakes", "micrometastasis", "macrometastasis"]).any()
    split = own[own.event == "resistant_subclone_survives"]
    assert len(split) == len(clones) and (split.day == split.day_seeded).all()
    parent_of = clones[["patient_id", "resistant_subclone_of", "day_seeded"]]
    arose = _targeted_arising(ev).merge(
        parent_of.rename(columns={"resistant_subclone_of": "lesion_id"}), on=keys
    )
    assert len(arose) == len(clones) and (arose.day < arose.day_seeded).all()


@pytest.mark.parametrize("switch_off", ["evolution.point_mutation_rate_per_bp", "evolution.resistance_mutations"])
def test_without_resistance_mutations_no_subclones_appear(targeted_arms, switch_off):
    """Resistance turned off (either parameter set to 0): no resistant subclone lesions and no resistant cells,
    on the same patients (diagnosis and start of the targeted drug unchanged)."""
    spec = read_trial(EXAMPLES / "trial_targeted_resistance.toml")
    if spec.arms["no_resistance"]["parameters"].get(switch_off) == 0:
        t = targeted_arms["no_resistance"]  # the example's second arm
    else:
        overrides = {**spec.arms["resistance"]["parameters"], switch_off: 0}
        t = _tables(spec.cancer, overrides, N_TARGETED, spec.seed, events=True)
    les = t["lesions"]
    assert _targeted_clones(les).empty
    assert (les.targeted_resistant_fraction_end == 0).all()
    assert _targeted_arising(t["events"]).empty
    ref = targeted_arms["resistance"]
    assert not _targeted_clones(ref["lesions"]).empty
    assert _same(t["patients"].day_diagnosis, ref["patients"].day_diagnosis).all()
    pd.testing.assert_series_equal(_targeted_starts(t["events"]), _targeted_starts(ref["events"]))


def test_resistance_shortens_the_response_to_the_targeted_drug(targeted_arms):
    """Same patients, same targeted starts: progression within the first course (treatment.palliative_max_cycles
    cycles) is more frequent with resistance than without. Paired difference per treated patient, d = 1, 0 or -1:
    mean above 3 standard errors."""
    with_r, without = targeted_arms["resistance"]["events"], targeted_arms["no_resistance"]["events"]
    start = _targeted_starts(with_r)
    pd.testing.assert_series_equal(start, _targeted_starts(without))
    p = ms.load_parameters("colorectal")
    course = p["treatment.palliative_max_cycles"] * p["treatment.cycle_days"] + 1.0

    def early(ev):
        first = _first_progression_after(ev, start).reindex(start.index)
        return ((first - start) <= course).astype(int).to_numpy()

    d = early(with_r) - early(without)
    assert _paired_z(d) > 3, f"mean {d.mean():.3f}"


# --- 9. stage migration -----------------------------------------------------------------------------------


def test_pet_ct_table_is_the_better_of_ct_and_pet_at_every_size():
    """PET/CT is read as one scan: at every organ and diameter its sensitivity is max(CT, PET)."""
    C = build_clinic_params(ms.load_parameters("colorectal"))
    for target in range(C.sens_edges.shape[1]):
        for d in np.linspace(0.5, 40.0, 400):
            expected = max(sensitivity(C, CT, target, d), sensitivity(C, PET, target, d))
            assert sensitivity(C, PET_CT, target, d) == expected, (target, d)


@pytest.fixture(scope="module")
def staging_arms():
    """8,000 colorectal patients (seed 1), followed to diagnosis, staged by CT, by PET alone and by PET/CT.

    8,000 rather than 4,000: with the calibrated colorectal defaults (distant-node soil bounded, 2026-11-24) PET/CT
    finds occult distant disease in about 0.3% of patients, which 4,000 patients cannot tell apart at 3 standard
    errors."""
    n, seed = 8000, 1
    arms = {}
    for modality in ("CT", "PET", "PET/CT"):
        p = ms.load_parameters("colorectal", {"clinic.staging_modality": modality})
        arms[modality] = _at_diagnosis(p, build_clinic_params(p), n, seed)
    return arms


@pytest.mark.parametrize("arm", ["PET", "PET/CT"])
def test_staging_modality_changes_observed_not_true_stage(staging_arms, arm):
    """Same patients staged by another modality: nearly all are diagnosed the same day (the staging scan can
    also make the diagnosis); for those, the true stage is identical and the observed stage differs for some."""
    ct, other = staging_arms["CT"], staging_arms[arm]
    same = (ct.day_diagnosis == other.day_diagnosis).to_numpy()
    assert same.sum() >= 0.98 * ct.day_diagnosis.notna().sum()
    for col in ("t_true", "n_true", "m_true", "stage_true", "seer_true", "t_observed"):
        assert _same(ct[col][same], other[col][same]).all(), col
    assert (~_same(ct.stage_observed[same], other.stage_observed[same])).sum() > 5


def test_better_staging_imaging_migrates_stage_upwards(staging_arms):
    """PET/CT (at every size and organ at least as sensitive as CT) on the same patients, diagnosed the same day:
    the same random draw decides each lesion, so no patient's observed stage group or SEER stage is lower than
    with CT, and the observed distant (M1) share is higher by more than 3 paired standard errors. The true stage
    is unchanged (previous test): stage migration (Will Rogers phenomenon)."""
    ct, petct = staging_arms["CT"], staging_arms["PET/CT"]
    same = (ct.day_diagnosis == petct.day_diagnosis).to_numpy()
    a, b = ct[same], petct[same]
    assert (b.stage_observed.to_numpy() >= a.stage_observed.to_numpy()).all()  # codes ordered 0, I ... IV
    assert (b.seer_observed.to_numpy() >= a.seer_observed.to_numpy()).all()  # localized, regional, distant
    d = b.m_observed.to_numpy().astype(int) - a.m_observed.to_numpy().astype(int)
    assert _paired_z(d) > 3, f"mean {d.mean():.4f}"


def test_pet_alone_misses_metastases_that_ct_finds(staging_arms):
    """PET without its CT misses small lung and liver nodules (Nomori et al. 2004: FDG-PET finds no lung nodule
    under 10 mm), so staging by PET alone gives M0 to some patients CT calls M1; PET/CT never does (test above).
    This is why the default is CT and FDG-PET is modelled as PET/CT."""
    ct, pet = staging_arms["CT"], staging_arms["PET"]
    same = (ct.day_diagnosis == pet.day_diagnosis).to_numpy()
    d = pet.m_observed[same].to_numpy().astype(int) - ct.m_observed[same].to_numpy().astype(int)
    assert (d < 0).sum() > 5, f"{(d < 0).sum()} patients M1 on CT but M0 on PET"


# --- 10. bad trial input ----------------------------------------------------------------------------------

ARMS_OK = """
[arms.a.parameters]
"treatment.plan_stage_III" = ["surgery"]
[arms.b.parameters]
"treatment.plan_stage_III" = ["surgery", "adjuvant_chemotherapy"]
"""


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (None, ["trial scenario file not found", "missing.toml"]),
        ('[trial]\ncancer = "colorectal"\npatient = 100\n' + ARMS_OK, ["'patient'", "did you mean 'patients'"]),
        (
            "[trial]\npatients = 100\n" + ARMS_OK + '[arms.c.parameters]\n"growth.doubling_time_days_median" = 100\n',
            ["arm 'c'", "growth.doubling_time_days_median", "biology parameter"],
        ),
        (
            '[trial]\npatients = 100\n[arms.a.parameter]\n"treatment.plan_stage_III" = ["surgery"]\n'
            '[arms.b.parameters]\n"treatment.plan_stage_III" = ["surgery"]\n',
            ["'parameter'", "did you mean 'parameters'"],
        ),
        (
            '[trial]\npatients = 100\n[arms.a.parameters]\n"treatment.plan_stage_3" = ["surgery"]\n'
            '[arms.b.parameters]\n"treatment.plan_stage_III" = ["surgery"]\n',
            ["arm 'a'", "'treatment.plan_stage_3'", "did you mean 'treatment.plan_stage_I"],
        ),
    ],
    ids=["missing-file", "unknown-trial-key", "biology-parameter", "unknown-arm-key", "unknown-parameter"],
)
def test_bad_trial_files_give_one_line_errors_and_write_nothing(tmp_path, text, needles):
    """`metastasim trial` on a bad scenario: exit code 2, one line on stderr naming the problem (and the nearest
    valid key), no database and no output directory."""
    path = tmp_path / ("missing.toml" if text is None else "trial.toml")
    if text is not None:
        path.write_text('name = "bad"\n' + text)
    res = cli("trial", path.name, "--db", "t.duckdb", "--out", "out", "--quiet", cwd=tmp_path)
    line = one_line_error(res)
    for needle in needles:
        assert needle in line, line
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if text is None else ["trial.toml"])
