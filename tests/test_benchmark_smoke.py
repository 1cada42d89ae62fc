"""The benchmark script keeps working (a smoke test with tiny sizes; the figures themselves are not tested)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cohort.py"


def test_benchmark_script_runs_and_prints_its_figures():
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--patients",
            "300",
            "--years",
            "3",
            "--workers",
            "2",
            "--single-core-patients",
            "100",
            "--chunk-size",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for needle in ("patient-years/s/core", "stored cohort run", "peak resident memory"):
        assert needle in out, out


def test_scale_benchmark_runs_its_fast_sections():
    script = SCRIPT.parent / "run.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--patients", "200", "--years", "5", "--skip-memory", "--skip-hpvsim",
         "--skip-cold", "--skip-rng"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "patient-years/s/core" in proc.stdout and "one patient" in proc.stdout, proc.stdout[-3000:]
