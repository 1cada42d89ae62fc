"""``metastasim calibrate SCENARIO.toml``: fit parameters to published targets by ABC-SMC."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from metastasim.errors import ScenarioError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand and its options."""
    c = sub.add_parser(
        "calibrate",
        help="fit the parameters a calibration scenario names to published targets (ABC-SMC)",
        description="Fit the parameters a calibration scenario names, within its priors, to the validation "
        "targets it names, by approximate Bayesian computation (sequential Monte Carlo). Every simulation and "
        "generation is stored in the DuckDB file; running the same command again resumes an interrupted "
        "calibration. Writes the posterior and a calibrated parameter file for run, trial and validate.",
    )
    c.add_argument("scenario", help="calibration scenario TOML (see examples/calibrate_colorectal.toml)")
    c.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")
    c.add_argument("--out", default=None, help="directory for the posterior and parameter file "
                   "(default calibration-NAME)")
    c.add_argument("--workers", type=int, default=None,
                   help=f"local processes (default: all {os.cpu_count()} cores)")
    c.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT",
                   help="run the simulations on this Dask scheduler (started with 'dask scheduler')")
    c.add_argument("--fresh", action="store_true", help="start a new calibration even if one is stored")
    c.add_argument("--json", action="store_true", help="print the posterior summary as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress")


def calibrate(args: argparse.Namespace) -> int:
    """Run or resume a calibration and write its outputs."""
    from metastasim.calibration.model import Task, evaluate
    from metastasim.calibration.outputs import write_outputs
    from metastasim.calibration.smc import calibrate as run_calibration
    from metastasim.calibration.spec import read_calibration
    from metastasim.calibration.store import CalibrationStore
    from metastasim.parallel import make_executor

    spec = read_calibration(args.scenario)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if not 1 <= workers <= 256:
        raise ScenarioError(f"--workers = {workers} is out of range; valid range is [1, 256]")
    out = args.out or f"calibration-{spec.name}"
    if os.path.exists(out) and not os.path.isdir(out):
        raise ScenarioError(f"--out {out} is a file; give a directory")
    command = "metastasim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "metastasim calibrate"
    quiet = args.quiet or args.json
    if not quiet:
        print(f"calibrating {len(spec.priors)} parameters of {spec.cancer} to {len(spec.targets)} targets; "
              f"{spec.population} particles, {spec.patients} patients per cohort", file=sys.stderr)
    # Compile (or load) the kernels here once, so forked workers inherit them.
    evaluate(Task(spec.cancer, dict(spec.fixed), tuple(spec.targets), 20, 0))
    executor = make_executor(workers, args.cluster)
    if not quiet:
        print(f"simulating on {executor.description}; results in {args.db}", file=sys.stderr)
    store = CalibrationStore(args.db)
    try:
        result = run_calibration(spec, store, executor, quiet=quiet, fresh=args.fresh)
    finally:
        executor.close()
        store.close()
    files = write_outputs(result, out, command)
    summary = result.summary()
    if args.json:
        print(json.dumps({"calibration_id": result.calibration_id, "simulated_cohorts": result.simulations,
                          "elapsed_seconds": result.elapsed_seconds, "stop_reason": result.stop_reason,
                          "posterior": summary.to_dict("records"), "files": [str(f) for f in files]}, indent=1))
        return 0
    print(f"calibration {result.calibration_id}: {len(result.generations)} generations, "
          f"{result.simulations} simulated cohorts, {result.elapsed_seconds / 60:.1f} min; "
          f"stopped: {result.stop_reason}")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print("files:")
    for f in files:
        print(f"  {f}")
    print(f"use it: metastasim validate --params {files[-1]}")
    return 0
