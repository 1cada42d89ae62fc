"""`metastasim calibrate`: scenario checks, distance, determinism across processes, resume, outputs, recovery."""

import json
import math
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clitools import cli, ok, one_line_error, sql
from metastasim.calibration.distance import distance, target_sd
from metastasim.calibration.outputs import write_outputs
from metastasim.calibration.recovery import recovery_spec
from metastasim.calibration.smc import calibrate
from metastasim.calibration.spec import read_calibration
from metastasim.calibration.store import CalibrationStore
from metastasim.errors import ScenarioError
from metastasim.parallel import InProcess, LocalProcesses
from metastasim.params.load import load_parameters
from metastasim.params.scenario import read_parameter_file
from metastasim.validation.targets import targets_for

SMALL = """
name = "kidney-small"
[calibration]
cancer = "kidney"
targets = ["metastatic_sites.kidney.*"]
patients = 150
population = 12
max_generations = 3
seed = 5
[priors]
"colonisation.soil_affinity.bone" = { distribution = "loguniform", low = 4, high = 40 }
"colonisation.soil_affinity.liver" = { distribution = "loguniform", low = 0.4, high = 10 }
"""


def _scenario(tmp_path: Path, text: str = SMALL, name: str = "cal.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("population = 12", "populaton = 12", "did you mean 'population'"),
        ('"colonisation.soil_affinity.bone"', '"colonisation.soil_afinity.bone"', "did you mean"),
        ("low = 4, high = 40", "low = 4, high = 4000", "valid range"),
        ("low = 0.4, high = 10", "low = 0, high = 10", "loguniform prior needs low > 0"),
        ("low = 0.4, high = 10", "low = 10, high = 0.4", "must be below high"),
        ('"metastatic_sites.kidney.*"', '"metastatic_sites.kidny.*"', "did you mean 'metastatic_sites.kidney."),
        ("patients = 150", "patients = 5", "patients = 5 must be a whole number in [50, 1e+06]"),
        ('distribution = "loguniform", low = 4', 'distribution = "normal", low = 4', "choose one of: uniform"),
    ],
)
def test_bad_calibration_scenarios_name_the_problem(tmp_path, old, new, message):
    assert old in SMALL
    with pytest.raises(ScenarioError, match=None) as err:
        read_calibration(_scenario(tmp_path, SMALL.replace(old, new)))
    assert message in str(err.value)


def test_bad_scenario_on_the_command_line_is_one_line_exit_2(tmp_path):
    line = one_line_error(cli("calibrate", _scenario(tmp_path, SMALL.replace("seed = 5", "seeds = 5")),
                              "--db", tmp_path / "c.duckdb", cwd=tmp_path))
    assert "did you mean 'seed'" in line
    assert not (tmp_path / "c.duckdb").exists() or sql(tmp_path / "c.duckdb", "SELECT count(*) AS n FROM "
                                                       "information_schema.tables WHERE table_name = "
                                                       "'calibration_evaluations'")["n"][0] in (0, 1)


def test_distance_is_the_rms_z_score_against_the_published_interval():
    targets = [t for t in targets_for("kidney") if t.kind == "site"]
    at_published = {t.id: (t.published, 500) for t in targets}
    assert distance(at_published, targets) == 0.0
    moved = dict(at_published)
    t0 = targets[0]
    moved[t0.id] = (t0.published + 2 * target_sd(t0, 500), 500)  # two standard deviations off on one target
    assert distance(moved, targets) == pytest.approx(math.sqrt(4 / len(targets)))
    unmeasured = dict(at_published)
    unmeasured[t0.id] = (float("nan"), 0)
    assert distance(unmeasured, targets) == pytest.approx(math.sqrt(100 / len(targets)))
    # the published interval's width and the simulated cohort's size both widen the sd
    assert target_sd(t0, 100) > target_sd(t0, 10_000) > (t0.high - t0.low) / (2 * 1.959963984540054) * 0.999


def _posterior_frame(result) -> pd.DataFrame:
    return result.posterior.sort_values("proposal").reset_index(drop=True)


def test_same_seed_same_posterior_in_one_or_two_processes(tmp_path):
    spec = read_calibration(_scenario(tmp_path))
    one = calibrate(spec, CalibrationStore(tmp_path / "one.duckdb"), InProcess(), quiet=True)
    pool = LocalProcesses(2)
    try:
        two = calibrate(spec, CalibrationStore(tmp_path / "two.duckdb"), pool, quiet=True)
    finally:
        pool.close()
    pd.testing.assert_frame_equal(_posterior_frame(one), _posterior_frame(two))
    pd.testing.assert_frame_equal(one.generations.drop(columns="elapsed_seconds"),
                                  two.generations.drop(columns="elapsed_seconds"))
    assert len(one.generations) == 3
    eps = one.generations["epsilon"].to_numpy()
    assert math.isinf(eps[0]) and eps[1] > eps[2] > 0  # the threshold shrinks each generation


class _Interrupting:
    """Runs tasks in this process and raises KeyboardInterrupt (as Ctrl-C would) on the n-th batch."""

    description = "test"

    def __init__(self, at_batch: int) -> None:
        self.at_batch, self.batches, self.tasks = at_batch, 0, 0

    def map(self, fn, tasks, on_done=None):
        self.batches += 1
        if self.batches == self.at_batch:
            raise KeyboardInterrupt
        self.tasks += len(tasks)
        return [fn(t) for t in tasks]

    def close(self) -> None:
        pass


def test_an_interrupted_calibration_resumes_to_the_same_posterior_without_redoing_simulations(tmp_path):
    spec = read_calibration(_scenario(tmp_path))
    reference = calibrate(spec, CalibrationStore(tmp_path / "ref.duckdb"), InProcess(), quiet=True)
    db = tmp_path / "cut.duckdb"
    first = _Interrupting(at_batch=3)  # generation 0 is batch 1; stop inside generation 1
    with pytest.raises(KeyboardInterrupt):
        calibrate(spec, CalibrationStore(db), first, quiet=True)
    store = CalibrationStore(db)
    [cid] = store.calibrations()["calibration_id"]
    assert store.info(cid)["status"] == "interrupted"  # never looks complete
    done_before = len(store.evaluations(cid))
    assert done_before == first.tasks > 0
    second = _Interrupting(at_batch=0)
    resumed = calibrate(spec, store, second, quiet=True)
    assert resumed.calibration_id == cid and resumed.resumed_from_generation is not None
    pd.testing.assert_frame_equal(_posterior_frame(resumed), _posterior_frame(reference))
    assert first.tasks + second.tasks == reference.simulations == resumed.simulations  # nothing simulated twice
    assert store.info(cid)["status"] == "complete"
    # a finished calibration is returned from the database without simulating again
    again = calibrate(spec, store, _Interrupting(at_batch=1), quiet=True)
    pd.testing.assert_frame_equal(_posterior_frame(again), _posterior_frame(reference))


def test_outputs_are_a_parameter_file_that_runs_accept_and_record_how_they_were_made(tmp_path):
    spec = read_calibration(_scenario(tmp_path))
    result = calibrate(spec, CalibrationStore(tmp_path / "c.duckdb"), InProcess(), quiet=True)
    files = write_outputs(result, tmp_path / "out", "metastasim calibrate cal.toml")
    assert [f.name for f in files] == ["posterior.csv", "posterior_summary.json", "generations.csv",
                                       "posterior.png", "kidney-small.calibrated.toml"]
    assert not list((tmp_path / "out").glob(".*.tmp"))
    data = tomllib.loads(files[-1].read_text())
    summary = result.summary().set_index("parameter")
    cal = data["calibration"]
    assert cal["command"] == "metastasim calibrate cal.toml" and cal["targets"] == [t.id for t in spec.targets]
    assert cal["simulated_cohorts"] == result.simulations
    for name, value in data["parameters"].items():
        post = cal["posterior"][name]
        assert post["q05"] <= value == post["median"] <= post["q95"]
        assert value == pytest.approx(summary.loc[name, "median"], rel=1e-3)
    cancer, overrides = read_parameter_file(files[-1])
    params = load_parameters(cancer, overrides)
    assert params["colonisation.soil_affinity"]["bone"] == data["parameters"]["colonisation.soil_affinity.bone"]
    post = pd.read_csv(files[0])
    assert post["weight"].sum() == pytest.approx(1.0) and len(post) == spec.population
    assert json.loads(files[1].read_text())["simulated_cohorts"] == result.simulations


def test_calibrate_command_then_run_and_validate_with_its_parameter_file(tmp_path):
    scenario = _scenario(tmp_path, SMALL.replace("max_generations = 3", "max_generations = 2"))
    out = ok(cli("calibrate", scenario, "--db", "c.duckdb", "--out", "fit", "--workers", 1, cwd=tmp_path))
    assert "2 generations" in out and "kidney-small.calibrated.toml" in out
    params_file = tmp_path / "fit" / "kidney-small.calibrated.toml"
    stored = sql(tmp_path / "c.duckdb", "SELECT status, simulations FROM calibrations")
    assert stored["status"].tolist() == ["complete"] and stored["simulations"][0] > 0
    fitted = tomllib.loads(params_file.read_text())["parameters"]
    ok(cli("run", "--params", params_file, "--patients", 30, "--db", "r.duckdb", "--quiet", cwd=tmp_path))
    runs = sql(tmp_path / "r.duckdb", "SELECT cancer, parameters FROM runs")
    assert runs["cancer"].tolist() == ["kidney"]
    values = json.loads(runs["parameters"][0])
    assert values["colonisation.soil_affinity"]["bone"] == fitted["colonisation.soil_affinity.bone"]
    line = one_line_error(cli("run", "--params", params_file, "--cancer", "breast", "--db", "r.duckdb",
                              cwd=tmp_path))
    assert "is for kidney" in line
    shares = {}
    for extra in (("--cancer", "kidney"), ("--params", params_file)):
        res = cli("validate", "--patients", 300, "--json", *extra, cwd=tmp_path)
        assert res.returncode in (0, 1), res.stderr[-2000:]
        out = json.loads(res.stdout)["targets"]
        assert {t["cancer"] for t in out} == {"kidney"}  # --params validates the file's cancer type only
        shares[extra[0] == "--params"] = {t["id"]: t["simulated"] for t in out}
    assert shares[True]["metastatic_sites.kidney.bone"] != shares[False]["metastatic_sites.kidney.bone"]


def _calibrate_on_two_processes(spec, db: Path):
    pool = LocalProcesses(2)
    try:
        return calibrate(spec, CalibrationStore(db), pool, quiet=True)
    finally:
        pool.close()


def _assert_recovered(result, truth: dict[str, float]) -> None:
    """Each true value lies in its 90% posterior interval, narrower than the prior's 90% interval (log priors)."""
    summary = result.summary().set_index("parameter")
    for prior in result.spec.priors:
        row = summary.loc[prior.name]
        assert row["q05"] <= truth[prior.name] <= row["q95"], (prior.name, row.to_dict())
        width = np.log10(row["q95"]) - np.log10(row["q05"])
        assert width < 0.9 * (np.log10(prior.high) - np.log10(prior.low)), (prior.name, row.to_dict())


def test_parameter_recovery_small(tmp_path):
    """Kidney bone and liver soils set away from the defaults are recovered inside the 90% posterior intervals.

    Synthetic data: 3,000 untreated patients simulated with the true values; the fit sees only the four site
    shares with their binomial intervals. The posterior must also have learned from the data: its 90% interval
    is narrower than the prior's own 90% interval (0.9 of the log width), so a flat posterior cannot pass.
    The fuller case (more parameters, generations and patients) is test_parameter_recovery_colorectal (slow).
    """
    truth = {"colonisation.soil_affinity.bone": 12.0, "colonisation.soil_affinity.liver": 3.5}
    base = read_calibration(_scenario(tmp_path, SMALL.replace("population = 12", "population = 40")
                                      .replace("patients = 150", "patients = 400")
                                      .replace("max_generations = 3", "max_generations = 4")))
    spec = recovery_spec(base, truth, patients=3000, seed=99)
    _assert_recovered(_calibrate_on_two_processes(spec, tmp_path / "rec.duckdb"), truth)


def test_recovery_targets_are_simulated_shares_with_their_binomial_intervals(tmp_path):
    base = read_calibration(_scenario(tmp_path))
    truth = {"colonisation.soil_affinity.bone": 12.0, "colonisation.soil_affinity.liver": 3.5}
    spec = recovery_spec(base, truth, patients=400, seed=3)
    assert [t.id for t in spec.targets] == [t.id for t in base.targets]
    assert spec.config_hash() != base.config_hash()
    for t, b in zip(spec.targets, base.targets, strict=True):
        assert t.low <= t.published <= t.high and "synthetic" in t.uncertainty
        assert replace(t, published=b.published, low=b.low, high=b.high, uncertainty=b.uncertainty,
                       source=b.source) == b


def test_installing_a_calibration_rewrites_only_the_fitted_lines_and_records_the_provenance(tmp_path):
    from importlib import resources

    from metastasim.calibration.install import install

    spec = read_calibration(_scenario(tmp_path))
    result = calibrate(spec, CalibrationStore(tmp_path / "c.duckdb"), InProcess(), quiet=True)
    calibrated = write_outputs(result, tmp_path / "out", "metastasim calibrate cal.toml")[-1]
    original = resources.files("metastasim.data").joinpath("cancers/kidney.toml").read_text()
    cancer_file = tmp_path / "kidney.toml"
    cancer_file.write_text(original)
    assert install(calibrated, cancer_file) == [p.name for p in spec.priors]
    installed = cancer_file.read_text()

    def body(text: str) -> list[str]:  # the parameter lines, without the [calibration] record at the end
        return text.split("\n# How the calibrated values")[0].splitlines()

    changed = [(a, b) for a, b in zip(body(original), body(installed), strict=True) if a != b]
    assert [a.split("=")[0].strip() for a, _ in changed] == ["liver", "bone"]  # file order; nothing else moved
    tree = tomllib.loads(installed)
    fitted = tomllib.loads(calibrated.read_text())
    for name in ("bone", "liver"):
        leaf = tree["colonisation"]["soil_affinity"][name]
        assert leaf["value"] == fitted["parameters"][f"colonisation.soil_affinity.{name}"]
        assert result.calibration_id in leaf["source"] and "90% interval" in leaf["source"]
    assert tree["calibration"]["id"] == result.calibration_id
    assert tree["calibration"]["command"] == "metastasim calibrate cal.toml"
    install(calibrated, cancer_file)  # installing again replaces the record instead of adding a second one
    assert cancer_file.read_text().count("[calibration]") == 1
    assert cancer_file.read_text().count("# How the calibrated values") == 1  # and its comment, once
    with pytest.raises(ScenarioError, match="is for kidney"):
        install(calibrated, tmp_path / "breast.toml")


COLORECTAL = """
name = "colorectal-recovery-test"
[calibration]
cancer = "colorectal"
targets = ["stage_at_diagnosis.colorectal.*", "metastatic_sites.colorectal.*"]
patients = 600
population = 60
max_generations = 6
seed = 11
[priors]
"shedding.lymph_rate" = { distribution = "loguniform", low = 5e-4, high = 1e-2 }
"colonisation.soil_affinity.lung" = { distribution = "loguniform", low = 0.15, high = 5 }
"colonisation.soil_affinity.peritoneum" = { distribution = "loguniform", low = 0.3, high = 20 }
"""


@pytest.mark.slow
def test_parameter_recovery_colorectal(tmp_path):
    """Three colorectal parameters behind stage and sites, set away from the defaults, are recovered.

    Synthetic data: 5,000 patients simulated with the true values (full model for stage, natural history for
    sites); the fit sees the seven shares with their binomial intervals. Each true value must lie inside its 90%
    posterior interval, which must be narrower than the prior's own 90% interval.
    """
    truth = {"shedding.lymph_rate": 0.003, "colonisation.soil_affinity.lung": 1.2,
             "colonisation.soil_affinity.peritoneum": 2.0}
    spec = recovery_spec(read_calibration(_scenario(tmp_path, COLORECTAL)), truth, patients=5000, seed=123)
    _assert_recovered(_calibrate_on_two_processes(spec, tmp_path / "rec.duckdb"), truth)


def test_raising_the_budget_of_a_finished_calibration_extends_it_to_the_same_posterior(tmp_path):
    spec = read_calibration(_scenario(tmp_path))  # max_generations = 3
    reference = calibrate(spec, CalibrationStore(tmp_path / "ref.duckdb"), InProcess(), quiet=True)
    store = CalibrationStore(tmp_path / "short.duckdb")
    short = calibrate(replace(spec, max_generations=2), store, InProcess(), quiet=True)
    assert len(short.generations) == 2 and short.stop_reason.startswith("reached max_generations")
    # the same budget again: returned as stored, nothing simulated
    counting = _Interrupting(at_batch=0)
    calibrate(replace(spec, max_generations=2), store, counting, quiet=True)
    assert counting.tasks == 0
    # a larger budget continues the same calibration from generation 2 only
    extending = _Interrupting(at_batch=0)
    longer = calibrate(spec, store, extending, quiet=True)
    assert longer.calibration_id == short.calibration_id and longer.resumed_from_generation == 2
    assert extending.tasks == reference.simulations - short.simulations > 0
    pd.testing.assert_frame_equal(_posterior_frame(longer), _posterior_frame(reference))
    pd.testing.assert_frame_equal(longer.generations.drop(columns="elapsed_seconds"),
                                  reference.generations.drop(columns="elapsed_seconds"))
