"""Survival statistics and trial reports against exponential survival with known rates."""

import math

import numpy as np
import pandas as pd
import pytest

from metastasim.report import survival as sv

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def exponential_cohort(seed: int, n: int, rate: float, censor_max: float = 20.0, arm: str = "all") -> pd.DataFrame:
    """Deaths at a constant hazard ``rate`` per year, censored at a uniform time in [0, censor_max] years."""
    rng = np.random.default_rng(seed)
    death = rng.exponential(1.0 / rate, n)
    censor = rng.uniform(0.0, censor_max, n)
    return pd.DataFrame({"arm": arm, "years": np.minimum(death, censor), "died": (death <= censor).astype(int)})


def trial(seed: int, rates: dict[str, float], n: int = 3000) -> pd.DataFrame:
    return pd.concat(
        [exponential_cohort(seed + k, n, rate, censor_max=10.0, arm=a) for k, (a, rate) in enumerate(rates.items())],
        ignore_index=True,
    )


def test_km_survival_matches_exponential():
    rate = 0.15
    df = exponential_cohort(seed=11, n=4000, rate=rate)
    row = sv.survival_at(df, times_years=[5]).iloc[0]
    truth = math.exp(-5 * rate)
    se = (row["upper_95"] - row["lower_95"]) / (2 * 1.96)  # SE from the 95% CI width
    assert 0.003 < se < 0.02  # a sane SE for n = 4000 (binomial SE ~ 0.008 before censoring)
    assert abs(row["survival"] - truth) < 3 * se  # tolerance: 3 standard errors
    assert row["lower_95"] < row["survival"] < row["upper_95"]
    assert row["group"] == "all"
    assert row["n_at_risk"] == int((df["years"] >= 5).sum())


def test_median_survival_matches_exponential():
    rate = 0.15
    df = exponential_cohort(seed=12, n=20000, rate=rate)  # relative SE of the median ~1.3%
    median = sv.median_survival(df)["all"]
    assert median == pytest.approx(math.log(2) / rate, rel=0.05)  # tolerance: 5%


def test_median_not_reached_is_infinite():
    df = exponential_cohort(seed=13, n=500, rate=0.01, censor_max=5.0)  # S(5) ~ 0.95
    assert sv.median_survival(df) == {"all": math.inf}


def test_survival_is_nan_beyond_last_follow_up():
    df = trial(21, {"a": 0.2, "b": 0.1})  # censored at <= 10 years
    out = sv.survival_at(df, times_years=(1, 5, 10.5, 30), group="arm")
    assert list(out.columns) == ["group", "years", "survival", "lower_95", "upper_95", "n_at_risk"]
    assert len(out) == 2 * 4
    assert list(out["group"].unique()) == ["a", "b"]
    early = out[out["years"] <= 5]
    assert early[["survival", "lower_95", "upper_95"]].notna().all().all()
    late = out[out["years"] > 10]
    assert late[["survival", "lower_95", "upper_95"]].isna().all().all()
    assert (late["n_at_risk"] == 0).all()
    by_group = sv.survival_by_group_at(df, "arm", years=30.0)
    assert set(by_group) == {"a", "b"}
    assert all(math.isnan(v) for v in by_group.values())


def test_survival_by_group_omits_empty_groups():
    df = trial(22, {"a": 0.2, "b": 0.1})
    df["arm"] = pd.Categorical(df["arm"], categories=["a", "b", "unused"])
    s5 = sv.survival_by_group_at(df, "arm", years=5.0)
    assert list(s5) == ["a", "b"]
    assert s5["a"] == pytest.approx(math.exp(-5 * 0.2), abs=0.04)  # tolerance: ~4 SE for n = 3000
    assert s5["b"] == pytest.approx(math.exp(-5 * 0.1), abs=0.04)


def test_cox_recovers_hazard_ratio():
    df = trial(31, {"control": 0.2, "drug": 0.2 * 0.7})
    hr = sv.hazard_ratios(df)
    assert list(hr.columns) == ["arm", "hazard_ratio", "lower_95", "upper_95", "p_value", "n", "deaths", "note"]
    assert len(hr) == 1
    row = hr.iloc[0]
    assert row["arm"] == "drug"
    assert row["lower_95"] < 0.7 < row["upper_95"]  # the 95% CI contains the truth
    assert row["upper_95"] < 1.0  # and excludes no effect
    assert row["p_value"] < 1e-6
    assert row["n"] == 3000
    assert row["deaths"] == int(df.loc[df["arm"] == "drug", "died"].sum())
    assert row["note"] == ""


def test_cox_three_arms_and_reference():
    df = trial(41, {"control": 0.2, "low": 0.2 * 0.8, "high": 0.2 * 0.5})
    hr = sv.hazard_ratios(df)
    assert list(hr["arm"]) == ["low", "high"]
    assert hr["hazard_ratio"].between(0.3, 1.0).all()
    assert hr.loc[1, "lower_95"] < 0.5 < hr.loc[1, "upper_95"]  # tolerance: the 95% CI
    flipped = sv.hazard_ratios(df, reference="high")
    assert list(flipped["arm"]) == ["control", "low"]
    assert flipped.loc[0, "hazard_ratio"] == pytest.approx(1 / hr.loc[1, "hazard_ratio"], rel=1e-6)
    with pytest.raises(ValueError, match="reference arm"):
        sv.hazard_ratios(df, reference="placebo")


def test_cox_arm_without_deaths_gives_nan_and_note():
    df = trial(51, {"control": 0.2, "drug": 0.14})
    cured = pd.DataFrame({"arm": "cured", "years": np.linspace(0.5, 9.5, 40), "died": 0})
    hr = sv.hazard_ratios(pd.concat([df, cured], ignore_index=True))
    assert list(hr["arm"]) == ["drug", "cured"]
    assert hr.loc[0, "lower_95"] < 0.7 < hr.loc[0, "upper_95"]  # the other arm is still estimated
    assert math.isnan(hr.loc[1, "hazard_ratio"])
    assert "no deaths" in hr.loc[1, "note"]
    assert (hr.loc[1, "n"], hr.loc[1, "deaths"]) == (40, 0)
    # a reference arm without deaths makes every ratio inestimable
    against_cured = sv.hazard_ratios(pd.concat([df, cured], ignore_index=True), reference="cured")
    assert against_cured["hazard_ratio"].isna().all()
    assert against_cured["note"].str.contains("reference arm").all()


def test_cox_fit_failure_is_reported_not_raised():
    df = trial(61, {"control": 0.2, "drug": 0.14}, n=200)
    df.loc[3, "years"] = np.nan  # lifelines refuses NaN durations
    hr = sv.hazard_ratios(df)
    assert math.isnan(hr.loc[0, "hazard_ratio"])
    assert hr.loc[0, "note"].startswith("Cox fit failed")


def test_km_plot_png(tmp_path):
    df = trial(71, {"control": 0.2, "drug": 0.14}, n=500)
    path = tmp_path / "km.png"
    path.write_bytes(b"old")  # replaced, not appended to
    sv.km_plot_png(df, path, title="Two arms")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["km.png"]  # no temporary files left


def test_km_plot_html(tmp_path):
    df = trial(81, {"control arm": 0.2, "new drug": 0.14}, n=500)
    path = tmp_path / "km.html"
    sv.km_plot_html(df, str(path), title="Two arms")
    html = path.read_text(encoding="utf-8")
    assert "plotly" in html
    assert "<script src=" not in html  # plotly.js inline: works offline
    assert len(html) > 1_000_000  # the inlined plotly.js is several MB
    assert sv.PLOT_DISCLAIMER == "Educational simulation, not medical advice."
    assert sv.PLOT_DISCLAIMER in html
    assert "control arm" in html and "new drug" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["km.html"]


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    df = trial(91, {"a": 0.2}, n=100)

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(sv.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        sv.km_plot_png(df, tmp_path / "km.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", range(6))
def test_numpy_kaplan_meier_equals_lifelines(case):
    """The cohort summary's own KM (bounded memory) gives lifelines' curve, interval, at-risk and median."""
    from lifelines import KaplanMeierFitter

    from metastasim.report.survival import kaplan_meier

    rng = np.random.default_rng(case)
    n = [50, 500, 3000, 20, 1, 200][case]
    durations = rng.exponential(3, n)
    if case in (1, 5):
        durations = np.round(durations, 1)  # ties
    if case == 5:
        durations[:10] = 0.0  # follow-up ending at time 0
    events = rng.uniform(size=n) < [0.7, 0.5, 0.9, 1.0, 1.0, 0.6][case]  # case 3: everyone dies
    fitted = KaplanMeierFitter().fit(durations, events)
    ours = kaplan_meier("x", durations, events)
    ci = fitted.confidence_interval_survival_function_
    for got, want in (
        (ours.years, fitted.survival_function_.index.to_numpy()),
        (ours.survival, fitted.survival_function_.iloc[:, 0].to_numpy()),
        (ours.lower, ci.iloc[:, 0].to_numpy()),
        (ours.upper, ci.iloc[:, 1].to_numpy()),
        (ours.at_risk, fitted.event_table["at_risk"].to_numpy()),
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert ours.median == fitted.median_survival_time_
