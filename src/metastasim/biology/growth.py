"""Deterministic tumour growth laws, solved in closed form between events.

Each lesion grows by one law, chosen per cancer type:

- ``GOMPERTZ`` (Norton 1988 Cancer Res 48:7067): dx/dt = b·x·ln(K/x).
- ``LOGISTIC``: dx/dt = r·x·(1 - x/K).
- ``POWER`` (Hart et al. 1998 Br J Cancer 78:382): dx/dt = min(r_max·x, a·x^γ): exponential while small,
  then a power law with exponent γ < 1.

For every law the module gives the size after a time, the time to reach a size, the shedding integral
∫ x(s)^α ds (the "operational time" of every size-dependent Poisson process: intravasation, trait
acquisition) and its inverse. Laws are passed as an integer code and three rate parameters so that the
compiled event loop can call them without Python objects.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from metastasim._jit import kernel
from metastasim.biology.expint import e1, e1_inverse

GOMPERTZ = 0
LOGISTIC = 1
POWER = 2
LAW_CODES = {"gompertz": GOMPERTZ, "logistic": LOGISTIC, "power": POWER}

_GL_NODES = (
    -0.9602898564975363,
    -0.7966664774136267,
    -0.5255324099163290,
    -0.1834346424956498,
    0.1834346424956498,
    0.5255324099163290,
    0.7966664774136267,
    0.9602898564975363,
)
_GL_WEIGHTS = (
    0.1012285362903763,
    0.2223810344533745,
    0.3137066458778873,
    0.3626837833783620,
    0.3626837833783620,
    0.3137066458778873,
    0.2223810344533745,
    0.1012285362903763,
)


@kernel
def specific_rate_at(law: int, rate: float, capacity: float, exponent: float, x: float) -> float:
    """Per-cell net growth rate (1/day) at size x; for the power law `exponent` is γ and `capacity` r_max."""
    if law == GOMPERTZ:
        return rate * math.log(capacity / x) if x < capacity else 0.0
    if law == LOGISTIC:
        return rate * (1.0 - x / capacity)
    return min(capacity, rate * x ** (exponent - 1.0))


@kernel
def rate_for_doubling(
    law: int, doubling_time_days: float, reference_cells: float, capacity: float, exponent: float
) -> float:
    """Return the law's rate parameter that gives `doubling_time_days` at `reference_cells`."""
    r_ref = math.log(2.0) / doubling_time_days
    if law == GOMPERTZ:
        return r_ref / math.log(capacity / reference_cells)
    if law == LOGISTIC:
        return r_ref / (1.0 - reference_cells / capacity)
    return r_ref / reference_cells ** (exponent - 1.0)


@kernel
def _power_crossover(rate: float, r_max: float, gamma: float) -> float:
    return (rate / r_max) ** (1.0 / (1.0 - gamma))


@kernel
def size_after(law: int, rate: float, capacity: float, exponent: float, x0: float, dt: float) -> float:
    """Return the size (cells) after `dt` days of growth from `x0` cells."""
    if dt <= 0.0:
        return x0
    if law == GOMPERTZ:
        if x0 >= capacity:
            return x0
        return capacity * math.exp(math.log(x0 / capacity) * math.exp(-rate * dt))
    if law == LOGISTIC:
        return capacity / (1.0 + (capacity / x0 - 1.0) * math.exp(-rate * dt))
    r_max = capacity
    gamma = exponent
    xc = _power_crossover(rate, r_max, gamma)
    t = dt
    x = x0
    if x < xc:
        t_exp = math.log(xc / x) / r_max
        if t <= t_exp:
            return x * math.exp(r_max * t)
        t -= t_exp
        x = xc
    q = 1.0 - gamma
    return (x**q + q * rate * t) ** (1.0 / q)


@kernel
def size_before(law: int, rate: float, capacity: float, exponent: float, x1: float, dt: float) -> float:
    """Return the size (cells) from which `dt` days of growth reach `x1` cells: the inverse of `size_after`."""
    if dt <= 0.0:
        return x1
    if law == GOMPERTZ:
        if x1 >= capacity:
            return x1
        return capacity * math.exp(math.log(x1 / capacity) * math.exp(rate * dt))
    if law == LOGISTIC:
        return capacity / (1.0 + (capacity / x1 - 1.0) * math.exp(rate * dt))
    r_max = capacity
    gamma = exponent
    xc = _power_crossover(rate, r_max, gamma)
    if x1 <= xc:
        return x1 * math.exp(-r_max * dt)
    q = 1.0 - gamma
    t_power = (x1**q - xc**q) / (q * rate)
    if dt <= t_power:
        return (x1**q - q * rate * dt) ** (1.0 / q)
    return xc * math.exp(-r_max * (dt - t_power))


@kernel
def time_to_size(law: int, rate: float, capacity: float, exponent: float, x0: float, x1: float) -> float:
    """Return the days needed to grow from `x0` to `x1` cells (infinity if never reached, 0 if x1 <= x0)."""
    if x1 <= x0:
        return 0.0
    if law == GOMPERTZ:
        if x1 >= capacity or rate <= 0.0:
            return math.inf
        return math.log(math.log(capacity / x0) / math.log(capacity / x1)) / rate
    if law == LOGISTIC:
        if x1 >= capacity or rate <= 0.0:
            return math.inf
        return math.log((capacity / x0 - 1.0) / (capacity / x1 - 1.0)) / rate
    r_max = capacity
    gamma = exponent
    xc = _power_crossover(rate, r_max, gamma)
    t = 0.0
    x = x0
    if x < xc:
        if x1 <= xc:
            return math.log(x1 / x) / r_max
        t += math.log(xc / x) / r_max
        x = xc
    q = 1.0 - gamma
    return t + (x1**q - x**q) / (q * rate)


@kernel
def _logistic_shed_integral(rate: float, capacity: float, x0: float, dt: float, alpha: float) -> float:
    # Composite Gauss-Legendre in time: the integrand x(t)^α is smooth and monotone.
    panels = 16
    h = dt / panels
    total = 0.0
    for p in range(panels):
        mid = (p + 0.5) * h
        for j in range(8):
            t = mid + 0.5 * h * _GL_NODES[j]
            total += _GL_WEIGHTS[j] * size_after(LOGISTIC, rate, capacity, 0.0, x0, t) ** alpha
    return total * 0.5 * h


@kernel
def shed_integral(law: int, rate: float, capacity: float, exponent: float, x0: float, dt: float, alpha: float) -> float:
    """Return ∫_0^dt x(s)^α ds for growth from `x0`: the operational time of size-dependent processes."""
    if dt <= 0.0:
        return 0.0
    if law == GOMPERTZ:
        if x0 >= capacity:
            return capacity**alpha * dt
        y0 = math.log(capacity / x0)
        y1 = y0 * math.exp(-rate * dt)
        if alpha * y0 < 1e-12:
            return x0**alpha * dt
        return capacity**alpha / rate * (e1(alpha * y1) - e1(alpha * y0))
    if law == LOGISTIC:
        return _logistic_shed_integral(rate, capacity, x0, dt, alpha)
    r_max = capacity
    gamma = exponent
    xc = _power_crossover(rate, r_max, gamma)
    total = 0.0
    t = dt
    x = x0
    if x < xc:
        t_exp = math.log(xc / x) / r_max
        if t <= t_exp:
            return x**alpha * (math.exp(alpha * r_max * t) - 1.0) / (alpha * r_max)
        total += x**alpha * ((xc / x) ** alpha - 1.0) / (alpha * r_max)
        t -= t_exp
        x = xc
    q = 1.0 - gamma
    e = alpha / q + 1.0
    u0 = x**q
    u1 = u0 + q * rate * t
    return total + (u1**e - u0**e) / (e * q * rate)


@kernel
def shed_time(law: int, rate: float, capacity: float, exponent: float, x0: float, alpha: float, target: float) -> float:
    """Return dt with ∫_0^dt x(s)^α ds = target (the inverse of :func:`shed_integral`)."""
    if target <= 0.0:
        return 0.0
    if law == GOMPERTZ:
        if x0 >= capacity:
            return target / capacity**alpha
        y0 = math.log(capacity / x0)
        z0 = alpha * y0
        v = e1(z0) + target * rate / capacity**alpha
        z1 = e1_inverse(v)
        if z1 >= z0:
            return target / x0**alpha
        return math.log(z0 / z1) / rate
    if law == POWER:
        r_max = capacity
        gamma = exponent
        xc = _power_crossover(rate, r_max, gamma)
        t = 0.0
        x = x0
        remaining = target
        if x < xc:
            i_exp = x**alpha * ((xc / x) ** alpha - 1.0) / (alpha * r_max)
            if remaining <= i_exp:
                return math.log(1.0 + remaining * alpha * r_max / x**alpha) / (alpha * r_max)
            remaining -= i_exp
            t += math.log(xc / x) / r_max
            x = xc
        q = 1.0 - gamma
        e = alpha / q + 1.0
        u0 = x**q
        u1 = (u0**e + remaining * e * q * rate) ** (1.0 / e)
        return t + (u1 - u0) / (q * rate)
    # Logistic: bracket then Newton/bisection on the monotone integral.
    lo = 0.0
    hi = target / x0**alpha
    while shed_integral(law, rate, capacity, exponent, x0, hi, alpha) < target:
        lo = hi
        hi *= 2.0
        if hi > 1e9:
            return math.inf
    t = 0.5 * (lo + hi)
    for _ in range(100):
        f = shed_integral(law, rate, capacity, exponent, x0, t, alpha) - target
        if f > 0.0:
            hi = t
        else:
            lo = t
        slope = size_after(law, rate, capacity, exponent, x0, t) ** alpha
        t_new = t - f / slope
        if t_new <= lo or t_new >= hi:
            t_new = 0.5 * (lo + hi)
        if abs(t_new - t) < 1e-10 * max(1.0, t):
            return t_new
        t = t_new
    return t


@kernel
def operational_time(
    law: int, rate: float, capacity: float, exponent: float, alpha: float, e1_origin: float, dt: float
) -> float:
    """∫_0^dt x(s)^α ds for a lesion grown from one cell: its shedding clock since growth began.

    Keeping this clock per lesion means each event costs one evaluation (and one inversion) instead of
    two. `e1_origin` is E1(α·ln K), a constant of the Gompertz law (unused by the other laws).
    """
    if dt <= 0.0:
        return 0.0
    if law == GOMPERTZ:
        z = alpha * math.log(capacity) * math.exp(-rate * dt)
        return capacity**alpha / rate * (e1(z) - e1_origin)
    return shed_integral(law, rate, capacity, exponent, 1.0, dt, alpha)


@kernel
def operational_time_inverse(
    law: int, rate: float, capacity: float, exponent: float, alpha: float, e1_origin: float, clock: float
) -> float:
    """The growth time dt at which :func:`operational_time` reaches `clock` (infinity if never)."""
    if clock <= 0.0:
        return 0.0
    if law == GOMPERTZ:
        z = e1_inverse(e1_origin + clock * rate / capacity**alpha)
        z0 = alpha * math.log(capacity)
        return math.log(z0 / z) / rate if z < z0 else 0.0
    return shed_time(law, rate, capacity, exponent, 1.0, alpha, clock)


@kernel
def diameter_mm(cells: float, cells_per_cm3: float) -> float:
    """Diameter (mm) of a sphere holding `cells` cells at the given packing density."""
    volume_mm3 = cells / cells_per_cm3 * 1000.0
    return (6.0 * volume_mm3 / math.pi) ** (1.0 / 3.0)


@kernel
def cells_for_diameter(diameter: float, cells_per_cm3: float) -> float:
    """Cells in a sphere of `diameter` mm at the given packing density."""
    return math.pi / 6.0 * diameter**3 / 1000.0 * cells_per_cm3


@nb.njit(cache=True)
def size_after_array(law: int, rate: np.ndarray, capacity: float, exponent: float, dt: np.ndarray) -> np.ndarray:
    """Vectorised :func:`size_after` from one cell (used when writing result tables)."""
    out = np.empty(rate.shape[0])
    for i in range(rate.shape[0]):
        out[i] = size_after(law, rate[i], capacity, exponent, 1.0, dt[i]) if dt[i] >= 0.0 else 0.0
    return out


@nb.njit(cache=True)
def time_to_size_array(
    law: int, rate: np.ndarray, capacity: float, exponent: float, x0: np.ndarray, x1: np.ndarray
) -> np.ndarray:
    """Vectorised :func:`time_to_size`."""
    out = np.empty(rate.shape[0])
    for i in range(rate.shape[0]):
        out[i] = time_to_size(law, rate[i], capacity, exponent, x0[i], x1[i])
    return out
