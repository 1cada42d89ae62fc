"""`metastasim validate --report FILE.html`: the validation results as one self-contained HTML page.

The page needs no network and no other file: the figures are inline SVG drawn by matplotlib (the same figures
as the PNGs of `--markdown`), the style is inline, and there is no script. It shows the run's metadata and the
disclaimer, the summary, then for each target kind a figure and the full table (what each target measures, its
source, the published value with its interval and how that interval was set, the simulated value with its 95%
interval, the verdict).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from metastasim.report.story import COHORT_DISCLAIMER
from metastasim.validation.report import (
    FAIL_COLOR,
    PASS_COLOR,
    PASS_RULE,
    RunInfo,
    check_writable_file,
    figure_bytes,
    format_range,
    format_value,
    group_by_kind,
    kind_figure,
    kind_slug,
    kind_title,
    write_atomically,
)
from metastasim.validation.suite import Result

_STYLE = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #222; }}
.disclaimer {{ background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.6em 1em; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0 2em; }}
th, td {{ border: 1px solid #ddd; padding: 0.3em 0.5em; vertical-align: top; }}
th {{ background: #f3f3f3; text-align: left; }}
td.num {{ text-align: right; white-space: nowrap; }}
td.pass {{ color: {PASS_COLOR}; font-weight: bold; }}
td.fail {{ color: {FAIL_COLOR}; font-weight: bold; }}
table.meta td:first-child {{ font-weight: bold; }}
figure {{ margin: 1em 0; }}
figure svg {{ max-width: 100%; height: auto; }}
code {{ font-size: 0.95em; }}
"""


def check_html_target(path: str | Path) -> None:
    """Check, before the simulation starts, that the report can be written.

    Raises:
        MetastasimError: If the directory is missing or not writable or the name does not end in .html.
    """
    check_writable_file("--report", Path(path), (".html", ".htm"))


def _svg(kind: str, rows: Sequence[Result]) -> str:
    """The kind's figure as an inline <svg> element.

    The XML prolog and doctype are removed, and every element id (and reference to one) is prefixed with the
    kind, so that the figures' ids ("axes_1", ...) stay unique within the page.
    """
    svg = figure_bytes(kind_figure(kind, rows), "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]
    return re.sub(r'( id="|href="#|url\(#)', rf"\g<1>{kind_slug(kind)}-", svg)


def _row(r: Result) -> str:
    t = r.target
    simulated = format_value(r.simulated, t.unit)
    interval = format_range(r.sim_low, r.sim_high, t.unit) if math.isfinite(r.simulated) else "n/a"
    verdict = ("pass", "pass") if r.passed else ("fail", "FAIL")
    cells = [
        f"<td><code>{escape(t.id)}</code></td>",
        f"<td>{escape(t.what)}</td>",
        f"<td>{escape(t.source)}</td>",
        f'<td class="num">{escape(format_value(t.published, t.unit))}</td>',
        f'<td class="num">{escape(format_range(t.low, t.high, t.unit))}</td>',
        f"<td>{escape(t.uncertainty)}</td>",
        f'<td class="num">{escape(simulated)}</td>',
        f'<td class="num">{escape(interval)}</td>',
        f'<td class="num">{r.n}</td>',
        f'<td class="{verdict[0]}">{verdict[1]}</td>',
    ]
    return f'<tr class="{verdict[0]}">{"".join(cells)}</tr>'


def render_html(results: Sequence[Result], info: RunInfo) -> str:
    """The whole report as one HTML document (no external resources, no script)."""
    passed = sum(r.passed for r in results)
    groups = group_by_kind(results)
    meta = [
        ("version", f"metastasim {info.version}"),
        ("seed", str(info.seed)),
        ("patients per cohort", f"{info.patients:,}"),
        ("date", info.date),
        ("runtime", f"{info.seconds:.0f} s"),
        ("command", info.command),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>metastasim {escape(info.version)} validation: {passed} of {len(results)} targets pass</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>metastasim validation report</h1>",
        f'<p class="disclaimer"><strong>{escape(COHORT_DISCLAIMER)}</strong></p>',
        '<table class="meta">',
        *(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in meta),
        "</table>",
        f'<p class="summary"><strong>{passed} of {len(results)} targets pass.</strong> {escape(PASS_RULE)}</p>',
        "<ul>",
        *(
            f'<li><a href="#{kind_slug(kind)}">{escape(kind_title(kind))}</a>: '
            f"{sum(r.passed for r in rows)} of {len(rows)} pass</li>"
            for kind, rows in groups
        ),
        "</ul>",
    ]
    header = (
        "<tr><th>target</th><th>what</th><th>source</th><th>published</th><th>published interval</th>"
        "<th>how the interval was set</th><th>simulated</th><th>95% interval</th><th>n</th><th>result</th></tr>"
    )
    for kind, rows in groups:
        parts += [
            f'<section id="{kind_slug(kind)}">',
            f"<h2>{escape(kind_title(kind))}: {sum(r.passed for r in rows)} of {len(rows)} pass</h2>",
            f"<figure>{_svg(kind, rows)}</figure>",
            f"<table>{header}",
            *(_row(r) for r in rows),
            "</table></section>",
        ]
    parts += [f'<p class="disclaimer">{escape(COHORT_DISCLAIMER)}</p>', "</body></html>", ""]
    return "\n".join(parts)


def write_html(path: str | Path, results: Sequence[Result], info: RunInfo) -> Path:
    """Write the report to `path` atomically (a failure leaves any previous report intact); returns the path."""
    path = Path(path)
    write_atomically(path, render_html(results, info).encode("utf-8"))
    return path
