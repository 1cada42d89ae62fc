"""`metastasim validate`: targets from the reference tables with the data's own uncertainty, verdicts, CLI."""

import json

import pytest
from scipy.stats import binomtest

from clitools import cli, one_line_error
from metastasim.params.load import CANCER_TYPES
from metastasim.validation.suite import Result
from metastasim.validation.targets import Target, stage_targets, targets_for, wilson_interval


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 40), (270, 385), (7559, 7559)])
def test_wilson_interval_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_stage_interval_spans_every_assignment_of_the_unstaged_cases():
    """Colorectal 38 / 35 / 20% with 7% unstaged: localized lies in [38, 45]%, the renormalised share inside."""
    by_stage = {t.key: t for t in stage_targets("colorectal")}
    loc = by_stage["localized"]
    assert (loc.low, loc.high) == pytest.approx((0.38, 0.45))
    assert loc.published == pytest.approx(38 / 93)
    assert loc.low < loc.published < loc.high
    stomach = {t.key: t for t in stage_targets("stomach")}
    assert "11% unstaged" in stomach["distant"].uncertainty  # the stated share, not 100 - the sum
    assert (stomach["distant"].low, stomach["distant"].high) == pytest.approx((0.34, 0.45))


def test_every_cancer_type_has_targets_with_sources_and_ordered_intervals():
    for cancer in CANCER_TYPES:
        targets = targets_for(cancer)
        assert targets, cancer
        for t in targets:
            assert t.source and t.uncertainty
            assert 0.0 <= t.low <= t.published <= t.high <= 1.0, t


def _target(low: float, high: float) -> Target:
    return Target("x", "colorectal", "stage", "localized", "test", (low + high) / 2, low, high, "test", "test")


@pytest.mark.parametrize(
    ("sim", "passed"),
    [((0.30, 0.37), False), ((0.30, 0.38), True), ((0.40, 0.41), True), ((0.45, 0.50), True), ((0.46, 0.5), False)],
)
def test_a_target_passes_when_the_intervals_overlap(sim, passed):
    assert Result(_target(0.38, 0.45), sum(sim) / 2, *sim, 1000).passed is passed


def test_validate_json_reports_each_target_and_exit_code_follows_the_verdicts(tmp_path):
    res = cli("validate", "--cancer", "kidney", "--patients", 400, "--json", cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["patients"] == 400 and "not medical advice" in out["disclaimer"]
    ids = [t["id"] for t in out["targets"]]
    assert ids == [t.id for t in targets_for("kidney")]
    for t in out["targets"]:
        assert t["simulated_low"] <= t["simulated"] <= t["simulated_high"]
        assert t["passed"] == (t["simulated_low"] <= t["high"] and t["simulated_high"] >= t["low"])
    assert res.returncode == (0 if all(t["passed"] for t in out["targets"]) else 1)
    assert list(tmp_path.iterdir()) == []  # validation writes nothing


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--cancer", "colrectal"], ["colrectal", "colorectal"]),
        (["--patients", "5"], ["--patients", "[100, 1000000]"]),
    ],
)
def test_bad_validate_input_is_one_line(tmp_path, args, needles):
    line = one_line_error(cli("validate", *args, cwd=tmp_path))
    for needle in needles:
        assert needle in line, line
