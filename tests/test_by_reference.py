"""The by-reference handle on a NamedTuple of arrays (metastasim.by_reference) that the engine's kernels take."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import NamedTuple

import numba as nb
import numpy as np

from metastasim._jit import kernel
from metastasim.by_reference import by_reference


class _Pair(NamedTuple):
    values: np.ndarray
    step: float
    counts: np.ndarray


pair_reference = by_reference(_Pair)


@kernel
def _add_step(p, i: int) -> None:
    # a kernel (no reference counting) reading a scalar field and writing into an array field
    p.values[i] += p.step
    p.counts[i] += 1


@kernel
def _add_step_everywhere(p) -> float:
    for i in range(p.values.shape[0]):
        _add_step(p, i)
    return p.values.sum()


@nb.njit
def _from_python(p) -> float:
    return _add_step_everywhere(p)


def test_kernels_write_through_the_handle_into_the_tuples_own_arrays() -> None:
    pair = _Pair(np.arange(4.0), 0.5, np.zeros(4, np.int64))
    total = _from_python(pair_reference(pair))
    assert np.array_equal(pair.values, [0.5, 1.5, 2.5, 3.5])
    assert np.array_equal(pair.counts, [1, 1, 1, 1])
    assert total == 8.0


def test_the_handle_shares_the_arrays_and_can_be_used_again() -> None:
    values = np.zeros(3)
    ref = pair_reference(_Pair(values, 2.0, np.zeros(3, np.int64)))
    _from_python(ref)
    _from_python(ref)
    assert np.array_equal(values, [4.0, 4.0, 4.0])


def test_the_generated_types_pickle_by_name_so_a_later_process_finds_its_cached_machine_code() -> None:
    # numba's disk cache stores argument types pickled; a type that pickled by value (or not at all) would make
    # every new process compile the whole engine again
    ref = pair_reference(_Pair(np.zeros(2), 1.0, np.zeros(2, np.int64)))
    ref_type = nb.typeof(ref)
    again = pickle.loads(pickle.dumps(ref_type))
    assert again == ref_type
    assert type(again) is type(ref_type)
    assert type(again).__module__ == __name__


def test_with_the_jit_disabled_the_tuple_itself_is_the_handle() -> None:
    # benchmarks/rng_share.py runs the engine as plain Python (NUMBA_DISABLE_JIT=1) to count its draws
    code = (
        "from metastasim.engine.state import new_state, state_reference\n"
        "st = new_state(8, 2, 1)\n"
        "assert state_reference(st) is st\n"
        "print('ok')\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
