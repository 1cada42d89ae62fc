"""The adjuvant colon trial on a grid of chemotherapy resistance rates and kill caps (docs/validation.md).

Each setting runs examples/trial_adjuvant_colon.toml's arms on 4,000 patients per arm (seed 1), as
`metastasim validate --patients 2000` does, and prints the hazard ratio of death and the 5-year survival of
each arm with their 95% intervals. Run: python examples/adjuvant_grid.py
"""

from __future__ import annotations

import time

from metastasim.validation.mechanism_sims import adjuvant_colon_results
from metastasim.validation.mechanism_targets import adjuvant_colon_targets

PATIENTS_PER_ARM = 4000
SEED = 1
#: (evolution.chemo_resistance_rate_per_cell, treatment.chemo_max_log10_kill_per_cycle)
GRID = [(0.0, 2.0), (1e-8, 2.0), (1e-7, 2.0), (1e-6, 2.0), (1e-7, 1.0), (1e-7, 0.5), (1e-6, 0.5)]


def main() -> None:
    """Print one row per setting of the grid."""
    targets = adjuvant_colon_targets()
    print("resistance rate | kill cap | " + " | ".join(t.id.split(".")[-1] for t in targets))
    for rate, cap in GRID:
        started = time.perf_counter()
        base = {"evolution.chemo_resistance_rate_per_cell": rate, "treatment.chemo_max_log10_kill_per_cycle": cap}
        results = adjuvant_colon_results(targets, PATIENTS_PER_ARM, SEED, base)
        cells = [f"{r.simulated:.3f} ({r.sim_low:.3f}-{r.sim_high:.3f})" for r in results]
        seconds = time.perf_counter() - started
        print(f"{rate:g} | {cap:g} | " + " | ".join(cells) + f" | n={results[0].n} | {seconds:.0f} s")


if __name__ == "__main__":
    main()
