"""Summaries of a cohort, computed from the stored tables.

Spread over time, metastatic sites beside the published figures, timing of seeding, circulating tumour
cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metastasim.anatomy.sites import SITES
from metastasim.cohort.clinical_summary import clinical_summary
from metastasim.data.reference import REFERENCE_SITE_MAP, metastatic_site_rows, recorded_sites, reference_site
from metastasim.units import DAYS_PER_YEAR

#: Hu et al. 2019 (Nat Genet 51:1113) found most colorectal metastases seeded while the primary was this small.
EARLY_SEEDING_CM3 = 0.01
DISTANT_SITES = tuple(s for s in SITES if s != "regional_nodes")


def report_years(years: int) -> list[int]:
    """Years at which fractions are reported: 1, 5, 10, 20, 30 within the horizon (and the horizon)."""
    marks = [y for y in (1, 5, 10, 20, 30) if y <= years]
    return marks if years in marks else [*marks, years]


def site_patterns(patients: pd.DataFrame) -> dict[str, int]:
    """Number of patients with each comma-separated site list when their first distant metastasis reached 10 mm."""
    sites = patients["sites_at_first_detectable_metastasis"].astype(object).fillna("")
    metastatic = sites[patients["day_first_distant_detectable"].notna()]
    return {str(p): int(c) for p, c in metastatic.value_counts().items()}


def site_distribution(patients: pd.DataFrame) -> tuple[dict[str, float], dict[str, float], int]:
    """Site shares among patients whose first distant metastasis reached 10 mm.

    Returns the share with each site involved then (a proxy for first metastatic diagnosis), the share
    with only that site, and the number of such patients.
    """
    return site_shares(site_patterns(patients))


def _site_sets(pattern_counts: Mapping[str, int]) -> list[tuple[set[str], int]]:
    return [(set(str(p).split(",")) - {""}, int(c)) for p, c in pattern_counts.items()]


def site_shares(pattern_counts: Mapping[str, int]) -> tuple[dict[str, float], dict[str, float], int]:
    """`site_distribution` from the number of metastatic patients with each comma-separated site list."""
    n = int(sum(pattern_counts.values()))
    sets = _site_sets(pattern_counts)
    any_share = {s: (sum(c for x, c in sets if s in x) / n if n else 0.0) for s in DISTANT_SITES}
    only_share = {s: (sum(c for x, c in sets if x == {s}) / n if n else 0.0) for s in DISTANT_SITES}
    only_share["multiple sites"] = sum(c for x, c in sets if len(x) > 1) / n if n else 0.0
    only_share["mean number of metastatic sites"] = sum(c * len(x) for x, c in sets) / n if n else 0.0
    return any_share, only_share, n


def recorded_site_shares(
    pattern_counts: Mapping[str, int], recorded: tuple[str, ...]
) -> tuple[dict[str, float], int]:
    """Shares as a source that recorded only the sites `recorded` counts them.

    Each patient's sites are narrowed to `recorded`; patients left with none are not counted (the source
    would not know them as metastatic). Returns, among the others, the share with each recorded site alone
    and with two or more ("multiple sites"), and their number. Registries that record bone, brain, liver
    and lung (SEER since 2010) report their patterns this way.
    """
    kept = [(x & set(recorded), c) for x, c in _site_sets(pattern_counts)]
    kept = [(x, c) for x, c in kept if x]
    n = sum(c for _, c in kept)
    shares = {s: (sum(c for x, c in kept if x == {s}) / n if n else 0.0) for s in recorded}
    shares["multiple sites"] = sum(c for x, c in kept if len(x) > 1) / n if n else 0.0
    return shares, n


def reference_comparison(cancer: str, pattern_counts: Mapping[str, int]) -> pd.DataFrame:
    """Reference rows of metastatic_sites.csv for `cancer` beside the simulated share that matches each.

    `pattern_counts` is the number of metastatic patients with each site list (`site_patterns`). Rows whose
    denominator is all patients rather than metastatic patients are shown without a simulated value; the
    mean number of sites is a count, not a percentage; rows of a source that recorded only some sites are
    computed as that source counts (`recorded_site_shares`).
    """
    any_share, only_share, _ = site_shares(pattern_counts)
    rows = metastatic_site_rows(cancer).copy()
    # One narrowing per distinct set of recorded sites, shared by that source's rows.
    sources = set(rows["recorded_sites"]) - {""}
    by_recorded = {r: recorded_site_shares(pattern_counts, recorded_sites(r))[0] for r in sources}
    simulated = []
    for site, denominator, recorded in zip(rows["site"], rows["denominator"], rows["recorded_sites"], strict=True):
        model_site, alone = reference_site(site)
        if denominator.startswith("all "):
            simulated.append(np.nan)  # another denominator (all patients, not metastatic ones): not comparable
        elif recorded and (alone or site == "multiple sites"):
            shares = by_recorded[recorded]
            simulated.append(100 * shares[model_site] if model_site in shares else np.nan)
        elif site == "mean number of metastatic sites":
            simulated.append(only_share[site])
        elif site in REFERENCE_SITE_MAP:
            simulated.append(100 * any_share[REFERENCE_SITE_MAP[site]])
        elif alone and model_site in only_share:
            simulated.append(100 * only_share[model_site])
        elif site == "multiple sites":
            simulated.append(100 * only_share["multiple sites"])
        else:
            simulated.append(np.nan)
    rows["simulated_percent"] = simulated
    return rows[["site", "percent", "simulated_percent", "denominator", "source"]]


#: Patient columns the fractions by year are computed from, by summary key.
FRACTION_COLUMNS = {
    "lymph_node_involvement_fraction": "day_first_node_involved",
    "distant_metastasis_fraction": "day_first_distant_metastasis",
    "distant_macrometastasis_fraction": "day_first_distant_macrometastasis",
    "distant_detectable_fraction": "day_first_distant_detectable",
    "death_fraction": "day_death",
}


def _one_row(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> tuple[Any, ...]:
    return tuple(con.execute(query, params).fetchall()[0])


# count(*) FILTER (...) rather than count_if(...): DuckDB's count_if gives NULL when every value is NULL.


def _fractions(con: duckdb.DuckDBPyConnection, run_id: str, marks: list[int]) -> tuple[int, dict[str, Any]]:
    """Share of all patients with each event by each reported year, counted in the database."""
    exprs = ", ".join(
        f'count(*) FILTER (WHERE "{c}" <= {y * DAYS_PER_YEAR!r})' for c in FRACTION_COLUMNS.values() for y in marks
    )
    row = _one_row(con, f"SELECT count(*), {exprs} FROM patients WHERE run_id = ?", [run_id])
    n, counts = int(row[0]), iter(row[1:])
    out = {key: {str(y): (next(counts) / n if n else 0.0) for y in marks} for key in FRACTION_COLUMNS}
    return n, out


def _seeding(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    seeded, q, cm3_n, cm3_median, early = _one_row(
        con,
        "SELECT count(day_first_distant_seeding), quantile_cont(day_first_distant_seeding, [0.25, 0.5, 0.75]), "
        "count(primary_cm3_at_first_distant_seeding), median(primary_cm3_at_first_distant_seeding), "
        f"count(*) FILTER (WHERE primary_cm3_at_first_distant_seeding < {EARLY_SEEDING_CM3!r}) "
        "FROM patients WHERE run_id = ?",
        [run_id],
    )
    return {
        "patients_seeded": int(seeded),
        "median_day": float(q[1]) if seeded else None,
        "quartile_days": [float(q[0]), float(q[2])] if seeded else None,
        "median_primary_cm3": float(cm3_median) if cm3_n else None,
        "early_seeding_share": early / cm3_n if cm3_n else None,
        "early_seeding_threshold_cm3": EARLY_SEEDING_CM3,
    }


def _ctc(con: duckdb.DuckDBPyConnection, run_id: str, marks: list[int]) -> dict[str, Any]:
    """Circulating tumour cells per 7.5 ml among patients alive at each reported year."""
    rows = con.execute(
        "SELECT year, count(*), median(ctc_per_7_5ml), avg(ctc_per_7_5ml), avg((ctc_per_7_5ml >= 5)::DOUBLE), "
        "count(*) FILTER (WHERE n_distant_metastases > 0), "
        "avg((ctc_per_7_5ml >= 5)::DOUBLE) FILTER (WHERE n_distant_metastases > 0) "
        f"FROM timeseries WHERE run_id = ? AND year IN ({', '.join(map(str, marks))}) GROUP BY year",
        [run_id],
    ).fetchall()
    by_year = {int(r[0]): r for r in rows}
    out = {}
    for y in marks:
        r = by_year.get(y)
        out[str(y)] = {
            "patients_alive": int(r[1]) if r else 0,
            "median": float(r[2]) if r else None,
            "mean": float(r[3]) if r else None,
            "share_at_least_5": float(r[4]) if r else None,
            "share_at_least_5_if_distant_metastasis": float(r[6]) if r and r[5] else None,
        }
    return out


def summarise(run_info: dict[str, Any], con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return the JSON-ready summary of one run from the ``patients`` and ``timeseries`` tables of `con`.

    Counts, quantiles and means are computed in the database, and survival curves load one stage's follow-up
    times at a time, so memory stays bounded for cohorts of millions. `con` may be the run store's
    connection or one with in-memory tables registered under those names.
    """
    run_id = str(run_info["run_id"])
    years = int(run_info["years"])
    marks = report_years(years)
    n, fractions = _fractions(con, run_id, marks)
    patterns = con.execute(
        "SELECT coalesce(sites_at_first_detectable_metastasis, ''), count(*) FROM patients "
        "WHERE run_id = ? AND day_first_distant_detectable IS NOT NULL GROUP BY 1",
        [run_id],
    ).fetchall()
    pattern_counts = {str(p): int(c) for p, c in sorted(patterns)}
    any_share, only_share, n_met = site_shares(pattern_counts)
    over_capacity = _one_row(
        con, "SELECT count(*) FILTER (WHERE lesions_over_capacity > 0) FROM patients WHERE run_id = ?", [run_id]
    )[0]
    deaths = con.execute(
        "SELECT death_cause, count(*) FROM patients WHERE run_id = ? AND died GROUP BY 1", [run_id]
    ).fetchall()
    return {
        "run_id": run_info["run_id"],
        "cancer": run_info["cancer"],
        "patients": n,
        "years": years,
        "seed": int(run_info["seed"]),
        "version": run_info["version"],
        **fractions,
        "site_distribution": any_share,
        "site_only_distribution": only_share,
        "site_patterns": pattern_counts,
        "patients_with_detectable_distant_metastasis": n_met,
        "first_distant_seeding": _seeding(con, run_id),
        "ctc_per_7_5ml": _ctc(con, run_id, marks),
        "patients_over_lesion_capacity": int(over_capacity),
        **clinical_summary(
            str(run_info["cancer"]), con, run_id, n, {str(c): int(k) for c, k in deaths if c is not None},
            sum(int(k) for _, k in deaths),
        ),
        "disclaimer": "Educational and research simulation; not medical advice.",
    }


def summarise_tables(run_info: dict[str, Any], patients: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """`summarise` for tables in memory (one run's patients and timeseries)."""
    con = duckdb.connect()
    try:
        con.register("patients", patients)
        con.register("timeseries", timeseries)
        return summarise({**run_info, "run_id": str(patients["run_id"].iloc[0])} if len(patients) else run_info,
                         con)
    finally:
        con.close()
