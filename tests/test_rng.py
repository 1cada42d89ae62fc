"""Counter-based random numbers: known answers, distribution, independence of streams."""

import numpy as np
import pytest
from scipy import stats

from metastasim.rng.philox import exponential, philox4x32, poisson, uniform, uniform_pair
from metastasim.rng.streams import STREAM_NAMES, stream_key, stream_keys

U = np.uint64

# Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_known_answers(counter, key, expected):
    out = philox4x32(*(U(c) for c in counter), *(U(k) for k in key))
    assert tuple(int(x) for x in out) == expected


def test_uniforms_are_uniform_and_open():
    key = stream_key(11, "test")
    u = np.array([uniform_pair(key, 3, U(5), i) for i in range(20000)]).ravel()
    assert u.min() > 0.0 and u.max() < 1.0
    # Kolmogorov-Smirnov at the 0.1% level: fails by chance once in a thousand seeds; seed fixed.
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_exponential_mean_and_poisson_moments():
    key = stream_key(5, "test")
    e = np.array([exponential(key, 1, U(1), i) for i in range(20000)])
    assert abs(e.mean() - 1.0) < 4 * 1.0 / np.sqrt(len(e))  # 4 standard errors
    for mean in (0.7, 4.0, 35.0, 1200.0):
        k = np.array([poisson(key, 2, U(9), i, mean) for i in range(4000)])
        assert abs(k.mean() - mean) < 4 * np.sqrt(mean / len(k))
        assert abs(k.var() / mean - 1.0) < 0.1  # variance/mean within 10% (sd of the ratio ~2%)


def test_streams_differ_by_name_and_seed_and_draw_depends_only_on_its_counter():
    keys = stream_keys(1)
    assert len(set(int(k) for k in keys)) == len(STREAM_NAMES)
    assert stream_key(1, "a") != stream_key(2, "a")
    k = stream_key(3, "x")
    assert uniform(k, 7, U(2), 5) == uniform(k, 7, U(2), 5)
    assert uniform(k, 7, U(2), 5) != uniform(k, 8, U(2), 5)
    assert uniform(k, 7, U(2), 5) != uniform(k, 7, U(3), 5)
