"""Local invasion: in situ to invasive, then deeper as the primary grows.

The primary breaks through its basement membrane, then invades deeper as it grows; depth sets the T
category and, once the serosa is breached, opens the body cavity.

Depth of invasion grows in proportion to the radius gained since invasion, with a patient-specific ratio
(tumours that spread along their organ invade less deeply for the same size).
"""

from __future__ import annotations

import math

from metastasim._jit import kernel
from metastasim.biology.growth import cells_for_diameter, diameter_mm, size_after, time_to_size


@kernel
def depth_mm(x_now: float, x_invasion: float, depth_per_radius: float, cells_per_cm3: float) -> float:
    """Depth of invasion (mm) of a primary of x_now cells that became invasive at x_invasion cells."""
    if x_now <= x_invasion:
        return 0.0
    return depth_per_radius * 0.5 * (diameter_mm(x_now, cells_per_cm3) - diameter_mm(x_invasion, cells_per_cm3))


@kernel
def breach_time(P, rate: float, t_invasion: float, depth_per_radius: float) -> float:
    """Day the invasion front reaches the serosa (infinity without a body cavity to seed)."""
    if P.coelomic_site < 0 or depth_per_radius <= 0.0:
        return math.inf
    x_inv = size_after(P.law, rate, P.capacity_arg, P.exponent_arg, 1.0, t_invasion)
    radius = 0.5 * diameter_mm(x_inv, P.cells_per_cm3) + P.coelomic_depth_mm / depth_per_radius
    x_needed = cells_for_diameter(2.0 * radius, P.cells_per_cm3)
    return t_invasion + time_to_size(P.law, rate, P.capacity_arg, P.exponent_arg, x_inv, x_needed)
