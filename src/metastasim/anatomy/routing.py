"""Where blood-borne cells arrest: first-pass capillary beds, then arterial distribution by blood flow.

Cells leaving a lesion meet the capillary bed its veins drain to first: gut primaries drain by the portal
vein to the liver, most other organs by the venae cavae to the lungs, the prostate partly by the vertebral
venous plexus to the spine (Batson 1940), and lung lesions by the pulmonary veins straight into arterial
blood. A cell that passes a bed goes on: liver and bone beds return to the lungs, the lungs release into
arterial blood, and arterial blood carries it to each organ in proportion to its share of cardiac output.
In each bed a cell arrests with that organ's single-pass arrest probability. This module solves that
absorbing Markov chain once per parameter set, so the compiled engine only looks the answer up.
"""

from __future__ import annotations

import numpy as np

from metastasim.anatomy.sites import (
    ADRENAL,
    ARTERIAL,
    BEDS,
    BONE,
    BRAIN,
    CAVAL,
    LIVER,
    LUNG,
    N_BLOOD_DEST,
    OTHER,
    PLEURA,
    PORTAL,
    THORACIC_DUCT,
    VERTEBRAL,
)

_ARTERIAL_ORGANS = {"liver": LIVER, "bone": BONE, "brain": BRAIN, "adrenal": ADRENAL, "pleura": PLEURA, "other": OTHER}


def arrival_by_bed(flow: dict[str, float], arrest: dict[str, float]) -> np.ndarray:
    """Return P(cell arrests in site | it enters at bed) as an array [bed, blood destination].

    Args:
        flow: share of cardiac output per organ key (liver, gut, bone, brain, adrenal, pleura, other).
        arrest: single-pass arrest probability per organ key, plus "vertebral" for the plexus route.
    """
    n = N_BLOOD_DEST
    # Unknowns: absorption vectors for entering the venous return (lungs first), arterial blood and portal vein.
    # venous = a_lung·e_lung + (1 - a_lung)·arterial
    # arterial = Σ_o f_o [a_o e_o + (1 - a_o) venous] + f_gut·portal
    # portal = a_liver·e_liver + (1 - a_liver)·venous
    eye = np.eye(n)
    a_lung, a_liver = arrest["lung"], arrest["liver"]
    direct = np.zeros(n)  # arterial part absorbed directly
    back = 0.0  # arterial part returned to the venous side
    for key, site in _ARTERIAL_ORGANS.items():
        direct += flow[key] * arrest[key] * eye[site]
        back += flow[key] * (1.0 - arrest[key])
    gut = flow["gut"]
    # Substitute portal: arterial = direct + back·V + gut·(a_liver e_liver + (1 - a_liver) V)
    arterial_const = direct + gut * a_liver * eye[LIVER]
    arterial_coef = back + gut * (1.0 - a_liver)
    # venous = a_lung e_lung + (1 - a_lung)(arterial_const + arterial_coef·venous)
    venous = (a_lung * eye[LUNG] + (1.0 - a_lung) * arterial_const) / (1.0 - (1.0 - a_lung) * arterial_coef)
    arterial = arterial_const + arterial_coef * venous
    portal = a_liver * eye[LIVER] + (1.0 - a_liver) * venous
    vertebral = arrest["vertebral"] * eye[BONE] + (1.0 - arrest["vertebral"]) * venous
    table = np.zeros((len(BEDS), n))
    table[PORTAL] = portal
    table[CAVAL] = venous
    table[VERTEBRAL] = vertebral
    table[ARTERIAL] = arterial
    table[THORACIC_DUCT] = venous
    return table
