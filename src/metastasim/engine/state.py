"""One patient's full simulated state as a struct of arrays (saved and restored by engine.patient).

Lesions are rows (struct of arrays, not one object per lesion); the patient's scalars live in a small
float array. The compiled event loop reads and writes these arrays in place, so a state saved at any day
can be restored and continued, bit for bit, under the same or different later decisions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from metastasim.anatomy.sites import N_DEST
from metastasim.biology.colonisation import PATH_DIRECT, PATH_DORMANT, PATH_ORIGIN
from metastasim.biology.traits import N_TRAITS

# Indices into PatientState.scalars.
(
    S_PATIENT_ID,
    S_DOUBLING_TIME,
    S_DEPTH_PER_RADIUS,
    S_GROWTH_RATE,
    S_T_INVASION,
    S_T_BREACH,
    S_T_FIRST_BLOOD,
    S_T_FIRST_LYMPH,
    S_T_NOW,
    S_T_END,
    S_END_REASON,
    S_N_LESIONS,
    S_OVERFLOW,
    S_ABSORBED,
    S_CENSUS_DONE,
    S_DORMANT_ARRIVALS,
    S_T_CHECK,
    S_T_LAST_CHECK,
    S_BURDEN_LAST_CHECK,
) = range(19)
N_SCALARS = 19

END_RUNNING, END_HORIZON, END_LETHAL = 0, 1, 2
END_REASONS = ("running", "horizon", "lethal tumour burden")

# Phase of a lesion.
PHASE_DORMANT, PHASE_GROWING, PHASE_CLEARED = 0, 1, 2


class PatientState(NamedTuple):
    """Arrays of one patient's simulation; rows of the lesion arrays are lesions in order of seeding."""

    scalars: np.ndarray  # [N_SCALARS] float64
    key: np.ndarray  # uint64 lineage key (stable under unrelated parameter changes)
    parent: np.ndarray  # int32 row of the seeding lesion (-1 for the primary)
    site: np.ndarray  # int8 site index (PRIMARY for the primary)
    node: np.ndarray  # int16 regional node index, -1 elsewhere
    route: np.ndarray  # int8 route index (anatomy.sites.ROUTES)
    path: np.ndarray  # int8 PATH_* (biology.colonisation)
    phase: np.ndarray  # int8 PHASE_*
    t_born: np.ndarray  # day the founding cell arrived
    t_start: np.ndarray  # day growth began (later than t_born after dormancy)
    rate: np.ndarray  # growth-law rate parameter of this lesion
    inherited: np.ndarray  # int32 trait bitmask received from the seeding lesion
    traits: np.ndarray  # int32 trait bitmask currently in effect
    trait_time: np.ndarray  # [capacity, N_TRAITS] day each trait is (or will be) acquired
    t_resistant: np.ndarray  # day the first resistant subclone arises (-inf if founded by a resistant cell)
    t_clear: np.ndarray  # day of immune elimination (inf if it escapes)
    n_seeded: np.ndarray  # int32 seeding events this lesion has produced
    n_seeded_dest: np.ndarray  # [capacity, N_DEST] int32 seedings per destination (keys its draws)
    remaining: np.ndarray  # [capacity, N_DEST] unit-exponential thresholds still to run per destination
    coefficient: np.ndarray  # [capacity, N_DEST] current seeding coefficients
    t_flush: np.ndarray  # day up to which `remaining` is current
    clock_at_flush: np.ndarray  # shedding clock ∫x^α dt since growth began, at t_flush
    t_shed: np.ndarray  # day of this lesion's next seeding
    dest_next: np.ndarray  # int8 destination of that seeding
    t_next: np.ndarray  # day of this lesion's next event of any kind
    node_lesion: np.ndarray  # [regional nodes] int32 row of the lesion in each node, -1 if none
    version: np.ndarray  # int32 per lesion: bumped whenever its pending event is moved (engine.queue)
    heap_time: np.ndarray  # event queue: pending times
    heap_lesion: np.ndarray  # event queue: lesion rows
    heap_version: np.ndarray  # event queue: lesion version when pushed
    heap_size: np.ndarray  # [1] entries in use
    census_total_cells: np.ndarray  # [years]
    census_primary_cells: np.ndarray  # [years]
    census_ctc: np.ndarray  # [years] int64 CTCs per 7.5 mL drawn at each census
    census_ctc_mean: np.ndarray  # [years]


def new_state(capacity: int, regional_nodes: int, years: int) -> PatientState:
    """Allocate an empty state with room for `capacity` lesions."""
    return PatientState(
        scalars=np.zeros(N_SCALARS),
        key=np.zeros(capacity, np.uint64),
        parent=np.full(capacity, -1, np.int32),
        site=np.zeros(capacity, np.int8),
        node=np.full(capacity, -1, np.int16),
        route=np.zeros(capacity, np.int8),
        path=np.zeros(capacity, np.int8),
        phase=np.zeros(capacity, np.int8),
        t_born=np.zeros(capacity),
        t_start=np.zeros(capacity),
        rate=np.zeros(capacity),
        inherited=np.zeros(capacity, np.int32),
        traits=np.zeros(capacity, np.int32),
        trait_time=np.full((capacity, N_TRAITS), np.inf),
        t_resistant=np.full(capacity, np.inf),
        t_clear=np.full(capacity, np.inf),
        n_seeded=np.zeros(capacity, np.int32),
        n_seeded_dest=np.zeros((capacity, N_DEST), np.int32),
        remaining=np.zeros((capacity, N_DEST)),
        coefficient=np.zeros((capacity, N_DEST)),
        t_flush=np.zeros(capacity),
        clock_at_flush=np.zeros(capacity),
        t_shed=np.full(capacity, np.inf),
        dest_next=np.full(capacity, -1, np.int8),
        t_next=np.full(capacity, np.inf),
        node_lesion=np.full(regional_nodes, -1, np.int32),
        version=np.zeros(capacity, np.int32),
        heap_time=np.zeros(4 * capacity),
        heap_lesion=np.zeros(4 * capacity, np.int32),
        heap_version=np.zeros(4 * capacity, np.int32),
        heap_size=np.zeros(1, np.int64),
        census_total_cells=np.zeros(years),
        census_primary_cells=np.zeros(years),
        census_ctc=np.zeros(years, np.int64),
        census_ctc_mean=np.zeros(years),
    )


def copy_state(state: PatientState) -> PatientState:
    """Return an independent copy (for branching one patient into alternatives)."""
    return PatientState(*(a.copy() for a in state))


__all__ = ["PATH_DIRECT", "PATH_DORMANT", "PATH_ORIGIN", "PatientState", "copy_state", "new_state"]
