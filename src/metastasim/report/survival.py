"""Survival statistics and trial reports: Kaplan–Meier survival, Cox hazard ratios and survival plots.

Every function takes a pandas DataFrame with one row per patient, a duration column in years and an event
column (1 = death from any cause observed, 0 = censored at that duration). Groups (or trial arms) keep
their order of first appearance and are labelled by ``str(value)``; without a group, the one group is
called ``"all"``.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from lifelines import CoxPHFitter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from plotly.colors import DEFAULT_PLOTLY_COLORS, unlabel_rgb

from metastasim.files import write_atomically

PLOT_DISCLAIMER = "Educational simulation, not medical advice."
ALL = "all"
_MAX_PLOT_POINTS = 2000  # per curve; a cohort of millions would otherwise give a multi-megabyte plot


@dataclass(frozen=True)
class KaplanMeierCurve:
    """A fitted Kaplan–Meier curve of one group, as plain arrays (a step function, right-continuous)."""

    label: str
    durations: np.ndarray  # sorted follow-up times of the group, years
    median: float
    years: np.ndarray  # the KM timeline: 0 and every distinct follow-up time
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray  # number at risk at each timeline point (follow-up >= that time)

    @property
    def n(self) -> int:
        """Number of patients in the group."""
        return len(self.durations)

    def n_at_risk(self, t: float) -> int:
        """Number of patients still followed at time ``t`` (follow-up >= t)."""
        return int(self.n - np.searchsorted(self.durations, t, side="left"))

    def at(self, t: float) -> tuple[float, float, float]:
        """Survival and its 95% CI at time ``t``; NaN beyond the last follow-up (no extrapolation)."""
        i = int(np.searchsorted(self.years, t, side="right")) - 1
        if i < 0 or t > self.durations[-1]:
            return math.nan, math.nan, math.nan
        return float(self.survival[i]), float(self.lower[i]), float(self.upper[i])

    def thinned(self) -> KaplanMeierCurve:
        """The same curve with at most ``_MAX_PLOT_POINTS`` points, for plotting."""
        if len(self.years) <= _MAX_PLOT_POINTS:
            return self
        keep = np.unique(np.linspace(0, len(self.years) - 1, _MAX_PLOT_POINTS).round().astype(int))
        return replace(
            self, years=self.years[keep], survival=self.survival[keep], lower=self.lower[keep],
            upper=self.upper[keep], at_risk=self.at_risk[keep],
        )


def _split(df: pd.DataFrame, group: str | None) -> list[tuple[str, pd.DataFrame]]:
    """The rows of each non-empty group, in order of first appearance."""
    if group is None:
        return [(ALL, df)] if len(df) else []
    return [(str(g), sub) for g, sub in df.groupby(group, sort=False, observed=True) if len(sub)]


_Z_95 = 1.959963984540054  # standard normal quantile at 0.975


def kaplan_meier(label: str, durations: np.ndarray, events: np.ndarray) -> KaplanMeierCurve:
    """Kaplan–Meier curve with lifelines' default 95% interval (exponential Greenwood), computed with numpy.

    The same arithmetic as lifelines' KaplanMeierFitter (checked against it in the tests), in a few arrays
    the size of the distinct follow-up times, so cohorts of millions are summarised in bounded memory.
    The timeline is 0 and every distinct follow-up time; survival is exp(Σ ln((n - d)/n)) with n at risk
    and d deaths at each time.
    """
    durations = np.asarray(durations, dtype=float)
    times, inverse = np.unique(durations, return_inverse=True)
    removed = np.bincount(inverse, minlength=len(times))
    deaths = np.bincount(inverse, weights=np.asarray(events, dtype=float), minlength=len(times))
    if len(times) == 0 or times[0] != 0.0:  # the timeline starts at 0, where everyone enters
        times = np.concatenate(([0.0], times))
        removed = np.concatenate(([0], removed))
        deaths = np.concatenate(([0.0], deaths))
    at_risk = len(durations) - np.concatenate(([0], np.cumsum(removed)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.exp(np.cumsum(np.log(at_risk - deaths) - np.log(at_risk)))
        step_var = deaths / (at_risk.astype(float) * (at_risk - deaths))
        variance = np.cumsum(np.where(np.isposinf(step_var), 0.0, step_var))
        v = np.log(survival)
        spread = _Z_95 * np.sqrt(variance) / v
        lower = np.nan_to_num(np.exp(-np.exp(np.log(-v) - spread)), nan=1.0)
        upper = np.nan_to_num(np.exp(-np.exp(np.log(-v) + spread)), nan=1.0)
    median = math.inf if survival[-1] > 0.5 else float(times[np.searchsorted(-survival, -0.5, side="left")])
    return KaplanMeierCurve(label=label, durations=np.sort(durations), median=median, years=times, survival=survival,
                  lower=lower, upper=upper, at_risk=at_risk.astype(int))


def _km_curves(df: pd.DataFrame, group: str | None, duration: str, event: str) -> Iterator[KaplanMeierCurve]:
    """Fit one Kaplan–Meier curve (95% CI, exponential Greenwood as lifelines) per group, one at a time."""
    columns = [duration, event] if group is None else [duration, event, group]
    for label, sub in _split(df[columns], group):
        yield kaplan_meier(label, sub[duration].to_numpy(dtype=float), sub[event].to_numpy(dtype=float))


def survival_at(
    df: pd.DataFrame,
    times_years: Sequence[float] = (1, 2, 5, 10),
    group: str | None = None,
    duration: str = "years",
    event: str = "died",
) -> pd.DataFrame:
    """Kaplan–Meier survival with 95% confidence interval at given times.

    Args:
        df: One row per patient.
        times_years: Times from the start of follow-up, in years.
        group: Column to split by; None for one group called "all".
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.

    Returns:
        One row per group and time, with columns group, years, survival, lower_95, upper_95 and n_at_risk
        (patients with follow-up >= that time). Survival and its interval are NaN beyond the last follow-up.
    """
    rows = []
    for c in _km_curves(df, group, duration, event):
        for t in times_years:
            s, lo, hi = c.at(float(t))
            rows.append((c.label, float(t), s, lo, hi, c.n_at_risk(float(t))))
    return pd.DataFrame(rows, columns=["group", "years", "survival", "lower_95", "upper_95", "n_at_risk"])


def survival_by_group_at(
    df: pd.DataFrame, group: str, years: float = 5.0, duration: str = "years", event: str = "died"
) -> dict[str, float]:
    """Kaplan–Meier survival at one time for each group.

    Args:
        df: One row per patient.
        group: Column to split by.
        years: Time from the start of follow-up, in years.
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.

    Returns:
        Survival per group label (NaN where not estimable, i.e. beyond the group's last follow-up); groups
        without rows are left out.
    """
    return {c.label: c.at(years)[0] for c in _km_curves(df, group, duration, event)}


def median_survival(
    df: pd.DataFrame, group: str | None = None, duration: str = "years", event: str = "died"
) -> dict[str, float]:
    """Kaplan–Meier median survival in years.

    Args:
        df: One row per patient.
        group: Column to split by; None for one group called "all".
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.

    Returns:
        Median survival per group label; ``inf`` where survival never falls to 50%.
    """
    return {c.label: c.median for c in _km_curves(df, group, duration, event)}


def hazard_ratios(
    df: pd.DataFrame,
    arm: str = "arm",
    reference: str | None = None,
    duration: str = "years",
    event: str = "died",
) -> pd.DataFrame:
    """Cox proportional-hazards ratio of each arm against a reference arm.

    All arms are fitted together in one model with one dummy variable per non-reference arm. An arm
    without deaths has no finite hazard ratio; it is left out of the model and reported as NaN. Failures
    of the fit are reported the same way, never raised.

    Args:
        df: One row per patient.
        arm: Column with the trial arm.
        reference: The reference arm (compared as ``str``); None for the first arm in order of appearance.
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.

    Returns:
        One row per non-reference arm with columns arm, hazard_ratio, lower_95, upper_95, p_value, n, deaths
        and note (empty unless the ratio could not be estimated).

    Raises:
        ValueError: If ``reference`` is not one of the arms.
    """
    columns = ["arm", "hazard_ratio", "lower_95", "upper_95", "p_value", "n", "deaths", "note"]
    groups = dict(_split(df, arm))
    if not groups:
        return pd.DataFrame(columns=columns)
    ref = next(iter(groups)) if reference is None else str(reference)
    if ref not in groups:
        raise ValueError(f"reference arm {ref!r} is not among the arms {list(groups)}")
    deaths = {g: int(sub[event].sum()) for g, sub in groups.items()}
    arms = [g for g in groups if g != ref]
    notes = {g: "" if deaths[g] else "no deaths in this arm: hazard ratio not estimable" for g in arms}
    estimates: dict[str, tuple[float, float, float, float]] = {}
    fitted = [g for g in arms if deaths[g]]
    if fitted and not deaths[ref]:
        notes.update({g: f"no deaths in the reference arm {ref!r}: hazard ratio not estimable" for g in fitted})
    elif fitted:
        parts = [groups[g] for g in (ref, *fitted)]
        design = pd.DataFrame(
            {
                "T": np.concatenate([p[duration].to_numpy(dtype=float) for p in parts]),
                "E": np.concatenate([p[event].to_numpy(dtype=float) for p in parts]),
            }
        )
        arm_of_row = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
        for i in range(1, len(parts)):
            design[f"arm{i}"] = (arm_of_row == i).astype(float)
        try:
            summary = CoxPHFitter().fit(design, duration_col="T", event_col="E").summary
        except Exception as exc:  # lifelines raises several types (convergence, linear algebra, value)
            notes.update({g: f"Cox fit failed: {type(exc).__name__}: {exc}" for g in fitted})
        else:
            for i, g in enumerate(fitted, start=1):
                s = summary.loc[f"arm{i}"]
                hr, lo, hi, pv = (float(s[k]) for k in ("exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%", "p"))
                estimates[g] = (hr, lo, hi, pv)
    nan4 = (math.nan,) * 4
    rows = [(g, *estimates.get(g, nan4), len(groups[g]), deaths[g], notes[g]) for g in arms]
    return pd.DataFrame(rows, columns=columns)


def km_plot_png(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    group: str | None = "arm",
    title: str = "",
    duration: str = "years",
    event: str = "died",
) -> None:
    """Kaplan–Meier curves with shaded 95% confidence bands, as a PNG image.

    Args:
        df: One row per patient.
        path: The PNG file to write (atomically).
        group: Column with one curve per value; None for one curve of everyone.
        title: Title above the plot.
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.
    """
    fig = Figure(figsize=(8, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for c in (c.thinned() for c in _km_curves(df, group, duration, event)):
        (line,) = ax.step(c.years, c.survival, where="post", label=f"{c.label} (n={c.n})")
        ax.fill_between(c.years, c.lower, c.upper, step="post", color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("Years from diagnosis")
    ax.set_ylabel("Survival")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    fig.subplots_adjust(bottom=0.17)
    fig.text(0.5, 0.015, PLOT_DISCLAIMER, ha="center", va="bottom", fontsize=8, color="0.35")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomically(path, buf.getvalue())


def km_plot_html(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    group: str | None = "arm",
    title: str = "",
    duration: str = "years",
    event: str = "died",
) -> None:
    """Interactive Kaplan–Meier curves as one self-contained HTML page (plotly.js inline, works offline).

    Args:
        df: One row per patient.
        path: The HTML file to write (atomically).
        group: Column with one curve per value; None for one curve of everyone.
        title: Title above the plot.
        duration: Column with the follow-up time in years.
        event: Column with 1 if death was observed, 0 if censored.
    """
    fig = go.Figure()
    for k, c in enumerate(c.thinned() for c in _km_curves(df, group, duration, event)):
        color = DEFAULT_PLOTLY_COLORS[k % len(DEFAULT_PLOTLY_COLORS)]
        r, g, b = (int(v) for v in unlabel_rgb(color))
        band = dict(x=c.years, mode="lines", line=dict(width=0, shape="hv"), legendgroup=c.label,
                    showlegend=False, hoverinfo="skip")
        fig.add_trace(go.Scatter(y=c.upper, **band))
        fig.add_trace(go.Scatter(y=c.lower, fill="tonexty", fillcolor=f"rgba({r}, {g}, {b}, 0.2)", **band))
        fig.add_trace(
            go.Scatter(
                x=c.years, y=c.survival, customdata=c.at_risk, mode="lines", line=dict(color=color, shape="hv"),
                name=f"{c.label} (n={c.n})", legendgroup=c.label,
                hovertemplate="%{x:.2f} years<br>survival %{y:.3f}<br>at risk %{customdata}",
            )
        )
    fig.update_layout(
        title=title or None,
        xaxis=dict(title="Years from diagnosis", rangemode="tozero"),
        yaxis=dict(title="Survival", range=[0, 1.02]),
        template="plotly_white",
        margin=dict(b=110),
        annotations=[
            dict(text=PLOT_DISCLAIMER, xref="paper", yref="paper", x=0, y=-0.22, showarrow=False, xanchor="left",
                 font=dict(size=11, color="#595959"))
        ],
    )
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    write_atomically(path, html.encode("utf-8"))
