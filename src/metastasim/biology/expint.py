"""The exponential integral E1, compiled: the Gompertz shedding integral is a difference of E1 values.

E1(z) = ∫_z^∞ e^{-s}/s ds. Power series below z = 2; above, the smooth function ln(z·e^z·E1(z)) of 1/z is
tabulated once (from scipy's E1) and interpolated by cubic Hermite polynomials with exact derivatives,
which is accurate to about 1e-14 and several times faster than the continued fraction (Press et al.,
Numerical Recipes, 3rd ed., section 6.3) that `_e1_fraction_times_exp` keeps as a reference.
`log_e1` stays accurate where E1 underflows.
"""

from __future__ import annotations

import math

import numpy as np

from metastasim._jit import kernel

_EULER_GAMMA = 0.5772156649015329
# Below this argument the power series converges faster than the continued fraction.
_SWITCH = 2.0


@kernel
def _e1_series(z: float) -> float:
    total = 0.0
    term = 1.0
    for k in range(1, 200):
        term *= -z / k
        contrib = -term / k
        total += contrib
        if abs(contrib) < 1e-16 * abs(total):
            break
    return -_EULER_GAMMA - math.log(z) + total


@kernel
def _e1_fraction_times_exp(z: float) -> float:
    """Return e^z·E1(z) for z >= 1 by the continued fraction."""
    tiny = 1e-300
    b = z + 1.0
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 500):
        an = -float(i * i)
        b += 2.0
        d = 1.0 / (an * d + b)
        c = b + an / c
        delta = c * d
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _fraction_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    """f(t) = ln(z·e^z·E1(z)) and df/dt on a uniform grid of t = SWITCH/z in [0, 1] (z >= SWITCH)."""
    from scipy.special import exp1

    t = np.linspace(0.0, 1.0, n)
    f = np.zeros(n)
    dfdt = np.zeros(n)
    z = _SWITCH / t[1:]
    g = np.empty_like(z)
    small = z < 600.0
    g[small] = z[small] * np.exp(z[small]) * exp1(z[small])
    zl = z[~small]
    g[~small] = 1 - 1 / zl + 2 / zl**2 - 6 / zl**3 + 24 / zl**4 - 120 / zl**5  # asymptotic series
    f[1:] = np.log(g)
    dfdt[1:] = ((1 + z) / z - 1 / g) * (-(z**2) / _SWITCH)
    dfdt[0] = -1.0 / _SWITCH  # f ≈ -1/z = -t/SWITCH near t = 0
    return f, dfdt


_TABLE_N = 4097
_FRACTION_F, _FRACTION_D = _fraction_table(_TABLE_N)


@kernel
def _log_e1_large(z: float) -> float:
    """Ln E1(z) for z >= SWITCH by cubic Hermite interpolation of the smooth ln(z·e^z·E1(z)) in 1/z."""
    t = _SWITCH / z
    x = t * (_TABLE_N - 1)
    i = min(int(x), _TABLE_N - 2)
    s = x - i
    h = 1.0 / (_TABLE_N - 1)
    s2 = s * s
    s3 = s2 * s
    f = (
        (2 * s3 - 3 * s2 + 1) * _FRACTION_F[i]
        + (s3 - 2 * s2 + s) * h * _FRACTION_D[i]
        + (-2 * s3 + 3 * s2) * _FRACTION_F[i + 1]
        + (s3 - s2) * h * _FRACTION_D[i + 1]
    )
    return f - z - math.log(z)


@kernel
def e1(z: float) -> float:
    """Exponential integral E1(z) for z > 0 (infinity at z <= 0)."""
    if z <= 0.0:
        return math.inf
    if z < _SWITCH:
        return _e1_series(z)
    return math.exp(_log_e1_large(z))


@kernel
def log_e1(z: float) -> float:
    """Natural logarithm of E1(z), accurate for large z where E1 itself underflows."""
    if z <= 0.0:
        return math.inf
    if z < _SWITCH:
        return math.log(_e1_series(z))
    return _log_e1_large(z)


def _inverse_table() -> tuple[np.ndarray, np.ndarray]:
    # ln E1(z) on a grid of u = ln z; decreasing, so it can be searched for a starting guess.
    from scipy.special import exp1

    u = np.linspace(_U_MIN, _U_MAX, _TABLE_SIZE)
    return u, np.log(exp1(np.exp(u)))


_U_MIN, _U_MAX, _TABLE_SIZE = -25.0, 4.0, 4096
_TABLE_U, _TABLE_LOG_E1 = _inverse_table()


@kernel
def _halley_step(z: float, target: float) -> float:
    le = log_e1(z)
    g = le - target
    w = math.exp(-z - le) / z
    g1 = -w
    g2 = w * (1.0 + 1.0 / z - w)
    z_new = z - 2.0 * g * g1 / (2.0 * g1 * g1 - g * g2)
    return z_new if z_new > 0.0 else 0.1 * z


@kernel
def e1_inverse(v: float) -> float:
    """Return z > 0 with E1(z) = v (E1 is strictly decreasing from +inf to 0).

    A tabulated ln E1 on a fine grid of ln z gives a start within about 1e-5; Halley's method on
    g(z) = ln E1(z) - ln v (with w = e^{-z}/(z·E1(z)), g' = -w, g'' = w·(1 + 1/z - w)) converges cubically,
    so two steps reach full double precision. Outside the table it iterates from an asymptotic start.
    """
    if v <= 0.0:
        return math.inf
    target = math.log(v)
    table = _TABLE_LOG_E1
    n = table.shape[0]
    if table[n - 1] < target < table[0]:
        lo = 0
        hi = n - 1
        while hi - lo > 1:  # table is decreasing
            mid = (lo + hi) >> 1
            if table[mid] > target:
                lo = mid
            else:
                hi = mid
        frac = (table[lo] - target) / (table[lo] - table[hi])
        z = math.exp(_TABLE_U[lo] + frac * (_TABLE_U[hi] - _TABLE_U[lo]))
        z = _halley_step(z, target)
        return _halley_step(z, target)
    if v > 0.1:
        z = math.exp(-v - _EULER_GAMMA)  # E1(z) ≈ -γ - ln z for small z
    else:
        w = -target
        z = max(w - math.log(w), 0.2)  # E1(z) ≈ e^{-z}/z for large z
    for _ in range(50):
        z_new = _halley_step(z, target)
        if abs(z_new - z) <= 1e-13 * z:
            return z_new
        z = z_new
    return z
