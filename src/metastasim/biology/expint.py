"""The exponential integral E1, compiled: the Gompertz shedding integral is a difference of E1 values.

E1(z) = ∫_z^∞ e^{-s}/s ds. Series below z = 1, continued fraction (modified Lentz) above, as in
Press et al., Numerical Recipes, 3rd ed., section 6.3. `log_e1` stays accurate where E1 underflows.
"""

from __future__ import annotations

import math

import numba as nb

_EULER_GAMMA = 0.5772156649015329


@nb.njit(cache=True)
def _e1_series(z: float) -> float:
    total = 0.0
    term = 1.0
    for k in range(1, 200):
        term *= -z / k
        contrib = -term / k
        total += contrib
        if abs(contrib) < 1e-17 * abs(total):
            break
    return -_EULER_GAMMA - math.log(z) + total


@nb.njit(cache=True)
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
        if abs(delta - 1.0) < 1e-16:
            break
    return h


@nb.njit(cache=True)
def e1(z: float) -> float:
    """Exponential integral E1(z) for z > 0 (infinity at z <= 0)."""
    if z <= 0.0:
        return math.inf
    if z < 1.0:
        return _e1_series(z)
    return _e1_fraction_times_exp(z) * math.exp(-z)


@nb.njit(cache=True)
def log_e1(z: float) -> float:
    """Natural logarithm of E1(z), accurate for large z where E1 itself underflows."""
    if z <= 0.0:
        return math.inf
    if z < 1.0:
        return math.log(_e1_series(z))
    return math.log(_e1_fraction_times_exp(z)) - z


@nb.njit(cache=True)
def e1_inverse(v: float) -> float:
    """Return z > 0 with E1(z) = v (E1 is strictly decreasing from +inf to 0)."""
    if v <= 0.0:
        return math.inf
    target = math.log(v)
    # Starting guess from the small- or large-argument asymptote, then Newton on u = ln z.
    if v > 0.2:
        z = math.exp(-v - _EULER_GAMMA)
    else:
        z = -target
        z = -target - math.log(max(z, 1.0))
        z = max(z, 1e-3)
    u = math.log(z)
    lo = -800.0
    hi = 7.0
    for _ in range(100):
        z = math.exp(u)
        f = log_e1(z) - target
        if f > 0.0:
            lo = u
        else:
            hi = u
        # d/du ln E1(e^u) = -e^{-z}/E1(z) = -exp(-z - log_e1(z))
        slope = -math.exp(-z - log_e1(z))
        step = f / slope
        u_new = u - step
        if u_new <= lo or u_new >= hi:
            u_new = 0.5 * (lo + hi)
        if abs(u_new - u) < 1e-14 * max(1.0, abs(u)):
            u = u_new
            break
        u = u_new
    return math.exp(u)
