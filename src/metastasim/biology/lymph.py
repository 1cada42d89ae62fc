"""Lymph nodes: the regional basin, its sentinel node, and onward drainage.

Lymph from the primary reaches the sentinel node (node 0) first; cells it does not retain pass to other
regional nodes, then to distant nodes, then by the thoracic duct into the blood. Each regional node holds
at most one deposit: a cell arriving in an already involved node joins it. The number of involved regional
nodes sets the N category.
"""

from __future__ import annotations

from metastasim._jit import kernel
from metastasim.anatomy.sites import DEST_REGIONAL, DEST_SENTINEL
from metastasim.rng.philox import uniform
from metastasim.rng.streams import ST_NODE_CHOICE


@kernel
def choose_node(P, dest: int, source_node: int, patient_id: int, key) -> int:
    """Return the regional node a lymph-borne cell lodges in (sentinel, or another node chosen uniformly)."""
    n = P.regional_nodes
    if dest == DEST_SENTINEL or n == 1:
        return 0
    assert dest == DEST_REGIONAL
    u = uniform(P.stream_keys[ST_NODE_CHOICE], patient_id, key, 0)
    if source_node < 0:
        return 1 + min(int(u * (n - 1)), n - 2)  # any non-sentinel node
    pick = min(int(u * (n - 1)), n - 2)  # any node but the source
    return pick if pick < source_node else pick + 1
