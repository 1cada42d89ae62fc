"""Iwata, Kawasaki & Shigesada (2000) size-structured model of metastasis, solved independently of the engine.

Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size distribution of multiple
metastatic tumors. J Theor Biol 2000;203:177-186.

In Iwata's model a primary tumour grows from one cell by a growth law g(x), here Gompertz,
x(a) = K·exp(ln(1/K)·e^(-b·a)) (dx/da = b·x·ln(K/x)). Every tumour of size x, the primary and every
metastasis alike, founds new one-cell metastases at the colonisation rate β(x) = m·x^α, and metastases
grow by the same law. The density ρ(x, t) of metastases of size x obeys the transport equation

    ∂ρ/∂t + ∂(g·ρ)/∂x = 0,    g(1)·ρ(1, t) = β(x_p(t)) + ∫ β(x)·ρ(x, t) dx.

Along characteristics this is the Volterra renewal equation for the total founding rate B(t) (metastases
founded per day),

    B(t) = β(x_p(t)) + ∫_0^t B(s)·β(X(t - s)) ds,

where X(a) is the size of a metastasis of age a (the same law from one cell, so X = x_p). The expected
number of metastases at T is N(T) = ∫_0^T B(s) ds, and the expected number larger than y cells is
∫_0^(T - τ(y)) B(s) ds, τ(y) being the age at which a metastasis reaches y cells.

This module deliberately shares no code with the simulation engine (not even its growth law), so that
agreement between the two is evidence that both are right. The renewal equation is solved with the
trapezoidal rule on a uniform grid (second-order accurate); ``step`` sets the grid spacing in days.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_STEP_DAYS = 0.25


def gompertz_size(age: ArrayLike, b: float, K: float) -> np.ndarray:
    """Cells in a Gompertzian tumour grown from one cell for `age` days (Iwata et al. 2000, eq. 2).

    Args:
        age: age in days (negative ages are treated as 0: one cell).
        b: Gompertz rate (1/day) of dx/dt = b·x·ln(K/x).
        K: plateau size (cells).

    Returns:
        Size in cells, K·exp(ln(1/K)·e^(-b·age)).
    """
    a = np.maximum(np.asarray(age, dtype=float), 0.0)
    return K * np.exp(math.log(1.0 / K) * np.exp(-b * a))


def gompertz_age(size: ArrayLike, b: float, K: float) -> np.ndarray:
    """Age (days) at which a Gompertzian tumour grown from one cell reaches `size` cells.

    Args:
        size: size in cells (sizes of at most one cell give age 0; sizes of at least K give infinity).
        b: Gompertz rate (1/day).
        K: plateau size (cells).

    Returns:
        τ(y) = ln(ln K / ln(K / y)) / b.
    """
    y = np.asarray(size, dtype=float)
    inside = (y > 1.0) & (y < K)
    safe = np.where(inside, y, 2.0)
    tau = np.log(math.log(K) / np.log(K / safe)) / b
    return np.where(inside, tau, np.where(y <= 1.0, 0.0, np.inf))


def _grid(t_max: float, step: float) -> tuple[np.ndarray, float]:
    if not t_max > 0.0 or not step > 0.0:
        raise ValueError("the horizon and the step must be positive")
    n = max(1, math.ceil(t_max / step))
    return np.linspace(0.0, t_max, n + 1), t_max / n


def solve_renewal(forcing: np.ndarray, kernel: np.ndarray, h: float) -> np.ndarray:
    """Solve B(t) = f(t) + ∫_0^t B(s)·k(t - s) ds on a uniform grid by the trapezoidal rule.

    Args:
        forcing: f at the grid points t_i = i·h.
        kernel: k at the same grid points (k evaluated at age i·h).
        h: grid spacing.

    Returns:
        B at the grid points (global error O(h²) for smooth f and k).
    """
    n = forcing.shape[0]
    B = np.empty(n)
    B[0] = forcing[0]
    denom = 1.0 - 0.5 * h * kernel[0]
    if denom <= 0.0:
        raise ValueError("step too large for the trapezoidal rule: h·β(1)/2 must be below 1")
    for i in range(1, n):
        # Σ_{j=1}^{i-1} B_j·k_{i-j}, plus the half-weighted end points j = 0 and j = i.
        inner = np.dot(B[1:i], kernel[i - 1 : 0 : -1]) if i > 1 else 0.0
        B[i] = (forcing[i] + h * (0.5 * kernel[i] * B[0] + inner)) / denom
    return B


def _solve(
    t_max: float,
    m: float,
    alpha: float,
    b: float,
    K: float,
    step: float,
    invasion_rate_per_cell: float,
    metastases_seed: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the grid, B on it, and the cumulative integral ∫_0^t B on it."""
    t, h = _grid(t_max, step)
    size = gompertz_size(t, b, K)
    beta = m * size**alpha
    forcing = beta.copy()
    if math.isfinite(invasion_rate_per_cell):
        # Primary invasive once it has produced Exp(1)/u new cells: P(invasive at t) = 1 - e^(-u·(x_p - 1)).
        forcing *= -np.expm1(-invasion_rate_per_cell * (size - 1.0))
    kernel = beta if metastases_seed else np.zeros_like(beta)
    B = solve_renewal(forcing, kernel, h)
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * h * (B[1:] + B[:-1]))))
    return t, B, cumulative


def _cumulative_at(times: np.ndarray, t: np.ndarray, B: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """∫_0^s B for each s in `times`, with B linear between grid points (s below 0 gives 0)."""
    s = np.clip(times, 0.0, t[-1])
    h = t[1] - t[0]
    i = np.minimum((s / h).astype(np.int64), t.shape[0] - 2)
    frac = s - t[i]
    b_s = B[i] + (B[i + 1] - B[i]) * frac / h
    return cumulative[i] + 0.5 * frac * (B[i] + b_s)


def founding_rate(
    times: ArrayLike,
    m: float,
    alpha: float,
    b: float,
    K: float,
    *,
    step: float = DEFAULT_STEP_DAYS,
    invasion_rate_per_cell: float = math.inf,
    metastases_seed: bool = True,
) -> np.ndarray:
    """Expected metastases founded per day, B(t), in Iwata et al. (2000)'s model.

    B solves the renewal equation B(t) = β(x_p(t)) + ∫_0^t B(s)·β(X(t - s)) ds with β(x) = m·x^α and
    Gompertz growth from one cell, X = x_p (Iwata et al. 2000, J Theor Biol 203:177, boundary condition
    of their eq. 1 integrated along characteristics).

    Args:
        times: days at which to report B (within [0, max(times)], solved on a grid of spacing `step`).
        m: colonisation coefficient (metastases founded per day per cell^α).
        alpha: colonisation exponent α (Iwata et al. fitted 0.663).
        b: Gompertz rate (1/day).
        K: Gompertz plateau (cells).
        step: grid spacing in days of the trapezoidal solver.
        invasion_rate_per_cell: if finite, the primary seeds only once invasive, which happens when it has
            produced Exp(1)/u new cells (an extension used to bound the effect of a simulator's invasion
            step); the default, infinity, is Iwata's model (seeding from the first cell).
        metastases_seed: False switches off seeding by metastases (first generation only), for diagnostics.

    Returns:
        B at `times`, per day.
    """
    ts = np.asarray(times, dtype=float)
    t, B, _ = _solve(float(np.max(ts)), m, alpha, b, K, step, invasion_rate_per_cell, metastases_seed)
    return np.interp(ts, t, B)


def expected_metastases(
    T: ArrayLike,
    m: float,
    alpha: float,
    b: float,
    K: float,
    *,
    step: float = DEFAULT_STEP_DAYS,
    invasion_rate_per_cell: float = math.inf,
    metastases_seed: bool = True,
) -> np.ndarray:
    """Expected number of metastases founded by day T, N(T) = ∫_0^T B(s) ds (Iwata et al. 2000).

    Args:
        T: day or days (array) at which to count.
        m: colonisation coefficient (per day per cell^α).
        alpha: colonisation exponent α.
        b: Gompertz rate (1/day).
        K: Gompertz plateau (cells).
        step: grid spacing in days of the trapezoidal solver.
        invasion_rate_per_cell: see :func:`founding_rate`.
        metastases_seed: see :func:`founding_rate`.

    Returns:
        N at each T (same shape as T).
    """
    Ts = np.asarray(T, dtype=float)
    t_max = float(np.max(Ts))
    t, B, cumulative = _solve(t_max, m, alpha, b, K, step, invasion_rate_per_cell, metastases_seed)
    return _cumulative_at(Ts, t, B, cumulative)


def expected_size_distribution(
    T: float,
    sizes: ArrayLike,
    m: float,
    alpha: float,
    b: float,
    K: float,
    *,
    step: float = DEFAULT_STEP_DAYS,
    invasion_rate_per_cell: float = math.inf,
    metastases_seed: bool = True,
) -> np.ndarray:
    """Expected number of metastases larger than each size y at day T (Iwata et al. 2000).

    A metastasis founded at day s has X(T - s) cells at T, so it is larger than y exactly when it was
    founded before T - τ(y); the expected count is ∫_0^(T - τ(y)) B(s) ds, the complementary cumulative
    size distribution of Iwata's density ρ(x, T) (unnormalised).

    Args:
        T: day of observation.
        sizes: sizes y (cells).
        m: colonisation coefficient (per day per cell^α).
        alpha: colonisation exponent α.
        b: Gompertz rate (1/day).
        K: Gompertz plateau (cells).
        step: grid spacing in days of the trapezoidal solver.
        invasion_rate_per_cell: see :func:`founding_rate`.
        metastases_seed: see :func:`founding_rate`.

    Returns:
        Expected number of metastases with more than y cells, for each y.
    """
    t, B, cumulative = _solve(float(T), m, alpha, b, K, step, invasion_rate_per_cell, metastases_seed)
    latest = float(T) - gompertz_age(sizes, b, K)
    out = _cumulative_at(np.where(np.isfinite(latest), latest, -1.0), t, B, cumulative)
    return np.where(latest > 0.0, out, 0.0)


__all__ = [
    "expected_metastases",
    "expected_size_distribution",
    "founding_rate",
    "gompertz_age",
    "gompertz_size",
    "solve_renewal",
]
