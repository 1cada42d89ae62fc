"""The cohort summary is computed in DuckDB (bounded memory); it must equal the same figures from pandas."""

import numpy as np
import pytest

from metastasim.cohort.chunks import simulate_tables
from metastasim.cohort.summary import FRACTION_COLUMNS, report_years, site_distribution, summarise_tables
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
