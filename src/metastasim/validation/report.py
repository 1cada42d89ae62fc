"""What the validation reports share: run metadata, grouping, value formatting, the per-group plot, safe writes.

`metastasim validate --report FILE.html` (validation/report_html.py) and `--markdown FILE.md`
(validation/report_markdown.py) show the same results the same way: targets grouped by kind (stage, site, and
whatever kinds are added later), then by cancer type in order of first appearance; shares shown as percent,
every other value with its own unit; one figure per kind with, for each target, the published value and its
interval beside the simulated value and its 95% interval, green when the target passes and red when it fails.
Both files are written atomically, and their paths are checked before the (long) simulation starts.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter

from metastasim.errors import MetastasimError
from metastasim.files import write_atomically  # noqa: F401 - re-exported for the report writers
from metastasim.report.survival import PLOT_DISCLAIMER
from metastasim.validation.suite import Result

PASS_RULE = (
    "A target passes when the simulated 95% interval overlaps the published interval, which comes from the "
    "data's own uncertainty, never from how close the model is."
)
PASS_COLOR = "#1a9850"
FAIL_COLOR = "#d73027"
PUBLISHED_COLOR = "#4d4d4d"
KIND_TITLES = {"stage": "Stage at diagnosis", "site": "Metastatic sites at first metastatic diagnosis"}

@dataclass(frozen=True)
class RunInfo:
    """How the results were produced, recorded in every report so that it can be reproduced.

    Attributes:
        version: metastasim version.
        seed: Run seed.
        patients: Patients per cohort.
        command: The exact command line (e.g. "metastasim validate --patients 2000 --seed 1 ...").
        date: When the run finished, as text (e.g. "2025-06-01 12:00 UTC").
        seconds: Wall-clock time of the simulation and comparison.
    """

    version: str
    seed: int
    patients: int
    command: str
    date: str
    seconds: float


def kind_title(kind: str) -> str:
    """Readable heading of a target kind ("stage" -> "Stage at diagnosis", "doubling_time" -> "Doubling time")."""
    return KIND_TITLES.get(kind, kind.replace("_", " ").capitalize())


def kind_slug(kind: str) -> str:
    """File-name and HTML-anchor-safe form of a kind."""
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-") or "targets"


def group_by_kind(results: Sequence[Result]) -> list[tuple[str, list[Result]]]:
    """Results grouped by target kind, then ordered by cancer type within each kind.

    Kinds and cancer types keep their order of first appearance (the suite's order), and targets of one
    cancer type and kind keep theirs, so any new kind is shown without code changes here.
    """
    cancer_order: dict[str, int] = {}
    groups: dict[str, list[Result]] = {}
    for r in results:
        cancer_order.setdefault(r.target.cancer, len(cancer_order))
        groups.setdefault(r.target.kind, []).append(r)
    return [(kind, sorted(rs, key=lambda r: cancer_order[r.target.cancer])) for kind, rs in groups.items()]


def _number(x: float, scale: float | None = None) -> str:
    """A number with as many digits as its size (or `scale`, to align an interval's ends) warrants.

    1,234; 56.7; 8.90; 0.0123.
    """
    size = abs(x if scale is None else scale)
    if size >= 100:
        return f"{x:,.0f}"
    if size >= 10:
        return f"{x:.1f}"
    if size >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def format_value(x: float, unit: str) -> str:
    """One value in its unit: shares as percent ("40.9%"), other values with their unit ("180 days")."""
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.1f}%" if unit == "share" else f"{_number(x)} {unit}"


def format_range(low: float, high: float, unit: str) -> str:
    """An interval in its unit ("38.0–45.0%", "120–240 days")."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    if unit == "share":
        return f"{100 * low:.1f}–{100 * high:.1f}%"
    scale = max(abs(low), abs(high))
    return f"{_number(low, scale)}–{_number(high, scale)} {unit}"


def _log_axis(ax: Axes, low: float, high: float) -> None:
    """A logarithmic x axis with plain numbers (0.7, 1, 300) and labelled minor ticks over short spans."""
    ax.set_xscale("log")
    ax.set_xlim(low / 1.15, high * 1.15)
    span = high / low
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))

    def minor(v: float, _: object) -> str:
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        return f"{v:g}" if span <= 10 or (span <= 100 and mantissa in (2, 5)) else ""

    ax.xaxis.set_minor_formatter(FuncFormatter(minor))


def _axis(ax: Axes, unit: str, rows: list[Result]) -> None:
    """Draw one unit's targets on one axis: published value and interval above, simulated below, per row."""
    n = len(rows)
    ys = [n - 1 - i for i in range(n)]  # first target at the top
    # Light bands mark the rows of each cancer type.
    start = 0
    band = 0
    for i in range(1, n + 1):
        if i == n or rows[i].target.cancer != rows[start].target.cancer:
            if band % 2 == 0:
                ax.axhspan(n - i - 0.5, n - start - 0.5, color="0.94", lw=0, zorder=0)
            start, band = i, band + 1
    pub = [r.target.published for r in rows]
    ax.errorbar(
        pub, [y + 0.17 for y in ys],
        xerr=[[max(0.0, r.target.published - r.target.low) for r in rows],
              [max(0.0, r.target.high - r.target.published) for r in rows]],
        fmt="D", ms=5, color=PUBLISHED_COLOR, ecolor="0.6", elinewidth=5, capsize=0, zorder=3,
    )
    for passed, color in ((True, PASS_COLOR), (False, FAIL_COLOR)):
        sel = [(y, r) for y, r in zip(ys, rows, strict=True) if r.passed is passed and math.isfinite(r.simulated)]
        if sel:
            ax.errorbar(
                [r.simulated for _, r in sel], [y - 0.17 for y, _ in sel],
                xerr=[[max(0.0, r.simulated - r.sim_low) for _, r in sel],
                      [max(0.0, r.sim_high - r.simulated) for _, r in sel]],
                fmt="o", ms=5, color=color, elinewidth=1.8, capsize=3, zorder=4,
            )
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(ys, [f"{r.target.cancer}: {r.target.key}" for r in rows], fontsize=8)
    verdicts = ax.twinx()
    verdicts.set_ylim(ax.get_ylim())
    verdicts.set_yticks(ys, ["pass" if r.passed else "FAIL" for r in rows], fontsize=8)
    for left, right, r in zip(ax.get_yticklabels(), verdicts.get_yticklabels(), rows, strict=True):
        color = PASS_COLOR if r.passed else FAIL_COLOR
        right.set_color(color)
        right.set_fontweight("bold")
        if not r.passed:
            left.set_color(FAIL_COLOR)
    verdicts.tick_params(length=0)
    values = [v for r in rows for v in (r.target.low, r.target.high, r.target.published, r.sim_low, r.sim_high)
              if math.isfinite(v)]
    if unit == "share":
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        xmax = min(1.0, max(values, default=1.0) * 1.08 + 0.02)
        ax.set_xlim(-0.01 * xmax, xmax)  # a value of 0% stays whole, not cut by the axis
        ax.set_xlabel("percent")
    else:
        positive = bool(values) and min(values) > 0
        if positive and ("ratio" in unit or max(values) / min(values) > 20):
            _log_axis(ax, min(values), max(values))
        ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", length=0)


def kind_figure(kind: str, results: Sequence[Result]) -> Figure:
    """One figure of every target of one kind: a row per target, one axis per unit.

    Each row shows the published value (grey diamond) with its interval (grey bar) just above the simulated
    value with its 95% interval, green if the target passes and red if it fails; the verdict is written at
    the right. Shares are in percent; other units get their own axis (logarithmic for ratios and for values
    spanning more than a factor of 20).
    """
    units: dict[str, list[Result]] = {}
    for r in results:
        units.setdefault(r.target.unit, []).append(r)
    heights = [len(rows) for rows in units.values()]
    fig = Figure(figsize=(9.0, 1.7 + 0.34 * sum(heights) + 0.9 * len(units)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(units), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (unit, rows) in zip(axes, units.items(), strict=True):
        _axis(ax, unit, rows)
    passed = sum(r.passed for r in results)
    axes[0].set_title(f"{kind_title(kind)}: {passed} of {len(results)} targets pass", fontsize=12)
    handles = [
        Line2D([], [], color=PUBLISHED_COLOR, marker="D", ms=5, lw=5, alpha=0.7, label="published value and interval"),
        Line2D([], [], color=PASS_COLOR, marker="o", ms=5, label="simulated, 95% interval: pass"),
        Line2D([], [], color=FAIL_COLOR, marker="o", ms=5, label="simulated, 95% interval: FAIL"),
    ]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, fontsize=8, frameon=False)
    fig.supxlabel(PLOT_DISCLAIMER, fontsize=8, color="0.35")
    return fig


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes (SVG keeps text as text, so it stays small and searchable)."""
    buf = io.BytesIO()
    with mpl.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt)
    return buf.getvalue()


def check_writable_file(option: str, path: Path, suffixes: tuple[str, ...]) -> None:
    """Check, before the simulation starts, that `path` can be written as the output of command-line `option`.

    Raises:
        MetastasimError: If the name does not end in one of `suffixes` (so that, say, a markdown page is never
            overwritten by an HTML report), its directory does not exist or is not writable, or it is a directory.
    """
    if path.suffix.lower() not in suffixes:
        raise MetastasimError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    parent = path.parent
    if not parent.is_dir():
        raise MetastasimError(f"{option} {path}: directory '{parent}' does not exist")
    if path.is_dir():
        raise MetastasimError(f"{option} {path}: is a directory, not a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MetastasimError(f"{option} {path}: directory '{parent}' is not writable")
