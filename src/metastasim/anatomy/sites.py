"""The places a lesion can live, and the names of the routes that bring cells there.

Sites are indexed integers in the compiled engine; these tuples are the single source of their names.
"""

from __future__ import annotations

#: Metastatic sites, in kernel index order. The primary tumour has its own index, :data:`PRIMARY`.
SITES: tuple[str, ...] = (
    "liver",
    "lung",
    "bone",
    "brain",
    "adrenal",
    "pleura",
    "peritoneum",
    "other",
    "regional_nodes",
    "distant_nodes",
)
LIVER, LUNG, BONE, BRAIN, ADRENAL, PLEURA, PERITONEUM, OTHER, REGIONAL_NODES, DISTANT_NODES = range(10)
PRIMARY = len(SITES)
N_SITES = len(SITES)

#: Sites reached by arterial or venous blood (peritoneum is reached across the coelomic cavity instead).
BLOOD_SITES: tuple[int, ...] = (LIVER, LUNG, BONE, BRAIN, ADRENAL, PLEURA, OTHER)

#: Distant sites: everything but the primary and its regional lymph node basin.
DISTANT_SITES: tuple[int, ...] = tuple(i for i in range(N_SITES) if i != REGIONAL_NODES)

#: First-pass capillary beds for blood leaving a lesion ("venous drainage").
BEDS: tuple[str, ...] = ("portal", "caval", "vertebral", "arterial", "thoracic_duct")
PORTAL, CAVAL, VERTEBRAL, ARTERIAL, THORACIC_DUCT = range(5)

#: Route labels stored on each lesion: how its founding cell arrived.
ROUTES: tuple[str, ...] = (
    "portal vein",
    "vena cava to the lungs",
    "vertebral venous plexus",
    "arterial blood",
    "thoracic duct",
    "lymphatic vessels",
    "transcoelomic",
    "origin",
)
ROUTE_LYMPHATIC = 5
ROUTE_TRANSCOELOMIC = 6
ROUTE_ORIGIN = 7

#: Shedding destinations of a lesion: blood arrival at each site, lymph to the sentinel node, to
#: another regional node, to distant nodes, and across the coelomic cavity.
N_BLOOD_DEST = N_SITES - 2  # liver..other; nodes are reached by lymph
DEST_SENTINEL = N_BLOOD_DEST
DEST_REGIONAL = N_BLOOD_DEST + 1
DEST_DISTANT_NODES = N_BLOOD_DEST + 2
DEST_COELOMIC = N_BLOOD_DEST + 3
N_DEST = N_BLOOD_DEST + 4


def site_index(name: str) -> int:
    """Return the index of a metastatic site by name."""
    return SITES.index(name)
