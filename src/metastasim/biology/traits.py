"""The heritable traits a lineage can acquire as it grows more aggressive, as bits of a mask."""

from __future__ import annotations

TRAIT_NAMES: tuple[str, ...] = ("invasion", "motility", "circulation_survival", "colonisation", "immune_evasion")
N_TRAITS = len(TRAIT_NAMES)
INVASION, MOTILITY, CIRC_SURVIVAL, COLONISATION, IMMUNE_EVASION = range(N_TRAITS)
INVASION_BIT = 1 << INVASION
MOTILITY_BIT = 1 << MOTILITY
CIRC_SURVIVAL_BIT = 1 << CIRC_SURVIVAL
COLONISATION_BIT = 1 << COLONISATION
IMMUNE_EVASION_BIT = 1 << IMMUNE_EVASION
