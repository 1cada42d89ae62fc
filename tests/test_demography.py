"""Demography: the life table reproduces its published summary figures, deaths from other causes follow it,
and every cancer type has a cited age and sex mix."""

from importlib import resources

import numba
import numpy as np
import pytest

from metastasim.clinic.demography import (
    FEMALE,
    MALE,
    MAX_AGE,
    demography_cancers,
    life_expectancy,
    load_demography,
    load_life_table,
    other_cause_death_age,
)
from metastasim.errors import ScenarioError

CANCERS = ("colorectal", "pancreas", "stomach", "breast", "lung_nsclc", "lung_sclc", "prostate", "kidney", "melanoma")

# Published by the source of data/life_table.csv: SSA Office of the Chief Actuary, Period Life Table 2021 as
# used in the 2024 Trustees Report (table 4c6): period life expectancy at birth and at 65 by sex.
PUBLISHED_E0 = {MALE: 73.54, FEMALE: 79.30}
PUBLISHED_E65 = {MALE: 16.95, FEMALE: 19.75}


@numba.njit(cache=False)
def _death_ages(H, sex, age_now, draws, out):
    # Calls the kernel from compiled code, as the clinic does.
    for k in range(draws.shape[0]):
        out[k] = other_cause_death_age(H, sex, age_now, draws[k])


def test_life_table_shape_and_monotone():
    H = load_life_table()
    assert H.shape == (2, MAX_AGE + 1) == (2, 121)
    assert H.dtype == np.float64 and H.flags.c_contiguous and H.flags.writeable
    assert np.all(np.isfinite(H))
    assert np.all(H[:, 0] == 0.0)
    assert np.all(np.diff(H, axis=1) > 0.0)
    # men die earlier than women at every age from 1 to 113 (the table gives both sexes one q from 114 on)
    assert np.all(np.diff(H[MALE])[1:113] > np.diff(H[FEMALE])[1:113])
    # the returned array is a copy: changing it does not change the next load
    H[0, 5] = -1.0
    assert load_life_table()[0, 5] > 0.0


def test_life_table_files_are_shipped_with_a_source():
    data = resources.files("metastasim.data")
    header = data.joinpath("life_table.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "age,male_qx,female_qx"
    source = data.joinpath("life_table.source.txt").read_text(encoding="utf-8")
    assert "Period Life Table, 2021" in source and "2024 Trustees Report" in source


@pytest.mark.parametrize("sex", [MALE, FEMALE])
def test_life_expectancy_matches_the_published_table(sex):
    H = load_life_table()
    assert life_expectancy(H, sex, 0) == pytest.approx(PUBLISHED_E0[sex], abs=0.3)
    assert life_expectancy(H, sex, 65) == pytest.approx(PUBLISHED_E65[sex], abs=0.3)


@pytest.mark.parametrize("sex", [MALE, FEMALE])
def test_sampled_deaths_reproduce_the_table_survival(sex):
    H = load_life_table()
    n = 200_000
    draws = np.random.default_rng(20240521 + sex).standard_exponential(n)
    ages = np.empty(n)
    _death_ages(H, sex, 65.0, draws, ages)
    assert np.all(ages > 65.0)
    for horizon in (75, 85):
        expected = np.exp(-(H[sex, horizon] - H[sex, 65]))
        observed = np.mean(ages > horizon)
        se = np.sqrt(expected * (1.0 - expected) / n)
        assert abs(observed - expected) < 4.0 * se, (sex, horizon, observed, expected)


def test_death_age_inverts_the_hazard_and_is_always_later():
    H = load_life_table()
    # exact inversion at integer ages, for both sexes
    for sex in (FEMALE, MALE):
        for a0, a1 in ((0, 1), (40, 70), (65, 90), (100, 120)):
            assert other_cause_death_age(H, sex, float(a0), H[sex, a1] - H[sex, a0]) == pytest.approx(a1)
    # linear within a year: half the year's hazard is half the year
    half = 0.5 * (H[MALE, 71] - H[MALE, 70])
    assert other_cause_death_age(H, MALE, 70.0, half) == pytest.approx(70.5)
    # beyond the table the hazard stays at its last year's
    tail = H[FEMALE, MAX_AGE] - H[FEMALE, MAX_AGE - 1]
    assert other_cause_death_age(H, FEMALE, 125.0, tail) == pytest.approx(126.0)
    assert other_cause_death_age(H, FEMALE, 119.5, 2.0 * tail) == pytest.approx(121.5)
    # always strictly later than now, from any age, including fractional and beyond-table ages
    rng = np.random.default_rng(7)
    for _ in range(2000):
        sex = int(rng.integers(2))
        age = float(rng.uniform(0.0, 130.0))
        e = float(rng.standard_exponential())
        death = other_cause_death_age(H, sex, age, e)
        assert np.isfinite(death) and death > age


def test_demography_for_every_cancer():
    assert set(demography_cancers()) == set(CANCERS)
    for cancer in CANCERS:
        d = load_demography(cancer)
        assert d.cancer == cancer
        assert 55.0 <= d.median_age_at_diagnosis_years <= 75.0
        assert 5.0 <= d.age_at_diagnosis_sd_years <= 20.0
        assert 0.0 <= d.share_male <= 1.0
        assert set(d.sources) == {"median_age_at_diagnosis_years", "age_at_diagnosis_sd_years", "share_male"}
        assert all(s.strip() for s in d.sources.values())
        if cancer not in ("breast", "prostate"):
            assert 0.4 <= d.share_male <= 0.7
    assert load_demography("breast").share_male == 0.0
    assert load_demography("prostate").share_male == 1.0


def test_unknown_cancer_names_the_nearest_key():
    with pytest.raises(ScenarioError, match=r"unknown cancer type 'colorectl'.*'colorectal'"):
        load_demography("colorectl")
    with pytest.raises(ScenarioError, match=r"'lung_sclc'"):
        load_demography("lung_scl")
