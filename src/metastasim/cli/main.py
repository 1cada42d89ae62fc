"""``metastasim`` command: patient, run, resume, runs, export, experiment, params, trial, validate, calibrate.

Errors in the user's input print one line on stderr and exit with code 2; an interrupted run exits 130
after marking the run ``interrupted`` in the database.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import NoReturn

from metastasim.cli import calibrate_command
from metastasim.errors import MetastasimError, RunInterrupted
from metastasim.params.load import CANCER_TYPES
from metastasim.version import __version__


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"metastasim: error: {message} (see 'metastasim {self.prog.split()[-1]} --help')\n"
            if " " in self.prog
            else f"metastasim: error: {message} (see 'metastasim --help')\n",
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="metastasim",
        description="Simulate cancer metastasis (educational and research software, not medical advice).",
    )
    parser.add_argument("--version", action="version", version=f"metastasim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("patient", help="tell the life story of one virtual patient's cancer")
    p.add_argument("--cancer", default="colorectal", help=f"cancer type: {', '.join(CANCER_TYPES)}")
    p.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    p.add_argument("--patient", type=int, default=0, help="patient id within the seed's cohort (default 0)")
    p.add_argument("--years", type=int, default=40, help="years to simulate from the first cell (default 40)")
    p.add_argument("--json", action="store_true", help="print structured JSON instead of text")
    p.add_argument("--branch-at", choices=["diagnosis"], default=None,
                   help="save the patient's state at this moment and continue it under each of --arms")
    p.add_argument("--arms", default=None, help="comma-separated treatment policies for --branch-at "
                   "(see data/policies.toml: guideline, surgery_only, chemotherapy, targeted, immunotherapy, "
                   "radiation, no_treatment)")

    t = sub.add_parser("trial", help="run an in-silico trial: two or more arms on the same virtual patients")
    t.add_argument("scenario", help="trial scenario TOML (see examples/trial_*.toml)")
    t.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")
    t.add_argument("--out", default=None, help="directory for km.png, km.html and summary.json (default trial-NAME)")
    t.add_argument("--patients", type=int, default=None, help="override the scenario's patients per arm")
    t.add_argument("--params", default=None, metavar="FILE",
                   help="parameter file applied to every arm, e.g. one written by 'metastasim calibrate'")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("run", help="simulate a cohort, store it in DuckDB and print a summary")
    r.add_argument("scenario", nargs="?", help="optional scenario TOML file (flags given override it)")
    r.add_argument("--cancer", default=None, help=f"cancer type: {', '.join(CANCER_TYPES)} (default colorectal)")
    r.add_argument("--params", default=None, metavar="FILE",
                   help="parameter file ([run] cancer and [parameters]), e.g. one written by 'metastasim calibrate'")
    r.add_argument("--patients", type=int, default=None, help="number of patients (default 1000)")
    r.add_argument("--years", type=int, default=None, help="years from the first cell (default 20)")
    r.add_argument("--seed", type=int, default=None, help="run seed (default 1)")
    r.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")
    r.add_argument("--workers", type=int, default=None, help="local processes (default 1)")
    r.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT",
                   help="run the chunks on this Dask cluster (started with 'dask scheduler' and 'dask worker')")
    r.add_argument("--chunk-size", type=int, default=None,
                   help="patients per chunk (default 4000, fewer for small cohorts: 4 chunks per worker)")
    r.add_argument("--no-events", action="store_true", help="do not store the event log (faster, smaller)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    rs = sub.add_parser("resume", help="finish a run that was stopped (killed, interrupted or failed)")
    rs.add_argument("run_id", help="run id (see 'metastasim runs')")
    rs.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")
    rs.add_argument("--workers", type=int, default=None, help="local processes (default: as the run was started)")
    rs.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT", help="finish it on this Dask cluster")
    rs.add_argument("--json", action="store_true", help="print the summary as JSON")
    rs.add_argument("--quiet", action="store_true", help="no progress bar")

    ls = sub.add_parser("runs", help="list stored runs")
    ls.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")
    ls.add_argument("--json", action="store_true", help="print as JSON")

    ex = sub.add_parser("export", help="write a stored run's tables as Parquet files")
    ex.add_argument("run_id", help="run id (see 'metastasim runs')")
    ex.add_argument("--parquet", required=True, metavar="DIR", help="directory for the Parquet files")
    ex.add_argument("--db", default="metastasim.duckdb", help="DuckDB file (default ./metastasim.duckdb)")

    e = sub.add_parser("experiment", help="in-silico re-creations of published experiments")
    e.add_argument(
        "name",
        choices=["inefficiency"],
        help="inefficiency: Luzzi et al. 1998, cells injected into the mesenteric vein",
    )
    e.add_argument("--cancer", default="colorectal", help="parameter set to use (default colorectal)")
    e.add_argument("--cells", type=int, default=1_000_000, help="cells injected (default 1000000)")
    e.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    e.add_argument("--json", action="store_true", help="print as JSON")

    v = sub.add_parser("validate", help="compare the default cohorts with the published reference figures")
    v.add_argument("--cancer", default=None, help=f"one cancer type (default all nine: {', '.join(CANCER_TYPES)})")
    v.add_argument("--patients", type=int, default=2000, help="patients per cohort (default 2000)")
    v.add_argument("--params", default=None, metavar="FILE",
                   help="validate its cancer type with this parameter file, e.g. one written by 'metastasim calibrate'")
    v.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    v.add_argument("--json", action="store_true", help="print every target and result as JSON")
    v.add_argument("--quiet", action="store_true", help="no progress lines")
    v.add_argument("--report", metavar="FILE.html", default=None,
                   help="also write a self-contained HTML report: table and a plot per target kind (opens offline)")
    v.add_argument("--markdown", metavar="FILE.md", default=None,
                   help="rewrite the generated section of a markdown page (e.g. docs/validation.md) between its "
                   "markers, and its plots (PNG files in a folder named after the page); prose outside is kept")

    calibrate_command.add_parser(sub)

    pa = sub.add_parser("params", help="list a cancer type's parameters with units, ranges and sources")
    pa.add_argument("--cancer", default="colorectal", help=f"cancer type: {', '.join(CANCER_TYPES)}")
    pa.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``metastasim`` console script."""
    # Ctrl-C and `kill` both stop a run cleanly (marked 'interrupted'), even when the process was started
    # in the background by a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    args = build_parser().parse_args(argv)
    from metastasim.cli import commands

    handler = {
        "patient": commands.patient,
        "run": commands.run,
        "resume": commands.resume,
        "runs": commands.runs,
        "export": commands.export,
        "experiment": commands.experiment,
        "params": commands.params,
        "trial": commands.trial,
        "validate": commands.validate,
        "calibrate": calibrate_command.calibrate,
    }[args.command]
    try:
        return handler(args)
    except MetastasimError as exc:
        print(f"metastasim: error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        print(
            f"metastasim: interrupted; run {exc.run_id} is stored with status 'interrupted' "
            f"(finish it with 'metastasim resume {exc.run_id}')",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print("metastasim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
