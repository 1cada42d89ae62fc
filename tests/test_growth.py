"""Growth laws in closed form against numerical integration, and their inverses."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import exp1

from metastasim.biology import growth as g
from metastasim.biology.expint import _e1_fraction_times_exp, e1, e1_inverse, log_e1

LAWS = [
    (g.GOMPERTZ, 5.76e-4, 3e12, 0.0),
    (g.LOGISTIC, 0.01, 3e12, 0.0),
    (g.POWER, 400.0, 0.03, 0.5),
]


@pytest.mark.parametrize("z", [1e-9, 1e-3, 0.5, 1.99, 2.0, 7.0, 30.0, 300.0])
def test_e1_matches_scipy_and_inverts(z):
    assert e1(z) == pytest.approx(exp1(z), rel=1e-13)
    assert e1_inverse(exp1(z)) == pytest.approx(z, rel=1e-11)


def test_tabulated_e1_agrees_with_the_continued_fraction():
    """The fast table above z = 2 against the reference continued fraction (Numerical Recipes 6.3)."""
    for z in np.linspace(2.0, 60.0, 997):
        reference = math.log(_e1_fraction_times_exp(z)) - z
        assert log_e1(z) == pytest.approx(reference, rel=1e-13, abs=1e-12)


@pytest.mark.parametrize(("law", "rate", "cap", "ex"), LAWS)
def test_size_and_time_to_size_are_inverse(law, rate, cap, ex):
    for x0, dt in [(1.0, 500.0), (1e6, 2000.0), (3e9, 100.0)]:
        x1 = g.size_after(law, rate, cap, ex, x0, dt)
        assert x1 > x0
        assert g.time_to_size(law, rate, cap, ex, x0, x1) == pytest.approx(dt, rel=1e-9)


@pytest.mark.parametrize(("law", "rate", "cap", "ex"), LAWS)
def test_size_before_undoes_size_after(law, rate, cap, ex):
    """Including the power law's switch from exponential to power growth (at 1.8e8 cells here)."""
    for x0, dt in [(1.0, 500.0), (1e6, 2000.0), (1e8, 300.0), (3e9, 100.0)]:
        x1 = g.size_after(law, rate, cap, ex, x0, dt)
        assert g.size_before(law, rate, cap, ex, x1, dt) == pytest.approx(x0, rel=1e-9)
    assert g.size_before(law, rate, cap, ex, 1e9, 0.0) == 1e9


@pytest.mark.parametrize(("law", "rate", "cap", "ex"), LAWS)
def test_shedding_integral_matches_quadrature_and_inverts(law, rate, cap, ex):
    alpha = 0.663
    for x0, dt in [(1.0, 3000.0), (1e7, 1500.0)]:
        closed = g.shed_integral(law, rate, cap, ex, x0, dt, alpha)
        numeric = quad(lambda t, x0=x0: g.size_after(law, rate, cap, ex, x0, t) ** alpha, 0, dt, limit=400)[0]
        assert closed == pytest.approx(numeric, rel=1e-8)
        assert g.shed_time(law, rate, cap, ex, x0, alpha, closed) == pytest.approx(dt, rel=1e-8)


def test_operational_clock_is_the_shedding_integral_from_one_cell():
    rate, cap, alpha = 6e-4, 3e12, 0.663
    origin = float(exp1(alpha * math.log(cap)))
    for dt in (10.0, 1000.0, 5000.0):
        clock = g.operational_time(g.GOMPERTZ, rate, cap, 0.0, alpha, origin, dt)
        assert clock == pytest.approx(g.shed_integral(g.GOMPERTZ, rate, cap, 0.0, 1.0, dt, alpha), rel=1e-9)
        assert g.operational_time_inverse(g.GOMPERTZ, rate, cap, 0.0, alpha, origin, clock) == pytest.approx(
            dt, rel=1e-8
        )


def test_doubling_time_at_reference_size():
    for law, _, cap, ex in LAWS:
        rate = g.rate_for_doubling(law, 211.0, 1e10, cap, ex)
        x2 = g.size_after(law, rate, cap, ex, 1e10, 1.0)
        r = math.log(x2 / 1e10)  # specific growth rate over one day
        assert math.log(2) / r == pytest.approx(211.0, rel=1e-2)


def test_diameter_round_trip():
    cells = g.cells_for_diameter(10.0, 1e9)
    assert cells == pytest.approx(math.pi / 6 * 1e9, rel=1e-12)  # 10 mm sphere = 0.524 cm3
    assert g.diameter_mm(cells, 1e9) == pytest.approx(10.0)
    assert np.isfinite(g.time_to_size(g.GOMPERTZ, 1e-3, 3e12, 0.0, 1.0, 1e12))
    assert g.time_to_size(g.GOMPERTZ, 1e-3, 3e12, 0.0, 1.0, 4e12) == math.inf
