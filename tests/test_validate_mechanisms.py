"""Mechanism targets of `metastasim validate`: published intervals from the rows' own uncertainty, the simulations'
statistics, the unit formatting of the table, and a small end-to-end run.

No simulated number is written into a test: published intervals are recomputed from the reference rows' own text,
statistical helpers are checked for coverage on draws with a fixed seed (tolerances stated), and the end-to-end
run is checked for consistency, not for values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from metastasim.cohort.trial import read_trial
from metastasim.data.reference import load_reference
from metastasim.experiments.inefficiency import LUZZI_MEASURES
from metastasim.params.load import load_parameters
from metastasim.validation import mechanism_sims as sims
from metastasim.validation import mechanism_targets as tg
from metastasim.validation.mechanisms import FAILURE_NOTES, failure_notes_markdown, mechanism_results
from metastasim.validation.suite import Result, format_range, format_table, format_value
from metastasim.validation.targets import Z95, Target, wilson_interval

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _all_targets() -> list[Target]:
    return [
        *tg.luzzi_targets(),
        *(i.target for i in tg.imaging_targets()),
        *(g.target for g in tg.growth_targets()),
        tg.ctc_half_life_target(),
        *tg.targeted_targets(),
        *tg.adjuvant_colon_targets(),
        *tg.immunotherapy_targets(),
        *tg.immunotherapy_survival_targets(),
        tg.operative_mortality_target(),
        tg.early_seeding_target(),
    ]


# --- published intervals -----------------------------------------------------------------------------------


def test_operative_mortality_is_a_wilson_interval_from_n_1001():
    """Fong et al. 1999: 2.8% of n=1001, i.e. 28 deaths; the interval is scipy's Wilson interval of 28/1001."""
    t = tg.operative_mortality_target()
    ci = binomtest(28, 1001).proportion_ci(confidence_level=0.95, method="wilson")
    assert t.published == pytest.approx(0.028)
    assert (t.low, t.high) == pytest.approx((ci.low, ci.high), abs=2e-4)  # 0.028 * 1001 = 28.03, not exactly 28
    assert "n=1001" in t.uncertainty and t.unit == "share"


@pytest.mark.parametrize(
    ("value", "statistic", "spread", "n", "expected"),
    [
        (211.0, "median", "IQR 112-404", None, (112.0, 404.0)),
        (167.0, "median", "95% CI 151-186", None, (151.0, 186.0)),
        (155.0, "mean", "sd 34", None, (155.0 - 0.6745 * 34, 155.0 + 0.6745 * 34)),
        (132.3, "mean", "sd 132.1; range 20-977", 100, (132.3 - Z95 * 13.21, 132.3 + Z95 * 13.21)),
        (
            98.0,
            "median",
            "IQR 108; 50% <100 d",
            111,
            (
                98.0 - Z95 * math.sqrt(math.pi / 2) * 108 / 1.349 / math.sqrt(111),
                98.0 + Z95 * math.sqrt(math.pi / 2) * 108 / 1.349 / math.sqrt(111),
            ),
        ),
        (207.0, "median", "n=149", 149, (207.0, 207.0)),
        (71.4, "mean", "", None, (71.4, 71.4)),
    ],
)
def test_spread_interval_follows_the_rows_own_uncertainty(value, statistic, spread, n, expected):
    low, high, how = tg.spread_interval(value, statistic, spread, n)
    assert (low, high) == pytest.approx(expected, rel=1e-3)
    assert how


def test_growth_targets_parse_the_doubling_time_table():
    """Each kept row's interval is recomputed here from its text; skipped rows (histologies, growth law) are absent."""
    by_id = {g.target.id: g for g in tg.growth_targets()}
    table = load_reference("doubling_times")
    assert len(by_id) == len(tg.GROWTH_ROWS) == len(table) - 3  # squamous, adenocarcinoma, breast growth law
    pancreas = by_id["doubling_time.pancreas.primary"].target
    assert (pancreas.low, pancreas.high) == pytest.approx((132.3 - Z95 * 132.1 / 10, 132.3 + Z95 * 132.1 / 10))
    assert (
        by_id["doubling_time.colorectal.primary"].target.low,
        by_id["doubling_time.colorectal.primary"].target.high,
    ) == (112, 404)
    interval = by_id["doubling_time.breast.interval"].target
    assert (interval.low, interval.high) == (151, 186) and "95% CI" in interval.uncertainty
    assert "n=111" in by_id["doubling_time.lung_nsclc.ct_screening"].target.uncertainty
    rate = by_id["growth.melanoma.metastasis_rate"].target
    assert rate.published == pytest.approx(0.01) and rate.unit == "per day" and rate.low == rate.high
    assert by_id["growth.breast.days_10_to_20_mm"].target.published == 621
    for g in by_id.values():
        assert g.target.low <= g.target.published <= g.target.high
        assert g.statistic in ("mean", "median")


@pytest.mark.parametrize(
    ("band", "expected"),
    [
        ("1-5 mm", (0.5, 5.5)),
        ("16-20 mm", (15.5, 20.5)),
        (">20 mm", (20.5, 40.0)),
        ("<10 mm", (0.5, 9.5)),
        ("5 mm", (5.0, 5.0)),
    ],
)
def test_size_bands_are_read_as_whole_millimetres(band, expected):
    assert tg.size_band_mm(band) == pytest.approx(expected)


def test_imaging_targets_use_a_stated_count_or_the_exact_value():
    by_id = {i.target.id: i for i in tg.imaging_targets()}
    assert len(by_id) == 9  # Ko 5 bands, Nomori 2, mammography 2
    nomori = by_id["imaging.pet_lung_nodule.lt10mm"].target
    assert (nomori.low, nomori.high) == pytest.approx(wilson_interval(0, 20))  # "0/20 positive"
    ko = by_id["imaging.ct_liver_nodule.6-10mm"]
    assert ko.target.low == ko.target.high == pytest.approx(0.55)
    assert (ko.modality, ko.organ, ko.low_mm, ko.high_mm) == ("CT", "liver", 5.5, 10.5)


def test_ctc_half_life_range_and_treatment_targets():
    ctc = tg.ctc_half_life_target()
    assert (ctc.low, ctc.high, ctc.published, ctc.unit) == (1.0, 2.4, pytest.approx(1.7), "hours")
    hr, *os5 = tg.adjuvant_colon_targets()
    assert (hr.published, hr.low, hr.high, hr.unit) == (0.69, 0.55, 0.87, "hazard ratio")
    assert [t.published for t in os5] == [0.526, 0.634]
    median, p10, p90, resistant = tg.targeted_targets()
    assert (median.published, median.low, median.high) == (0.03, 0.01, 0.07)
    assert p10.low == p10.high == 0.01 and p90.low == p90.high == 0.07
    assert resistant.low == resistant.high == 0.38
    (orr,) = tg.immunotherapy_targets()
    assert (orr.low, orr.high) == pytest.approx(wilson_interval(0.576 * 315, 315))


def test_early_seeding_target_is_the_wilson_interval_of_17_of_21():
    t = tg.early_seeding_target()
    assert (t.published, t.kind, t.cancer) == (0.81, "dissemination", "colorectal")
    assert (t.low, t.high) == pytest.approx(wilson_interval(17, 21))
    assert t.low < 17 / 21 < t.high


def test_seeding_ancestors_climb_through_nodes_metastases_and_subclones():
    """Patient 7: primary 0 seeds node 1 (day 10), which seeds liver 2 (day 50), which seeds lung 3 (day 80);
    treatment splits resistant subclone 4 off lung 3; the primary also seeds bone 5 (day 30) directly. Patient 8's
    lesion ids restart at 0 and must not be mixed up with patient 7's."""
    les = pd.DataFrame(
        {
            "patient_id": [7, 7, 7, 7, 7, 7, 8, 8],
            "lesion_id": [0, 1, 2, 3, 4, 5, 0, 1],
            "parent_id": [-1, 0, 1, 2, 2, 0, -1, 0],
            "site": ["primary", "regional_nodes", "liver", "lung", "lung", "bone", "primary", "liver"],
            "day_seeded": [0.0, 10.0, 50.0, 80.0, 200.0, 30.0, 0.0, 99.0],
            "resistant_subclone_of": [-1, -1, -1, -1, 3, -1, -1, -1],
        }
    )
    rows = pd.DataFrame({"patient_id": [7, 7, 7, 7, 8, 7], "lesion_id": [3, 4, 5, 2, 1, 0]})
    anc = sims.seeding_ancestors(les, rows)
    assert anc["lesion_id"].tolist() == [3, 4, 5, 2, 1]  # the primary itself has no seeding ancestor
    assert anc["ancestor_id"].tolist() == [1, 1, 5, 1, 1]
    assert anc["ancestor_day_seeded"].tolist() == [10.0, 10.0, 30.0, 10.0, 99.0]
    assert anc["patient_id"].tolist() == [7, 7, 7, 7, 8]


def test_luzzi_targets_map_to_the_experiment_measures_and_ids_are_unique():
    luzzi = tg.luzzi_targets()
    assert [t.key for t in luzzi] == list(LUZZI_MEASURES)
    ids = [t.id for t in _all_targets()]
    assert len(ids) == len(set(ids))
    for t in _all_targets():
        assert t.source and t.uncertainty and t.unit
        assert t.low <= t.published <= t.high, t


def test_failure_notes_name_real_targets():
    ids = {t.id for t in _all_targets()}
    assert set(FAILURE_NOTES) <= ids
    assert all(len(note) > 40 for note in FAILURE_NOTES.values())


def test_copied_trial_arms_match_the_example_files():
    """The arms run by the validation are those of the examples (which are not installed with the package)."""
    adjuvant = read_trial(EXAMPLES / "trial_adjuvant_colon.toml")
    assert {k: v["parameters"] for k, v in adjuvant.arms.items()} == {
        k: v["parameters"] for k, v in sims.ADJUVANT_ARMS.items()
    }
    targeted = read_trial(EXAMPLES / "trial_targeted_resistance.toml")
    assert targeted.arms["resistance"]["parameters"] == sims.TARGETED_ARM


# --- statistics of the simulations ---------------------------------------------------------------------------


def test_quantile_interval_covers_the_true_median_about_95_percent_of_the_time():
    """400 samples of 101 Exp(1) draws (seed 7): coverage of ln 2 within 3 binomial SE (0.011) of >= 0.95."""
    rng = np.random.Generator(np.random.Philox(7))
    hits = 0
    for _ in range(400):
        _, lo, hi = sims.quantile_interval(rng.standard_exponential(101), 0.5)
        hits += lo <= math.log(2.0) <= hi
    assert 0.95 - 3 * 0.011 <= hits / 400 <= 1.0


def test_bootstrap_mean_covers_the_true_mean_about_95_percent_of_the_time():
    """400 samples of 100 normal draws (seed 11; a symmetric distribution, where the percentile bootstrap is
    accurate): coverage of the true mean within 3 binomial SE (0.011) of 0.95."""
    rng = np.random.Generator(np.random.Philox(11))
    hits = sum(
        lo <= 5.0 <= hi
        for _, lo, hi in (sims.bootstrap_mean(rng.normal(5.0, 2.0, 100), seed=k, resamples=500) for k in range(400))
    )
    assert abs(hits / 400 - 0.95) <= 3 * 0.011


def test_immunotherapy_survival_targets_read_their_rows():
    """Median PFS 11.5 months (Larkin 2015) in days; 12-month OS with each KEYNOTE-006 drug's response rate."""
    pfs, pembro, ipi = tg.immunotherapy_survival_targets()
    assert pfs.published == pytest.approx(11.5 * 365.25 / 12) and pfs.unit == "days"
    assert (pembro.published, pembro.key) == (pytest.approx(0.741), "os12:0.337")
    assert (ipi.published, ipi.key) == (pytest.approx(0.582), "os12:0.119")


def test_median_survival_result_covers_the_true_median_about_95_percent_of_the_time():
    """300 samples of 150 Exp(1) times, a third censored at random (seed 3): the band-based interval covers ln 2
    within 3 binomial SE (0.0126) of 0.95 or more."""
    rng = np.random.Generator(np.random.Philox(3))
    target = tg.immunotherapy_survival_targets()[0]
    hits = 0
    for _ in range(300):
        death, censor = rng.standard_exponential(150), rng.standard_exponential(150) * 2.0
        r = sims.median_survival_result(target, np.minimum(death, censor), (death <= censor).astype(float))
        hits += r.sim_low <= math.log(2.0) <= r.sim_high
    assert hits / 300 >= 0.95 - 3 * 0.0126


def test_progression_free_days_count_from_the_start_of_immunotherapy():
    """Three patients: progression on a scan, censored alive, dead without a progression scan."""
    start, scan, resp = "treatment_start", "response", "immunotherapy begins (line 1)"
    events = pd.DataFrame({
        "patient_id": [1, 1, 1, 2, 2, 3],
        "event": [start, scan, scan, start, scan, start],
        "day": [100.0, 180.0, 250.0, 50.0, 200.0, 10.0],
        "detail": [resp, "response scan: partial response", sims.PROGRESSION_DETAIL, resp,
                   "response scan: stable disease", resp],
    })
    patients = pd.DataFrame({"patient_id": [1, 2, 3], "died": [True, False, True], "day_end": [400.0, 500.0, 40.0]})
    f = sims._from_immunotherapy_start({"events": events, "patients": patients})
    assert f.loc[1].tolist() == [150.0, 1.0, 300.0, 1.0]
    assert f.loc[2].tolist() == [450.0, 0.0, 450.0, 0.0]
    assert f.loc[3].tolist() == [30.0, 1.0, 30.0, 1.0]


def test_share_result_has_exact_bounds_when_all_or_none_are_hits():
    t = tg.operative_mortality_target()
    assert sims.share_result(t, 50, 50).sim_high == 1.0
    assert sims.share_result(t, 0, 50).sim_low == 0.0


def test_gompertz_growth_model_reproduces_the_drawn_doubling_time_and_closed_form_times():
    """At growth.reference_cells a lesion doubles in the patient's drawn doubling time; from 10 to 20 mm it needs
    (1/b)·ln(ln(K/x10)/ln(K/x20)) days (Gompertz closed form). Relative tolerance 1e-9."""
    params = load_parameters("breast")
    model = sims.GrowthModel(params, 1)
    doubling = np.array([50.0, 97.0, 400.0])
    rates = model.rates(doubling)
    at_reference = math.log(2.0) / model.specific_rate(rates, np.full(3, model.reference_cells))
    np.testing.assert_allclose(at_reference, doubling, rtol=1e-9)
    K = float(params["growth.carrying_capacity_cells"])
    x10, x20 = (math.pi / 6 * d**3 / 1000 * model.cells_per_cm3 for d in (10.0, 20.0))
    expected = np.log(math.log(K / x10) / math.log(K / x20)) / rates
    np.testing.assert_allclose(model.days_between(rates, 10.0, 20.0), expected, rtol=1e-9)


def test_imaging_simulation_draws_the_table_sensitivity():
    """A band inside one step of the CT liver table (6-10 mm -> 5.5-10.5 mm, table value from 5.5 mm): the share
    found among 4,000 lesions (seed 3) lies within 4 binomial SE of the table's value at 8 mm."""
    from metastasim.clinic.clinic_params import build_clinic_params
    from metastasim.clinic.codes import CT, IMAGING_TARGETS
    from metastasim.clinic.imaging import sensitivity

    band = next(i for i in tg.imaging_targets() if i.target.id == "imaging.ct_liver_nodule.6-10mm")
    expected = sensitivity(build_clinic_params(load_parameters("colorectal")), CT, IMAGING_TARGETS.index("liver"), 8.0)
    (r,) = sims.imaging_results([band], 4000, 3)
    assert abs(r.simulated - expected) <= 4 * math.sqrt(expected * (1 - expected) / 4000)
    assert r.sim_low <= r.simulated <= r.sim_high and r.n == 4000


# --- formatting ----------------------------------------------------------------------------------------------


def test_units_are_formatted_sensibly():
    assert format_value(0.409, "share") == "40.9%"
    assert format_value(98.0, "days") == "98.0 d"
    assert format_value(0.69, "hazard ratio") == "0.69"
    assert format_value(1.7, "hours") == "1.70 h"
    assert format_value(0.03, "per day") == "0.030/d"
    assert format_range(0.38, 0.45, "share") == "38.0-45.0%"
    assert format_range(0.55, 0.87, "hazard ratio") == "0.55-0.87"
    assert format_range(112, 404, "days") == "112.0-404.0 d"
    assert format_range(-0.006, -0.003, "per day") == "-0.006 to -0.003/d"


def test_format_table_prints_each_target_in_its_unit():
    hr = tg.adjuvant_colon_targets()[0]
    share = tg.operative_mortality_target()
    text = format_table([Result(hr, 0.94, 0.9, 0.99, 800), Result(share, 0.02, 0.01, 0.03, 700)])
    hr_line = next(line for line in text.splitlines() if line.startswith(hr.id))
    assert "0.69" in hr_line and "0.55-0.87" in hr_line and "0.90-0.99" in hr_line and hr_line.endswith("FAIL")
    share_line = next(line for line in text.splitlines() if line.startswith(share.id))
    assert "2.8%" in share_line and "1.0-3.0%" in share_line and share_line.endswith("pass")
    assert "1 of 2 targets pass" in text


# --- end to end ----------------------------------------------------------------------------------------------


def test_mechanism_results_end_to_end_on_small_cohorts():
    """colorectal and melanoma, 300 patients, seed 5: every target of those types is reported once, with an ordered
    simulated interval and the verdict of the overlap rule; types without mechanism targets get none; the failure
    notes list exactly the failing targets."""
    results = mechanism_results(["colorectal", "melanoma"], 300, 5)
    expected = [t.id for t in _all_targets() if t.cancer in ("colorectal", "melanoma")]
    assert sorted(r.target.id for r in results) == sorted(expected)
    for r in results:
        if math.isfinite(r.simulated):
            assert r.sim_low <= r.simulated <= r.sim_high, r
        assert r.passed == (r.sim_low <= r.target.high and r.sim_high >= r.target.low)
    assert sum(r.n for r in results if r.target.kind == "trial") > 0
    notes = failure_notes_markdown(results)
    assert notes.count("\n") + 1 == sum(not r.passed for r in results) or (
        notes == "" and all(r.passed for r in results)
    )
    assert mechanism_results(["kidney"], 300, 5) == []
