"""Validation targets read from the shipped reference tables, each with the published value's own uncertainty.

A target is one published figure: what it measures, its value, and the interval the data themselves allow.
That interval, not a tolerance chosen afterwards, decides pass or fail (validation/suite.py): a target passes
when the simulated 95% interval overlaps it. Where does each published interval come from?

- Stage at diagnosis (stage_at_diagnosis.csv): registry shares leave some cases unstaged. The share of a stage
  among staged cases lies between "no unstaged case had this stage" and "every one did", that is between
  p / (S + U) and (p + U) / (S + U), where S is the sum of the three shares and U the unstaged share. U is the
  share the row's context states, else 100 - S when all three are given. Registry counts are tens of thousands,
  so sampling error is negligible beside U. A row that gives fewer than three shares and no unstaged share is
  compared with its exact value, or with its binomial interval when its context gives the series' n.
- Metastatic sites (metastatic_sites.csv, rows among metastatic patients): a binomial 95% Wilson interval
  from the study's n (parsed from "n=..." in the denominator). A row without n is compared with its value.
  Rows of a source that recorded only some sites (its ``recorded_sites``) are compared as it counted them:
  each recorded site alone, or several, among patients with at least one of them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from metastasim.clinic.codes import SEER_STAGES
from metastasim.cohort.clinical_summary import STAGE_REFERENCE_NAME, stage_reference
from metastasim.data.reference import (
    REFERENCE_SITE_MAP,
    load_reference,
    metastatic_site_rows,
    recorded_sites,
    reference_site,
)

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Target:
    """One published figure to compare the model with (fractions, not percent)."""

    id: str
    cancer: str
    kind: str  # "stage" or "site"
    key: str  # the SEER stage or the model site
    what: str
    published: float
    low: float
    high: float
    uncertainty: str  # how low and high were set
    source: str
    unit: str = "share"  # "share" (a fraction, shown as percent) or the unit of the value ("days", "hours", ...)
    #: Site targets of a source that recorded only these sites: `key` is then a recorded site counted alone,
    #: or "multiple sites", among patients with at least one of them (cohort.summary.recorded_site_shares).
    recorded_sites: tuple[str, ...] = ()


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (the whole [0, 1] when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _series_n(text: str) -> int | None:
    """The number of patients a reference row counts ("n=7559" or "n=33,449" in its text), if it says."""
    m = re.search(r"n=(\d[\d,]*)", text)
    return int(m[1].replace(",", "")) if m else None


def _unstaged_percent(row: pd.Series, given: dict[str, float]) -> tuple[float, str]:
    m = re.search(r"(\d+(?:\.\d+)?)% (?:unstaged|unknown)", str(row["context"]))
    if m:
        return float(m[1]), f"{m[1]}% unstaged (stated in the source row)"
    if len(given) == 3:
        return max(0.0, 100.0 - sum(given.values())), "unstaged share = 100 - the three shares"
    return 0.0, "unstaged share not given"


def stage_targets(cancer: str) -> list[Target]:
    """SEER summary stage shares at diagnosis for one cancer type (the stages its reference row gives)."""
    ref = load_reference("stage_at_diagnosis")
    rows = ref[ref["cancer"] == STAGE_REFERENCE_NAME.get(cancer, cancer)]
    if rows.empty:
        return []
    row = rows.iloc[0]
    given = {s: float(row[f"{s}_pct"]) for s in SEER_STAGES if not pd.isna(row[f"{s}_pct"])}
    unstaged, how = _unstaged_percent(row, given)
    total = (sum(given.values()) + unstaged) if len(given) == 3 else 100.0
    published = stage_reference(cancer)  # percent, renormalised to staged cases when all three are given
    n = _series_n(str(row["context"]))
    out = []
    for stage, pct in given.items():
        low, high = pct / total, (pct + unstaged) / total
        uncertainty = how
        if len(given) < 3 and n is not None:  # one stage of a counted series: its binomial interval
            low, high = wilson_interval(pct / 100.0 * n, n)
            uncertainty = f"binomial 95% interval, n={n}"
        elif len(given) < 3:
            uncertainty += ": the exact value (a share of all cases, staged or not)"
        out.append(
            Target(
                id=f"stage_at_diagnosis.{cancer}.{stage}",
                cancer=cancer,
                kind="stage",
                key=stage,
                what=f"{stage} share of diagnosed patients (SEER summary stage)",
                published=float(published[stage] or 0.0) / 100.0,
                low=low,
                high=high,
                uncertainty=uncertainty,
                source=str(row["source"]),
            )
        )
    return out


def site_targets(cancer: str) -> list[Target]:
    """Shares of metastatic patients at first metastatic diagnosis (model sites only).

    The share with each site involved, or, for a source that recorded only some sites, as it counts them:
    each recorded site alone, or several.
    """
    out = []
    seen: set[str] = set()
    for r in metastatic_site_rows(cancer).itertuples():
        name = str(r.site)
        recorded = recorded_sites(str(r.recorded_sites))
        key, counted_alone = reference_site(name)
        alone = bool(recorded) and (counted_alone or name == "multiple sites")
        if alone:
            if key != "multiple sites" and key not in recorded:
                continue
            suffix = "multiple_sites" if key == "multiple sites" else f"{key}_alone"
            target_id = f"metastatic_sites.{cancer}.{suffix}"
            label = "two or more" if key == "multiple sites" else f"{name.removesuffix(' only')} alone"
            what = f"share with {label} of the recorded sites ({r.denominator})"
        else:
            site = REFERENCE_SITE_MAP.get(name)
            if site is None:
                continue
            key, target_id = site, f"metastatic_sites.{cancer}.{site}"
            what = f"share of metastatic patients with {name} metastases ({r.denominator})"
        if not str(r.denominator).startswith("metastatic") or target_id in seen:
            continue
        seen.add(target_id)
        p = float(r.percent) / 100.0
        n = _series_n(str(r.denominator))
        if n is not None:
            low, high = wilson_interval(p * n, n)
            how = f"binomial 95% interval, n={n}"
        else:
            low, high, how = p, p, "no n given: the exact value"
        out.append(
            Target(
                id=target_id,
                cancer=cancer,
                kind="site",
                key=key,
                what=what,
                published=p,
                low=low,
                high=high,
                uncertainty=how,
                source=str(r.source),
                recorded_sites=recorded if alone else (),
            )
        )
    return out


def targets_for(cancer: str) -> list[Target]:
    """Every validation target of one cancer type."""
    return stage_targets(cancer) + site_targets(cancer)
