"""Simulations behind the mechanism targets: each turns model output into a value with its 95% interval.

Every function reuses the model's own code (the engine through ``simulate_tables``, ``run_inefficiency``,
``run_trial``, the clinic's ``sensitivity`` table, the growth laws) and seeds every draw, so a seed reproduces a
result exactly. Simulated intervals:

- shares: binomial 95% Wilson interval from the number of simulated cells, lesions or patients;
- medians and other quantiles: the distribution-free order-statistic interval (ranks from Binomial(n, q));
- means: the percentile bootstrap (1,000 resamples, seeded); for skewed samples such as doubling times it
  covers somewhat less than 95% (about 92-93% for a lognormal with log-sd 0.8 and n = 200);
- hazard ratio and Kaplan-Meier survival: the 95% intervals of the Cox fit and of the KM curve (report.survival).
  The trial arms share their patients (common random numbers), which these intervals ignore: they are wider than
  the Monte Carlo error of the paired comparison, never narrower.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from metastasim.biology.growth import cells_for_diameter, rate_for_doubling, size_after, specific_rate_at, time_to_size
from metastasim.clinic.clinic_params import build_clinic_params
from metastasim.clinic.codes import IMAGING_TARGETS, MODALITIES
from metastasim.clinic.imaging import sensitivity
from metastasim.cohort.trial import TrialSpec, run_trial
from metastasim.engine.kernel_params import build_kernel_params
from metastasim.experiments.inefficiency import LUZZI_MEASURES, compare_with_luzzi, run_inefficiency
from metastasim.params.load import Parameters, load_parameters
from metastasim.report.survival import kaplan_meier
from metastasim.units import DAYS_PER_YEAR
from metastasim.validation.mechanism_targets import EARLY_SEEDING_CM3, GrowthTarget, ImagingTarget
from metastasim.validation.suite import Result
from metastasim.validation.targets import Target, wilson_interval

BOOTSTRAP_RESAMPLES = 1000
#: Diaz et al. 2012 found resistance mutations in blood "by 5-6 months" of anti-EGFR therapy.
RESISTANCE_WINDOW_DAYS = 5.5 * DAYS_PER_YEAR / 12
#: Arms of examples/trial_targeted_resistance.toml ("resistance") and examples/trial_adjuvant_colon.toml, copied
#: here because the examples are not installed with the package (a test checks that they still agree).
TARGETED_ARM: dict[str, object] = {"treatment.plan_stage_IV": ["targeted"], "treatment.target_share": 1.0}
ADJUVANT_ARMS: dict[str, dict[str, object]] = {
    "surgery_alone": {"label": "surgery alone", "parameters": {"treatment.plan_stage_III": ["surgery"]}},
    "adjuvant": {
        "label": "surgery + adjuvant chemotherapy",
        "parameters": {"treatment.plan_stage_III": ["surgery", "adjuvant_chemotherapy"]},
    },
}
#: Larkin et al. 2015 treated untreated unresectable stage III/IV melanoma with immunotherapy alone.
IMMUNOTHERAPY_ARM: dict[str, object] = {"treatment.plan_stage_IV": ["immunotherapy"]}
RESPONSE_DETAILS = ("response scan: partial response", "response scan: complete response (nothing visible)")
PROGRESSION_DETAIL = "response scan: progression"


# --- statistics --------------------------------------------------------------------------------------------


def quantile_interval(values: np.ndarray, q: float) -> tuple[float, float, float]:
    """The q-quantile of `values` (a sample value) and its distribution-free 95% order-statistic interval."""
    x = np.sort(np.asarray(values, float))
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    j, k = int(binom.ppf(0.025, n, q)), int(binom.ppf(0.975, n, q))
    return float(np.quantile(x, q, method="inverted_cdf")), float(x[max(j - 1, 0)]), float(x[min(k, n - 1)])


def bootstrap_mean(values: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float, float]:
    """The mean of `values` and its 95% percentile-bootstrap interval (seeded Philox draws)."""
    x = np.asarray(values, float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.Generator(np.random.Philox(seed))
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(x.mean()), float(lo), float(hi)


def share_result(target: Target, hits: float, n: int) -> Result:
    """A simulated share with its Wilson interval (whose bounds are exactly 0 or 1 when no or every unit is a hit)."""
    low, high = wilson_interval(hits, n)
    low, high = (0.0 if hits <= 0 else low), (1.0 if n and hits >= n else high)
    return Result(target, hits / n if n else math.nan, low, high, n)


# --- Luzzi, imaging, circulation ---------------------------------------------------------------------------


def luzzi_results(targets: list[Target], params: Parameters, n_cells: int, seed: int) -> list[Result]:
    """Run the Luzzi et al. (1998) experiment with `n_cells` cells and compare each of its fractions."""
    df = run_inefficiency(params, n_cells=n_cells, days=13, seed=seed)
    simulated = compare_with_luzzi(df).set_index("quantity")["simulated"]
    out = []
    for t in targets:
        measure = LUZZI_MEASURES[t.key]
        n = n_cells
        if measure.denominator is not None:  # a fraction of the cells that began micrometastases, not of all cells
            n = round(float(df.loc[df["day"] == measure.denominator_day, measure.denominator].iloc[0]) * n_cells)
        out.append(share_result(t, float(simulated[t.key]) * n, n))
    return out


def imaging_results(
    targets: list[ImagingTarget], lesions: int, seed: int, params_of: Callable[[str], Parameters] = load_parameters
) -> list[Result]:
    """Scan `lesions` lesions per target, diameters uniform in its size band, with the clinic's sensitivity table."""
    out = []
    tables = {}
    for k, it in enumerate(targets):
        cancer = it.target.cancer
        if cancer not in tables:
            tables[cancer] = build_clinic_params(params_of(cancer))
        C = tables[cancer]
        modality, organ = MODALITIES.index(it.modality), IMAGING_TARGETS.index(it.organ)
        rng = np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, k])))
        diameters = (
            rng.uniform(it.low_mm, it.high_mm, lesions) if it.high_mm > it.low_mm else np.full(lesions, it.low_mm)
        )
        p = np.array([sensitivity(C, modality, organ, float(d)) for d in diameters])
        found = rng.random(lesions) < p
        out.append(share_result(it.target, float(found.sum()), lesions))
    return out


def ctc_half_life_result(target: Target, params: Parameters, seed: int) -> Result:
    """The CTC half-life the engine uses, recovered from its CTC constant (exact: no sampling, n = 0)."""
    P = build_kernel_params(params, seed)
    mean_residence_days = P.ctc_per_7_5ml_per_cell_per_day * float(params["circulation.blood_volume_ml"]) / 7.5
    hours = mean_residence_days * math.log(2.0) * 24.0
    return Result(target, hours, hours, hours, 0)


# --- growth ------------------------------------------------------------------------------------------------


class GrowthModel:
    """One cancer type's growth law as the engine builds it, applied to a cohort's patients and lesions."""

    def __init__(self, params: Parameters, seed: int) -> None:
        P = build_kernel_params(params, seed)
        self.law, self.capacity, self.exponent = P.law, P.capacity_arg, P.exponent_arg
        self.reference_cells, self.cells_per_cm3 = P.reference_cells, P.cells_per_cm3
        self.site_factor = {str(k): float(v) for k, v in dict(params["growth.site_rate_factor"]).items()}

    def rates(self, doubling_days: np.ndarray) -> np.ndarray:
        """Each patient's rate parameter from the doubling time drawn for them (at growth.reference_cells)."""
        return np.array(
            [
                rate_for_doubling(self.law, float(d), self.reference_cells, self.capacity, self.exponent)
                for d in doubling_days
            ]
        )

    def specific_rate(self, rates: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Net growth rate per day of lesions with these rate parameters at these sizes."""
        return np.array(
            [
                specific_rate_at(self.law, float(r), self.capacity, self.exponent, float(x))
                for r, x in zip(rates, cells, strict=True)
            ]
        )

    def primary_cells(self, rates: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Cells of primaries grown from one cell at day 0 to `days` (untreated)."""
        return np.array(
            [
                size_after(self.law, float(r), self.capacity, self.exponent, 1.0, float(t))
                for r, t in zip(rates, days, strict=True)
            ]
        )

    def days_between(self, rates: np.ndarray, d0_mm: float, d1_mm: float) -> np.ndarray:
        """Days each lesion needs to grow from `d0_mm` to `d1_mm` in diameter."""
        x0, x1 = cells_for_diameter(d0_mm, self.cells_per_cm3), cells_for_diameter(d1_mm, self.cells_per_cm3)
        return np.array([time_to_size(self.law, float(r), self.capacity, self.exponent, x0, x1) for r in rates])


def _index_metastases(tables: dict[str, pd.DataFrame], sites: set[str] | None, when: str) -> pd.DataFrame:
    """Per patient, the largest metastasis (of `sites`, or any distant site) at its first detection.

    `when`: "synchronous" (found at diagnosis), "metachronous" (found later) or "untreated" (no treatment had reached
    it before it was found). Diameters are those the scan logged when the lesion was first found.
    """
    pts, les, ev = tables["patients"], tables["lesions"], tables["events"]
    found = ev.loc[ev["event"] == "scan_found", ["patient_id", "lesion_id", "day", "diameter_mm"]]
    site = les["site"].astype(str)
    keep = (les["resistant_subclone_of"] < 0) & les["day_detected"].notna()
    keep &= site.isin(sites) if sites is not None else ~site.isin(["primary", "regional_nodes"])
    cols = ["patient_id", "lesion_id", "site", "day_detected", "day_first_treated"]
    m = les.loc[keep, cols].merge(
        found, left_on=["patient_id", "lesion_id", "day_detected"], right_on=["patient_id", "lesion_id", "day"]
    )
    m["site"] = m["site"].astype(str)
    m = m.merge(pts[["patient_id", "day_diagnosis", "doubling_time_days"]], on="patient_id")
    if when == "synchronous":
        m = m[np.isclose(m["day_detected"], m["day_diagnosis"])]
    elif when == "metachronous":
        m = m[m["day_detected"] > m["day_diagnosis"] + 1e-6]
    else:
        m = m[m["day_first_treated"].isna() | (m["day_first_treated"] >= m["day_detected"])]
    return m.sort_values("diameter_mm").groupby("patient_id").tail(1)


def growth_sample(population: str, model: GrowthModel, tables: dict[str, pd.DataFrame]) -> np.ndarray:
    """Per-patient values of a growth population (see mechanisms.GROWTH_POPULATIONS): days, or 1/day for a rate."""
    pts = tables["patients"]
    dx = pts[pts["day_diagnosis"].notna()]
    subsets = {
        "primary_at_diagnosis": dx,
        "primary_stage_I": dx[dx["stage_observed"] == "I"],
        "primary_stage_I_II": dx[dx["stage_observed"].isin(["I", "II"])],
        "primary_screen_detected": dx[dx["diagnosis_route"] == "screening"],
        "primary_interval": dx[(dx["diagnosis_route"] == "symptoms") & dx["screening_participant"].astype(bool)],
    }
    if population in subsets:
        sub = subsets[population]
        rates = model.rates(sub["doubling_time_days"].to_numpy())
        cells = model.primary_cells(rates, sub["day_diagnosis"].to_numpy())
        return math.log(2.0) / model.specific_rate(rates, cells)
    if population == "time_10_to_20_mm":
        return model.days_between(model.rates(pts["doubling_time_days"].to_numpy()), 10.0, 20.0)
    when = {"liver_synchronous": "synchronous", "liver_metachronous": "metachronous"}.get(population, "untreated")
    sites = None if population == "metastasis_growth_rate" else {"liver"}
    m = _index_metastases(tables, sites, when)
    factor = np.array([model.site_factor.get(s, 1.0) for s in m["site"]])
    rates = model.rates(m["doubling_time_days"].to_numpy()) * factor
    growth = model.specific_rate(
        rates, np.array([cells_for_diameter(d, model.cells_per_cm3) for d in m["diameter_mm"]])
    )
    return growth if population == "metastasis_growth_rate" else math.log(2.0) / growth


def seeding_ancestors(lesions: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """For lesions `rows` (patient_id, lesion_id), the ancestor each descends from that the primary seeded.

    A lesion seeded by a metastasis or a node deposit is traced up its parents; a resistant subclone split off by
    treatment is traced through the lesion it split from. Returns patient_id, lesion_id (of `rows`), ancestor_id
    and ancestor_day_seeded; rows that are primary lesions themselves are dropped.
    """
    patient_ids = lesions["patient_id"].to_numpy(np.int64)
    key = pd.Index(patient_ids * _LESION_KEY + lesions["lesion_id"].to_numpy(np.int64))
    clone_of = lesions["resistant_subclone_of"].to_numpy(np.int64)
    # A subclone's row stands for cells of the lesion it split from: its seeding lineage is that lesion's.
    up = np.where(clone_of >= 0, clone_of, lesions["parent_id"].to_numpy(np.int64))
    up_row = key.get_indexer(patient_ids * _LESION_KEY + up)  # -1 for the primary (no parent)
    primary = (lesions["site"].astype(str) == "primary").to_numpy()
    row = key.get_indexer(rows["patient_id"].to_numpy(np.int64) * _LESION_KEY + rows["lesion_id"].to_numpy(np.int64))
    if (row < 0).any():
        raise ValueError("a lesion to trace is not in the lesions table")
    row = row[~primary[row]]
    start = row
    for _ in range(len(key)):
        parent = up_row[row]
        if (parent < 0).any():
            raise ValueError("a lesion's parent is not in the lesions table")
        climb = ~primary[parent]
        if not climb.any():
            break
        row = np.where(climb, parent, row)
    return pd.DataFrame(
        {
            "patient_id": patient_ids[start],
            "lesion_id": lesions["lesion_id"].to_numpy()[start],
            "ancestor_id": lesions["lesion_id"].to_numpy()[row],
            "ancestor_day_seeded": lesions["day_seeded"].to_numpy(float)[row],
        }
    )


#: Lesions per patient are far fewer than this: patient_id * _LESION_KEY + lesion_id is a unique key.
_LESION_KEY = 1 << 24


def early_seeding_result(target: Target, params: Parameters, tables: dict[str, pd.DataFrame], seed: int) -> Result:
    """Share of patients with a detected distant metastasis whose lineage left a primary below 0.01 cm3 (Hu 2019).

    Each patient's index metastasis is the first distant lesion the clinic found (of several found the same day,
    the one with most cells at the end), as the metastases Hu et al. sequenced were clinically detected ones. Its
    lineage is traced back to the lesion the primary seeded (through node deposits and metastases that seeded it),
    and the primary's size on that day is its untreated course: seedings from the primary precede its treatment.
    """
    les, pts = tables["lesions"], tables["patients"]
    site = les["site"].astype(str)
    found = les[~site.isin(["primary", "regional_nodes"]) & les["day_detected"].notna()]
    found = found.sort_values(["patient_id", "day_detected", "cells_end"], ascending=[True, True, False])
    index = found.groupby("patient_id").head(1)[["patient_id", "lesion_id"]]
    anc = seeding_ancestors(les, index).merge(pts[["patient_id", "doubling_time_days"]], on="patient_id")
    model = GrowthModel(params, seed)
    rates = model.rates(anc["doubling_time_days"].to_numpy())
    cells = model.primary_cells(rates, anc["ancestor_day_seeded"].to_numpy())
    early = cells < EARLY_SEEDING_CM3 * model.cells_per_cm3
    return share_result(target, float(early.sum()), len(anc))


def growth_results(
    targets: list[GrowthTarget], params: Parameters, tables: dict[str, pd.DataFrame], seed: int
) -> list[Result]:
    """Compare each growth target of one cancer type with its population in the cohort `tables`."""
    model = GrowthModel(params, seed)
    out = []
    for gt in targets:
        values = growth_sample(gt.population, model, tables)
        values = values[np.isfinite(values)]
        stat = bootstrap_mean(values, seed) if gt.statistic == "mean" else quantile_interval(values, 0.5)
        out.append(Result(gt.target, *stat, len(values)))
    return out


# --- treatment ---------------------------------------------------------------------------------------------


def _first_day(ev: pd.DataFrame, event: str, detail_prefix: str) -> pd.Series:
    rows = ev[(ev["event"] == event) & ev["detail"].astype(str).str.startswith(detail_prefix)]
    return rows.groupby("patient_id")["day"].min()


def targeted_results(targets: list[Target], tables: dict[str, pd.DataFrame]) -> list[Result]:
    """Regression rate over the first targeted course and resistant cells by 5.5 months, per treated patient.

    Rate = ln(cells before / cells after) / course days, summed over the lesions the course log reports (at least
    0.2 mm at its start); resistant subclones split off during the course count in "after" only. Resistant cells:
    a lesion alive at the start that had produced a surviving resistant lineage by the window's end.
    """
    ev, les = tables["events"], tables["lesions"]
    start = _first_day(ev, "treatment_start", "targeted begins")
    ends = ev[(ev["event"] == "treatment_end") & ev["detail"].astype(str).str.startswith("targeted")]
    ends = ends[ends["day"].to_numpy() > ends["patient_id"].map(start).to_numpy()].groupby("patient_id")["day"].min()
    eff = ev[(ev["event"] == "treatment_effect") & ev["detail"].astype(str).str.startswith("targeted")]
    eff = eff[eff["day"].to_numpy() == eff["patient_id"].map(ends).to_numpy()]
    clone = eff.merge(les[["patient_id", "lesion_id", "resistant_subclone_of"]], on=["patient_id", "lesion_id"])
    before = clone[clone["resistant_subclone_of"] < 0].groupby("patient_id")["value"].sum()
    after = clone.groupby("patient_id")["cells"].sum()
    days = (ends - start).reindex(before.index)
    with np.errstate(divide="ignore"):
        rates = (np.log(before / after.reindex(before.index)) / days).to_numpy()
    rates = rates[~np.isnan(rates)]
    arising = ev[(ev["event"] == "resistant_subclone") & ev["detail"].astype(str).str.contains("to targeted")]
    arose = arising.groupby(["patient_id", "lesion_id"])["day"].min().rename("arose")
    alive = les.merge(arose.reset_index(), on=["patient_id", "lesion_id"], how="left")
    alive["start"] = alive["patient_id"].map(start)
    alive = alive[alive["start"].notna() & ~(alive["day_eliminated"] <= alive["start"])]
    founded = (alive["targeted_resistant_fraction_end"] >= 1.0) & (alive["resistant_subclone_of"] < 0)
    by_window = (alive["arose"] <= alive["start"] + RESISTANCE_WINDOW_DAYS) | (
        founded & (alive["day_seeded"] <= alive["start"] + RESISTANCE_WINDOW_DAYS)
    )
    resistant = by_window.groupby(alive["patient_id"]).any().reindex(start.index, fill_value=False)
    out = []
    for t in targets:
        if t.key == "resistant":
            out.append(share_result(t, float(resistant.sum()), len(resistant)))
        else:
            q = {"median": 0.5, "p10": 0.1, "p90": 0.9}[t.key]
            out.append(Result(t, *quantile_interval(rates, q), len(rates)))
    return out


def adjuvant_colon_results(
    targets: list[Target], patients: int, seed: int, base_parameters: dict[str, Any] | None = None
) -> list[Result]:
    """Run the adjuvant colon trial (examples/trial_adjuvant_colon.toml arms) on `patients` patients per arm."""
    spec = TrialSpec(
        name="adjuvant-colon",
        description="validation: stage III, surgery alone vs adjuvant chemotherapy",
        cancer="colorectal",
        patients=patients,
        years=30,
        seed=seed,
        population_stage="III",
        endpoint="diagnosis",
        arms={k: dict(v) for k, v in ADJUVANT_ARMS.items()},
        base_parameters=dict(base_parameters or {}),
    )
    summary = run_trial(spec, db=":memory:", progress=False).summary
    hr = summary["hazard_ratios"][0]
    survival = {(str(r["group"]), float(r["years"])): r for r in summary["survival"]}
    out = []
    for t in targets:
        if t.key == "hazard_ratio":
            out.append(Result(t, float(hr["hazard_ratio"]), float(hr["lower_95"]), float(hr["upper_95"]), int(hr["n"])))
        else:
            s = survival[(t.key, 5.0)]
            out.append(
                Result(
                    t,
                    float(s["survival"]),
                    float(s["lower_95"]),
                    float(s["upper_95"]),
                    int(summary["arms"][t.key]["patients_in_analysis"]),
                )
            )
    return out


def immunotherapy_results(targets: list[Target], tables: dict[str, pd.DataFrame]) -> list[Result]:
    """Objective response rate to first-line immunotherapy, per patient who started it.

    A responder has a partial or complete response on a response scan after the start and before the first
    progression; patients with no response scan count as non-responders (as in a trial's intention to treat).
    """
    start, resp, progression = _scans_after_immunotherapy_start(tables["events"])
    first_progression = resp["patient_id"].map(progression).fillna(np.inf).to_numpy()
    responded = resp[resp["detail"].astype(str).isin(RESPONSE_DETAILS).to_numpy()
                     & (resp["day"].to_numpy() < first_progression)]
    hits = responded["patient_id"].nunique()
    return [share_result(t, float(hits), len(start)) for t in targets]


def _scans_after_immunotherapy_start(ev: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """First-line immunotherapy: start day per patient, the response scans after it, each one's first progression."""
    start = _first_day(ev, "treatment_start", "immunotherapy begins (line 1)")
    resp = ev[(ev["event"] == "response") & ev["patient_id"].isin(start.index)]
    resp = resp[resp["day"].to_numpy() > resp["patient_id"].map(start).to_numpy()]
    progression = resp[resp["detail"].astype(str) == PROGRESSION_DETAIL].groupby("patient_id")["day"].min()
    return start, resp, progression


def _from_immunotherapy_start(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per patient who started first-line immunotherapy: days from the start to progression or death, and death.

    Progression is the first response scan that reads progression after the start. Patients alive at the end of
    their course are censored then.
    """
    pts = tables["patients"].set_index("patient_id")
    start, _, first_progression = _scans_after_immunotherapy_start(tables["events"])
    progression = first_progression.reindex(start.index)
    died = pts.loc[start.index, "died"].astype(bool).to_numpy()
    end = pts.loc[start.index, "day_end"].to_numpy(float)
    pfs_day = np.fmin(progression.to_numpy(float), end)  # fmin skips NaN: no progression -> death or censoring
    pfs_event = (progression.notna().to_numpy() & (progression.to_numpy(float) <= end)) | died
    return pd.DataFrame({
        "pfs_days": pfs_day - start.to_numpy(float), "pfs_event": pfs_event.astype(float),
        "os_days": end - start.to_numpy(float), "died": died.astype(float),
    }, index=start.index)


def median_survival_result(target: Target, days: np.ndarray, events: np.ndarray) -> Result:
    """Kaplan–Meier median of `days` with the 95% interval read off the curve's pointwise band.

    The interval holds the days at which the band contains 0.5: from the first day its lower edge falls to 0.5
    to the first day its upper edge does (Brookmeyer and Crowley's construction).
    """
    curve = kaplan_meier("all", np.asarray(days, float), np.asarray(events, float))
    below = np.flatnonzero(curve.lower <= 0.5)
    low = float(curve.years[below[0]]) if len(below) else math.inf
    above = np.flatnonzero(curve.upper <= 0.5)
    high = float(curve.years[above[0]]) if len(above) else math.inf
    return Result(target, curve.median, low, high, len(days))


def immunotherapy_survival_results(
    targets: list[Target],
    larkin_arm: dict[str, pd.DataFrame],
    cohort_with_rate: Callable[[float], dict[str, pd.DataFrame]],
) -> list[Result]:
    """Median PFS on the default (nivolumab + ipilimumab) arm; 12-month OS of arms given each drug's response rate."""
    out: list[Result] = []
    for t in targets:
        if t.key == "median_pfs":
            f = _from_immunotherapy_start(larkin_arm)
            out.append(median_survival_result(t, f["pfs_days"].to_numpy(), f["pfs_event"].to_numpy()))
        else:
            rate = float(t.key.split(":")[1])
            f = _from_immunotherapy_start(cohort_with_rate(rate))
            curve = kaplan_meier("all", f["os_days"].to_numpy() / DAYS_PER_YEAR, f["died"].to_numpy())
            s, lo, hi = curve.at(1.0)
            out.append(Result(t, s, lo, hi, len(f)))
    return out


def operative_mortality_result(target: Target, tables: dict[str, pd.DataFrame]) -> Result:
    """Operative mortality of liver metastasectomy in a cohort with event logs.

    Operations: surgery events on a day a liver metastasis was removed by surgery. Deaths: the patient died of
    "complication of treatment" on the day of the operation.
    """
    pts, les, ev = tables["patients"], tables["lesions"], tables["events"]
    surgery = ev.loc[ev["event"] == "surgery", ["patient_id", "day"]].drop_duplicates()
    liver = les.loc[
        (les["site"].astype(str) == "liver") & (les["ended_by"].astype(str) == "surgery"),
        ["patient_id", "day_eliminated"],
    ].drop_duplicates()
    ops = surgery.merge(liver, left_on=["patient_id", "day"], right_on=["patient_id", "day_eliminated"])
    deaths = pts.loc[pts["death_cause"].astype(str) == "complication of treatment", ["patient_id", "day_death"]]
    died = ops.merge(deaths, left_on=["patient_id", "day"], right_on=["patient_id", "day_death"])
    return share_result(target, float(len(died)), len(ops))
