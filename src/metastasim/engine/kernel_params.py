"""Turn validated :class:`~metastasim.params.load.Parameters` into the flat arrays the compiled engine reads.

Everything that can be worked out once per parameter set is worked out here, in plain numpy: where blood
from each kind of lesion arrests (anatomy.routing), the per-destination seeding coefficients of each
lesion class, and the share of arrivals that grow at once rather than after dormancy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import exp1

from metastasim.anatomy.routing import arrival_by_bed
from metastasim.anatomy.sites import (
    ARTERIAL,
    BEDS,
    CAVAL,
    DEST_COELOMIC,
    DEST_DISTANT_NODES,
    DEST_REGIONAL,
    DEST_SENTINEL,
    DISTANT_NODES,
    LUNG,
    N_BLOOD_DEST,
    N_DEST,
    N_SITES,
    PERITONEUM,
    PORTAL,
    PRIMARY,
    REGIONAL_NODES,
    SITES,
    THORACIC_DUCT,
)
from metastasim.biology.growth import LAW_CODES, POWER
from metastasim.biology.traits import N_TRAITS, TRAIT_NAMES
from metastasim.by_reference import by_reference
from metastasim.errors import ScenarioError
from metastasim.params.load import Parameters
from metastasim.rng.streams import stream_keys

N_CLASSES = N_SITES + 1  # every metastatic site, plus the primary


class KernelParams(NamedTuple):
    """Flat, typed parameters for the compiled engine (one instance per run)."""

    law: int
    capacity_arg: float  # K for Gompertz and logistic, r_max for the power law
    exponent_arg: float  # γ for the power law, unused otherwise
    reference_cells: float
    doubling_time_days_median: float
    doubling_time_log_sd: float
    site_rate_factor: np.ndarray  # [class]
    cells_per_cm3: float
    lethal_burden_cells: float
    trait_rate_per_cell: np.ndarray  # [trait]
    motility_factor: float
    circulation_survival_factor: float
    colonisation_factor: float
    immune_evasion_strength: float
    resistance_rate_per_cell: np.ndarray  # [biology.traits.RESIST_*] surviving resistant lineages per new cell
    resistant_clone_founding_cells: float
    depth_per_radius_median: float
    depth_per_radius_log_sd: float
    coelomic_depth_mm: float
    coelomic_site: int  # -1 if none
    alpha: float
    e1_origin: float  # E1(α·ln K), constant of the Gompertz shedding clock
    blood_rate: float
    lymph_rate: float
    base_coefficient: np.ndarray  # [class, destination] seeding rate per unit operational time
    route_cumulative: np.ndarray  # [class, blood destination, bed] cumulative route choice
    direct_growth_probability: np.ndarray  # [site]
    dormancy_exit_rate_per_day: float
    regional_nodes: int
    immune_clearance_rate_per_day: float
    immune_escape_cells: float
    ctc_per_7_5ml_per_cell_per_day: float
    stream_keys: np.ndarray  # [stream]


def _table(params: Parameters, name: str) -> dict[str, float]:
    table = params[name]
    assert isinstance(table, dict)
    return table


def _colonisation_chain(params: Parameters) -> tuple[np.ndarray, np.ndarray]:
    """Per site: P(an arrived cell founds a lesion that grows, now or after waking) and P(it grows at once)."""
    extravasation = _table(params, "extravasation.probability")
    soil = _table(params, "colonisation.soil_affinity")
    p_prolif = float(params["colonisation.proliferation_probability"])
    persistence = float(params["colonisation.micrometastasis_persistence"])
    p_dormant = float(params["colonisation.dormancy_probability"])
    wake = float(params["colonisation.dormant_wake_rate_per_day"])
    death = float(params["colonisation.dormant_death_rate_per_day"])
    p_wake = wake / (wake + death) if wake + death > 0 else 0.0
    col_factor = float(params["evolution.colonisation_factor"])
    chain = np.zeros(N_SITES)
    direct = np.zeros(N_SITES)
    for i, site in enumerate(SITES):
        persist = soil[site] * persistence
        if persist * col_factor > 1.0:
            raise ScenarioError(
                f"colonisation.soil_affinity.{site} x colonisation.micrometastasis_persistence x "
                f"evolution.colonisation_factor = {persist * col_factor:g} exceeds 1 (it is a probability)"
            )
        grows_now = p_prolif
        grows_later = (1.0 - p_prolif) * p_dormant * p_wake
        chain[i] = extravasation[site] * persist * (grows_now + grows_later)
        direct[i] = grows_now / (grows_now + grows_later) if grows_now + grows_later > 0 else 1.0
    return chain, direct


def _class_drainage(params: Parameters) -> np.ndarray:
    """Share of each lesion class's venous blood reaching each first-pass bed: [class, bed]."""
    drainage = np.zeros((N_CLASSES, len(BEDS)))
    primary = _table(params, "anatomy.primary_drainage")
    for b, bed in enumerate(BEDS[:4]):
        drainage[PRIMARY, b] = primary[bed]
    for site in range(N_SITES):
        if site == LUNG:
            drainage[site, ARTERIAL] = 1.0  # pulmonary veins to the left heart
        elif site == PERITONEUM:
            drainage[site, PORTAL] = 1.0  # peritoneal surfaces of the gut drain to the portal vein
        elif site in (REGIONAL_NODES, DISTANT_NODES):
            pass  # nodes drain by efferent lymph, handled with the lymph destinations
        else:
            drainage[site, CAVAL] = 1.0
    return drainage


def build_kernel_params(params: Parameters, seed: int) -> KernelParams:
    """Precompute everything the compiled engine needs from a parameter set and a run seed."""
    law = LAW_CODES[str(params["growth.law"])]
    capacity_arg = (
        float(params["growth.max_rate_per_day"]) if law == POWER else float(params["growth.carrying_capacity_cells"])
    )
    if law != POWER and float(params["growth.reference_cells"]) >= capacity_arg:
        raise ScenarioError("growth.reference_cells must be below growth.carrying_capacity_cells")
    rate_factor = np.ones(N_CLASSES)
    factors = _table(params, "growth.site_rate_factor")
    for i, site in enumerate(SITES):
        rate_factor[i] = factors[site]

    arrival = arrival_by_bed(_table(params, "anatomy.flow_fraction"), _table(params, "anatomy.capillary_arrest"))
    chain, direct = _colonisation_chain(params)
    drainage = _class_drainage(params)
    blood = float(params["shedding.blood_rate"]) * float(params["circulation.blood_survival"])
    lymph = float(params["shedding.lymph_rate"]) * float(params["circulation.lymph_survival"])
    coelomic = float(params["shedding.coelomic_rate"]) * float(params["circulation.blood_survival"])
    r_s = float(params["lymph.sentinel_retention"])
    r_d = float(params["lymph.distant_node_retention"])
    met_factor = float(params["shedding.metastasis_factor"])
    coelomic_name = str(params["invasion.coelomic_site"])
    coelomic_site = SITES.index(coelomic_name) if coelomic_name != "none" else -1

    # Per lesion class: lymph shares to sentinel, other regional node, distant nodes and the thoracic duct.
    lymph_share = np.zeros((N_CLASSES, 4))
    lymph_share[PRIMARY] = (r_s, (1 - r_s) * r_s, (1 - r_s) ** 2 * r_d, (1 - r_s) ** 2 * (1 - r_d))
    lymph_share[REGIONAL_NODES] = (0.0, r_s, (1 - r_s) * r_d, (1 - r_s) * (1 - r_d))
    lymph_share[DISTANT_NODES] = (0.0, 0.0, r_d, 1 - r_d)

    base = np.zeros((N_CLASSES, N_DEST))
    by_bed = np.zeros((N_CLASSES, N_BLOOD_DEST, len(BEDS)))
    for k in range(N_CLASSES):
        scale = 1.0 if k == PRIMARY else met_factor
        for bed in range(len(BEDS)):
            share = drainage[k, bed] * blood if bed != THORACIC_DUCT else lymph_share[k, 3] * lymph
            by_bed[k, :, bed] = scale * share * arrival[bed] * chain[:N_BLOOD_DEST]
        base[k, :N_BLOOD_DEST] = by_bed[k].sum(axis=1)
        base[k, DEST_SENTINEL] = scale * lymph * lymph_share[k, 0] * chain[REGIONAL_NODES]
        base[k, DEST_REGIONAL] = scale * lymph * lymph_share[k, 1] * chain[REGIONAL_NODES]
        base[k, DEST_DISTANT_NODES] = scale * lymph * lymph_share[k, 2] * chain[DISTANT_NODES]
        if coelomic_site >= 0 and (k in (PRIMARY, coelomic_site)):
            base[k, DEST_COELOMIC] = scale * coelomic * chain[coelomic_site]
    # Only the primary lesion and node lesions use the lymph destinations.
    for k in range(N_SITES):
        if k not in (REGIONAL_NODES, DISTANT_NODES):
            base[k, DEST_SENTINEL:DEST_COELOMIC] = 0.0
    totals = by_bed.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        route_cum = np.where(totals > 0, np.cumsum(by_bed, axis=2) / totals, 1.0)

    birth = float(params["evolution.birth_rate_per_day"])
    death = float(params["evolution.death_rate_per_day"])
    half_life_days = float(params["circulation.half_life_hours"]) / 24.0
    mean_residence_days = half_life_days / math.log(2.0)
    return KernelParams(
        law=law,
        capacity_arg=capacity_arg,
        exponent_arg=float(params["growth.power_exponent"]),
        reference_cells=float(params["growth.reference_cells"]),
        doubling_time_days_median=float(params["growth.doubling_time_days_median"]),
        doubling_time_log_sd=float(params["growth.doubling_time_log_sd"]),
        site_rate_factor=rate_factor,
        cells_per_cm3=float(params["growth.cells_per_cm3"]),
        lethal_burden_cells=float(params["growth.lethal_burden_cells"]),
        trait_rate_per_cell=np.array(
            [
                float(params["evolution.invasion_rate_per_cell"]),
                float(params["evolution.motility_rate_per_cell"]),
                float(params["evolution.circulation_survival_rate_per_cell"]),
                float(params["evolution.colonisation_rate_per_cell"]),
                float(params["evolution.immune_evasion_rate_per_cell"]),
            ]
        ),
        motility_factor=float(params["evolution.motility_factor"]),
        circulation_survival_factor=float(params["evolution.circulation_survival_factor"]),
        colonisation_factor=float(params["evolution.colonisation_factor"]),
        immune_evasion_strength=float(params["evolution.immune_evasion_strength"]),
        # Surviving resistant lineages are founded at u·b/(b-d)·(1-d/b) = u per net new cell (Bozic et al. 2013);
        # resistance to chemotherapy arises at its own rate per cell (Goldie and Coldman 1979).
        resistance_rate_per_cell=np.array(
            [
                float(params["evolution.point_mutation_rate_per_bp"]) * float(params["evolution.resistance_mutations"]),
                float(params["evolution.chemo_resistance_rate_per_cell"]),
            ]
        ),
        resistant_clone_founding_cells=1.0 / (1.0 - death / birth),
        depth_per_radius_median=float(params["invasion.depth_per_radius_median"]),
        depth_per_radius_log_sd=float(params["invasion.depth_per_radius_log_sd"]),
        coelomic_depth_mm=float(params["invasion.coelomic_depth_mm"]),
        coelomic_site=coelomic_site,
        alpha=float(params["shedding.alpha"]),
        e1_origin=float(exp1(float(params["shedding.alpha"]) * math.log(capacity_arg))) if law != POWER else 0.0,
        blood_rate=float(params["shedding.blood_rate"]),
        lymph_rate=float(params["shedding.lymph_rate"]),
        base_coefficient=base,
        route_cumulative=route_cum,
        direct_growth_probability=direct,
        dormancy_exit_rate_per_day=float(params["colonisation.dormant_wake_rate_per_day"])
        + float(params["colonisation.dormant_death_rate_per_day"]),
        regional_nodes=int(params["lymph.regional_nodes"]),
        immune_clearance_rate_per_day=float(params["immune.clearance_rate_per_day"]),
        immune_escape_cells=float(params["immune.escape_cells"]),
        ctc_per_7_5ml_per_cell_per_day=mean_residence_days * 7.5 / float(params["circulation.blood_volume_ml"]),
        stream_keys=stream_keys(seed),
    )


#: `params_reference(P)`: the handle compiled code takes (the same fields, passed as one pointer).
params_reference = by_reference(KernelParams)

__all__ = ["N_TRAITS", "TRAIT_NAMES", "KernelParams", "build_kernel_params", "params_reference"]
