"""ABC-SMC: approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al. 2009).

Generation 0 draws `population` particles from the prior. Each later generation t sets its threshold
epsilon_t to the weighted median of generation t-1's distances (pyabc's default QuantileEpsilon), proposes
parameter sets by picking a particle of generation t-1 by weight and perturbing it with pyabc's multivariate
normal kernel (covariance from the weighted population, Silverman's bandwidth), simulates a cohort for each,
and accepts those within epsilon_t until `population` are accepted. An accepted particle's weight is
prior(theta) / sum_j w_j K(theta | theta_j), which pyabc's fitted transition evaluates.

The statistical parts (prior, kernel, weighted quantiles) are pyabc's. The loop is ours, for two reasons:
every simulated cohort and generation is stored in the DuckDB database as it finishes (pyabc's own history
needs SQLite), and the result does not depend on how the simulations are spread over processes or machines.
Proposals are made in batches whose sizes depend only on what earlier batches accepted; proposal i of
generation t is drawn from a generator seeded by (seed, t, batch) and simulated with the seed (seed, t, i);
and particles are accepted in proposal order. So a seed gives the same posterior with 1 process, 2 processes
or a Dask cluster, and a resumed calibration re-draws the same proposals and reuses the stored simulations.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.transition import MultivariateNormalTransition
from pyabc.weighted_statistics import weighted_quantile
from tqdm import tqdm

from metastasim.calibration.distance import distance
from metastasim.calibration.model import Task, evaluate
from metastasim.calibration.spec import CalibrationSpec
from metastasim.calibration.store import CalibrationStore, Evaluation
from metastasim.errors import MetastasimError
from metastasim.parallel import Executor, InProcess
from metastasim.version import __version__

#: Smallest and largest proposal batch (the size never depends on the number of workers).
MIN_BATCH = 16


@dataclass
class CalibrationResult:
    """A finished (or stopped) calibration: its generations and the last generation's particles."""

    calibration_id: str
    spec: CalibrationSpec
    generations: pd.DataFrame
    posterior: pd.DataFrame  # one row per particle: each parameter in its own units, weight, distance
    simulations: int
    elapsed_seconds: float
    stop_reason: str
    resumed_from_generation: int | None

    def summary(self) -> pd.DataFrame:
        """Per parameter: prior, weighted mean, sd, median and the 5% and 95% quantiles of the posterior."""
        w = self.posterior["weight"].to_numpy()
        rows = []
        for prior in self.spec.priors:
            x = self.posterior[prior.name].to_numpy(dtype=float)
            mean = float(np.sum(w * x))
            rows.append(
                {
                    "parameter": prior.name,
                    "prior": prior.describe(),
                    "mean": mean,
                    "sd": float(math.sqrt(max(0.0, np.sum(w * (x - mean) ** 2)))),
                    "q05": float(weighted_quantile(x, w, alpha=0.05)),
                    "median": float(weighted_quantile(x, w, alpha=0.5)),
                    "q95": float(weighted_quantile(x, w, alpha=0.95)),
                }
            )
        return pd.DataFrame(rows)


def calibration_id_for(spec: CalibrationSpec) -> str:
    """Readable unique id: scenario name, settings hash and start time."""
    return f"{spec.name}-{spec.config_hash()}-{datetime.now():%Y%m%d-%H%M%S}"


def _simulation_seed(seed: int, generation: int, proposal: int) -> int:
    state = np.random.SeedSequence([seed, generation, proposal]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


@contextlib.contextmanager
def _numpy_global_seed(seed_words: list[int]) -> Iterator[None]:
    """Seed NumPy's global generator (which pyabc's kernels draw from) and restore it afterwards."""
    saved = np.random.get_state()
    np.random.seed(np.random.SeedSequence(seed_words).generate_state(1)[0])
    try:
        yield
    finally:
        np.random.set_state(saved)


class _Sampler:
    """Draws proposals in the sampler's space (log10 for loguniform priors)."""

    def __init__(self, spec: CalibrationSpec) -> None:
        self.spec = spec
        self.names = [p.name for p in spec.priors]
        self.prior = pyabc.Distribution(
            **{p.name: pyabc.RV("uniform", p.abc_bounds[0], p.abc_bounds[1] - p.abc_bounds[0]) for p in spec.priors}
        )
        self.transition: MultivariateNormalTransition | None = None

    def fit(self, population: pd.DataFrame) -> None:
        """Fit the perturbation kernel to a generation's particles (parameters in own units) and weights."""
        x = self.to_abc(population)
        self.transition = MultivariateNormalTransition()
        self.transition.fit(x, population["weight"].to_numpy())

    def to_abc(self, df: pd.DataFrame) -> pd.DataFrame:
        """Parameters in own units -> the sampler's space."""
        return pd.DataFrame({p.name: [p.to_abc(v) for v in df[p.name]] for p in self.spec.priors})

    def propose(self, generation: int, batch: int, size: int) -> pd.DataFrame:
        """`size` proposals inside the prior's support, in the sampler's space."""
        with _numpy_global_seed([self.spec.seed, generation, batch, 7]):
            if self.transition is None:
                return pd.DataFrame([dict(self.prior.rvs()) for _ in range(size)], columns=self.names)
            kept: list[pd.DataFrame] = []
            n = 0
            while n < size:
                draw = self.transition.rvs(size=size)
                draw = draw[[self.prior.pdf(pyabc.Parameter(r)) > 0 for r in draw[self.names].to_dict("records")]]
                kept.append(draw[self.names])
                n += len(draw)
            return pd.concat(kept, ignore_index=True).iloc[:size].reset_index(drop=True)

    def weights(self, x: pd.DataFrame) -> np.ndarray:
        """Importance weights prior / kernel mixture of accepted particles (sampler's space), normalised."""
        if self.transition is None:
            return np.full(len(x), 1.0 / len(x))
        prior = np.array([self.prior.pdf(pyabc.Parameter(r)) for r in x[self.names].to_dict("records")])
        w = prior / np.asarray(self.transition.pdf(x[self.names]), dtype=float)
        return w / w.sum()

    def own_units(self, row: dict[str, float]) -> dict[str, float]:
        """A proposal in the sampler's space -> parameter values in their own units."""
        return {p.name: float(p.from_abc(row[p.name])) for p in self.spec.priors}


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def calibrate(
    spec: CalibrationSpec,
    store: CalibrationStore,
    executor: Executor | None = None,
    quiet: bool = False,
    fresh: bool = False,
    on_generation: Callable[[int], None] | None = None,
) -> CalibrationResult:
    """Run (or resume, or return a finished) calibration of `spec`, storing everything in `store`.

    A calibration with the same scenario name and settings that was interrupted is resumed from its last
    stored simulation; a finished one is returned as stored unless `fresh` asks for a new one.
    """
    executor = executor or InProcess()
    sampler = _Sampler(spec)
    existing = None if fresh else store.find(spec.name, spec.config_hash())
    resumed_from = None
    if existing is not None and existing["status"] == "complete" and not _extensible(spec, store, existing):
        _say(f"calibration {existing['calibration_id']} is already complete (use --fresh for a new one)", quiet)
        return load_result(store, spec, str(existing["calibration_id"]))
    if existing is not None:
        cid = str(existing["calibration_id"])
        elapsed_before = float(existing["elapsed_seconds"] or 0.0)
        done = store.generations(cid)
        resumed_from = len(done)
        if existing["status"] == "complete":
            _say(f"extending calibration {cid} from generation {resumed_from}: it stopped because its "
                 f"{existing['stop_reason']}, and the scenario now allows more", quiet)
        else:
            _say(f"resuming calibration {cid} at generation {resumed_from} "
                 f"({len(store.evaluations(cid, resumed_from))} simulations of it already stored)", quiet)
    else:
        cid = calibration_id_for(spec)
        elapsed_before = 0.0
        store.start(cid, {"name": spec.name, "cancer": spec.cancer, "seed": spec.seed, "version": __version__,
                          "config_hash": spec.config_hash(), "scenario": spec.to_dict()})
        done = store.generations(cid)
    started = time.perf_counter()
    status, stop_reason = "failed", ""
    try:
        population = None
        if not done.empty:
            population = _population(store, cid, spec, int(done["generation"].iloc[-1]))
        generation = len(done)
        stop_reason = _stop_reason(spec, done, elapsed_before) if not done.empty else ""
        while not stop_reason:
            if population is not None:
                sampler.fit(population)
            epsilon = math.inf if population is None else float(
                weighted_quantile(population["distance"].to_numpy(), population["weight"].to_numpy(), alpha=0.5)
            )
            gen_started = time.perf_counter()
            rate_hint = float(done["acceptance_rate"].iloc[-1]) if not done.empty else 1.0
            accepted, simulated = _run_generation(spec, store, cid, sampler, executor, generation, epsilon,
                                                  rate_hint, quiet)
            if accepted is None:
                stop_reason = (f"generation {generation} fell below min_acceptance_rate "
                               f"({spec.min_acceptance_rate:g}) before it filled; the posterior is generation "
                               f"{generation - 1}")
                break
            x = sampler.to_abc(accepted)
            accepted["weight"] = sampler.weights(x)
            row = {"generation": generation, "epsilon": epsilon, "accepted": len(accepted), "simulated": simulated,
                   "acceptance_rate": len(accepted) / simulated,
                   "elapsed_seconds": time.perf_counter() - gen_started}
            store.add_generation(cid, row, accepted.assign(parameters=accepted[sampler.names].to_dict("records")))
            done = store.generations(cid)
            population = accepted
            _say(f"generation {generation}: epsilon {epsilon:.3g}, accepted {len(accepted)} of {simulated} "
                 f"simulated ({100 * row['acceptance_rate']:.0f}%), {row['elapsed_seconds']:.0f} s, "
                 f"median distance {np.median(accepted['distance']):.3g}", quiet)
            if on_generation is not None:
                on_generation(generation)
            generation += 1
            stop_reason = _stop_reason(spec, done, elapsed_before + time.perf_counter() - started)
        if done.empty:
            raise MetastasimError("the calibration stopped before its first generation finished")
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        store.set_status(cid, status, elapsed_before + time.perf_counter() - started,
                         stop_reason if status == "complete" else None)
    result = load_result(store, spec, cid)
    result.resumed_from_generation = resumed_from
    return result


def _extensible(spec: CalibrationSpec, store: CalibrationStore, existing: dict[str, Any]) -> bool:
    """Whether a finished calibration stopped only on its budget, which the scenario has since raised.

    Budgets (``max_minutes``, the calibration's total wall time, and ``max_generations``) are not part of
    the configuration hash, so raising one in the scenario continues the same calibration from its last
    generation instead of starting again; the posterior is the same as a run with that budget from the start
    would give, up to where a wall-time stop falls.
    """
    reason = str(existing.get("stop_reason") or "")
    if not (reason.startswith("wall time") or reason.startswith("reached max_generations")):
        return False
    done = store.generations(str(existing["calibration_id"]))
    return not done.empty and not _stop_reason(spec, done, float(existing["elapsed_seconds"] or 0.0))


def _stop_reason(spec: CalibrationSpec, done: pd.DataFrame, elapsed: float) -> str:
    last = done.iloc[-1]
    if len(done) >= spec.max_generations:
        return f"reached max_generations ({spec.max_generations})"
    if float(last["epsilon"]) <= spec.min_epsilon:
        return f"epsilon {float(last['epsilon']):.3g} reached min_epsilon ({spec.min_epsilon:g})"
    if int(last["generation"]) > 0 and float(last["acceptance_rate"]) < spec.min_acceptance_rate:
        return f"acceptance rate {float(last['acceptance_rate']):.3g} fell below {spec.min_acceptance_rate:g}"
    if elapsed > 60.0 * spec.max_minutes:
        return f"wall time {elapsed / 60:.1f} min passed max_minutes ({spec.max_minutes:g})"
    return ""


def _run_generation(
    spec: CalibrationSpec,
    store: CalibrationStore,
    cid: str,
    sampler: _Sampler,
    executor: Executor,
    generation: int,
    epsilon: float,
    rate_hint: float,
    quiet: bool,
) -> tuple[pd.DataFrame | None, int]:
    """Propose, simulate and accept until `population` particles are within epsilon (None if it stalls)."""
    stored = store.evaluations(cid, generation)
    accepted: list[Evaluation] = []
    simulated = 0
    batch = 0
    max_simulations = math.inf if spec.min_acceptance_rate <= 0 else spec.population / spec.min_acceptance_rate
    bar = tqdm(total=spec.population, desc=f"generation {generation}", unit="accepted", disable=quiet,
               file=sys.stderr, leave=False)
    counter = itertools.count(1)
    try:
        while len(accepted) < spec.population:
            if simulated >= max_simulations:
                return None, simulated
            rate = (len(accepted) + 1) / (simulated + 2) if simulated else max(rate_hint, 1e-3)
            need = spec.population - len(accepted)
            size = int(min(max(math.ceil(need / rate), MIN_BATCH), 4 * spec.population))
            if math.isinf(epsilon):
                size = need  # generation 0 accepts every prior draw
            proposals = sampler.propose(generation, batch, size)
            evaluations = _evaluate_batch(spec, store, cid, sampler, executor, generation, simulated, proposals,
                                          stored, lambda: bar.set_postfix(simulating=next(counter), refresh=True))
            for e in evaluations:
                simulated += 1
                if e.distance <= epsilon:
                    accepted.append(e)
                    bar.update(1)
                    if len(accepted) == spec.population:
                        break
            batch += 1
    finally:
        bar.close()
    frame = pd.DataFrame([{**e.parameters, "proposal": e.proposal, "distance": e.distance} for e in accepted])
    return frame, simulated


def _evaluate_batch(
    spec: CalibrationSpec,
    store: CalibrationStore,
    cid: str,
    sampler: _Sampler,
    executor: Executor,
    generation: int,
    first: int,
    proposals: pd.DataFrame,
    stored: dict[tuple[int, int], Evaluation],
    on_done: Callable[[], None] | None = None,
) -> list[Evaluation]:
    """Simulate the proposals not already stored, store them, and return all in proposal order."""
    values = [sampler.own_units(r) for r in proposals.to_dict("records")]
    todo = [k for k in range(len(values)) if (generation, first + k) not in stored]
    for k in range(len(values)):
        old = stored.get((generation, first + k))
        if old is not None and any(not math.isclose(old.parameters[n], values[k][n], rel_tol=1e-9)
                                   for n in sampler.names):
            raise MetastasimError(f"calibration {cid}: stored simulation {generation}/{first + k} does not match "
                                  "the re-drawn proposal; start again with --fresh")
    tasks = [Task(spec.cancer, {**spec.fixed, **values[k]}, tuple(spec.targets), spec.patients,
                  _simulation_seed(spec.seed, generation, first + k)) for k in todo]
    stats = executor.map(evaluate, tasks, on_done)
    new = [Evaluation(generation, first + k, values[k], s, distance(s, spec.targets)) for k, s in zip(todo, stats,
                                                                                                     strict=True)]
    if new:
        store.add_evaluations(cid, new)
        stored.update({(e.generation, e.proposal): e for e in new})
    return [stored[(generation, first + k)] for k in range(len(values))]


def _population(store: CalibrationStore, cid: str, spec: CalibrationSpec, generation: int) -> pd.DataFrame:
    particles = store.particles(cid, generation)
    values = pd.DataFrame(list(particles["parameters"]), columns=[p.name for p in spec.priors])
    return pd.concat([values, particles[["proposal", "weight", "distance"]]], axis=1)


def load_result(store: CalibrationStore, spec: CalibrationSpec, cid: str) -> CalibrationResult:
    """A stored calibration's generations and its last generation as the posterior."""
    info = store.info(cid)
    generations = store.generations(cid)
    if generations.empty:
        raise MetastasimError(f"calibration {cid} has no finished generation")
    return CalibrationResult(
        calibration_id=cid,
        spec=spec,
        generations=generations,
        posterior=_population(store, cid, spec, int(generations["generation"].iloc[-1])),
        simulations=int(info["simulations"] or 0),
        elapsed_seconds=float(info["elapsed_seconds"] or 0.0),
        stop_reason=str(info["stop_reason"] or ""),
        resumed_from_generation=None,
    )
