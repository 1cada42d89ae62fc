"""The subcommands: each turns parsed arguments into one call of the public API and prints the result."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from metastasim.errors import ScenarioError


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ScenarioError(f"--{name} = {value} is out of range; valid range is [{low}, {high}]")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in df.to_dict(orient="records")]


def patient(args: argparse.Namespace) -> int:
    """Simulate and tell one patient's story."""
    from metastasim.api import simulate_patient
    from metastasim.params.load import check_cancer
    from metastasim.report.story import DISCLAIMER

    check_cancer(args.cancer)
    _check_int("years", args.years, 1, 100)
    _check_int("patient", args.patient, 0, 2**32 - 1)
    _check_int("seed", args.seed, 0, 2**63 - 1)
    if args.branch_at or args.arms:
        return _branch(args)
    story = simulate_patient(args.cancer, seed=args.seed, patient_id=args.patient, years=args.years)
    if args.json:
        print(
            json.dumps(
                {
                    "disclaimer": DISCLAIMER,
                    "cancer": args.cancer,
                    "seed": args.seed,
                    "patient": _jsonable(story.patient.to_dict()),
                    "disease": story.disease,
                    "events": _records(story.events.drop(columns="run_id")),
                    "lesions": _records(story.lesions.drop(columns="run_id")),
                    "timeseries": _records(story.timeseries.drop(columns="run_id")),
                },
                indent=1,
            )
        )
    else:
        print(story.text())
    return 0


def run(args: argparse.Namespace) -> int:
    """Simulate, store and summarise a cohort."""
    from metastasim.cohort.run import CohortConfig, run_cohort
    from metastasim.params.load import check_cancer
    from metastasim.params.scenario import merge_parameter_file, read_scenario

    scenario: dict[str, Any] = {"run": {}, "parameters": {}}
    if args.scenario:
        scenario = read_scenario(args.scenario)
    settings: dict[str, Any] = {
        "cancer": "colorectal",
        "patients": 1000,
        "years": 20,
        "seed": 1,
        "chunk_size": None,
        "workers": 1,
        "events": True,
    }
    settings.update(scenario["run"])
    for key in ("cancer", "patients", "years", "seed", "workers", "chunk_size"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.no_events:
        settings["events"] = False
    if args.params is not None:
        explicit = args.cancer or scenario["run"].get("cancer")
        settings["cancer"], scenario["parameters"] = merge_parameter_file(args.params, explicit, scenario["parameters"])
        scenario["params_file"] = args.params
    check_cancer(str(settings["cancer"]))
    config = CohortConfig(overrides=scenario["parameters"], scenario=scenario, **settings)
    result = run_cohort(config, db=args.db, progress=not (args.quiet or args.json), cluster=args.cluster)
    return _print_summary(result.summary, args)


def resume(args: argparse.Namespace) -> int:
    """Finish a stopped run from the chunks it has not stored."""
    from metastasim.cohort.run import resume_run

    if args.workers is not None:
        _check_int("workers", args.workers, 1, 256)
    result = resume_run(
        args.run_id, db=args.db, workers=args.workers, cluster=args.cluster, progress=not (args.quiet or args.json)
    )
    return _print_summary(result.summary, args)


def _print_summary(summary: dict[str, Any] | None, args: argparse.Namespace) -> int:
    from metastasim.report.summary_text import format_summary

    assert summary is not None
    if args.json:
        print(json.dumps(_jsonable(summary), indent=1))
    else:
        print(format_summary(summary, args.db))
    return 0


def runs(args: argparse.Namespace) -> int:
    """List stored runs."""
    from metastasim.storage.store import RunStore

    df = RunStore(args.db, must_exist=True).runs()
    if args.json:
        print(json.dumps(_records(df), indent=1))
    elif df.empty:
        print(f"no runs in {args.db}")
    else:
        print(df.to_string(index=False))
    return 0


def export(args: argparse.Namespace) -> int:
    """Export a run's tables to Parquet."""
    from metastasim.storage.store import RunStore

    for path in RunStore(args.db, must_exist=True).export_parquet(args.run_id, args.parquet):
        print(path)
    return 0


def experiment(args: argparse.Namespace) -> int:
    """Run an in-silico experiment."""
    from metastasim.experiments.inefficiency import compare_with_luzzi, format_report, run_inefficiency
    from metastasim.params.load import check_cancer, load_parameters

    check_cancer(args.cancer)
    _check_int("cells", args.cells, 1, 10**8)
    df = run_inefficiency(load_parameters(args.cancer), n_cells=args.cells, seed=args.seed)
    comparison = compare_with_luzzi(df)
    if args.json:
        print(json.dumps({"timecourse": _records(df), "comparison": _records(comparison)}, indent=1))
    else:
        print(format_report(df, comparison))
    return 0


def params(args: argparse.Namespace) -> int:
    """Print a cancer type's parameters."""
    from metastasim.params.load import load_parameters
    from metastasim.params.schema import SPECS

    p = load_parameters(args.cancer)
    rows = []
    for name, spec in SPECS.items():
        value = p[name]
        if spec.kind == "table":
            for key, v in value.items():
                rows.append(
                    {
                        "name": f"{name}.{key}",
                        "value": v,
                        "unit": spec.unit,
                        "range": f"[{spec.low:g}, {spec.high:g}]",
                        "source": p.sources.get(f"{name}.{key}", ""),
                    }
                )
        else:
            rng = ", ".join(spec.choices) if spec.kind == "choice" else f"[{spec.low:g}, {spec.high:g}]"
            rows.append(
                {"name": name, "value": value, "unit": spec.unit, "range": rng, "source": p.sources.get(name, "")}
            )
    if args.json:
        print(json.dumps(_jsonable(rows), indent=1))
    else:
        for r in rows:
            value = f"{r['value']:g}" if isinstance(r["value"], float) else str(r["value"])
            print(f"{r['name']:<48} {value:<22} {r['unit']:<20} {r['range']:<22} {r['source']}")
    return 0


def _branch(args: argparse.Namespace) -> int:
    """One patient up to diagnosis, then continued under each treatment policy of --arms."""
    from metastasim.api import branch_patient
    from metastasim.errors import ScenarioError

    if not args.branch_at or not args.arms:
        raise ScenarioError(
            "--branch-at and --arms go together, e.g. --branch-at diagnosis --arms guideline,no_treatment"
        )
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    stories = branch_patient(args.cancer, arms, seed=args.seed, patient_id=args.patient, years=args.years)
    if args.json:
        print(
            json.dumps(
                {
                    arm: {
                        "patient": _jsonable(st.patient.to_dict()),
                        "events": _records(st.events.drop(columns="run_id")),
                    }
                    for arm, st in stories.items()
                },
                indent=1,
            )
        )
        return 0
    for arm, story in stories.items():
        print(f"=== arm '{arm}' (identical up to diagnosis, then this treatment policy) ===")
        print(story.text())
        print()
    return 0


def trial(args: argparse.Namespace) -> int:
    """Run an in-silico trial from a scenario file and write its curves and summary."""
    from metastasim.cohort.trial import format_trial, read_trial, run_trial, write_trial_outputs
    from metastasim.params.scenario import merge_parameter_file

    spec = read_trial(args.scenario)
    if args.params is not None:
        _, spec.base_parameters = merge_parameter_file(args.params, spec.cancer, {})
    if args.patients is not None:
        _check_int("patients", args.patients, 1, 2**32 - 1)
        spec.patients = args.patients
    result = run_trial(spec, db=args.db, progress=not (args.quiet or args.json))
    files = write_trial_outputs(result, args.out or f"trial-{spec.name}")
    if args.json:
        print(json.dumps(_jsonable(result.summary), indent=1, default=str))
    else:
        print(format_trial(result.summary, files))
    return 0


def validate(args: argparse.Namespace) -> int:
    """Run the validation suite; exit 0 when every target passes, 1 when any fails."""
    import shlex
    import sys
    import time
    from datetime import UTC, datetime

    from metastasim.params.load import CANCER_TYPES, check_cancer
    from metastasim.params.scenario import merge_parameter_file
    from metastasim.report.story import COHORT_DISCLAIMER as DISCLAIMER
    from metastasim.validation.report import RunInfo
    from metastasim.validation.report_html import check_html_target, write_html
    from metastasim.validation.report_markdown import check_markdown_target, write_markdown
    from metastasim.validation.suite import format_table, results_frame, validate_all
    from metastasim.version import __version__

    cancers = list(CANCER_TYPES)
    if args.cancer is not None:
        check_cancer(args.cancer)
        cancers = [args.cancer]
    overrides: dict[str, dict[str, Any]] = {}
    if args.params is not None:  # a parameter file is for one cancer type: validate that type with it
        cancer, overrides[cancer] = merge_parameter_file(args.params, args.cancer, {})
        cancers = [cancer]
    _check_int("patients", args.patients, 100, 1_000_000)
    # Output paths are checked before the simulation, which takes minutes; the files are written after it.
    if args.report is not None:
        check_html_target(args.report)
    if args.markdown is not None:
        check_markdown_target(args.markdown)
    started = time.perf_counter()
    progress = None if args.quiet or args.json else (lambda msg: print(f"simulating {msg} ...", file=sys.stderr))
    results = validate_all(cancers, args.patients, args.seed, progress, overrides)
    if args.json:
        print(json.dumps({"patients": args.patients, "seed": args.seed, "version": __version__,
                          "targets": _records(results_frame(results)), "disclaimer": DISCLAIMER}, indent=1))
    else:
        print(f"metastasim {__version__} validation: {args.patients} patients per cohort, seed {args.seed}")
        print(DISCLAIMER)
        print(format_table(results))
    if args.report is not None or args.markdown is not None:
        command = ["metastasim", "validate", *(["--cancer", args.cancer] if args.cancer else []),
                   *(["--params", args.params] if args.params else []),
                   "--patients", str(args.patients), "--seed", str(args.seed),
                   *(["--markdown", args.markdown] if args.markdown else []),
                   *(["--report", args.report] if args.report else [])]
        info = RunInfo(__version__, args.seed, args.patients, shlex.join(command),
                       datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter() - started)
        written = [write_html(args.report, results, info)] if args.report is not None else []
        if args.markdown is not None:
            written += write_markdown(args.markdown, results, info)
        if not args.quiet:
            print(f"wrote {', '.join(map(str, written))}", file=sys.stderr)
    return 0 if all(r.passed for r in results) else 1
