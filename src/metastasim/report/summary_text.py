"""A cohort summary as plain text for the terminal."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metastasim.cohort.summary import reference_comparison
from metastasim.engine.records import SITE_LABELS
from metastasim.report.story import COHORT_DISCLAIMER
from metastasim.units import DAYS_PER_YEAR


def _pct(x: float | None) -> str:
    return "  —  " if x is None else f"{100 * x:5.1f}%"


def format_summary(s: dict[str, Any], db: str) -> str:
    """Render the summary of one run."""
    lines = [
        f"metastasim run {s['run_id']}: {s['patients']} {s['cancer']} patients, {s['years']} years from the "
        f"first malignant cell, seed {s['seed']} (version {s['version']})",
        COHORT_DISCLAIMER,
        "",
    ]
    lines.extend(_clinical_lines(s))
    years = list(s["distant_metastasis_fraction"])
    lines.append("Spread over time (true disease, whether or not diagnosed or treated):")
    lines.append(f"{'':44}" + "".join(f"{'year ' + y:>10}" for y in years))
    for key, label in (
        ("lymph_node_involvement_fraction", "regional lymph node involved (>= 0.2 mm)"),
        ("distant_metastasis_fraction", "distant metastasis (>= 0.2 mm)"),
        ("distant_macrometastasis_fraction", "distant macrometastasis (>= 2 mm)"),
        ("distant_detectable_fraction", "distant metastasis >= 10 mm"),
        ("death_fraction", "died (any cause)"),
    ):
        lines.append(f"  {label:<42}" + "".join(f"{_pct(s[key][y]):>10}" for y in years))
    lines.append("")
    n_met = s["patients_with_detectable_distant_metastasis"]
    lines.append(
        f"Metastatic sites when the first distant metastasis reached 10 mm (a proxy for first metastatic "
        f"diagnosis; sites with lesions >= 5 mm), {n_met} patients:"
    )
    for site, share in sorted(s["site_distribution"].items(), key=lambda kv: -kv[1]):
        if share >= 0.0005:
            lines.append(f"  {SITE_LABELS.get(site, site):<24}{_pct(share)}")
    # A summary written before site patterns were recorded has nothing to compare the published rows with.
    ref = reference_comparison(s["cancer"], s["site_patterns"]) if "site_patterns" in s else pd.DataFrame()
    if not ref.empty:
        lines.append("Published figures (data/reference/metastatic_sites.csv) beside the simulated share:")
        lines.append(f"  {'site':<36}{'published':>10}{'simulated':>10}  denominator; source")
        for r in ref.itertuples(index=False):
            count = r.site.startswith("mean number")
            published = f"{r.percent:10.1f}" if count else f"{r.percent:9.1f}%"
            if pd.isna(r.simulated_percent):
                sim = "       n/a"
            else:
                sim = f"{r.simulated_percent:10.1f}" if count else f"{r.simulated_percent:9.1f}%"
            lines.append(f"  {r.site:<36}{published}{sim:>10}  {r.denominator}; {r.source}")
    lines.append("")
    seed = s["first_distant_seeding"]
    if seed["patients_seeded"]:
        q = seed["quartile_days"]
        years = seed["median_day"] / DAYS_PER_YEAR
        lines.append(
            f"Time to first distant seeding: median day {seed['median_day']:.0f} ({years:.1f} "
            f"years; IQR {q[0]:.0f}-{q[1]:.0f} days) in {seed['patients_seeded']} patients; primary then "
            f"{seed['median_primary_cm3']:.2g} cm3 (median)."
        )
        lines.append(
            f"Seeded while the primary was under {seed['early_seeding_threshold_cm3']} cm3: "
            f"{_pct(seed['early_seeding_share'])} (Hu et al. 2019 found most colorectal metastases seeded "
            "that early)."
        )
    lines.append("")
    lines.append("Circulating tumour cells per 7.5 mL of blood (patients alive at each year):")
    for y, c in s["ctc_per_7_5ml"].items():
        if c["patients_alive"]:
            lines.append(
                f"  year {y:>3}: mean {c['mean']:.1f}, median {c['median']:.0f}, >= 5 (CellSearch cutoff): "
                f"{_pct(c['share_at_least_5'])}; among those with distant metastases: "
                f"{_pct(c['share_at_least_5_if_distant_metastasis'])}"
            )
    lines.append("")
    lines.append(
        f"Stored in {db} as run {s['run_id']}: tables runs, patients, lesions, events, timeseries "
        f"(query with SQL, or 'metastasim export {s['run_id']} --parquet DIR')."
    )
    return "\n".join(lines)


def _opt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "    —"
    return f"{100 * x:5.1f}%" if pct else f"{x:5.1f}"


def _clinical_lines(s: dict[str, Any]) -> list[str]:
    """Stage at diagnosis beside SEER, survival by stage, causes of death, presentation by site."""
    lines = [
        f"Diagnosed: {s['patients_diagnosed']} of {s['patients']} patients ({_pct(s['diagnosed_fraction'])}); "
        f"median age at diagnosis {_opt(s['median_age_at_diagnosis'], False)} years; routes: "
        + ", ".join(f"{k} {_pct(v)}" for k, v in s["diagnosis_route"].items()),
        "",
        "Stage at diagnosis (SEER summary stage; published shares renormalised to staged cases, "
        "data/reference/stage_at_diagnosis.csv):",
        f"  {'stage':<12}{'observed':>10}{'true':>10}{'published':>11}{'5-y survival':>14}",
    ]
    published = s["stage_at_diagnosis_published_percent"]
    for stage, share in s["stage_at_diagnosis"].items():
        ref = published.get(stage)
        ref_text = "       n/a" if ref is None else f"{ref:9.1f}%"
        lines.append(
            f"  {stage:<12}{_pct(share):>10}{_pct(s['stage_at_diagnosis_true'].get(stage)):>10}{ref_text:>11}"
            f"{_pct(s['survival_5y_by_stage'].get(stage)):>14}"
        )
    lines.append("  The observed stage counts only what tests found; the true stage counts every deposit of 0.2 mm.")
    groups = s["stage_group_at_diagnosis"]
    lines.append(
        "  Stage groups (observed): "
        + ", ".join(
            f"{g} {_pct(v)} (5-y survival {_pct(s['survival_5y_by_stage_group'].get(g))})"
            for g, v in groups.items()
            if v > 0
        )
    )
    lines.append("")
    lines.append(
        f"Causes of death ({s['deaths']} deaths): "
        + ", ".join(f"{k} {_pct(v)}" for k, v in s["causes_of_death"].items())
    )
    if s["symptoms_at_presentation_by_site"]:
        lines.append("Symptoms at diagnosis of patients with metastases found at diagnosis, by site:")
        for site, syms in s["symptoms_at_presentation_by_site"].items():
            lines.append(f"  {SITE_LABELS.get(site, site):<16}" + ", ".join(f"{k} {_pct(v)}" for k, v in syms.items()))
    lines.append("")
    return lines
