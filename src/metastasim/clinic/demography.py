"""Who the patient is: age and sex at diagnosis by cancer type, and death from other causes.

Two published data files back this module (each with its citation beside it):

- ``data/life_table.csv`` (source in ``data/life_table.source.txt``): a period life table, the probability q_x
  that a person alive at exact age x dies before x + 1, by sex. :func:`load_life_table` turns it into the
  cumulative hazard H(a) = -ln S(a) at exact ages 0..120, with a constant hazard within each year of age;
  :func:`other_cause_death_age` inverts H for one unit-exponential draw, so a simulated person dies of other
  causes exactly as often, at each age, as the table says.
- ``data/demography.toml``: median and spread of age at diagnosis and the share of men, per cancer type;
  :func:`load_demography` reads one cancer's row.

Sex is coded 0 = female, 1 = male (the row of the hazard array).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from importlib import resources
from typing import NamedTuple

import numpy as np

from metastasim._jit import kernel
from metastasim.data import read_toml
from metastasim.errors import ScenarioError, unknown_key_message

FEMALE = 0
MALE = 1
MAX_AGE = 120
"""Last exact age of the hazard array; beyond it the hazard stays at the last finite year's."""

LIFE_TABLE_FILE = "life_table.csv"
DEMOGRAPHY_FILE = "demography.toml"
_DEMOGRAPHY_FIELDS = ("median_age_at_diagnosis_years", "age_at_diagnosis_sd_years", "share_male")


# --------------------------------------------------------------------------------------------------------------
# Death from other causes
# --------------------------------------------------------------------------------------------------------------


def _per_year_hazards(ages: list[int], widths: list[int], qx: list[float]) -> np.ndarray:
    """Hazard of each single year 0..MAX_AGE-1 from (possibly abridged) rows of q; the last row is open.

    A group of width n with probability q spreads its hazard -ln(1 - q) evenly over its n years. Years in the
    open interval (q = 1, or past the table) take the hazard of the last finite year: an open interval's q = 1
    carries no rate, and the table's own last finite year is the best estimate of the rate beyond it.
    """
    mu = np.full(MAX_AGE, np.nan)
    last_finite = math.nan
    for age, width, q in zip(ages, widths, qx, strict=True):
        if q >= 1.0:  # the open interval: filled below
            break
        rate = -math.log1p(-q) / width
        last_finite = rate
        for year in range(age, min(age + width, MAX_AGE)):
            mu[year] = rate
    if not math.isfinite(last_finite):
        raise ValueError("life table has no finite row")
    mu[np.isnan(mu)] = last_finite
    return mu


def _read_life_table() -> tuple[list[int], list[int], list[float], list[float]]:
    text = resources.files("metastasim.data").joinpath(LIFE_TABLE_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise ValueError(f"{LIFE_TABLE_FILE} is empty")
    ages = [int(r["age"]) for r in rows]
    if "age_width" in rows[0]:
        widths = [int(r["age_width"]) if r["age_width"].strip() else 0 for r in rows]
    else:
        widths = [1] * len(rows)
    male = [float(r["male_qx"]) for r in rows]
    female = [float(r["female_qx"]) for r in rows]
    if ages[0] != 0:
        raise ValueError(f"{LIFE_TABLE_FILE} must start at age 0, not {ages[0]}")
    for i in range(len(rows) - 1):
        if widths[i] < 1 or ages[i] + widths[i] != ages[i + 1]:
            raise ValueError(f"{LIFE_TABLE_FILE}: age groups must be contiguous (row for age {ages[i]})")
    for col in (male, female):
        if col[-1] != 1.0:
            raise ValueError(f"{LIFE_TABLE_FILE}: the last row is the open interval and must have q = 1")
        if any(not 0.0 <= q < 1.0 for q in col[:-1]):
            raise ValueError(f"{LIFE_TABLE_FILE}: q must lie in [0, 1) below the open interval")
    widths[-1] = max(widths[-1], 1)
    return ages, widths, male, female


@functools.lru_cache(maxsize=1)
def _life_table_cached() -> np.ndarray:
    ages, widths, male, female = _read_life_table()
    H = np.zeros((2, MAX_AGE + 1))
    for sex, qx in ((FEMALE, female), (MALE, male)):
        H[sex, 1:] = np.cumsum(_per_year_hazards(ages, widths, qx))
    if not (np.all(np.isfinite(H)) and np.all(np.diff(H, axis=1) > 0.0)):
        raise ValueError(f"{LIFE_TABLE_FILE}: cumulative hazard is not finite and strictly increasing")
    return H


def load_life_table() -> np.ndarray:
    """Cumulative hazard of death from other causes, shape [2, 121]: H[sex, a] = -ln S(a) at exact age a.

    Sex 0 is female, 1 male. H[:, 0] = 0; H rises by -ln(1 - q_x) over each year of age (an abridged group's
    hazard spread evenly over its years); the open interval, and any age past the table, continue at the
    hazard of the last finite year. Between integer ages the hazard is constant, so H is linear there.
    Returns a fresh float64 array (C-contiguous, writable) on every call.
    """
    return _life_table_cached().copy()


@kernel
def other_cause_death_age(H: np.ndarray, sex: int, age_now: float, exponential_draw: float) -> float:
    """Age at death from other causes of a person of `sex` alive at `age_now`, given a unit-exponential draw.

    Solves H(age) = H(age_now) + E, with H from :func:`load_life_table` taken as linear between integer ages
    (piecewise-constant hazard) and, past the last age of the array, growing at the hazard of its last year.
    Compiled with numba (no allocation) and callable from Python. `sex` must be 0 or 1; `age_now` below 0 is
    treated as 0.
    """
    last = H.shape[1] - 1
    tail_rate = H[sex, last] - H[sex, last - 1]
    a = age_now if age_now > 0.0 else 0.0
    if a >= last:
        return a + exponential_draw / tail_rate
    i = int(a)
    h_now = H[sex, i] + (a - i) * (H[sex, i + 1] - H[sex, i])
    target = h_now + exponential_draw
    if target >= H[sex, last]:
        return last + (target - H[sex, last]) / tail_rate
    # bisect for the year [lo, lo + 1) in which H crosses the target: H[lo] <= target <= H[lo + 1]
    lo = i
    hi = last
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if H[sex, mid] >= target:
            hi = mid
        else:
            lo = mid
    age = lo + (target - H[sex, lo]) / (H[sex, lo + 1] - H[sex, lo])
    return age if age > a else a


def life_expectancy(H: np.ndarray, sex: int, age: int = 0) -> float:
    """Remaining life expectancy at exact integer `age` under the hazard `H` (same construction as above)."""
    a = int(age)
    last = H.shape[1] - 1
    S = np.exp(-(H[sex] - H[sex, a]))
    mu = np.diff(H[sex])
    years = S[a:last] * -np.expm1(-mu[a:]) / mu[a:]  # integral of S over each year, constant hazard
    return float(years.sum() + S[last] / mu[-1])


# --------------------------------------------------------------------------------------------------------------
# Age and sex at diagnosis
# --------------------------------------------------------------------------------------------------------------


class Demography(NamedTuple):
    """Age at diagnosis and sex of patients with one cancer type (see ``data/demography.toml``)."""

    cancer: str
    median_age_at_diagnosis_years: float
    age_at_diagnosis_sd_years: float
    share_male: float
    sources: dict[str, str]


@functools.lru_cache(maxsize=1)
def _demography_table() -> dict[str, dict[str, dict[str, object]]]:
    return read_toml(DEMOGRAPHY_FILE)


def demography_cancers() -> tuple[str, ...]:
    """The cancer types that ``data/demography.toml`` describes."""
    return tuple(_demography_table())


def load_demography(cancer: str) -> Demography:
    """Median and spread of age at diagnosis and the share of men for `cancer` (a key of demography.toml)."""
    table = _demography_table()
    if cancer not in table:
        raise ScenarioError(unknown_key_message("cancer type", cancer, table))
    row = table[cancer]
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for field in _DEMOGRAPHY_FIELDS:
        entry = row.get(field)
        if not isinstance(entry, dict) or "value" not in entry or not str(entry.get("source", "")).strip():
            raise ScenarioError(f"{DEMOGRAPHY_FILE}: [{cancer}] {field} needs a value and a source")
        value = entry["value"]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ScenarioError(f"{DEMOGRAPHY_FILE}: [{cancer}] {field} must be a number, not {value!r}")
        values[field] = float(value)
        sources[field] = str(entry["source"])
    median, sd, share = (values[f] for f in _DEMOGRAPHY_FIELDS)
    if not 0.0 < median < MAX_AGE or not sd > 0.0 or not 0.0 <= share <= 1.0:
        raise ScenarioError(
            f"{DEMOGRAPHY_FILE}: [{cancer}] values out of range (median {median}, sd {sd}, share {share})"
        )
    return Demography(cancer, median, sd, share, sources)
