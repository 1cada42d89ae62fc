"""What a calibration leaves for its users: the posterior, its summary, plots and a calibrated parameter file.

The parameter file is a run scenario (``[run]`` and ``[parameters]``), so ``metastasim run FILE``,
``metastasim run --params FILE``, ``metastasim trial SCENARIO --params FILE`` and
``metastasim validate --params FILE`` all accept it; its ``[calibration]`` table records how it was made:
the targets, the posterior summary, the date, the command, the seed and the version. Every file is written
to a temporary name and renamed when complete, so an interrupted write never leaves a file that looks whole.
"""

from __future__ import annotations

import io
import json
import math
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from metastasim.calibration.smc import CalibrationResult
from metastasim.files import write_atomically
from metastasim.report.story import COHORT_DISCLAIMER
from metastasim.version import __version__


def _write_text(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string (JSON escapes are valid TOML escapes)


def _sig(x: float, digits: int = 4) -> float:
    """Round to `digits` significant figures (parameter files are read by people)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def parameter_file_text(result: CalibrationResult, command: str) -> str:
    """The calibrated parameter file: posterior medians as values, and how they were obtained."""
    spec = result.spec
    summary = result.summary()
    last = result.generations.iloc[-1]
    lines = [
        f"# Calibrated parameters for {spec.cancer}, written by metastasim {__version__} on {date.today()}.",
        f"# {COHORT_DISCLAIMER}",
        "# Use with: metastasim run THIS_FILE | metastasim run --params THIS_FILE | "
        "metastasim validate --params THIS_FILE | metastasim trial SCENARIO --params THIS_FILE",
        f"name = {_toml_value(spec.name + '-calibrated')}",
        f"description = {_toml_value('Posterior medians of calibration ' + result.calibration_id)}",
        "",
        "[run]",
        f"cancer = {_toml_value(spec.cancer)}",
        "",
        "[parameters]",
    ]
    for name, value in spec.fixed.items():
        lines.append(f"{_toml_value(name)} = {_toml_value(value)}  # fixed in the calibration scenario")
    for row in summary.itertuples():
        lines.append(f"{_toml_value(row.parameter)} = {_toml_value(_sig(row.median))}")
    lines += [
        "",
        "[calibration]",
        f"id = {_toml_value(result.calibration_id)}",
        f"date = {_toml_value(str(date.today()))}",
        f"command = {_toml_value(command)}",
        f"version = {_toml_value(__version__)}",
        f"seed = {spec.seed}",
        "method = \"ABC-SMC (pyabc kernels), distance = RMS z-score against the targets' published intervals\"",
        f"targets = {_toml_value([t.id for t in spec.targets])}",
        f"patients_per_cohort = {spec.patients}",
        f"population = {spec.population}",
        f"generations = {len(result.generations)}",
        f"final_epsilon = {_toml_value(_sig(float(last['epsilon'])))}",
        f"simulated_cohorts = {result.simulations}",
        f"elapsed_seconds = {_toml_value(round(result.elapsed_seconds, 1))}",
        f"stop_reason = {_toml_value(result.stop_reason)}",
    ]
    for row in summary.itertuples():
        lines += [
            "",
            f"[calibration.posterior.{_toml_value(row.parameter)}]",
            f"prior = {_toml_value(row.prior)}",
            f"median = {_toml_value(_sig(row.median))}",
            f"mean = {_toml_value(_sig(row.mean))}",
            f"sd = {_toml_value(_sig(row.sd))}",
            f"q05 = {_toml_value(_sig(row.q05))}",
            f"q95 = {_toml_value(_sig(row.q95))}",
        ]
    return "\n".join(lines) + "\n"


def _plot_marginals(result: CalibrationResult, path: Path) -> None:
    priors = result.spec.priors
    cols = min(3, len(priors))
    rows = math.ceil(len(priors) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    w = result.posterior["weight"].to_numpy()
    for ax, prior in zip(axes.flat, priors, strict=False):
        x = result.posterior[prior.name].to_numpy(dtype=float)
        log = prior.distribution == "loguniform"
        bins = np.geomspace(prior.low, prior.high, 25) if log else np.linspace(prior.low, prior.high, 25)
        ax.hist(x, bins=bins, weights=w, color="#4477aa", alpha=0.8)
        if log:
            ax.set_xscale("log")
        ax.set_xlim(prior.low, prior.high)
        ax.set_title(prior.name, fontsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(priors):]:
        ax.axis("off")
    fig.suptitle(f"Posterior of {result.calibration_id} (x axis = prior range)", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    write_atomically(path, buf.getvalue())
    plt.close(fig)


def write_outputs(result: CalibrationResult, directory: str | Path, command: str) -> list[Path]:
    """Write posterior.csv, posterior_summary.json, generations.csv, posterior.png and NAME.calibrated.toml."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "posterior": out / "posterior.csv",
        "summary": out / "posterior_summary.json",
        "generations": out / "generations.csv",
        "plot": out / "posterior.png",
        "params": out / f"{result.spec.name}.calibrated.toml",
    }
    _write_text(files["posterior"], result.posterior.to_csv(index=False))
    _write_text(files["generations"], result.generations.to_csv(index=False))
    summary = {
        "calibration_id": result.calibration_id,
        "cancer": result.spec.cancer,
        "seed": result.spec.seed,
        "version": __version__,
        "command": command,
        "targets": [t.id for t in result.spec.targets],
        "simulated_cohorts": result.simulations,
        "elapsed_seconds": result.elapsed_seconds,
        "stop_reason": result.stop_reason,
        "posterior": result.summary().to_dict("records"),
        "disclaimer": COHORT_DISCLAIMER,
    }
    _write_text(files["summary"], json.dumps(summary, indent=1))
    _plot_marginals(result, files["plot"])
    _write_text(files["params"], parameter_file_text(result, command))
    return list(files.values())
