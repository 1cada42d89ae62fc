"""The exponential integral E1, compiled: the Gompertz shedding integral is a difference of E1 values.

E1(z) = ∫_z^∞ e^{-s}/s ds. Series below z = 2, continued fraction (modified Lentz) above, as in
Press et al., Numerical Recipes, 3rd ed., section 6.3. `log_e1` stays accurate where E1 underflows.
"""

from __future__ import annotations

import math

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


@kernel
def e1(z: float) -> float:
    """Exponential integral E1(z) for z > 0 (infinity at z <= 0)."""
    if z <= 0.0:
        return math.inf
    if z < _SWITCH:
        return _e1_series(z)
    return _e1_fraction_times_exp(z) * math.exp(-z)


@kernel
def log_e1(z: float) -> float:
    """Natural logarithm of E1(z), accurate for large z where E1 itself underflows."""
    if z <= 0.0:
        return math.inf
    if z < _SWITCH:
        return math.log(_e1_series(z))
    return math.log(_e1_fraction_times_exp(z)) - z


@kernel
def e1_inverse(v: float) -> float:
    """Return z > 0 with E1(z) = v (E1 is strictly decreasing from +inf to 0).

    Halley's method on g(z) = ln E1(z) - ln v from an asymptotic start; with w = e^{-z}/(z·E1(z)),
    g' = -w and g'' = w·(1 + 1/z - w). Cubic convergence makes two or three steps enough.
    """
    if v <= 0.0:
        return math.inf
    target = math.log(v)
    if v > 0.1:
        z = math.exp(-v - _EULER_GAMMA)  # E1(z) ≈ -γ - ln z for small z
    else:
        w = -target
        z = max(w - math.log(w), 0.2)  # E1(z) ≈ e^{-z}/z for large z
    for _ in range(50):
        le = log_e1(z)
        g = le - target
        w = math.exp(-z - le) / z
        g1 = -w
        g2 = w * (1.0 + 1.0 / z - w)
        step = 2.0 * g * g1 / (2.0 * g1 * g1 - g * g2)
        z_new = z - step
        if z_new <= 0.0:
            z_new = 0.1 * z
        if abs(z_new - z) <= 1e-13 * z:
            return z_new
        z = z_new
    return z
