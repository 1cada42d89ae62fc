"""`metastasim validate --markdown FILE.md`: rewrite the generated section of a markdown page, keep its prose.

The page (docs/validation.md) mixes hand-written explanation with the current validation table. Only what lies
between the two markers below is generated: the command that produced it, the run's metadata, one table and one
figure (a PNG in a folder named after the page, e.g. docs/validation/stage.png) per target kind. Everything
outside the markers is kept byte for byte. A page without the markers is refused rather than overwritten, and
a page that does not exist yet is created with the markers and a one-line note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from metastasim.errors import MetastasimError
from metastasim.validation.report import (
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

BEGIN_MARKER = "<!-- BEGIN GENERATED: metastasim validate --markdown -->"
END_MARKER = "<!-- END GENERATED -->"


def images_dir(path: Path) -> Path:
    """The folder of the page's figures: beside the page, named after it (docs/validation.md -> docs/validation/)."""
    return path.parent / path.stem


def split_at_markers(text: str, path: Path) -> tuple[str, str]:
    """The page before the generated section (up to and including the begin marker) and after it (from the end marker).

    Raises:
        MetastasimError: If the markers are missing, repeated or in the wrong order, so that regenerating could
            overwrite prose.
    """
    begins, ends = text.count(BEGIN_MARKER), text.count(END_MARKER)
    start, stop = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if begins != 1 or ends != 1 or stop < start:
        raise MetastasimError(
            f"--markdown {path}: the page needs one '{BEGIN_MARKER}' marker, then one '{END_MARKER}' marker, around "
            f"its generated section (found {begins} and {ends}); add them so that the prose outside is kept, or name "
            "a new file"
        )
    return text[: start + len(BEGIN_MARKER)], text[stop:]


def _read(path: Path) -> str:
    """The page's text exactly as stored (line endings included)."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetastasimError(f"--markdown {path}: cannot read it as UTF-8 text ({exc})") from exc


def check_markdown_target(path: str | Path) -> None:
    """Check, before the simulation starts, that the page and its figures can be written without losing prose.

    Raises:
        MetastasimError: If the directory is missing or not writable, the name does not end in .md, the figure
            folder's name is taken by a file, or an existing page lacks the markers.
    """
    path = Path(path)
    check_writable_file("--markdown", path, (".md",))
    figures = images_dir(path)
    if figures.exists() and not figures.is_dir():
        raise MetastasimError(f"--markdown {path}: the figure folder '{figures}' exists and is not a directory")
    if path.exists():
        split_at_markers(_read(path), path)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell, shown as written (pipes and angle brackets escaped)."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def generated_section(results: Sequence[Result], info: RunInfo, figure_links: dict[str, str]) -> str:
    """The markdown between the markers: provenance, summary, then per kind a figure and a table.

    Args:
        results: Every compared target.
        info: How the results were produced.
        figure_links: Relative link of each kind's figure.
    """
    passed = sum(r.passed for r in results)
    lines = [
        "<!-- Everything up to the end marker is rewritten by the command below; edit only outside the markers. -->",
        "",
        f"Produced by `{info.command}` (metastasim {info.version}, seed {info.seed}, {info.patients} patients per "
        f"cohort, {info.date}, {info.seconds:.0f} s).",
        "",
        f"**{passed} of {len(results)} targets pass.** {PASS_RULE}",
    ]
    for kind, rows in group_by_kind(results):
        title = kind_title(kind)
        lines += [
            "",
            f"### {title}: {sum(r.passed for r in rows)} of {len(rows)} pass",
            "",
            f"![{title}: published value and interval against the simulated value and its 95% interval, per target]"
            f"({figure_links[kind]})",
            "",
            "| target | what | published (interval) | interval set by | simulated (95% interval) | n | result "
            "| source |",
            "|---|---|---:|---|---:|---:|:---:|---|",
        ]
        for r in rows:
            t = r.target
            published = f"{format_value(t.published, t.unit)} ({format_range(t.low, t.high, t.unit)})"
            simulated = f"{format_value(r.simulated, t.unit)} ({format_range(r.sim_low, r.sim_high, t.unit)})"
            if not math.isfinite(r.simulated):
                simulated = "n/a"
            verdict = "pass" if r.passed else "**FAIL**"
            lines.append(
                f"| `{t.id}` | {_cell(t.what)} | {published} | {_cell(t.uncertainty)} | {simulated} | {r.n} "
                f"| {verdict} | {_cell(t.source)} |"
            )
    return "\n".join(lines)


def write_markdown(path: str | Path, results: Sequence[Result], info: RunInfo) -> list[Path]:
    """Rewrite the generated section of the page at `path` (creating the page if needed) and its figures.

    Figures are written first and the page last, each atomically: a failure leaves the page as it was.

    Returns:
        The files written: one PNG per target kind, then the page.

    Raises:
        MetastasimError: If an existing page lacks the markers (it is then left untouched).
    """
    path = Path(path)
    if path.exists():
        head, tail = split_at_markers(_read(path), path)
    else:
        head = (
            "# Validation\n\nThe section between the markers is written by `metastasim validate --markdown`; "
            "text outside them is kept when it is regenerated.\n\n" + BEGIN_MARKER
        )
        tail = END_MARKER + "\n"
    figures = images_dir(path)
    figures.mkdir(exist_ok=True)
    written = []
    links = {}
    for kind, rows in group_by_kind(results):
        png = figures / f"{kind_slug(kind)}.png"
        write_atomically(png, figure_bytes(kind_figure(kind, rows), "png"))
        written.append(png)
        links[kind] = f"{quote(figures.name)}/{quote(png.name)}"
    text = f"{head}\n\n{generated_section(results, info, links)}\n\n{tail}"
    write_atomically(path, text.encode("utf-8"))
    written.append(path)
    return written
