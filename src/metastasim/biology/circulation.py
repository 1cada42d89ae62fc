"""Circulation: which vein carried a seeding cell, and how many tumour cells are in the blood.

Circulating tumour cells are lost with a half-life of hours (Meng et al. 2004); at any moment the blood
holds about (cells entering per day) × (mean residence in days) of them, of which a 7.5 mL CellSearch
sample sees its share of the blood volume.
"""

from __future__ import annotations

from metastasim._jit import kernel
from metastasim.rng.philox import uniform
from metastasim.rng.streams import ST_ROUTE


@kernel
def choose_route(P, klass: int, dest: int, patient_id: int, key) -> int:
    """Return the first-pass bed (route) by which a blood-borne seeding cell reached its site."""
    u = uniform(P.stream_keys[ST_ROUTE], patient_id, key, 0)
    cum = P.route_cumulative[klass, dest]
    for bed in range(cum.shape[0]):
        if u <= cum[bed]:
            return bed
    return cum.shape[0] - 1


@kernel
def ctc_mean_per_7_5ml(cells_entering_blood_per_day: float, P) -> float:
    """Expected CTCs in a 7.5 mL blood sample when cells enter the blood at the given daily rate."""
    return cells_entering_blood_per_day * P.ctc_per_7_5ml_per_cell_per_day
