"""Published targets of the mechanisms (inefficiency, imaging, growth, circulation, treatment), from the shipped tables.

Each builder reads one table of ``data/reference/`` (dissemination.csv, imaging.csv, doubling_times.csv,
treatment.csv) and returns :class:`~metastasim.validation.targets.Target` objects whose interval comes from the
row's own uncertainty, by these rules (and never from how close the model is):

- a reported 95% CI or a stated range ("95% CI 151-186", "1-2.4 hours", "hazard ratio 0.69 (0.55-0.87)"): that
  interval;
- a count ("0/20 positive") or a stated n with a share: the binomial 95% Wilson interval;
- a mean with its sd and n: mean ± 1.96·sd/√n; a median with its IQR width and n: median ± 1.96·SE with the
  large-sample SE of a median, 1.2533·(IQR/1.349)/√n (normal approximation);
- a spread of patients without n, which cannot give a standard error: the middle half of patients, i.e. the IQR
  itself, or mean ± 0.6745·sd (the normal IQR); a row giving 10th-90th percentiles is compared on its median with
  that range, and its two percentiles are separate targets compared with their exact values;
- nothing of the kind: the exact value (``uncertainty`` says so).

Which row maps to which simulated quantity, and which rows are skipped, is listed in
:mod:`metastasim.validation.mechanisms`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metastasim.data.reference import load_reference
from metastasim.experiments.inefficiency import luzzi_rows
from metastasim.validation.targets import Z95, Target, wilson_interval

#: The normal distribution's quartiles lie 0.6745 sd from its mean; its IQR is 1.349 sd.
NORMAL_QUARTILE_Z = 0.6744897501960817
NORMAL_IQR_IN_SD = 2 * NORMAL_QUARTILE_Z
#: Large-sample standard error of a sample median of a normal sample, in units of sd/√n (√(π/2)).
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)

_NUMBER = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"


def parse_range(text: str) -> tuple[float, float] | None:
    """The first "a-b" range of numbers in `text` ("1-2.4 hours" -> (1.0, 2.4)), or None."""
    m = re.search(_NUMBER + r"\s*-\s*" + _NUMBER, text)
    return (float(m[1]), float(m[2])) if m else None


def parse_n(text: str) -> int | None:
    """The sample size a row states as "n=111" or "n=1001" (commas allowed), or None."""
    m = re.search(r"\bn\s*=\s*(\d[\d,]*)", text)
    return int(m[1].replace(",", "")) if m else None


def parse_count(text: str) -> tuple[int, int] | None:
    """A count stated as "(0/20 positive)": (successes, n), or None."""
    m = re.search(r"(\d+)\s*/\s*(\d+)\s+positive", text)
    return (int(m[1]), int(m[2])) if m else None


def _leading_number(text: str) -> float:
    m = re.match(r"\s*" + _NUMBER, str(text))
    if not m:
        raise ValueError(f"no number at the start of {text!r}")
    return float(m[1])


def spread_interval(value: float, statistic: str, spread: str, n: int | None) -> tuple[float, float, str]:
    """Published interval of a mean or median from the spread its row states (module docstring rules).

    Args:
        value: the published mean or median.
        statistic: "mean" or "median".
        spread: the row's spread text, e.g. "IQR 112-404", "IQR 108", "sd 34", "95% CI 151-186" or "".
        n: the study's n if the row states it.

    Returns:
        (low, high, how the interval was set).
    """
    if m := re.search(r"95% CI\s+" + _NUMBER + r"\s*-\s*" + _NUMBER, spread):
        return float(m[1]), float(m[2]), "reported 95% CI"
    if statistic == "median" and (m := re.search(r"IQR\s+" + _NUMBER + r"\s*-\s*" + _NUMBER, spread)):
        lo, hi = float(m[1]), float(m[2])
        return lo, hi, "IQR of patients (no n given, so no standard error of the median: the middle half of patients)"
    if statistic == "median" and (m := re.search(r"IQR\s+" + _NUMBER, spread)):
        width = float(m[1])
        if n:
            se = MEDIAN_SE_FACTOR * (width / NORMAL_IQR_IN_SD) / math.sqrt(n)
            return (
                value - Z95 * se,
                value + Z95 * se,
                (f"median ± 1.96·SE, SE = 1.2533·(IQR {width:g}/1.349)/√n with n={n} (normal approximation)"),
            )
        return value, value, f"IQR width {width:g} without n or quartiles: the exact value"
    if statistic == "mean" and (m := re.search(r"\bsd\s+" + _NUMBER, spread)):
        sd = float(m[1])
        if n:
            se = sd / math.sqrt(n)
            return value - Z95 * se, value + Z95 * se, f"mean ± 1.96·sd/√n with sd {sd:g}, n={n}"
        half = NORMAL_QUARTILE_Z * sd
        return (
            value - half,
            value + half,
            (f"mean ± 0.6745·sd (sd {sd:g}; no n given, so no standard error: the middle half of patients)"),
        )
    if n:
        return value, value, f"n={n} but no spread: the exact value"
    return value, value, "no uncertainty given: the exact value"


# --- Luzzi et al. 1998 (dissemination.csv) -----------------------------------------------------------------

#: Luzzi rows (dissemination.csv ``quantity``) -> short target names.
LUZZI_NAMES: dict[str, str] = {
    "survived and extravasated by day 3": "extravasated_day3",
    "began micrometastases by day 3": "micrometastases_day3",
    "micrometastases persisting to macroscopic tumours by day 13": "macro_per_micro_day13",
    "solitary dormant cells at day 13": "solitary_day13",
}


def luzzi_targets() -> list[Target]:
    """The four Luzzi et al. (1998) fractions; the rows give no cell counts, so each is compared exactly."""
    out = []
    for _, row in luzzi_rows().iterrows():
        quantity = str(row["quantity"])
        out.append(
            Target(
                id=f"inefficiency.luzzi.{LUZZI_NAMES[quantity]}",
                cancer="colorectal",
                kind="inefficiency",
                key=quantity,
                what=f"{quantity} ({row['units_or_context']}); in silico with the colorectal parameters",
                published=float(row["published"]),
                low=float(row["published"]),
                high=float(row["published"]),
                uncertainty="no cell counts in the row: the exact value",
                source=str(row["source"]),
            )
        )
    return out


# --- imaging sensitivity by size (imaging.csv) -------------------------------------------------------------


@dataclass(frozen=True)
class ImagingTarget:
    """A sensitivity target with the modality, organ and diameters (mm) of the lesions to simulate."""

    target: Target
    modality: str  # a name of clinic.codes.MODALITIES
    organ: str  # a name of clinic.codes.IMAGING_TARGETS
    low_mm: float
    high_mm: float  # equal to low_mm for a single size


#: (imaging.csv modality, target) -> (cancer, model modality, model organ, id stem). Other rows are skipped.
IMAGING_ROWS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("CT", "colorectal liver metastasis (per nodule)"): ("colorectal", "CT", "liver", "ct_liver_nodule"),
    ("FDG-PET", "lung nodule"): ("lung_nsclc", "PET", "lung", "pet_lung_nodule"),
    ("mammography", "breast tumour"): ("breast", "mammography", "primary", "mammography"),
}


def size_band_mm(text: str) -> tuple[float, float]:
    """Diameters (mm) a size band covers; sizes are reported to the whole millimetre.

    "6-10 mm" -> [5.5, 10.5); ">20 mm" -> [20.5, 40] (up to twice the bound); "<10 mm" -> [0.5, 9.5);
    a single size "5 mm" (a point of a fitted sensitivity curve) -> exactly 5.
    """
    s = text.strip()
    if m := re.fullmatch(_NUMBER + r"\s*-\s*" + _NUMBER + r"\s*mm", s):
        return float(m[1]) - 0.5, float(m[2]) + 0.5
    if m := re.fullmatch(r">\s*" + _NUMBER + r"\s*mm", s):
        return float(m[1]) + 0.5, 2.0 * float(m[1])
    if m := re.fullmatch(r"<\s*" + _NUMBER + r"\s*mm", s):
        return 0.5, float(m[1]) - 0.5
    if m := re.fullmatch(_NUMBER + r"\s*mm", s):
        return float(m[1]), float(m[1])
    raise ValueError(f"unrecognised lesion size {text!r}")


def _band_name(text: str) -> str:
    return text.replace(" ", "").replace(">", "gt").replace("<", "lt")


def imaging_targets() -> list[ImagingTarget]:
    """Per-lesion sensitivity by size: CT liver nodules (Ko), FDG-PET lung nodules (Nomori), mammography."""
    out = []
    for _, row in load_reference("imaging").iterrows():
        spec = IMAGING_ROWS.get((str(row["modality"]), str(row["target"])))
        if spec is None:
            continue
        cancer, modality, organ, stem = spec
        p = float(row["sensitivity"])
        count = parse_count(str(row["source"]))
        if count is not None:
            low, high = wilson_interval(count[0], count[1])
            how = f"binomial 95% Wilson interval, {count[0]}/{count[1]} positive"
        else:
            low, high, how = p, p, "no n given: the exact value"
        lo_mm, hi_mm = size_band_mm(str(row["lesion_size"]))
        band = f"{lo_mm:g}-{hi_mm:g} mm" if hi_mm > lo_mm else f"{lo_mm:g} mm"
        target = Target(
            id=f"imaging.{stem}.{_band_name(str(row['lesion_size']))}",
            cancer=cancer,
            kind="imaging",
            key=f"{modality} {organ} {row['lesion_size']}",
            what=f"{row['modality']} sensitivity, {row['target']}, {row['lesion_size']} (simulated: {band})",
            published=p,
            low=low,
            high=high,
            uncertainty=how,
            source=str(row["source"]),
        )
        out.append(ImagingTarget(target, modality, organ, lo_mm, hi_mm))
    return out


# --- growth (doubling_times.csv) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthTarget:
    """A doubling-time (or growth-rate) target with the simulated population and statistic it is compared with."""

    target: Target
    population: str  # a key of mechanism_growth.POPULATIONS
    statistic: str  # "mean" or "median"


#: doubling_times.csv (``tumour``, ``measure``) -> (cancer, population, statistic, id). Other rows are skipped.
GROWTH_ROWS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("lung (CT screening)", "median volume doubling time"): (
        "lung_nsclc",
        "primary_screen_detected",
        "median",
        "doubling_time.lung_nsclc.ct_screening",
    ),
    ("lung stage I", "median doubling time"): (
        "lung_nsclc",
        "primary_stage_I",
        "median",
        "doubling_time.lung_nsclc.stage_I",
    ),
    ("NSCLC resected", "median volume doubling time"): (
        "lung_nsclc",
        "primary_stage_I_II",
        "median",
        "doubling_time.lung_nsclc.resected",
    ),
    ("breast", "time from 10 to 20 mm diameter"): (
        "breast",
        "time_10_to_20_mm",
        "mean",
        "growth.breast.days_10_to_20_mm",
    ),
    ("breast interval cancers", "tumour volume doubling time"): (
        "breast",
        "primary_interval",
        "median",
        "doubling_time.breast.interval",
    ),
    ("colorectal primary", "median doubling time"): (
        "colorectal",
        "primary_at_diagnosis",
        "median",
        "doubling_time.colorectal.primary",
    ),
    ("colorectal liver metastases (overt)", "mean doubling time"): (
        "colorectal",
        "liver_synchronous",
        "mean",
        "doubling_time.colorectal.liver_overt",
    ),
    ("colorectal liver metastases (occult)", "mean doubling time"): (
        "colorectal",
        "liver_metachronous",
        "mean",
        "doubling_time.colorectal.liver_occult",
    ),
    ("colorectal liver metastases (no chemo)", "mean doubling time"): (
        "colorectal",
        "liver_untreated",
        "mean",
        "doubling_time.colorectal.liver_no_chemo",
    ),
    ("pancreas (untreated)", "mean volume doubling time"): (
        "pancreas",
        "primary_at_diagnosis",
        "mean",
        "doubling_time.pancreas.primary",
    ),
    ("melanoma metastases", "net growth rate"): (
        "melanoma",
        "metastasis_growth_rate",
        "median",
        "growth.melanoma.metastasis_rate",
    ),
}


def growth_targets() -> list[GrowthTarget]:
    """Doubling times of primaries and metastases, the breast 10-20 mm growth time and melanoma's growth rate."""
    out = []
    for _, row in load_reference("doubling_times").iterrows():
        spec = GROWTH_ROWS.get((str(row["tumour"]), str(row["measure"])))
        if spec is None:
            continue
        cancer, population, statistic, target_id = spec
        value = _leading_number(str(row["value_days"]))
        spread = "" if pd.isna(row["spread"]) else str(row["spread"])
        n = parse_n(spread) or parse_n(str(row["source"]))
        low, high, how = spread_interval(value, statistic, spread, n)
        if population == "time_10_to_20_mm":
            how = "the row's percentiles describe patients, not the uncertainty of the mean: the exact value"
            low = high = value
        unit = "per day" if population == "metastasis_growth_rate" else "days"
        out.append(
            GrowthTarget(
                Target(
                    id=target_id,
                    cancer=cancer,
                    kind="growth",
                    key=population,
                    what=f"{statistic}: {row['tumour']}, {row['measure']}" + (f" ({spread})" if spread else ""),
                    published=value,
                    low=low,
                    high=high,
                    uncertainty=how,
                    source=str(row["source"]),
                    unit=unit,
                ),
                population,
                statistic,
            )
        )
    return out


# --- circulation (dissemination.csv) -----------------------------------------------------------------------


def ctc_half_life_target() -> Target:
    """Half-life of circulating tumour cells, Meng et al. 2004: the stated range 1-2.4 h, its midpoint as value."""
    rows = load_reference("dissemination")
    row = rows[rows["quantity"] == "CTC half-life in blood"].iloc[0]
    bounds = parse_range(str(row["value"]))
    if bounds is None:
        raise ValueError(f"no range in the CTC half-life row: {row['value']!r}")
    low, high = bounds
    return Target(
        id="circulation.ctc_half_life",
        cancer="colorectal",
        kind="circulation",
        key="ctc_half_life",
        what=f"CTC half-life in blood, {row['units_or_context']}",
        published=(low + high) / 2,
        low=low,
        high=high,
        uncertainty=f"range stated in the source ({row['value']} h); value = its midpoint",
        source=str(row["source"]),
        unit="hours",
    )


#: Hu et al.'s threshold of early seeding: the primary below 0.01 cm3 (about 1e7 cells) when the lineage left it.
EARLY_SEEDING_CM3 = 0.01


def early_seeding_target() -> Target:
    """Hu et al. 2019: the share of metastatic colorectal patients whose metastasis was seeded early.

    The row states 17 of 21 patients, so the interval is the binomial 95% Wilson interval of 17/21.
    """
    rows = load_reference("dissemination")
    row = rows[rows["quantity"] == "colorectal early seeding"].iloc[0]
    context = str(row["units_or_context"])
    m = re.search(r"\((\d+)\s*/\s*(\d+)\)", context)
    if m is None:
        raise ValueError(f"no (k/n) count in the early-seeding row: {context!r}")
    k, n = int(m[1]), int(m[2])
    low, high = wilson_interval(k, n)
    return Target(
        id="dissemination.colorectal.early_seeding",
        cancer="colorectal",
        kind="dissemination",
        key="early_seeding",
        what=(
            "share of patients with a detected distant metastasis whose lineage left the primary while it was below "
            f"{EARLY_SEEDING_CM3} cm3 ({context})"
        ),
        published=float(row["value"]),
        low=low,
        high=high,
        uncertainty=f"binomial 95% Wilson interval of {k}/{n}",
        source=str(row["source"]),
    )


# --- treatment (treatment.csv) -----------------------------------------------------------------------------


def _treatment_row(therapy: str, parameter: str) -> pd.Series:
    rows = load_reference("treatment")
    hit = rows[(rows["therapy"] == therapy) & (rows["parameter"] == parameter)]
    if hit.empty:
        raise ValueError(f"treatment.csv has no row {therapy!r} / {parameter!r}")
    return hit.iloc[0]


def _exact_target(
    target_id: str, cancer: str, kind: str, key: str, what: str, value: float, row: pd.Series,
    uncertainty: str = "no n in the row: the exact value", unit: str = "share",
) -> Target:
    """A target compared with its exact published value (its row gives no n or interval)."""
    return Target(
        id=target_id, cancer=cancer, kind=kind, key=key, what=what, published=value, low=value, high=value,
        uncertainty=uncertainty, source=str(row["source"]), unit=unit,
    )


def targeted_targets() -> list[Target]:
    """Targeted therapy of colorectal cancer: regression on the drug and resistance.

    The net regression rate on the drug (median, 10th and 90th percentile; Bozic et al. 2013) and the share of
    treated patients with resistant cells by 5-6 months (Diaz et al. 2012).
    """
    row = _treatment_row("targeted", "tumour regression rate on drug")
    median = float(row["value"])
    m = re.search(r"10th-90th pct\s+" + _NUMBER + r"\s*-\s*" + _NUMBER, str(row["context"]))
    if m is None:
        raise ValueError(f"no 10th-90th percentiles in {row['context']!r}")
    p10, p90 = float(m[1]), float(m[2])
    what = "net regression rate of the tumour burden over the first targeted course, per patient"
    base: dict[str, Any] = {"cancer": "colorectal", "kind": "targeted", "source": str(row["source"]), "unit": "per day"}
    out = [
        Target(
            id="targeted.colorectal.regression_median",
            key="median",
            what=f"{what}: median",
            published=median,
            low=p10,
            high=p90,
            uncertainty="10th-90th percentiles of patients (the only spread stated; no n, so no standard error "
            "of the median); the percentiles are compared as their own targets",
            **base,
        ),
        Target(
            id="targeted.colorectal.regression_p10",
            key="p10",
            what=f"{what}: 10th percentile",
            published=p10,
            low=p10,
            high=p10,
            uncertainty="no uncertainty given: the exact value",
            **base,
        ),
        Target(
            id="targeted.colorectal.regression_p90",
            key="p90",
            what=f"{what}: 90th percentile",
            published=p90,
            low=p90,
            high=p90,
            uncertainty="no uncertainty given: the exact value",
            **base,
        ),
    ]
    row = _treatment_row("targeted", "resistant clones pre-exist")
    p = float(row["value"])
    out.append(
        _exact_target(
            "targeted.colorectal.resistant_by_5_6_months", "colorectal", "targeted", "resistant",
            f"share of patients on the targeted drug with resistant cells by 5.5 months ({row['context']})", p, row,
        )
    )
    return out


def adjuvant_colon_targets() -> list[Target]:
    """Adjuvant chemotherapy of stage III colon cancer (Moertel et al. 1990).

    The hazard ratio of death with adjuvant chemotherapy (its reported 95% CI) and the 5-year overall survival of
    each arm (no n in the row: exact values).
    """
    row = _treatment_row("chemotherapy (adjuvant colon)", "5-year overall survival observation vs levamisole+5FU")
    m = re.search(r"hazard ratio\s+" + _NUMBER + r"\s*\(" + _NUMBER + r"\s*-\s*" + _NUMBER + r"\)", str(row["context"]))
    if m is None:
        raise ValueError(f"no hazard ratio with CI in {row['context']!r}")
    source = str(row["source"])
    out = [
        Target(
            id="adjuvant_colon.hazard_ratio",
            cancer="colorectal",
            kind="trial",
            key="hazard_ratio",
            what="stage III colorectal: hazard ratio of death, surgery + adjuvant chemotherapy vs surgery alone",
            published=float(m[1]),
            low=float(m[2]),
            high=float(m[3]),
            uncertainty="reported 95% CI",
            source=source,
            unit="hazard ratio",
        )
    ]
    surgery_alone, adjuvant = (float(v) for v in str(row["value"]).split("vs"))
    for arm, value in (("surgery_alone", surgery_alone), ("adjuvant", adjuvant)):
        out.append(
            Target(
                id=f"adjuvant_colon.os5_{arm}",
                cancer="colorectal",
                kind="trial",
                key=arm,
                what=f"stage III colorectal: 5-year overall survival from diagnosis, arm {arm}",
                published=value,
                low=value,
                high=value,
                uncertainty="no n in the row: the exact value",
                source=source,
            )
        )
    return out


#: Patients in the nivolumab + ipilimumab arm of Larkin et al. 2015: 945 patients randomised 1:1:1 (abstract).
LARKIN_ARM_N = 945 // 3


def immunotherapy_targets() -> list[Target]:
    """Objective response rate of melanoma to the model's one immunotherapy (nivolumab + ipilimumab, Larkin 2015)."""
    row = _treatment_row(
        "immunotherapy (melanoma)", "objective response rate nivolumab+ipilimumab / nivolumab / ipilimumab"
    )
    p = float(str(row["value"]).split("/")[0])
    low, high = wilson_interval(p * LARKIN_ARM_N, LARKIN_ARM_N)
    return [
        Target(
            id="immunotherapy.melanoma.orr_nivo_ipi",
            cancer="melanoma",
            kind="immunotherapy",
            key="orr",
            what="objective response rate (best response partial or complete) to first-line immunotherapy",
            published=p,
            low=low,
            high=high,
            uncertainty=f"binomial 95% Wilson interval, n={LARKIN_ARM_N} (945 patients randomised 1:1:1)",
            source=str(row["source"]),
        )
    ]


#: Days in a month, for survival figures published in months.
DAYS_PER_MONTH = 365.25 / 12


def immunotherapy_survival_targets() -> list[Target]:
    """Survival on first-line immunotherapy of advanced melanoma: progression-free and overall survival.

    Larkin et al. 2015 (nivolumab + ipilimumab, the response rate the model's default immunotherapy takes): median
    progression-free survival 11.5 months. KEYNOTE-006 (Robert et al. 2015): 12-month overall survival 0.741 with
    pembrolizumab and 0.582 with ipilimumab; the model is given each drug's response rate from the same row and
    the survival is its outcome. The rows give no confidence interval or n for these figures: exact values.
    """
    larkin = _treatment_row(
        "immunotherapy (melanoma)", "objective response rate nivolumab+ipilimumab / nivolumab / ipilimumab"
    )
    pfs_months = float(str(larkin["context"]).split("median PFS")[1].split("/")[0])
    out = [
        _exact_target(
            "immunotherapy.melanoma.median_pfs_nivo_ipi", "melanoma", "immunotherapy", "median_pfs",
            "median progression-free survival from the start of first-line immunotherapy (progression on a "
            "response scan, or death)", pfs_months * DAYS_PER_MONTH, larkin,
            uncertainty=f"no interval in the row: the exact value ({pfs_months:g} months)", unit="days",
        )
    ]
    keynote = _treatment_row("immunotherapy (melanoma)", "objective response rate pembrolizumab / ipilimumab")
    survival = [float(x) for x in str(keynote["context"]).split("12-month OS")[1].split("/")]
    response = [float(x) for x in str(keynote["value"]).split("/")]
    for drug, os12, rate in zip(("pembrolizumab", "ipilimumab"), survival, response, strict=True):
        out.append(
            _exact_target(
                f"immunotherapy.melanoma.os12_{drug}", "melanoma", "immunotherapy", f"os12:{rate}",
                f"overall survival 12 months after the start of first-line immunotherapy, with {drug}'s "
                f"response rate ({rate:.3f}) as the model's response rate", os12, keynote,
            )
        )
    return out


def operative_mortality_target() -> Target:
    """Operative mortality of liver resection for colorectal metastases (Fong et al. 1999): Wilson from its n."""
    row = _treatment_row("surgery", "operative mortality (liver resection for colorectal metastases)")
    p = float(row["value"])
    n = parse_n(str(row["context"]))
    if n is None:
        low, high, how = p, p, "no n given: the exact value"
    else:
        low, high = wilson_interval(p * n, n)
        how = f"binomial 95% Wilson interval, n={n}"
    return Target(
        id="surgery.colorectal.liver_resection_mortality",
        cancer="colorectal",
        kind="surgery",
        key="liver",
        what="deaths from the operation among liver resections of colorectal metastases",
        published=p,
        low=low,
        high=high,
        uncertainty=how,
        source=str(row["source"]),
    )
