"""Turn the clinic's parameters and data tables into the flat arrays the compiled clinic reads.

One :class:`ClinicParams` per run (or per trial arm): the engine's biology stays in KernelParams, so two
arms that differ only in the clinic share one biology.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from metastasim.biology.growth import cells_for_diameter
from metastasim.by_reference import by_reference
from metastasim.clinic.codes import (
    COMBINED_MODALITIES,
    IMAGING_TARGETS,
    MODALITIES,
    N_IMAGING_TARGETS,
    N_MODALITIES,
    N_STEPS,
    N_SYMPTOMS,
    SCREENING_TESTS,
    STAGE_GROUPS,
    SYMPTOM_NAMES,
    TREATMENTS,
    VITAL_ORGANS,
    symptom_site_mask,
)
from metastasim.clinic.demography import load_demography, load_life_table
from metastasim.data import read_toml
from metastasim.errors import ScenarioError
from metastasim.params.load import Parameters
from metastasim.units import DAYS_PER_YEAR

GROUP_RULES = ("generic", "colorectal", "breast", "lung")


class ClinicParams(NamedTuple):
    """Flat, typed parameters of the compiled clinic (one instance per run or trial arm)."""

    active: int  # 0: natural history only (no clinic, no death from other causes)
    age_at_onset_median_years: float
    age_sd_years: float
    share_male: float
    cumulative_hazard: np.ndarray  # [sex, age] other-cause mortality (life table)
    symptom_threshold_cells: np.ndarray  # [symptom] median onset burden
    symptom_mask: np.ndarray  # [symptom] int64 bitmask of burden indices
    symptom_log_sd: float
    visit_delay_median_days: float
    visit_delay_log_sd: float
    organ_failure_cells: np.ndarray  # [vital organ]
    organ_mask: np.ndarray  # [vital organ] int64
    organ_cause: np.ndarray  # [vital organ] int64
    sens_edges: np.ndarray  # [modality, target, step] mm
    sens_values: np.ndarray  # [modality, target, step]
    staging_modality: int
    primary_modality: int
    sentinel_node_biopsy: int
    sentinel_sensitivity: float
    pathology_macro: float
    pathology_micro: float
    revisit_days: float
    treatment_delay_days: float
    incidental_rate_per_day: float
    surveillance_interval_days: float
    surveillance_days: float
    t_by_depth: int
    t_thresholds_mm: np.ndarray  # [3]
    n_thresholds: np.ndarray  # [k]
    group_rule: int
    screen_test: int
    screen_start_age: float
    screen_stop_age: float
    screen_interval_days: float
    screen_uptake: float
    screen_sens_early: float
    screen_sens_advanced: float
    screen_min_cells: float
    screen_followup_days: float
    screen_followup_adherence: float
    plan: np.ndarray  # [stage group] int64 bitmask of TREATMENTS
    max_age_systemic: float
    chemo_ln_kill: float
    chemo_max_ln_kill: float
    cycle_days: float
    adjuvant_cycles: int
    palliative_max_cycles: int
    assess_every: int
    brain_penetration: float
    chemo_death: float
    second_line_factor: float
    target_share: float
    targeted_regression: float
    targeted_regression_log_sd: float
    immuno_response: float
    immuno_ln_kill: float
    immuno_max_cycles: int
    rt_ln_survival_curative: float  # ln of the LQ surviving fraction of a whole course
    rt_ln_survival_palliative: float
    rt_days_curative: float
    surgery_mortality: float
    metastasectomy_mortality: float
    margin_positive: float
    residual_fraction: float
    max_resectable: int
    resection_candidate_share: float
    micro_cells: float  # cells of a 0.2 mm deposit


def _combine(edges: np.ndarray, values: np.ndarray, combined: int, parts: list[int]) -> None:
    """Fill the step table of a combined modality (PET/CT): at every size the highest sensitivity of its parts.

    One draw per lesion decides every modality, so the combined scan finds each lesion either part finds.
    """
    for t in range(edges.shape[1]):
        steps = sorted({float(d) for m in parts for d in edges[m, t] if np.isfinite(d)})
        if len(steps) > N_STEPS:
            raise ValueError(f"{MODALITIES[combined]} table for {IMAGING_TARGETS[t]} needs more than {N_STEPS} steps")
        for k, d in enumerate(steps):
            best = 0.0
            for m in parts:
                i = int(np.searchsorted(edges[m, t], d, side="right")) - 1
                if i >= 0:
                    best = max(best, float(values[m, t, i]))
            edges[combined, t, k] = d
            values[combined, t, k] = best


def _imaging_tables() -> tuple[np.ndarray, np.ndarray, float, dict[str, str]]:
    """Sensitivity steps by modality and target from data/imaging.toml (read once per process; copies returned)."""
    edges, values, extra, sources = _parse_imaging_tables()
    return edges.copy(), values.copy(), extra, dict(sources)


@functools.lru_cache(maxsize=1)
def _parse_imaging_tables() -> tuple[np.ndarray, np.ndarray, float, dict[str, str]]:
    data = read_toml("imaging.toml")
    edges = np.full((N_MODALITIES, N_IMAGING_TARGETS, N_STEPS), np.inf)
    values = np.zeros((N_MODALITIES, N_IMAGING_TARGETS, N_STEPS))
    sources: dict[str, str] = {}
    for m, modality in enumerate(MODALITIES):
        for target, row in data.get(modality, {}).items():
            t = IMAGING_TARGETS.index(target)
            steps = row["steps"]
            for k, (d, s) in enumerate(steps):
                edges[m, t, k] = d
                values[m, t, k] = s
            sources[f"{modality}.{target}"] = row["source"]
    for combined, parts in COMBINED_MODALITIES.items():
        _combine(edges, values, MODALITIES.index(combined), [MODALITIES.index(m) for m in parts])
        for target in IMAGING_TARGETS:
            cited = [f"{m}.{target}" for m in parts if f"{m}.{target}" in sources]
            if cited:
                sources[f"{combined}.{target}"] = f"the better of {' and '.join(cited)} at each size (one reading)"
    sentinel = float(data["sentinel_node_biopsy"]["sensitivity"]["value"])
    return edges, values, sentinel, sources


def imaging_sources() -> dict[str, str]:
    """Citation of every imaging sensitivity table, keyed ``modality.organ``."""
    return _imaging_tables()[3]


def _plan_mask(names: list[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << TREATMENTS.index(name)
    return mask


def _lq_ln_survival(alpha: float, alpha_beta: float, dose: float, fractions: int) -> float:
    """Ln of the linear-quadratic surviving fraction: -n(αd + βd²) with β = α/(α/β)."""
    beta = alpha / alpha_beta
    return -fractions * (alpha * dose + beta * dose * dose)


def build_clinic_params(params: Parameters, active: bool = True) -> ClinicParams:
    """Precompute the clinic's arrays from a validated parameter set."""
    p = params
    demo = load_demography(p.cancer)
    onset_cells = p["symptoms.onset_cells"]
    cpc = float(p["growth.cells_per_cm3"])
    thresholds = np.zeros(N_SYMPTOMS)
    thresholds[0] = cells_for_diameter(float(p["symptoms.primary_onset_diameter_mm"]), cpc)
    for i, name in enumerate(SYMPTOM_NAMES[1:], start=1):
        thresholds[i] = float(onset_cells[name])
    failure = p["organs.failure_cells"]
    from metastasim.anatomy.sites import BRAIN, LIVER, LUNG, PLEURA

    masks = {"liver": 1 << LIVER, "lung": (1 << LUNG) | (1 << PLEURA), "brain": 1 << BRAIN}
    edges, values, sentinel, _ = _imaging_tables()
    n_thr = np.asarray(p["staging.n_thresholds"], float)
    plans = np.array([_plan_mask(p[f"treatment.plan_stage_{g}"]) for g in ("I", "I", "II", "III", "IV")], np.int64)
    assert len(plans) == len(STAGE_GROUPS)
    start, stop = float(p["screening.start_age_years"]), float(p["screening.stop_age_years"])
    if p["screening.test"] != "none" and stop < start:
        raise ScenarioError(f"screening.stop_age_years ({stop:g}) is below screening.start_age_years ({start:g})")
    alpha, ab = float(p["treatment.radiation_alpha_per_gy"]), float(p["treatment.radiation_alpha_beta_gy"])
    ln10 = math.log(10.0)
    return ClinicParams(
        active=1 if active else 0,
        age_at_onset_median_years=demo.median_age_at_diagnosis_years - float(p["patient.onset_to_diagnosis_years"]),
        age_sd_years=demo.age_at_diagnosis_sd_years,
        share_male=demo.share_male,
        cumulative_hazard=load_life_table(),
        symptom_threshold_cells=thresholds,
        symptom_mask=np.array(symptom_site_mask(), np.int64),
        symptom_log_sd=float(p["symptoms.onset_log_sd"]),
        visit_delay_median_days=float(p["symptoms.visit_delay_days_median"]),
        visit_delay_log_sd=float(p["symptoms.visit_delay_log_sd"]),
        organ_failure_cells=np.array([float(failure[name]) for name, _ in VITAL_ORGANS]),
        organ_mask=np.array([masks[name] for name, _ in VITAL_ORGANS], np.int64),
        organ_cause=np.array([cause for _, cause in VITAL_ORGANS], np.int64),
        sens_edges=edges,
        sens_values=values,
        staging_modality=MODALITIES.index(str(p["clinic.staging_modality"])),
        primary_modality=MODALITIES.index(str(p["clinic.primary_modality"])),
        sentinel_node_biopsy=1 if p["clinic.sentinel_node_biopsy"] == "yes" else 0,
        sentinel_sensitivity=sentinel,
        pathology_macro=float(p["clinic.pathology_macro_sensitivity"]),
        pathology_micro=float(p["clinic.pathology_micro_sensitivity"]),
        revisit_days=float(p["clinic.revisit_days"]),
        treatment_delay_days=float(p["clinic.treatment_delay_days"]),
        incidental_rate_per_day=float(p["clinic.incidental_scan_rate_per_year"]) / DAYS_PER_YEAR,
        surveillance_interval_days=float(p["clinic.surveillance_interval_days"]),
        surveillance_days=float(p["clinic.surveillance_years"]) * DAYS_PER_YEAR,
        t_by_depth=1 if p["staging.t_basis"] == "depth" else 0,
        t_thresholds_mm=np.asarray(p["staging.t_thresholds_mm"], float),
        n_thresholds=n_thr,
        group_rule=GROUP_RULES.index(str(p["staging.group_rule"])),
        screen_test=SCREENING_TESTS.index(str(p["screening.test"])),
        screen_start_age=start,
        screen_stop_age=stop,
        screen_interval_days=float(p["screening.interval_years"]) * DAYS_PER_YEAR,
        screen_uptake=float(p["screening.uptake"]),
        screen_sens_early=float(p["screening.sensitivity_early"]),
        screen_sens_advanced=float(p["screening.sensitivity_advanced"]),
        screen_min_cells=cells_for_diameter(float(p["screening.min_diameter_mm"]), cpc),
        screen_followup_days=float(p["screening.followup_days"]),
        screen_followup_adherence=float(p["screening.followup_adherence"]),
        plan=plans,
        max_age_systemic=float(p["treatment.max_age_systemic_years"]),
        chemo_ln_kill=float(p["treatment.chemo_log10_kill_per_cycle"]) * ln10,
        chemo_max_ln_kill=float(p["treatment.chemo_max_log10_kill_per_cycle"]) * ln10,
        cycle_days=float(p["treatment.cycle_days"]),
        adjuvant_cycles=int(p["treatment.adjuvant_cycles"]),
        palliative_max_cycles=int(p["treatment.palliative_max_cycles"]),
        assess_every=int(p["treatment.assess_every_cycles"]),
        brain_penetration=float(p["treatment.brain_penetration"]),
        chemo_death=float(p["treatment.chemo_death_per_course"]),
        second_line_factor=float(p["treatment.second_line_factor"]),
        target_share=float(p["treatment.target_share"]),
        targeted_regression=float(p["treatment.targeted_regression_per_day"]),
        targeted_regression_log_sd=float(p["treatment.targeted_regression_log_sd"]),
        immuno_response=float(p["treatment.immunotherapy_response_rate"]),
        immuno_ln_kill=float(p["treatment.immunotherapy_log10_kill_per_cycle"]) * ln10,
        immuno_max_cycles=int(p["treatment.immunotherapy_max_cycles"]),
        rt_ln_survival_curative=_lq_ln_survival(
            alpha, ab, float(p["treatment.radiation_dose_per_fraction_gy"]), int(p["treatment.radiation_fractions"])
        ),
        rt_ln_survival_palliative=_lq_ln_survival(
            alpha, ab, float(p["treatment.palliative_dose_per_fraction_gy"]), int(p["treatment.palliative_fractions"])
        ),
        rt_days_curative=int(p["treatment.radiation_fractions"]) * 7.0 / 5.0,
        surgery_mortality=float(p["treatment.surgery_mortality"]),
        metastasectomy_mortality=float(p["treatment.metastasectomy_mortality"]),
        margin_positive=float(p["treatment.positive_margin_probability"]),
        residual_fraction=float(p["treatment.residual_fraction"]),
        max_resectable=int(p["treatment.max_resectable_metastases"]),
        resection_candidate_share=float(p["treatment.resection_candidate_share"]),
        micro_cells=cells_for_diameter(0.2, cpc),
    )


#: `clinic_reference(C)`: the handle compiled code takes (the same fields, passed as one pointer).
clinic_reference = by_reference(ClinicParams)

__all__ = ["ClinicParams", "build_clinic_params", "clinic_reference", "imaging_sources"]
