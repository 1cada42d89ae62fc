"""`metastasim validate --report/--markdown`: the HTML report and the generated section of docs/validation.md."""

import os
import re

import pytest

from clitools import cli, one_line_error
from metastasim.errors import MetastasimError
from metastasim.report.story import COHORT_DISCLAIMER
from metastasim.validation.report import RunInfo, group_by_kind
from metastasim.validation.report_html import check_html_target, render_html, write_html
from metastasim.validation.report_markdown import (
    BEGIN_MARKER,
    END_MARKER,
    check_markdown_target,
    write_markdown,
)
from metastasim.validation.suite import Result
from metastasim.validation.targets import Target

PNG = b"\x89PNG\r\n\x1a\n"
INFO = RunInfo("9.9.9", 17, 1234, "metastasim validate --patients 1234 --seed 17", "2030-01-02 03:04 UTC", 42.0)


def _target(id_: str, kind: str, cancer: str, published: float, low: float, high: float, unit: str = "share",
            what: str = "a share", source: str = "Somebody 2020") -> Target:
    return Target(id_, cancer, kind, id_.rsplit(".", 1)[-1], what, published, low, high, "binomial, n=100", source,
                  unit)


def _results() -> list[Result]:
    """Interleaved kinds and cancers, passing and failing, a share and a non-share unit, text needing escapes."""
    return [
        Result(_target("stage_at_diagnosis.colorectal.localized", "stage", "colorectal", 0.409, 0.38, 0.45),
               0.432, 0.407, 0.458, 2000),
        Result(_target("metastatic_sites.colorectal.liver", "site", "colorectal", 0.70, 0.652, 0.744,
                       what="liver <b>&</b> | pipe", source="Visc Med | <i>2017</i>"),
               0.626, 0.602, 0.651, 900),
        Result(_target("stage_at_diagnosis.kidney.distant", "stage", "kidney", 0.088, 0.085, 0.091),
               0.20, 0.18, 0.22, 2000),
        Result(_target("doubling_time.kidney.primary", "doubling_time", "kidney", 130.0, 90.0, 200.0, unit="days"),
               160.0, 140.0, 185.0, 500),
    ]


def test_results_are_grouped_by_kind_then_cancer_in_order_of_appearance():
    groups = group_by_kind(_results())
    assert [k for k, _ in groups] == ["stage", "site", "doubling_time"]
    assert [r.target.id for r in groups[0][1]] == ["stage_at_diagnosis.colorectal.localized",
                                                   "stage_at_diagnosis.kidney.distant"]


def test_html_report_shows_every_target_its_verdict_the_disclaimer_and_a_figure_per_kind(tmp_path):
    results = _results()
    path = write_html(tmp_path / "report.html", results, INFO)
    html = path.read_text(encoding="utf-8")
    for r in results:
        row = re.search(rf'<tr class="(pass|fail)"><td><code>{re.escape(r.target.id)}</code></td>(.*?)</tr>', html)
        assert row, r.target.id
        assert row[1] == ("pass" if r.passed else "fail")
        assert row[2].endswith("<td class=\"pass\">pass</td>" if r.passed else "<td class=\"fail\">FAIL</td>")
    assert [r.passed for r in results] == [True, False, False, True]
    assert "2 of 4 targets pass" in html
    assert COHORT_DISCLAIMER in html
    for needle in ("9.9.9", "1,234", "17", "2030-01-02 03:04 UTC", INFO.command):
        assert needle in html
    # Published and simulated values with their intervals, shares in percent, other units with their unit.
    assert "40.9%" in html and "38.0–45.0%" in html and "43.2%" in html and "40.7–45.8%" in html
    assert "130 days" in html and "90–200 days" in html and "140–185 days" in html
    assert "binomial, n=100" in html and "Somebody 2020" in html
    # One inline figure per kind; the user's text is escaped, not interpreted.
    assert html.count("<svg") == 3
    assert "liver &lt;b&gt;&amp;&lt;/b&gt; | pipe" in html and "<b>&</b>" not in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # three figures' element ids do not collide


def test_html_report_needs_no_network():
    html = render_html(_results(), INFO)
    assert re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE) is None
    assert re.search(r"@import|url\(\s*['\"]?(https?:)?//", html, re.IGNORECASE) is None
    assert "<script" not in html.lower() and "<link" not in html.lower() and "<img" not in html.lower()


PROSE_BEFORE = "# Validation\r\n\r\nHand-written intro — kept *exactly*, CRLF and all.\r\n\r\n"
PROSE_AFTER = "\n\n## Why targets fail\n\nHand-written reasons (3.6% against 32%).\n  trailing spaces  "


def _page(tmp_path, middle="\nstale table\n"):
    page = tmp_path / "validation.md"
    page.write_bytes((PROSE_BEFORE + BEGIN_MARKER + middle + END_MARKER + PROSE_AFTER).encode("utf-8"))
    return page


def test_markdown_replaces_only_the_generated_section_and_keeps_the_prose_byte_for_byte(tmp_path):
    page = _page(tmp_path)
    results = _results()
    written = write_markdown(page, results, INFO)
    data = page.read_bytes()
    assert data.startswith((PROSE_BEFORE + BEGIN_MARKER).encode("utf-8"))
    assert data.endswith((END_MARKER + PROSE_AFTER).encode("utf-8"))
    text = data.decode("utf-8")
    assert "stale table" not in text
    assert text.count(BEGIN_MARKER) == 1 and text.count(END_MARKER) == 1
    section = text[text.index(BEGIN_MARKER):text.index(END_MARKER)]
    assert f"`{INFO.command}`" in section and "9.9.9" in section and "seed 17" in section and "1234 patients" in section
    assert "2030-01-02 03:04 UTC" in section and "42 s" in section
    assert "**2 of 4 targets pass.**" in section
    # Every target in a row with its verdict, grouped by kind then cancer; pipes in text do not break the table.
    positions = []
    for r in results:
        line = next(ln for ln in section.splitlines() if f"`{r.target.id}`" in ln)
        assert line.rstrip().endswith("|") and ("| pass |" in line) == r.passed and ("**FAIL**" in line) != r.passed
        positions.append(section.index(line))
    assert positions[0] < positions[2] < positions[1] < positions[3]
    assert "liver &lt;b&gt;&&lt;/b&gt; \\| pipe" in section
    assert "43.2% (40.7–45.8%)" in section and "130 days (90–200 days)" in section
    # One PNG per kind next to the page, each linked from the section.
    pngs = sorted(p.name for p in (tmp_path / "validation").iterdir())
    assert pngs == ["doubling-time.png", "site.png", "stage.png"]
    for name in pngs:
        assert f"](validation/{name})" in section
        assert (tmp_path / "validation" / name).read_bytes().startswith(PNG)
    assert written[-1] == page and len(written) == 4
    # Regenerating again still keeps the prose and replaces (does not append to) the section.
    write_markdown(page, results[:1], INFO)
    again = page.read_bytes().decode("utf-8")
    assert again.startswith(PROSE_BEFORE + BEGIN_MARKER) and again.endswith(END_MARKER + PROSE_AFTER)
    assert again.count(BEGIN_MARKER) == 1 and "metastatic_sites.colorectal.liver" not in again


@pytest.mark.parametrize(
    "content",
    [
        "# Validation\n\nProse only, no markers.\n",
        f"# Validation\n\n{BEGIN_MARKER}\nno end marker\n",
        f"# Validation\n\n{END_MARKER}\nwrong order\n{BEGIN_MARKER}\n",
        f"{BEGIN_MARKER}\n{END_MARKER}\n{BEGIN_MARKER}\n{END_MARKER}\n",
    ],
)
def test_markdown_without_proper_markers_is_refused_and_left_untouched(tmp_path, content):
    page = tmp_path / "validation.md"
    page.write_text(content, encoding="utf-8")
    before = page.read_bytes()
    with pytest.raises(MetastasimError, match="marker") as err:
        check_markdown_target(page)
    assert "\n" not in str(err.value)
    with pytest.raises(MetastasimError, match="marker"):
        write_markdown(page, _results(), INFO)
    assert page.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validation.md"]  # no figures written either


def test_markdown_page_that_does_not_exist_is_created_with_the_markers(tmp_path):
    page = tmp_path / "new.md"
    check_markdown_target(page)
    write_markdown(page, _results(), INFO)
    text = page.read_text(encoding="utf-8")
    assert text.count(BEGIN_MARKER) == 1 and text.index(BEGIN_MARKER) < text.index(END_MARKER)
    assert "stage_at_diagnosis.kidney.distant" in text and "](new/stage.png)" in text
    assert (tmp_path / "new" / "stage.png").exists()


def test_a_write_that_fails_midway_leaves_the_old_files_intact(tmp_path, monkeypatch):
    report = tmp_path / "report.html"
    report.write_bytes(b"old report")
    page = _page(tmp_path)
    old_page = page.read_bytes()

    def failing_fsync(fd: int) -> None:  # the new content is in the temporary file, not yet renamed into place
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="disk full"):
            write_html(report, _results(), INFO)
    assert report.read_bytes() == b"old report"

    real_replace = os.replace

    def failing_replace(src, dst):  # the figures are written, then the page fails
        if str(dst).endswith(".md"):
            raise OSError("rename failed")
        real_replace(src, dst)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", failing_replace)
        with pytest.raises(OSError, match="rename failed"):
            write_markdown(page, _results(), INFO)
    assert page.read_bytes() == old_page
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.parametrize(
    ("check", "name", "needle"),
    [
        (check_html_target, "missing/report.html", "does not exist"),
        (check_html_target, "report.md", ".html"),
        (check_markdown_target, "missing/validation.md", "does not exist"),
        (check_markdown_target, "validation.html", ".md"),
    ],
)
def test_bad_output_paths_are_one_line_errors(tmp_path, check, name, needle):
    with pytest.raises(MetastasimError, match=re.escape(needle)) as err:
        check(tmp_path / name)
    assert "\n" not in str(err.value)


def test_bad_report_path_fails_before_the_simulation_starts(tmp_path):
    # one_line_error requires exactly one stderr line: the simulation's progress lines would add more.
    line = one_line_error(cli("validate", "--cancer", "kidney", "--report", tmp_path / "nope" / "r.html", cwd=tmp_path))
    assert "--report" in line and "does not exist" in line
    page = tmp_path / "v.md"
    page.write_text("prose without markers\n", encoding="utf-8")
    line = one_line_error(cli("validate", "--cancer", "kidney", "--markdown", page, cwd=tmp_path))
    assert "--markdown" in line and "marker" in line
    assert page.read_text(encoding="utf-8") == "prose without markers\n"


def test_validate_writes_the_report_and_the_markdown_section(tmp_path):
    page = _page(tmp_path)
    report = tmp_path / "report.html"
    res = cli("validate", "--cancer", "kidney", "--patients", 300, "--report", report, "--markdown", page, cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr[-3000:]
    html = report.read_text(encoding="utf-8")
    text = page.read_bytes().decode("utf-8")
    assert text.startswith(PROSE_BEFORE + BEGIN_MARKER) and text.endswith(END_MARKER + PROSE_AFTER)
    for needle in ("stage_at_diagnosis.kidney.distant", "metastatic_sites.kidney.bone"):
        assert needle in html and needle in text
    assert f"metastasim validate --cancer kidney --patients 300 --seed 1 --markdown {page} --report {report}" in text
    assert (tmp_path / "validation" / "stage.png").read_bytes().startswith(PNG)
    assert (tmp_path / "validation" / "site.png").read_bytes().startswith(PNG)
    passed, total = map(int, re.search(r"\*\*(\d+) of (\d+) targets pass\.\*\*", text).groups())
    assert res.returncode == (0 if passed == total else 1)
