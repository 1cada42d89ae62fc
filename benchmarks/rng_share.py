"""Share of the engine's time spent drawing random numbers (counter-based Philox streams).

The figure is Σ over a cohort's patients of their draw time / Σ of their engine time, estimated like this:

1. **Time every patient of the cohort.** Patients 0..N-1 (``--cohort-patients``) are simulated compiled one
   by one (``PatientSimulation(...).advance_to()``, the whole course): t_i. Their sum is printed beside the
   time of one ``simulate_chunk`` call for the whole cohort, which also copies the records.
2. **Sample patients in proportion to their time.** ``--patients`` draws (with replacement, fixed seed) pick
   patient i with probability t_i / Σt. Patient times are heavy-tailed (a patient at the 4,096-lesion
   capacity costs about a hundred times a typical one), so a sample of the first patients would be dominated by
   chance; sampling by time makes the mean of the sampled patients' own shares r_i / t_i an unbiased
   estimate of Σr / Σt.
3. **Record their draws.** A child process runs the engine for the sampled patients with numba's JIT switched
   off (``NUMBA_DISABLE_JIT=1``: every kernel is plain Python). Each function of ``metastasim.rng.philox``
   (philox4x32, mix64, uniform_pair, uniform, exponential, standard_normal, poisson) is replaced, in every
   imported ``metastasim`` module that refers to it, by a wrapper that records the arguments and the patient
   of each *top-level* call (a draw inside another draw, such as uniform → uniform_pair → philox4x32, is
   part of its caller). Under numpy 2, ``1 << int8`` stays int8 in Python where numba computes in int64, so
   the child widens the state's and the parameters' small integer arrays to int64.
4. **Check it is the same simulation.** The compiled engine runs the same patients; every integer output must
   be equal and every float equal to 1e-12 relative (the compiled math library may differ in the last bit),
   or the measurement fails.
5. **Time the draws compiled.** Each function is called again, compiled, on exactly the recorded arguments
   (same keys, counters and Poisson means) in a numba loop that cannot be vectorised; the same loop with a
   trivial function is subtracted. *Independent* calls let the CPU overlap consecutive draws (a lower
   bound); *chained* calls make each draw wait for the previous result (an upper bound).
6. **Share** = mean over the sampled patients of r_i / t_i, where r_i = Σ over functions of the patient's
   calls × ns per call; it is printed with its standard error, per function, with the draws per patient and
   per patient-year (estimated for the cohort) and the ns per draw.

Run on its own: ``python benchmarks/rng_share.py [--patients 30] [--cohort-patients 10000] [--years 30]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DRAW_FUNCTIONS: tuple[str, ...] = (
    "philox4x32",
    "mix64",
    "uniform_pair",
    "uniform",
    "exponential",
    "standard_normal",
    "poisson",
)
#: dtypes of each function's recorded arguments, in call order.
ARGUMENT_DTYPES: dict[str, tuple[type, ...]] = {
    "philox4x32": (np.uint64,) * 6,
    "mix64": (np.uint64, np.uint64),
    "uniform_pair": (np.uint64, np.int64, np.uint64, np.int64),
    "uniform": (np.uint64, np.int64, np.uint64, np.int64),
    "exponential": (np.uint64, np.int64, np.uint64, np.int64),
    "standard_normal": (np.uint64, np.int64, np.uint64, np.int64),
    "poisson": (np.uint64, np.int64, np.uint64, np.int64, np.float64),
}
FLOAT_RTOL = 1e-12


# --------------------------------------------------------------------------------------------------------------
# Child: pure-Python engine with counting wrappers
# --------------------------------------------------------------------------------------------------------------


class DrawRecorder:
    """Wraps the Philox functions and records the arguments of every top-level call."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[Any, ...]]] = {name: [] for name in DRAW_FUNCTIONS}
        self.patients: dict[str, list[int]] = {name: [] for name in DRAW_FUNCTIONS}
        self.current_patient = -1
        self._depth = 0

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A wrapper of `fn` that records its arguments when it is not called from another draw."""
        calls = self.calls[name]
        patients = self.patients[name]

        def wrapper(*args: Any) -> Any:
            if self._depth == 0:
                calls.append(args)
                patients.append(self.current_patient)
            self._depth += 1
            try:
                return fn(*args)
            finally:
                self._depth -= 1

        wrapper.__name__ = f"counted_{name}"
        return wrapper

    def install(self) -> int:
        """Replace the functions in every imported metastasim module; return the number of replaced names."""
        from metastasim.rng import philox

        originals = {name: getattr(philox, name) for name in DRAW_FUNCTIONS}
        wrappers = {name: self._wrap(name, fn) for name, fn in originals.items()}
        replaced = 0
        for module_name, module in list(sys.modules.items()):
            if module is None or not module_name.startswith("metastasim"):
                continue
            for attr, value in list(vars(module).items()):
                for name, fn in originals.items():
                    if value is fn:
                        setattr(module, attr, wrappers[name])
                        replaced += 1
        return replaced

    def arrays(self) -> dict[str, np.ndarray]:
        """The recorded arguments as one array per (function, argument position)."""
        out: dict[str, np.ndarray] = {}
        for name, calls in self.calls.items():
            for k, dtype in enumerate(ARGUMENT_DTYPES[name]):
                out[f"draw_{name}_{k}"] = np.array([_as_number(c[k], dtype) for c in calls], dtype=dtype)
            out[f"patient_{name}"] = np.array(self.patients[name], dtype=np.int64)
        return out

    def track_patients(self, chunk_module: Any) -> None:
        """Wrap the chunk loop's ``start_patient`` so that every draw is attributed to its patient.

        When a patient's records overflow the chunk's buffers, the chunk grows them and simulates that
        patient again from the start; the draws of the abandoned attempt are dropped here.
        """
        start_patient = chunk_module.start_patient
        marks = {name: 0 for name in DRAW_FUNCTIONS}

        def tracked(st: Any, P: Any, C: Any, patient_id: int) -> None:
            pid = int(patient_id)
            for name in DRAW_FUNCTIONS:
                if pid == self.current_patient:
                    del self.calls[name][marks[name] :]
                    del self.patients[name][marks[name] :]
                marks[name] = len(self.calls[name])
            self.current_patient = pid
            start_patient(st, P, C, patient_id)

        chunk_module.start_patient = tracked


def _as_number(value: Any, dtype: type) -> Any:
    """One recorded argument as a plain Python number for an array of `dtype`."""
    return float(value) if dtype is np.float64 else int(value)


def _widen_small_ints(record: Any) -> Any:
    """A copy of a NamedTuple of arrays whose integer arrays narrower than 64 bits are int64 (numba's arithmetic)."""
    changes: dict[str, Any] = {}
    for name, value in record._asdict().items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "iub" and value.dtype.itemsize < 8:
            changes[name] = value.astype(np.int64)
        elif isinstance(value, np.generic) and value.dtype.kind in "iu" and value.dtype.itemsize < 8:
            changes[name] = np.int64(value)
    return record._replace(**changes)


def count_draws_child(out_path: str, cancer: str, seed: int, patient_ids: list[int], years: int) -> None:
    """Run in a NUMBA_DISABLE_JIT=1 process: simulate the patients, save their draws and outputs to `out_path`."""
    import numba

    if not numba.config.DISABLE_JIT:
        raise SystemExit("count_draws_child must run with NUMBA_DISABLE_JIT=1")
    np.seterr(all="ignore")  # Philox multiplies uint64 words that wrap around, as the compiled code does
    warnings.simplefilter("ignore", RuntimeWarning)
    import metastasim.cohort.chunks  # noqa: F401  (imports every module with kernels)
    import metastasim.engine.chunk as chunk_module
    from metastasim.clinic.clinic_params import build_clinic_params
    from metastasim.engine.kernel_params import build_kernel_params
    from metastasim.params.load import load_parameters

    params = load_parameters(cancer)
    P = _widen_small_ints(build_kernel_params(params, seed))
    C = _widen_small_ints(build_clinic_params(params, active=True))
    original_new_state = chunk_module.new_state
    chunk_module.new_state = lambda *a: _widen_small_ints(original_new_state(*a))  # type: ignore[assignment]
    recorder = DrawRecorder()
    replaced = recorder.install()
    recorder.track_patients(chunk_module)
    t0 = time.perf_counter()
    outputs = [chunk_module.simulate_chunk(P, C, pid, 1, years) for pid in patient_ids]
    python_seconds = time.perf_counter() - t0
    arrays = recorder.arrays()
    arrays.update({f"out_{name}": value for name, value in concat_outputs(outputs).items()})
    np.savez(out_path, python_seconds=python_seconds, replaced_names=replaced, **arrays)


def concat_outputs(outputs: list[Any]) -> dict[str, np.ndarray]:
    """The fields of several one-patient ChunkOutputs, concatenated."""
    return {name: np.concatenate([getattr(o, name) for o in outputs]) for name in outputs[0]._fields}


# --------------------------------------------------------------------------------------------------------------
# Parent: compiled replay of the recorded draws
# --------------------------------------------------------------------------------------------------------------


def _replay_loops(chained: bool) -> dict[str, Callable[..., Any]]:
    """Compiled loops that call each draw function on recorded arguments, and baselines without the calls.

    With `chained` (a compile-time constant), each call's first argument depends on the previous call's
    result through a comparison with a runtime sentinel that never matches: the values are unchanged, but
    the CPU cannot start a draw before the previous one is done. Every loop has a data-dependent exit that
    never fires, so LLVM does not vectorise it (the engine's draws are scalar).
    """
    import numba as nb

    from metastasim.rng import philox

    def four(fn: Any) -> Any:
        @nb.njit
        def replay(sk, pid, lk, ctr, sentinel):
            acc = 0.0
            prev = 0.0
            for i in range(sk.shape[0]):
                c = ctr[i]
                if c < 0:
                    break
                if chained:
                    c += np.int64(prev == sentinel)
                prev = float(fn(sk[i], pid[i], lk[i], c))
                acc += prev
            return acc

        return replay

    def five(fn: Any) -> Any:
        @nb.njit
        def replay(sk, pid, lk, ctr, mean, sentinel):
            acc = 0.0
            prev = 0.0
            for i in range(sk.shape[0]):
                c = ctr[i]
                if c < 0:
                    break
                if chained:
                    c += np.int64(prev == sentinel)
                prev = float(fn(sk[i], pid[i], lk[i], c, mean[i]))
                acc += prev
            return acc

        return replay

    def pair(fn: Any) -> Any:
        @nb.njit
        def replay(sk, pid, lk, ctr, sentinel):
            acc = 0.0
            prev = 0.0
            for i in range(sk.shape[0]):
                c = ctr[i]
                if c < 0:
                    break
                if chained:
                    c += np.int64(prev == sentinel)
                a, b = fn(sk[i], pid[i], lk[i], c)
                prev = a
                acc += a + b
            return acc

        return replay

    def two(fn: Any) -> Any:
        @nb.njit
        def replay(a0, a1, sentinel):
            acc = np.uint64(0)
            prev = np.uint64(0)
            for i in range(a0.shape[0]):
                x = a0[i]
                if a1[i] == sentinel:
                    break
                if chained:
                    x ^= np.uint64(prev == sentinel)
                prev = fn(x, a1[i])
                acc += prev
            return acc

        return replay

    def six(fn: Any) -> Any:
        @nb.njit
        def replay(a0, a1, a2, a3, a4, a5, sentinel):
            acc = np.uint64(0)
            prev = np.uint64(0)
            for i in range(a0.shape[0]):
                x = a0[i]
                if a5[i] == sentinel:
                    break
                if chained:
                    x ^= np.uint64(prev == sentinel)
                r0, r1, r2, r3 = fn(x, a1[i], a2[i], a3[i], a4[i], a5[i])
                prev = r0
                acc += r0 ^ r1 ^ r2 ^ r3
            return acc

        return replay

    inline = nb.njit(inline="always")
    dummy_four = inline(lambda sk, pid, lk, c: float((sk ^ lk) & np.uint64(1)) + float((pid + c) & 1))
    dummy_five = inline(lambda sk, pid, lk, c, m: float((sk ^ lk) & np.uint64(1)) + float((pid + c) & 1) + m)
    dummy_pair = inline(lambda sk, pid, lk, c: (float((sk ^ lk) & np.uint64(1)), float((pid + c) & 1)))
    dummy_two = inline(lambda a, b: a ^ b)
    dummy_six = inline(lambda a0, a1, a2, a3, a4, a5: (a0 ^ a1, a2 ^ a3, a4, a5))
    return {
        "philox4x32": six(philox.philox4x32),
        "mix64": two(philox.mix64),
        "uniform_pair": pair(philox.uniform_pair),
        "uniform": four(philox.uniform),
        "exponential": four(philox.exponential),
        "standard_normal": four(philox.standard_normal),
        "poisson": five(philox.poisson),
        "baseline_philox4x32": six(dummy_six),
        "baseline_mix64": two(dummy_two),
        "baseline_uniform_pair": pair(dummy_pair),
        "baseline_uniform": four(dummy_four),
        "baseline_exponential": four(dummy_four),
        "baseline_standard_normal": four(dummy_four),
        "baseline_poisson": five(dummy_five),
    }


#: A value no recorded draw produces: the chained loops compare each result with it.
_FLOAT_SENTINEL = -12345.0
_UINT_SENTINEL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _min_seconds(fn: Callable[[], Any], repeats: int) -> float:
    """The minimum wall time of `repeats` calls of `fn` (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def time_draws(draws: dict[str, np.ndarray], repeats: int) -> dict[str, dict[str, float]]:
    """Compiled time of replaying each function's recorded calls: seconds and ns per call, both variants."""
    loops = {variant: _replay_loops(chained) for variant, chained in (("independent", False), ("chained", True))}
    result: dict[str, dict[str, float]] = {}
    for name in DRAW_FUNCTIONS:
        columns = [draws[f"draw_{name}_{k}"] for k in range(len(ARGUMENT_DTYPES[name]))]
        n_calls = len(columns[0])
        if n_calls == 0:
            continue
        sentinel = _UINT_SENTINEL if name in ("mix64", "philox4x32") else _FLOAT_SENTINEL
        row: dict[str, float] = {"calls": float(n_calls)}
        for variant, kernels in loops.items():
            replay, baseline = kernels[name], kernels[f"baseline_{name}"]
            replay(*columns, sentinel)  # compile
            baseline(*columns, sentinel)
            call_s = _min_seconds(lambda f=replay, a=columns, z=sentinel: f(*a, z), repeats)
            base_s = _min_seconds(lambda f=baseline, a=columns, z=sentinel: f(*a, z), repeats)
            seconds = max(call_s - base_s, 0.0)
            row[f"{variant}_seconds"] = seconds
            row[f"{variant}_ns_per_call"] = seconds / n_calls * 1e9
        result[name] = row
    return result


def compare_outputs(python_out: dict[str, np.ndarray], compiled_out: dict[str, np.ndarray]) -> dict[str, Any]:
    """Compare the pure-Python run's arrays with the compiled run's; raise if they are not the same simulation."""
    float_diffs = 0
    max_rel = 0.0
    for name, compiled in compiled_out.items():
        python = python_out[f"out_{name}"]
        if python.shape != compiled.shape:
            raise RuntimeError(f"pure-Python and compiled engines differ: shape of {name}")
        if compiled.dtype.kind == "f":
            a, b = python.astype(np.float64), compiled.astype(np.float64)
            if not np.array_equal(np.isfinite(a), np.isfinite(b)) or not np.array_equal(np.isnan(a), np.isnan(b)):
                raise RuntimeError(f"pure-Python and compiled engines differ: non-finite values of {name}")
            finite = np.isfinite(a)
            diff = np.abs(a[finite] - b[finite])
            rel = diff / np.maximum(np.abs(b[finite]), np.finfo(float).tiny)
            if rel.size and rel.max() > FLOAT_RTOL:
                raise RuntimeError(f"pure-Python and compiled engines differ: {name} by {rel.max():.3g} relative")
            float_diffs += int((diff > 0).sum())
            max_rel = max(max_rel, float(rel.max()) if rel.size else 0.0)
        elif not np.array_equal(python.astype(np.int64), compiled.astype(np.int64)):
            raise RuntimeError(f"pure-Python and compiled engines differ: {name}")
    return {"float_values_differing_in_last_bits": float_diffs, "max_relative_difference": max_rel}


def time_cohort(cancer: str, seed: int, n_patients: int, years: int) -> dict[str, Any]:
    """Compiled engine time of each patient 0..n-1, their lesions and patient-years, and one whole-cohort call.

    Each patient is a ``PatientSimulation`` (the compiled ``start_patient`` runs in its constructor); the
    time is that of ``advance_to()``, the whole course. One ``simulate_chunk`` call per patient would not
    do: a patient whose records overflow a one-patient chunk's buffers is simulated again after they grow.
    """
    from metastasim.clinic.clinic_params import build_clinic_params
    from metastasim.engine.chunk import simulate_chunk
    from metastasim.engine.kernel_params import build_kernel_params
    from metastasim.engine.patient import PatientSimulation
    from metastasim.engine.state import S_T_END
    from metastasim.params.load import load_parameters
    from metastasim.units import DAYS_PER_YEAR

    params = load_parameters(cancer)
    P = build_kernel_params(params, seed)
    C = build_clinic_params(params, active=True)
    PatientSimulation(params, seed, 0, years).advance_to()
    simulate_chunk(P, C, 0, min(n_patients, 20), years)
    t0 = time.perf_counter()
    out = simulate_chunk(P, C, 0, n_patients, years)
    chunk_s = time.perf_counter() - t0
    patient_s = np.zeros(n_patients)
    for i in range(n_patients):
        sim = PatientSimulation(params, seed, i, years)
        t0 = time.perf_counter()
        sim.advance_to()
        patient_s[i] = time.perf_counter() - t0
    return {
        "patients": n_patients,
        "chunk_seconds": chunk_s,
        "patient_seconds": patient_s,
        "lesions": np.bincount(out.lesion_patient, minlength=n_patients),
        "patient_years": float(out.scalars[:, S_T_END].sum()) / DAYS_PER_YEAR,
    }


def _record_draws(cancer: str, seed: int, patient_ids: list[int], years: int) -> tuple[dict[str, np.ndarray], float]:
    """Run the pure-Python counting child for the patients; its recorded arrays and its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "draws.npz")
        env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
        command = [sys.executable, str(Path(__file__).resolve()), "--child", path]
        command += ["--cancer", cancer, "--seed", str(seed), "--years", str(years)]
        command += ["--ids", ",".join(str(i) for i in patient_ids)]
        t0 = time.perf_counter()
        subprocess.run(command, env=env, check=True)
        child_seconds = time.perf_counter() - t0
        with np.load(path) as data:
            return {name: data[name] for name in data.files}, child_seconds


def measure_rng_share(
    cancer: str = "colorectal",
    seed: int = 1,
    n_sample: int = 30,
    years: int = 30,
    cohort_patients: int = 10_000,
    repeats: int = 20,
) -> dict[str, Any]:
    """Time the cohort's patients, sample them by time, count and replay their draws; return the RNG share."""
    from metastasim.clinic.clinic_params import build_clinic_params
    from metastasim.engine.chunk import simulate_chunk
    from metastasim.engine.kernel_params import build_kernel_params
    from metastasim.params.load import load_parameters

    params = load_parameters(cancer)
    P = build_kernel_params(params, seed)
    C = build_clinic_params(params, active=True)
    cohort = time_cohort(cancer, seed, cohort_patients, years)
    t = cohort["patient_seconds"]
    total_s = float(t.sum())
    picks = np.random.default_rng(seed).choice(cohort_patients, size=n_sample, replace=True, p=t / total_s)
    ids = sorted({int(i) for i in picks})

    recorded, child_seconds = _record_draws(cancer, seed, ids, years)
    check = compare_outputs(recorded, concat_outputs([simulate_chunk(P, C, i, 1, years) for i in ids]))
    timings = time_draws(recorded, repeats)
    if not timings or sum(row["calls"] for row in timings.values()) == 0:
        raise RuntimeError("no draws were counted: the wrappers did not take effect")

    # Per sampled draw k: the patient's calls of each function, and its share r_k / t_k.
    n_ids = max(ids) + 1
    calls = {name: np.bincount(recorded[f"patient_{name}"], minlength=n_ids)[picks] for name in timings}
    weight = total_s / t[picks]  # Horvitz-Thompson: a patient drawn with probability t/T stands for T/t of them
    draws: dict[str, dict[str, float]] = {}
    shares = {"independent": np.zeros(n_sample), "chained": np.zeros(n_sample)}
    for name, row in timings.items():
        estimated_calls = float((calls[name] * weight).mean())  # the cohort's calls of this function
        d = {
            "calls_recorded": int(row["calls"]),
            "per_patient": estimated_calls / cohort_patients,
            "per_patient_year": estimated_calls / cohort["patient_years"],
        }
        for variant in shares:
            ns = row[f"{variant}_ns_per_call"]
            share_k = calls[name] * ns * 1e-9 / t[picks]
            shares[variant] += share_k
            d[f"ns_per_call_{variant}"] = ns
            d[f"share_{variant}"] = float(share_k.mean())
        draws[name] = d
    sample_lesions = cohort["lesions"][ids]
    result: dict[str, Any] = {
        "cohort_patients": cohort_patients,
        "years": years,
        "cohort_patient_years": cohort["patient_years"],
        "cohort_lesions_per_patient": float(cohort["lesions"].mean()),
        "cohort_engine_seconds": total_s,
        "cohort_chunk_seconds": cohort["chunk_seconds"],
        "sample_draws": n_sample,
        "sample_patients": ids,
        "sample_lesions_mean": float(sample_lesions.mean()),
        "sample_share_of_cohort_time": float(t[ids].sum()) / total_s,
        "pure_python_engine_seconds": float(recorded["python_seconds"]),
        "pure_python_process_seconds": child_seconds,
        "replaced_function_names": int(recorded["replaced_names"]),
        "check": check,
        "draws": draws,
    }
    for bound, variant in (("low", "independent"), ("high", "chained")):
        result[f"rng_share_{bound}"] = float(shares[variant].mean())
        result[f"rng_share_{bound}_se"] = (
            float(shares[variant].std(ddof=1) / np.sqrt(n_sample)) if n_sample > 1 else 0.0
        )
    return result


def format_report(result: dict[str, Any]) -> str:
    """Human-readable lines: cohort, sample, check, draws per patient and ns per draw, and the share."""
    check = result["check"]
    lines = [
        f"cohort: patients 0..{result['cohort_patients'] - 1}, {result['years']} y, "
        f"{result['cohort_lesions_per_patient']:.0f} lesions per patient; compiled engine "
        f"{result['cohort_engine_seconds']:.2f} s summed over patients timed one by one "
        f"({result['cohort_chunk_seconds']:.2f} s as one simulate_chunk call, with records)",
        f"sample: {result['sample_draws']} draws by time, {len(result['sample_patients'])} distinct patients "
        f"({result['sample_lesions_mean']:.0f} lesions on average, {100 * result['sample_share_of_cohort_time']:.0f} % "
        "of the cohort's time)",
        f"pure-Python counting run: {result['pure_python_engine_seconds']:.1f} s engine "
        f"({result['pure_python_process_seconds']:.1f} s with start-up); {result['replaced_function_names']} "
        "function names wrapped",
        f"same patients compiled: outputs equal (integers exactly; {check['float_values_differing_in_last_bits']} "
        f"float values differ, max relative {check['max_relative_difference']:.1e})",
        f"{'function':<16}{'per patient':>12}{'per pat.-year':>14}{'ns/call indep.':>16}{'ns/call chained':>17}"
        f"{'share':>16}",
    ]
    for name, d in result["draws"].items():
        lines.append(
            f"{name:<16}{d['per_patient']:>12,.1f}{d['per_patient_year']:>14,.1f}{d['ns_per_call_independent']:>16.1f}"
            f"{d['ns_per_call_chained']:>17.1f}{100 * d['share_independent']:>8.1f}-{100 * d['share_chained']:.1f} %"
        )
    lines.append(
        f"RNG share of the cohort's engine time: {100 * result['rng_share_low']:.1f} % "
        f"(+/- {100 * result['rng_share_low_se']:.1f}, independent draws) to {100 * result['rng_share_high']:.1f} % "
        f"(+/- {100 * result['rng_share_high_se']:.1f}, chained draws)"
    )
    return "\n".join(lines)


def main() -> None:
    """Command line: the share on its own, or (``--child``) the pure-Python counting run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cancer", default="colorectal")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, default=30, help="patients drawn by time (default 30)")
    parser.add_argument("--cohort-patients", type=int, default=10_000, help="the cohort (default 10000)")
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20, help="repetitions of each replay (minimum taken)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--child", metavar="OUT.npz", help=argparse.SUPPRESS)
    parser.add_argument("--ids", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        count_draws_child(args.child, args.cancer, args.seed, [int(i) for i in args.ids.split(",")], args.years)
        return
    result = measure_rng_share(args.cancer, args.seed, args.patients, args.years, args.cohort_patients, args.repeats)
    print(json.dumps(result, indent=2) if args.json else format_report(result))


if __name__ == "__main__":
    main()
