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

#: Drug classes a lesion can carry a resistant subclone for (columns of PatientState.t_resistant).
RESISTANCE_NAMES: tuple[str, ...] = ("targeted", "chemotherapy")
N_RESISTANCES = len(RESISTANCE_NAMES)
RESIST_TARGETED, RESIST_CHEMO = range(N_RESISTANCES)
