"""Named random streams: one stream per decision, keyed by a stable name.

A stream key is derived from the run seed and the decision's name, never from the order in which
decisions are made, so adding or changing one decision leaves every other decision's draws unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np

_MASK64 = (1 << 64) - 1

#: Every random decision in the engine, by name. The position in this tuple is the stream's index in
#: the kernel; the key depends only on the name, so the order here can change freely.
STREAM_NAMES: tuple[str, ...] = (
    "patient.doubling_time",
    "patient.invasion_depth",
    "evolution.trait_threshold",
    "evolution.resistance_threshold",
    "evolution.resistant_founder",
    "shedding.destination_threshold",
    "shedding.first_entry",
    "lymph.node_choice",
    "circulation.route",
    "colonisation.path",
    "colonisation.dormancy_duration",
    "immune.clearance",
    "circulation.ctc_count",
    "patient.age",
    "patient.sex",
    "patient.other_cause_death",
    "symptoms.threshold",
    "symptoms.visit_delay",
    "clinic.scan",
    "clinic.pathology",
    "clinic.incidental_scan",
    "screening.participation",
    "screening.test",
    "treatment.target",
    "treatment.immune_response",
    "treatment.extinction",
    "treatment.surgery",
    "treatment.toxicity",
    "treatment.targeted_sensitivity",
    "treatment.resection_candidate",
)


# Kernel indices of the streams, as compile-time constants for the engine.
ST_DOUBLING_TIME = 0
ST_INVASION_DEPTH = 1
ST_TRAIT_THRESHOLD = 2
ST_RESISTANCE_THRESHOLD = 3
ST_RESISTANT_FOUNDER = 4
ST_DESTINATION_THRESHOLD = 5
ST_FIRST_ENTRY = 6
ST_NODE_CHOICE = 7
ST_ROUTE = 8
ST_COLONISATION_PATH = 9
ST_DORMANCY_DURATION = 10
ST_IMMUNE_CLEARANCE = 11
ST_CTC_COUNT = 12
ST_AGE = 13
ST_SEX = 14
ST_OTHER_DEATH = 15
ST_SYMPTOM_THRESHOLD = 16
ST_VISIT_DELAY = 17
ST_SCAN = 18
ST_PATHOLOGY = 19
ST_INCIDENTAL = 20
ST_SCREEN_PARTICIPATION = 21
ST_SCREEN_TEST = 22
ST_TARGET = 23
ST_IMMUNE_RESPONSE = 24
ST_EXTINCTION = 25
ST_SURGERY = 26
ST_TOXICITY = 27
ST_TARGETED_SENSITIVITY = 28
ST_RESECTION_CANDIDATE = 29


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, name: str) -> np.uint64:
    """Return the 64-bit Philox key of the stream `name` for a run seeded with `seed`."""
    return np.uint64(_splitmix64(_splitmix64(seed & _MASK64) ^ zlib.crc32(name.encode("utf-8"))))


def stream_keys(seed: int) -> np.ndarray:
    """Return the keys of all streams in :data:`STREAM_NAMES` order, for the compiled kernel."""
    return np.array([stream_key(seed, n) for n in STREAM_NAMES], dtype=np.uint64)


def stream_index(name: str) -> int:
    """Return the kernel index of a stream by its name."""
    return STREAM_NAMES.index(name)
