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
from metastasim.biology.traits import N_RESISTANCES, N_TRAITS
from metastasim.by_reference import by_reference
from metastasim.clinic.codes import N_BURDEN, N_CLINIC_EVENTS, N_SYMPTOMS

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
    S_T_LAST_CLINICAL_EVENT,
) = range(19)
N_SCALARS = 19

END_RUNNING, END_HORIZON, END_LETHAL, END_DEATH = 0, 1, 2, 3
END_REASONS = ("running", "horizon", "lethal tumour burden", "death")

# Phase of a lesion.
PHASE_DORMANT, PHASE_GROWING, PHASE_CLEARED = 0, 1, 2
# Why a lesion ended (PatientState.end_cause).
ENDED_NOT, ENDED_IMMUNE, ENDED_TREATMENT, ENDED_SURGERY = 0, 1, 2, 3
ENDED_NAMES = ("", "immune system", "treatment", "surgery")

# Indices into PatientState.clinic: the patient's clinical course (codes in clinic.codes).
(
    C_AGE_ONSET,
    C_SEX,
    C_SCREEN_PARTICIPANT,
    C_SCREEN_PHASE,
    C_TARGET_POSITIVE,
    C_IMMUNO_RESPONDER,
    C_CARE,
    C_ROUTE,
    C_VISIT_REASON,
    C_T_FIRST_SYMPTOM,
    C_T_DIAGNOSIS,
    C_T_OBS,
    C_N_OBS,
    C_M_OBS,
    C_GROUP_OBS,
    C_SEER_OBS,
    C_T_TRUE,
    C_N_TRUE,
    C_M_TRUE,
    C_GROUP_TRUE,
    C_SEER_TRUE,
    C_NODES_OBS,
    C_NODES_TRUE,
    C_SITES_AT_DX,
    C_SYMPTOMS_AT_DX,
    C_PLAN,
    C_STEP,
    C_LINE,
    C_CYCLE,
    C_COURSE,
    C_NADIR,
    C_T_SURVEIL_END,
    C_T_REMISSION,
    C_T_RECURRENCE,
    C_T_FIRST_TREATMENT,
    C_PRIMARY_REMOVED,
    C_DEATH_CAUSE,
    C_T_DEATH,
    C_LOG_N,
    C_LOG_OVERFLOW,
    C_SCAN_N,
    C_VISIT_N,
    C_SCREEN_N,
    C_N_FRACTURES,
    C_STOP_AT_DIAGNOSIS,
    C_STOPPED,
    C_DRAW_N,
    C_TARGETED_REGRESSION,
) = range(48)
N_CLINIC = 48
LOG_CAPACITY = 4096


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
    t_resistant: np.ndarray  # [capacity, N_RESISTANCES] day the first resistant subclone per drug class arises
    #   (-inf if the lesion was founded by a cell resistant to that class)
    resistance_cells: np.ndarray  # [capacity, N_RESISTANCES] the lesion's cells when that subclone arises
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
    t_origin: np.ndarray  # day growth first began (t_start moves when treatment kills cells)
    t_treated: np.ndarray  # day a treatment first touched this lesion (inf if never)
    t_detected: np.ndarray  # day a test first found this lesion (inf if never)
    clone_of: np.ndarray  # int32 lesion this resistant subclone split from (-1 otherwise)
    clone_resists: np.ndarray  # int8 drug class (biology.traits.RESIST_*) this subclone resists (-1 otherwise)
    end_cause: np.ndarray  # int8 ENDED_*: what eliminated or removed the lesion
    n_kills: np.ndarray  # int32 treatment kills applied (keys the extinction draws)
    cells_before: np.ndarray  # cells at the start of the current treatment course
    clinic: np.ndarray  # [N_CLINIC] the clinical course (C_* indices)
    clinic_t: np.ndarray  # [N_CLINIC_EVENTS] day of each pending clinical event (inf if none)
    symptom_threshold: np.ndarray  # [symptom] cells at which this person notices it
    symptom_day: np.ndarray  # [symptom] day it began (inf if not yet)
    site_cells: np.ndarray  # [N_BURDEN] burden by site, primary and total at the last check
    site_cells_prev: np.ndarray  # [N_BURDEN] the same at the check before
    log_day: np.ndarray  # clinical log (LOG_CAPACITY rows; C_LOG_N in use)
    log_kind: np.ndarray  # int16 clinic.codes.LOG_*
    log_a: np.ndarray  # int32
    log_b: np.ndarray  # int32
    log_x: np.ndarray
    log_y: np.ndarray


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
        t_resistant=np.full((capacity, N_RESISTANCES), np.inf),
        resistance_cells=np.full((capacity, N_RESISTANCES), np.inf),
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
        t_origin=np.zeros(capacity),
        t_treated=np.full(capacity, np.inf),
        t_detected=np.full(capacity, np.inf),
        clone_of=np.full(capacity, -1, np.int32),
        clone_resists=np.full(capacity, -1, np.int8),
        end_cause=np.zeros(capacity, np.int8),
        n_kills=np.zeros(capacity, np.int32),
        cells_before=np.zeros(capacity),
        clinic=np.zeros(N_CLINIC),
        clinic_t=np.full(N_CLINIC_EVENTS, np.inf),
        symptom_threshold=np.full(N_SYMPTOMS, np.inf),
        symptom_day=np.full(N_SYMPTOMS, np.inf),
        site_cells=np.zeros(N_BURDEN),
        site_cells_prev=np.zeros(N_BURDEN),
        log_day=np.zeros(LOG_CAPACITY),
        log_kind=np.zeros(LOG_CAPACITY, np.int16),
        log_a=np.zeros(LOG_CAPACITY, np.int32),
        log_b=np.zeros(LOG_CAPACITY, np.int32),
        log_x=np.zeros(LOG_CAPACITY),
        log_y=np.zeros(LOG_CAPACITY),
    )


#: `state_reference(state)`: the handle compiled code takes (the same arrays, passed as one pointer).
state_reference = by_reference(PatientState)


def copy_state(state: PatientState) -> PatientState:
    """Return an independent copy (for branching one patient into alternatives)."""
    return PatientState(*(a.copy() for a in state))


__all__ = ["PATH_DIRECT", "PATH_DORMANT", "PATH_ORIGIN", "PatientState", "copy_state", "new_state", "state_reference"]
