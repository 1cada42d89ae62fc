"""In-silico re-creation of Luzzi et al. (1998): the fates of single cells that arrest in the liver.

Luzzi KJ, MacDonald IC, Schmidt EE, et al. Multistep nature of metastatic inefficiency: dormancy of
solitary cells after successful extravasation and limited survival of early micrometastases.
Am J Pathol 1998;153:865-873. B16F1 melanoma cells were injected into the mesenteric vein of mice, arrested
in the liver and were followed by intravital videomicroscopy for 13 days.

Here ``n_cells`` single cells arrest in the liver at day 0 and each follows the model's colonisation
chain, drawn with the SAME parameters the patient engine uses (``extravasation.*``, ``colonisation.*``,
``immune.*``), so that the comparison checks the defaults:

1. Arrest resolves after a time ~ Exp(``extravasation.rate_per_day``): the cell extravasates with
   probability ``extravasation.probability[liver]``, otherwise it dies in the vessel.
2. An extravasated cell starts dividing at once (founds a micrometastasis) with probability
   ``colonisation.proliferation_probability``; otherwise it stays solitary.
3. A solitary cell enters long-term dormancy with probability ``colonisation.dormancy_probability``; the
   others die at ``colonisation.solitary_death_rate_per_day``. A dormant cell leaves dormancy at
   ``dormant_wake_rate_per_day + dormant_death_rate_per_day``, waking (and founding a micrometastasis, as in
   the engine) with probability wake / (wake + death), else dying.
4. A micrometastasis persists with probability ``colonisation.micrometastasis_persistence`` ×
   ``colonisation.soil_affinity[liver]``. A persisting one grows exponentially from one cell with the
   B16F1 doubling time (``data/experiments.toml``) and counts as a macrometastasis once it passes
   ``macroscopic_cells``. One that does not persist stays microscopic and regresses (vanishes) after an
   exponential time with mean ``regression_mean_days``.
5. Immune surveillance as in :mod:`metastasim.biology.immune`: every lesion faces the hazard
   ``immune.clearance_rate_per_day`` until it reaches ``immune.escape_cells``; an elimination time drawn
   from that hazard before the escape time removes the lesion then.

Experiment-only numbers (B16F1 doubling time, macroscopic size, regression time) are read with their
sources from ``data/experiments.toml``. All draws come from one ``numpy.random.Generator(Philox(seed))``
in a fixed order, so a seed reproduces a run exactly; the seed is kept in ``DataFrame.attrs``.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from metastasim.data import read_toml
from metastasim.params.load import Parameters

DISCLAIMER = "In-silico re-creation of a published mouse experiment, for education and research; not medical advice."

#: Columns of the frame returned by :func:`run_inefficiency`, after ``day``.
COLUMNS: tuple[str, ...] = (
    "in_vessel",
    "dead",
    "extravasated",
    "solitary",
    "dormant",
    "micrometastases",
    "macrometastases",
    "began_micrometastasis",
)

#: Compartments that partition the injected cells at any day (they sum to 1).
COMPARTMENTS: tuple[str, ...] = ("in_vessel", "dead", "solitary", "micrometastases", "macrometastases")


@dataclass(frozen=True)
class _Measure:
    """How one Luzzi row is read off the simulated frame."""

    day: int
    numerator: str
    denominator: str | None
    denominator_day: int
    label: str


#: Luzzi rows of dissemination.csv (by their ``quantity``) -> the simulated quantity they are compared with.
LUZZI_MEASURES: dict[str, _Measure] = {
    "survived and extravasated by day 3": _Measure(3, "extravasated", None, 3, "extravasated by day 3 / injected"),
    "began micrometastases by day 3": _Measure(
        3, "began_micrometastasis", None, 3, "began a micrometastasis by day 3 / injected"
    ),
    "micrometastases persisting to macroscopic tumours by day 13": _Measure(
        13,
        "macrometastases",
        "began_micrometastasis",
        3,
        "macrometastases at day 13 / micrometastases begun by day 3",
    ),
    "solitary dormant cells at day 13": _Measure(
        13, "solitary", None, 13, "solitary non-dividing cells at day 13 / injected"
    ),
}


def load_settings(experiment: str = "inefficiency") -> dict[str, dict[str, Any]]:
    """Return the experiment-only numbers of `experiment` from ``data/experiments.toml``.

    Args:
        experiment: table name in the file.

    Returns:
        Name -> ``{"value": ..., "source": "..."}``.
    """
    table = read_toml("experiments.toml")[experiment]
    return {name: dict(entry) for name, entry in table.items()}


def _draw_exponential(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Waiting times at `rate` per day (infinite when the rate is 0); always consumes `n` draws."""
    e = rng.standard_exponential(n)
    if rate <= 0.0:
        return np.full(n, np.inf)
    return e / rate


def run_inefficiency(
    params: Parameters,
    n_cells: int = 100_000,
    days: int = 13,
    seed: int = 1,
    *,
    settings: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Simulate `n_cells` single cells arrested in the liver at day 0 and follow them to day `days`.

    Args:
        params: model parameters (e.g. ``load_parameters("colorectal")``); the colonisation chain uses them
            unchanged.
        n_cells: number of injected cells.
        days: last day reported (rows are days 0..days).
        seed: seed of the ``numpy.random.Philox`` generator; the same seed gives the same frame.
        settings: optional replacements for the experiment-only values of ``data/experiments.toml``
            (``doubling_time_days``, ``macroscopic_cells``, ``regression_mean_days``).

    Returns:
        One row per day with the fraction of injected cells in each state: ``in_vessel`` (arrested, not yet
        resolved), ``dead`` (died in the vessel, as a solitary or dormant cell, or with a lesion that
        regressed or was eliminated), ``extravasated`` (cumulative), ``solitary`` (outside the vessel, not
        dividing, alive; includes ``dormant``), ``dormant`` (long-term dormant), ``micrometastases``
        (founders of a lesion present but not macroscopic), ``macrometastases`` (founders of a macroscopic
        lesion) and ``began_micrometastasis`` (cumulative). ``attrs`` holds the seed, the number of cells,
        the site and the experiment settings used.

    Raises:
        ValueError: if `n_cells` < 1 or `days` < 0.
    """
    if int(n_cells) != n_cells or n_cells < 1:
        raise ValueError(f"n_cells must be a whole number of at least 1, got {n_cells!r}")
    if int(days) != days or days < 0:
        raise ValueError(f"days must be a whole number of at least 0, got {days!r}")
    n, days = int(n_cells), int(days)

    loaded = load_settings()
    values: dict[str, Any] = {name: entry["value"] for name, entry in loaded.items()}
    if settings:
        unknown = set(settings) - set(values)
        if unknown:
            raise ValueError(f"unknown experiment setting(s): {', '.join(sorted(unknown))}")
        values.update(settings)
    site = str(values["site"])
    doubling = float(values["doubling_time_days"])
    macro_cells = float(values["macroscopic_cells"])
    regression_mean = float(values["regression_mean_days"])

    p_extravasate = float(params["extravasation.probability"][site])
    resolve_rate = float(params["extravasation.rate_per_day"])
    p_prolif = float(params["colonisation.proliferation_probability"])
    p_persist = float(params["colonisation.micrometastasis_persistence"]) * float(
        params["colonisation.soil_affinity"][site]
    )
    p_dormant = float(params["colonisation.dormancy_probability"])
    solitary_death = float(params["colonisation.solitary_death_rate_per_day"])
    wake = float(params["colonisation.dormant_wake_rate_per_day"])
    dormant_death = float(params["colonisation.dormant_death_rate_per_day"])
    clearance = float(params["immune.clearance_rate_per_day"])
    escape_cells = float(params["immune.escape_cells"])

    # Every draw is made for every cell, in this fixed order, so the streams never shift with parameters.
    rng = np.random.Generator(np.random.Philox(seed))
    t_resolve = _draw_exponential(rng, n, resolve_rate)
    extravasates = rng.random(n) < p_extravasate
    proliferates = rng.random(n) < p_prolif
    goes_dormant = rng.random(n) < p_dormant
    solitary_wait = _draw_exponential(rng, n, solitary_death)
    dormant_wait = _draw_exponential(rng, n, wake + dormant_death)
    wakes = rng.random(n) < (wake / (wake + dormant_death) if wake + dormant_death > 0 else 0.0)
    persists = rng.random(n) < p_persist
    regression_wait = rng.standard_exponential(n) * regression_mean
    immune_wait = _draw_exponential(rng, n, clearance)

    inf = np.inf
    t_ext = np.where(extravasates, t_resolve, inf)
    direct = extravasates & proliferates
    solitary_cell = extravasates & ~proliferates
    dormant_cell = solitary_cell & goes_dormant
    # Time a solitary cell stops being solitary (death, or waking for a dormant cell).
    t_solitary_end = np.where(dormant_cell, t_ext + dormant_wait, np.where(solitary_cell, t_ext + solitary_wait, inf))
    woke = dormant_cell & wakes & np.isfinite(t_solitary_end)
    founder = direct | woke
    t_start = np.where(direct, t_ext, np.where(woke, t_solitary_end, inf))

    # Lesions grow exponentially from one cell at the B16F1 doubling time.
    t_escape = math.log2(escape_cells) * doubling if escape_cells > 1.0 else 0.0
    t_macro_age = math.log2(macro_cells) * doubling if macro_cells > 1.0 else 0.0
    t_eliminated = np.where(immune_wait < t_escape, immune_wait, inf)
    grows = founder & persists
    t_vanish = np.where(
        grows,
        t_start + t_eliminated,
        np.where(founder, t_start + np.minimum(regression_wait, t_eliminated), inf),
    )
    t_macro = np.where(grows, t_start + t_macro_age, inf)

    rows = []
    for d in range(days + 1):
        in_vessel = t_resolve > d
        solitary_now = solitary_cell & (t_ext <= d) & (t_solitary_end > d)
        dormant_now = dormant_cell & (t_ext <= d) & (t_solitary_end > d)
        lesion_now = founder & (t_start <= d) & (t_vanish > d)
        macro_now = lesion_now & (t_macro <= d)
        micro_now = lesion_now & ~macro_now
        dead = (
            (~extravasates & ~in_vessel) | (solitary_cell & ~woke & (t_solitary_end <= d)) | (founder & (t_vanish <= d))
        )
        rows.append(
            {
                "day": d,
                "in_vessel": in_vessel.mean(),
                "dead": dead.mean(),
                "extravasated": (extravasates & (t_resolve <= d)).mean(),
                "solitary": solitary_now.mean(),
                "dormant": dormant_now.mean(),
                "micrometastases": micro_now.mean(),
                "macrometastases": macro_now.mean(),
                "began_micrometastasis": (founder & (t_start <= d)).mean(),
            }
        )
    df = pd.DataFrame(rows, columns=["day", *COLUMNS])
    df.attrs.update(
        {
            "experiment": "inefficiency",
            "seed": seed,
            "n_cells": n,
            "site": site,
            "cancer": params.cancer,
            "settings": {k: values[k] for k in ("doubling_time_days", "macroscopic_cells", "regression_mean_days")},
        }
    )
    return df


def _parse_fraction(text: str) -> float:
    """Read a published value written as a number or a ratio ("0.83", "1/40")."""
    return float(Fraction(text.strip()))


def luzzi_rows() -> pd.DataFrame:
    """Return the Luzzi et al. (1998) rows of the shipped ``data/reference/dissemination.csv``.

    Returns:
        The rows whose source starts with "Luzzi", with the published value parsed into ``published``.
    """
    path = resources.files("metastasim.data").joinpath("reference", "dissemination.csv")
    table = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")), dtype=str)
    rows = table[table["source"].str.strip().str.startswith("Luzzi")].reset_index(drop=True)
    rows["published"] = rows["value"].map(_parse_fraction)
    return rows


def compare_with_luzzi(df: pd.DataFrame) -> pd.DataFrame:
    """Compare a :func:`run_inefficiency` frame with each Luzzi row of ``dissemination.csv``.

    Args:
        df: the simulated frame; it must reach day 13.

    Returns:
        One row per Luzzi figure: ``quantity``, ``published``, ``simulated``, ``ratio`` (simulated /
        published), ``within_factor_two`` (0.5 <= ratio <= 2), ``simulated_as`` (what was measured in the
        simulation), ``published_as`` (the csv's units or context) and ``source``.

    Raises:
        ValueError: if the frame stops before a day a comparison needs, or a Luzzi row has no mapping.
    """
    days = df["day"].to_numpy()

    def value(day: int, column: str) -> float:
        return float(df[column].to_numpy(dtype=float)[np.flatnonzero(days == day)[0]])

    out = []
    for _, row in luzzi_rows().iterrows():
        quantity = str(row["quantity"])
        measure = LUZZI_MEASURES.get(quantity)
        if measure is None:
            raise ValueError(f"no simulated quantity is mapped to the Luzzi row '{quantity}'")
        for day in (measure.day, measure.denominator_day):
            if day not in days:
                raise ValueError(f"the comparison with '{quantity}' needs day {day}; run at least {day} days")
        simulated = value(measure.day, measure.numerator)
        label = measure.label
        if measure.denominator is not None:
            label += f" ({_pct(simulated)}% of injected cells)"
            denominator = value(measure.denominator_day, measure.denominator)
            simulated = simulated / denominator if denominator > 0 else math.nan
        published = float(row["published"])
        ratio = simulated / published
        out.append(
            {
                "quantity": quantity,
                "published": published,
                "simulated": simulated,
                "ratio": ratio,
                "within_factor_two": bool(0.5 <= ratio <= 2.0),
                "simulated_as": label,
                "published_as": str(row["units_or_context"]),
                "source": str(row["source"]),
            }
        )
    return pd.DataFrame(out)


def _pct(x: float) -> str:
    if x == 0.0:
        return "0"
    if x >= 0.001:
        return f"{100 * x:.1f}"
    return f"{100 * x:.3f}"


def format_report(df: pd.DataFrame, comparison: pd.DataFrame) -> str:
    """Render the daily fates and the comparison with Luzzi et al. (1998) as a plain-text report.

    Args:
        df: frame from :func:`run_inefficiency`.
        comparison: frame from :func:`compare_with_luzzi`.

    Returns:
        The report, lines separated by newlines (no trailing newline).
    """
    attrs = df.attrs
    n_cells = attrs.get("n_cells", "?")
    lines = [
        "Metastatic inefficiency after Luzzi et al. (1998) Am J Pathol 153:865 (B16F1, mesenteric vein)",
        DISCLAIMER,
        f"{n_cells} cells arrested in the {attrs.get('site', 'liver')} at day 0; "
        f"seed {attrs.get('seed', '?')}; parameters of '{attrs.get('cancer', '?')}'.",
        "",
        "Percent of injected cells",
    ]
    headers = ("day", "vessel", "dead", "extrav.", "solitary", "dormant", "micro", "macro", "began")
    cols = COLUMNS
    widths = (4, 7, 7, 8, 9, 8, 7, 7, 7)
    lines.append("".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for _, r in df.iterrows():
        cells = [str(int(r["day"])), *(_pct(float(r[c])) for c in cols)]
        lines.append("".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    lines += [
        "",
        "vessel: arrested, not yet resolved; extrav. and began: cumulative; solitary includes dormant;",
        "micro: founders of a lesion not yet macroscopic; macro: founders of a macroscopic lesion.",
        "",
        "Compared with Luzzi et al. (1998)",
    ]
    name_w = max([len("quantity"), *(len(str(q)) for q in comparison["quantity"])])
    lines.append(f"{'quantity'.ljust(name_w)}  {'published':>10}  {'simulated':>10}  {'ratio':>6}  within x2")
    for _, c in comparison.iterrows():
        lines.append(
            f"{str(c['quantity']).ljust(name_w)}  {c['published']:>10.4g}  {c['simulated']:>10.4g}  "
            f"{c['ratio']:>6.2f}  {'yes' if c['within_factor_two'] else 'NO'}"
        )
    for _, c in comparison.iterrows():
        lines += ["", f"{c['quantity']}:"]
        lines += textwrap.wrap(
            f"published as {c['published_as']}", width=100, initial_indent="  ", subsequent_indent="    "
        )
        lines += textwrap.wrap(
            f"simulated as {c['simulated_as']}", width=100, initial_indent="  ", subsequent_indent="    "
        )
    settings = attrs.get("settings")
    if settings:
        lines.append("")
        lines += textwrap.wrap(
            "Experiment assumptions (data/experiments.toml): "
            f"doubling time {settings['doubling_time_days']:g} d, macroscopic at "
            f"{settings['macroscopic_cells']:g} cells, non-persisting micrometastases regress after "
            f"{settings['regression_mean_days']:g} d on average. Immune clearance as in the patient engine "
            "(immune.clearance_rate_per_day until a lesion reaches immune.escape_cells).",
            width=100,
        )
    return "\n".join(lines)
