"""The cohort summary is computed in DuckDB (bounded memory); it must equal the same figures from pandas."""

import numpy as np
import pytest

from metastasim.anatomy.sites import SITES
from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.summary import (
    FRACTION_COLUMNS,
    recorded_site_shares,
    reference_comparison,
    report_years,
    site_distribution,
    site_patterns,
    summarise_tables,
)
from metastasim.data.reference import metastatic_site_rows, most_common_reference_site, recorded_sites
from metastasim.params.load import load_parameters
from metastasim.units import DAYS_PER_YEAR

YEARS = 20


@pytest.fixture(scope="module")
def tables():
    return simulate_tables(load_parameters("colorectal"), 11, 0, 800, YEARS, "sum", with_events=False)


@pytest.fixture(scope="module")
def summary(tables):
    info = {"run_id": "sum", "cancer": "colorectal", "years": YEARS, "seed": 11, "version": "test"}
    return summarise_tables(info, tables["patients"], tables["timeseries"])


def test_fractions_by_year_match_pandas(tables, summary):
    p = tables["patients"]
    assert summary["patients"] == len(p) == 800
    for key, column in FRACTION_COLUMNS.items():
        days = p[column].to_numpy(dtype=float)
        for y in report_years(YEARS):
            assert summary[key][str(y)] == pytest.approx(float(np.mean(days <= y * DAYS_PER_YEAR)), abs=1e-12)
    assert 0 < summary["death_fraction"]["20"] < 1


def test_sites_seeding_and_deaths_match_pandas(tables, summary):
    p = tables["patients"]
    any_share, only_share, n = site_distribution(p)
    assert summary["patients_with_detectable_distant_metastasis"] == n > 20
    assert summary["site_distribution"] == pytest.approx(any_share)
    assert summary["site_only_distribution"] == pytest.approx(only_share)
    assert summary["site_patterns"] == site_patterns(p)
    seeded = p["day_first_distant_seeding"].dropna()
    assert summary["first_distant_seeding"]["patients_seeded"] == len(seeded)
    assert summary["first_distant_seeding"]["median_day"] == pytest.approx(float(seeded.median()))
    assert summary["first_distant_seeding"]["quartile_days"] == pytest.approx(
        [float(seeded.quantile(0.25)), float(seeded.quantile(0.75))])
    died = p[p["died"]]
    assert summary["deaths"] == len(died)
    causes = died["death_cause"].astype(object).value_counts(normalize=True)
    assert summary["causes_of_death"] == pytest.approx({str(k): float(v) for k, v in causes.items() if v > 0})
    diagnosed = p["day_diagnosis"].notna()
    assert summary["patients_diagnosed"] == int(diagnosed.sum())
    assert summary["median_age_at_diagnosis"] == pytest.approx(float(p.loc[diagnosed, "age_at_diagnosis"].median()))


def test_circulating_tumour_cells_match_pandas(tables, summary):
    ts = tables["timeseries"]
    for y in report_years(YEARS):
        alive = ts[ts["year"] == y]
        got = summary["ctc_per_7_5ml"][str(y)]
        assert got["patients_alive"] == len(alive) > 0
        assert got["median"] == pytest.approx(float(alive["ctc_per_7_5ml"].median()))
        assert got["mean"] == pytest.approx(float(alive["ctc_per_7_5ml"].mean()))
        assert got["share_at_least_5"] == pytest.approx(float((alive["ctc_per_7_5ml"] >= 5).mean()))


def test_a_cohort_in_which_nothing_happens_yet_has_zero_fractions_not_missing_ones():
    p = simulate_tables(load_parameters("colorectal"), 11, 0, 20, 3, "few", with_events=False)
    patients = p["patients"].copy()
    for column in ("day_first_distant_metastasis", "day_first_distant_seeding",
                   "primary_cm3_at_first_distant_seeding"):
        patients[column] = np.nan  # as in a short run where no patient has any yet
    info = {"run_id": "few", "cancer": "colorectal", "years": 3, "seed": 11, "version": "test"}
    summary = summarise_tables(info, patients, p["timeseries"])
    assert summary["distant_metastasis_fraction"] == {"1": 0.0, "3": 0.0}
    assert summary["first_distant_seeding"]["patients_seeded"] == 0
    assert summary["first_distant_seeding"]["early_seeding_share"] is None


# Counts chosen by hand: 10 bone alone, 5 bone+adrenal, 3 adrenal alone, 4 liver+lung, 2 brain+adrenal+pleura.
PATTERNS = {"bone": 10, "adrenal,bone": 5, "adrenal": 3, "liver,lung": 4, "adrenal,brain,pleura": 2}
SEER_SITES = ("bone", "brain", "liver", "lung")


def test_recorded_site_shares_count_as_a_source_that_recorded_only_some_sites():
    shares, n = recorded_site_shares(PATTERNS, SEER_SITES)
    # adrenal alone is unknown to such a source; bone+adrenal is bone alone; brain+adrenal+pleura is brain alone
    assert n == 21
    assert shares == pytest.approx({"bone": 15 / 21, "brain": 2 / 21, "liver": 0.0, "lung": 0.0,
                                    "multiple sites": 4 / 21})
    assert recorded_site_shares({"adrenal": 7}, SEER_SITES) == ({**dict.fromkeys(SEER_SITES, 0.0),
                                                                "multiple sites": 0.0}, 0)


def test_reference_comparison_uses_the_recorded_sites_of_each_row():
    ref = reference_comparison("lung_nsclc", PATTERNS).set_index("site")["simulated_percent"]
    assert ref["bone only"] == pytest.approx(100 * 15 / 21)
    assert ref["lung (contralateral) only"] == pytest.approx(0.0)
    assert ref["multiple sites"] == pytest.approx(100 * 4 / 21)
    # A row without recorded sites keeps "any involvement" (colorectal liver: 4 of 24 metastatic patients).
    crc = reference_comparison("colorectal", PATTERNS).set_index("site")["simulated_percent"]
    assert crc.loc["liver"].iloc[0] == pytest.approx(100 * 4 / 24)


def test_recorded_sites_in_the_reference_are_model_sites_and_the_isolated_rows_sum_to_100():
    for cancer in ("lung_nsclc", "lung_sclc"):
        rows = metastatic_site_rows(cancer)
        recorded = rows[rows["recorded_sites"] != ""]
        assert len(recorded) == 5
        for cell in recorded["recorded_sites"]:
            assert set(recorded_sites(cell)) <= set(SITES)
        # Li et al. 2019's categories (each site alone, or several) are exclusive: they add up to 100% +- rounding.
        assert recorded["percent"].astype(float).sum() == pytest.approx(100.0, abs=0.2)
        winner = most_common_reference_site(cancer)
        assert winner.alone and winner.recorded_sites == SEER_SITES


def test_clinical_summary_matches_pandas(tables, summary):
    """Stage shares, 5-year survival by stage, routes and presentation, computed in DuckDB, equal pandas's."""
    from metastasim.report.survival import survival_by_group_at

    p = tables["patients"]
    dx = p[p["day_diagnosis"].notna()]
    for stage, share in summary["stage_at_diagnosis"].items():
        assert share == pytest.approx(float((dx["seer_stage_observed"] == stage).mean()), abs=1e-12)
    frame = dx.assign(years=dx["years_from_diagnosis"].astype(float), died=dx["died"].astype(float))
    expected = survival_by_group_at(frame, "seer_stage_observed", 5.0)
    assert len(expected) >= 2
    for stage, value in summary["survival_5y_by_stage"].items():
        if value is None:
            assert not np.isfinite(expected.get(stage, np.nan))
        else:
            assert value == pytest.approx(expected[stage], abs=1e-12)
    routes = dx["diagnosis_route"].astype(object).value_counts(normalize=True)
    assert summary["diagnosis_route"] == pytest.approx({str(k): float(v) for k, v in routes.items()})
    liver = dx[dx["sites_at_diagnosis"].fillna("").str.split(",").apply(lambda s: "liver" in s)]
    assert len(liver) > 0
    symptoms = liver["symptoms_at_diagnosis"].fillna("").str.split(",").explode()
    counts = symptoms[symptoms != ""].value_counts() / len(liver)
    for name, share in summary["symptoms_at_presentation_by_site"]["liver"].items():
        assert share == pytest.approx(round(float(counts[name]), 3))
