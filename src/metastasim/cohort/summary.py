"""Summaries of a cohort, computed from the stored tables.

Spread over time, metastatic sites beside the published figures, timing of seeding, circulating tumour
cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metastasim.anatomy.sites import SITES
from metastasim.cohort.clinical_summary import clinical_summary
from metastasim.data.reference import REFERENCE_SITE_MAP, metastatic_site_rows
from metastasim.units import DAYS_PER_YEAR

#: Hu et al. 2019 (Nat Genet 51:1113) found most colorectal metastases seeded while the primary was this small.
EARLY_SEEDING_CM3 = 0.01
DISTANT_SITES = tuple(s for s in SITES if s != "regional_nodes")


def report_years(years: int) -> list[int]:
    """Years at which fractions are reported: 1, 5, 10, 20, 30 within the horizon (and the horizon)."""
    marks = [y for y in (1, 5, 10, 20, 30) if y <= years]
    return marks if years in marks else [*marks, years]


def _by_year(days: pd.Series, years: list[int]) -> dict[str, float]:
    d = days.to_numpy(dtype=float)
    return {str(y): float(np.mean(d <= y * DAYS_PER_YEAR)) for y in years}


def site_distribution(patients: pd.DataFrame) -> tuple[dict[str, float], dict[str, float], int]:
    """Site shares among patients whose first distant metastasis reached 10 mm.

    Returns the share with each site involved then (a proxy for first metastatic diagnosis), the share
    with only that site, and the number of such patients.
    """
    sites = patients["sites_at_first_detectable_metastasis"].fillna("")
    metastatic = sites[patients["day_first_distant_detectable"].notna()]
    n = len(metastatic)
    sets = [set(s.split(",")) - {""} for s in metastatic]
    any_share = {s: (sum(s in x for x in sets) / n if n else 0.0) for s in DISTANT_SITES}
    only_share = {s: (sum(x == {s} for x in sets) / n if n else 0.0) for s in DISTANT_SITES}
    only_share["multiple sites"] = sum(len(x) > 1 for x in sets) / n if n else 0.0
    only_share["mean number of metastatic sites"] = sum(len(x) for x in sets) / n if n else 0.0
    return any_share, only_share, n


def reference_comparison(cancer: str, any_share: dict[str, float], only_share: dict[str, float]) -> pd.DataFrame:
    """Reference rows of metastatic_sites.csv for `cancer` beside the simulated share that matches each.

    Rows whose denominator is all patients rather than metastatic patients are shown without a simulated
    value; the mean number of sites is a count, not a percentage.
    """
    rows = metastatic_site_rows(cancer).copy()
    simulated = []
    for site, denominator in zip(rows["site"], rows["denominator"], strict=True):
        if denominator.startswith("all "):
            simulated.append(np.nan)  # another denominator (all patients, not metastatic ones): not comparable
        elif site == "mean number of metastatic sites":
            simulated.append(only_share[site])
        elif site in REFERENCE_SITE_MAP:
            simulated.append(100 * any_share[REFERENCE_SITE_MAP[site]])
        elif site.endswith(" only") and site.removesuffix(" only") in only_share:
            simulated.append(100 * only_share[site.removesuffix(" only")])
        elif site == "multiple sites":
            simulated.append(100 * only_share["multiple sites"])
        else:
            simulated.append(np.nan)
    rows["simulated_percent"] = simulated
    return rows[["site", "percent", "simulated_percent", "denominator", "source"]]


def summarise(run_info: dict[str, Any], patients: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """Return the JSON-ready summary of one run."""
    years = int(run_info["years"])
    marks = report_years(years)
    any_share, only_share, n_met = site_distribution(patients)
    seeded = patients["day_first_distant_seeding"].dropna()
    cm3 = patients["primary_cm3_at_first_distant_seeding"].dropna()
    ctc = {}
    for y in marks:
        alive = timeseries[timeseries["year"] == y]
        ctc[str(y)] = {
            "patients_alive": len(alive),
            "median": float(alive["ctc_per_7_5ml"].median()) if len(alive) else None,
            "mean": float(alive["ctc_per_7_5ml"].mean()) if len(alive) else None,
            "share_at_least_5": float((alive["ctc_per_7_5ml"] >= 5).mean()) if len(alive) else None,
            "share_at_least_5_if_distant_metastasis": (
                float((alive.loc[alive["n_distant_metastases"] > 0, "ctc_per_7_5ml"] >= 5).mean())
                if (alive["n_distant_metastases"] > 0).any()
                else None
            ),
        }
    return {
        "run_id": run_info["run_id"],
        "cancer": run_info["cancer"],
        "patients": len(patients),
        "years": years,
        "seed": int(run_info["seed"]),
        "version": run_info["version"],
        "lymph_node_involvement_fraction": _by_year(patients["day_first_node_involved"], marks),
        "distant_metastasis_fraction": _by_year(patients["day_first_distant_metastasis"], marks),
        "distant_macrometastasis_fraction": _by_year(patients["day_first_distant_macrometastasis"], marks),
        "distant_detectable_fraction": _by_year(patients["day_first_distant_detectable"], marks),
        "death_fraction": _by_year(patients["day_death"], marks),
        "site_distribution": any_share,
        "site_only_distribution": only_share,
        "patients_with_detectable_distant_metastasis": n_met,
        "first_distant_seeding": {
            "patients_seeded": len(seeded),
            "median_day": float(seeded.median()) if len(seeded) else None,
            "quartile_days": [float(seeded.quantile(0.25)), float(seeded.quantile(0.75))] if len(seeded) else None,
            "median_primary_cm3": float(cm3.median()) if len(cm3) else None,
            "early_seeding_share": float((cm3 < EARLY_SEEDING_CM3).mean()) if len(cm3) else None,
            "early_seeding_threshold_cm3": EARLY_SEEDING_CM3,
        },
        "ctc_per_7_5ml": ctc,
        "patients_over_lesion_capacity": int((patients["lesions_over_capacity"] > 0).sum()),
        **clinical_summary(str(run_info["cancer"]), patients),
        "disclaimer": "Educational and research simulation; not medical advice.",
    }
