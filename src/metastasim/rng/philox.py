"""Counter-based random numbers: Philox4x32-10, compiled with numba.

Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11.

Why counter-based: every random number in metastasim is a pure function of
(run seed, decision stream, patient id, lesion key, draw index). No generator state is carried from one
patient to the next, so a cohort gives bit-identical results however it is split into chunks, processes or
machines, and two scenarios that differ in one decision differ only in the draws of that decision.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel, kernel_inline

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_TWO53 = 9007199254740992.0


@kernel_inline
def philox4x32(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Return the Philox4x32-10 block for a 128-bit counter and a 64-bit key (each word holds 32 bits)."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _SHIFT32
        lo0 = p0 & _MASK32
        hi1 = p1 >> _SHIFT32
        lo1 = p1 & _MASK32
        c0 = (hi1 ^ c1 ^ k0) & _MASK32
        c1 = lo1
        c2 = (hi0 ^ c3 ^ k1) & _MASK32
        c3 = lo0
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return c0, c1, c2, c3


@kernel_inline
def mix64(a: np.uint64, b: np.uint64) -> np.uint64:
    """Mix two 64-bit words into one (splitmix64 finaliser); used to derive stream and lesion keys."""
    z = a ^ (b + np.uint64(0x9E3779B97F4A7C15) + (a << np.uint64(6)) + (a >> np.uint64(2)))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@kernel
def uniform_pair(
    stream_key: np.uint64, patient_id: np.int64, lesion_key: np.uint64, counter: np.int64
) -> tuple[float, float]:
    """Two independent uniforms on the open interval (0, 1) for one (stream, patient, lesion, counter)."""
    r0, r1, r2, r3 = philox4x32(
        np.uint64(counter) & _MASK32,
        lesion_key & _MASK32,
        lesion_key >> _SHIFT32,
        np.uint64(patient_id) & _MASK32,
        stream_key & _MASK32,
        stream_key >> _SHIFT32,
    )
    a = ((r0 >> np.uint64(5)) << np.uint64(26)) | (r1 >> np.uint64(6))
    b = ((r2 >> np.uint64(5)) << np.uint64(26)) | (r3 >> np.uint64(6))
    return (float(a) + 0.5) / _TWO53, (float(b) + 0.5) / _TWO53


@kernel
def uniform(stream_key: np.uint64, patient_id: np.int64, lesion_key: np.uint64, counter: np.int64) -> float:
    """One uniform on (0, 1)."""
    return uniform_pair(stream_key, patient_id, lesion_key, counter)[0]


@kernel
def exponential(stream_key: np.uint64, patient_id: np.int64, lesion_key: np.uint64, counter: np.int64) -> float:
    """One unit-rate exponential variate."""
    return -math.log(uniform(stream_key, patient_id, lesion_key, counter))


@kernel
def standard_normal(stream_key: np.uint64, patient_id: np.int64, lesion_key: np.uint64, counter: np.int64) -> float:
    """One standard normal variate (Box-Muller on the two uniforms of one block)."""
    u1, u2 = uniform_pair(stream_key, patient_id, lesion_key, counter)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@kernel
def poisson(
    stream_key: np.uint64, patient_id: np.int64, lesion_key: np.uint64, counter: np.int64, mean: float
) -> np.int64:
    """One Poisson variate: inversion for small means, PTRS (Hörmann 1993) for means of 10 and above.

    Sub-counters are taken from the upper half of the 32-bit counter space so that the draws of one call
    never collide with the draws of the next counter value.
    """
    if mean <= 0.0:
        return np.int64(0)
    if mean < 10.0:
        u = uniform(stream_key, patient_id, lesion_key, counter)
        k = 0
        p = math.exp(-mean)
        cdf = p
        while u > cdf and k < 1000:
            k += 1
            p *= mean / k
            cdf += p
        return np.int64(k)
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    for attempt in range(1000):
        u, v = uniform_pair(stream_key, patient_id, lesion_key, counter + (np.int64(attempt) << np.int64(20)))
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -mean + k * loglam - math.lgamma(k + 1):
            return np.int64(k)
    return np.int64(round(mean))
