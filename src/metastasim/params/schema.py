"""Every model parameter, declared once: name, unit, valid range and meaning.

Values and their cited sources live in data files (``data/defaults.toml`` and ``data/cancers/*.toml``);
this module only says what may be set and what is valid, so that a wrong key or an impossible value is
caught with a message that names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from metastasim.anatomy.sites import BEDS, SITES
from metastasim.clinic.codes import MODALITIES, SCREENING_TESTS, STAGING_MODALITIES, SYMPTOM_NAMES, TREATMENTS

FLOW_KEYS: tuple[str, ...] = ("liver", "gut", "bone", "brain", "adrenal", "pleura", "other")
ARREST_KEYS: tuple[str, ...] = ("liver", "lung", "bone", "brain", "adrenal", "pleura", "other", "vertebral")
DRAINAGE_KEYS: tuple[str, ...] = BEDS[:4]


@dataclass(frozen=True)
class ParamSpec:
    """Declaration of one parameter.

    Attributes:
        name: dotted name, ``section.key``.
        unit: physical unit, or "1" for a dimensionless number.
        low: smallest valid value (inclusive).
        high: largest valid value (inclusive).
        doc: what the parameter means in the model.
        kind: "float", "int", "choice", "table" (one number per key) or "list" (increasing numbers).
        keys: valid keys of a table parameter.
        choices: valid values of a choice parameter.
    """

    name: str
    unit: str
    low: float
    high: float
    doc: str
    kind: str = "float"  # also "plan": a list of treatment names from `choices`
    keys: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()


def _f(name: str, unit: str, low: float, high: float, doc: str) -> ParamSpec:
    return ParamSpec(name, unit, low, high, doc)


def _t(name: str, unit: str, low: float, high: float, doc: str, keys: tuple[str, ...] = SITES) -> ParamSpec:
    return ParamSpec(name, unit, low, high, doc, kind="table", keys=keys)


_SPECS: tuple[ParamSpec, ...] = (
    # --- growth -----------------------------------------------------------------------------------
    ParamSpec(
        "growth.law", "", 0, 0, "growth law of every lesion", kind="choice", choices=("gompertz", "logistic", "power")
    ),
    _f(
        "growth.doubling_time_days_median",
        "day",
        1.0,
        20000.0,
        "median volume doubling time of the primary at growth.reference_cells",
    ),
    _f(
        "growth.doubling_time_log_sd",
        "1",
        0.0,
        3.0,
        "patient-to-patient spread of the doubling time (sd of its natural logarithm)",
    ),
    _f("growth.reference_cells", "cells", 1e3, 1e13, "size at which the published doubling times were measured"),
    _f("growth.carrying_capacity_cells", "cells", 1e8, 1e15, "plateau size K of the Gompertz and logistic laws"),
    _f("growth.power_exponent", "1", 0.05, 0.99, "exponent γ of the power law dx/dt = a·x^γ"),
    _f("growth.max_rate_per_day", "1/day", 1e-4, 5.0, "fastest net growth rate (exponential start of the power law)"),
    _f("growth.cells_per_cm3", "cells/cm3", 1e6, 1e10, "cell packing density used to convert cells to diameter"),
    _f("growth.lethal_burden_cells", "cells", 1e9, 1e15, "total tumour burden at which the untreated disease kills"),
    _t(
        "growth.site_rate_factor",
        "1",
        0.05,
        20.0,
        "growth rate of a metastasis in this site relative to its primary (doubling time divides by it)",
    ),
    # --- evolution: traits acquired over time, resistant subclones -------------------------------------
    _f(
        "evolution.invasion_rate_per_cell",
        "1/cell",
        0.0,
        1.0,
        "rate per new cell produced at which the lineage breaks through its basement membrane",
    ),
    _f("evolution.motility_rate_per_cell", "1/cell", 0.0, 1.0, "rate per new cell of acquiring motility"),
    _f(
        "evolution.circulation_survival_rate_per_cell",
        "1/cell",
        0.0,
        1.0,
        "rate per new cell of acquiring resistance to death in circulation (anoikis, shear)",
    ),
    _f(
        "evolution.colonisation_rate_per_cell",
        "1/cell",
        0.0,
        1.0,
        "rate per new cell of acquiring colonisation ability",
    ),
    _f("evolution.immune_evasion_rate_per_cell", "1/cell", 0.0, 1.0, "rate per new cell of acquiring immune evasion"),
    _f("evolution.motility_factor", "1", 1.0, 1000.0, "intravasation multiplier once motility is acquired"),
    _f(
        "evolution.circulation_survival_factor",
        "1",
        1.0,
        1000.0,
        "circulation survival multiplier once that trait is acquired",
    ),
    _f(
        "evolution.colonisation_factor",
        "1",
        1.0,
        1000.0,
        "multiplier of micrometastasis persistence once colonisation ability is acquired",
    ),
    _f(
        "evolution.immune_evasion_strength",
        "1",
        0.0,
        1.0,
        "fraction by which immune evasion lowers the immune clearance rate",
    ),
    _f("evolution.point_mutation_rate_per_bp", "1/(bp·division)", 0.0, 1e-5, "point mutation rate"),
    ParamSpec(
        "evolution.resistance_mutations",
        "mutations",
        0,
        1e6,
        "number of distinct point mutations conferring resistance to one targeted drug",
        kind="int",
    ),
    _f(
        "evolution.chemo_resistance_rate_per_cell",
        "1/cell",
        0.0,
        1e-3,
        "surviving lineages resistant to chemotherapy founded per new cell (Goldie-Coldman)",
    ),
    _f("evolution.birth_rate_per_day", "1/day", 1e-4, 10.0, "cell birth (division) rate"),
    _f("evolution.death_rate_per_day", "1/day", 0.0, 10.0, "cell death rate (must stay below the birth rate)"),
    # --- local invasion ------------------------------------------------------------------------------
    _f(
        "invasion.depth_per_radius_median",
        "1",
        0.0,
        10.0,
        "median depth of invasion gained per mm of radius grown after invasion",
    ),
    _f("invasion.depth_per_radius_log_sd", "1", 0.0, 3.0, "patient-to-patient spread of that ratio (log sd)"),
    ParamSpec(
        "invasion.coelomic_site",
        "",
        0,
        0,
        "body cavity the primary can seed once its wall is breached",
        kind="choice",
        choices=("peritoneum", "pleura", "none"),
    ),
    _f(
        "invasion.coelomic_depth_mm",
        "mm",
        0.0,
        1000.0,
        "depth of invasion at which the serosa (or visceral pleura) is breached",
    ),
    # --- staging -------------------------------------------------------------------------------------
    ParamSpec(
        "staging.t_basis",
        "",
        0,
        0,
        "whether the T category follows depth of invasion or diameter",
        kind="choice",
        choices=("depth", "size"),
    ),
    ParamSpec(
        "staging.t_thresholds_mm",
        "mm",
        0.0,
        1000.0,
        "smallest depth (or diameter) of T2, T3 and T4; an invasive tumour below the first is T1",
        kind="list",
    ),
    ParamSpec(
        "staging.n_thresholds",
        "nodes",
        1,
        1000,
        "smallest number of involved regional nodes for N1, N2 (and N3)",
        kind="list",
    ),
    # --- shedding (intravasation) ---------------------------------------------------------------------
    _f("shedding.alpha", "1", 0.1, 1.5, "exponent of the shedding rate m·x^α (Iwata et al. 2000)"),
    _f("shedding.blood_rate", "cells/(cell^α·day)", 0.0, 10.0, "rate m of intravasation into blood"),
    _f("shedding.lymph_rate", "cells/(cell^α·day)", 0.0, 10.0, "rate of intravasation into lymphatic vessels"),
    _f(
        "shedding.coelomic_rate",
        "cells/(cell^α·day)",
        0.0,
        10.0,
        "rate of shedding into the body cavity once the serosa is breached",
    ),
    _f("shedding.metastasis_factor", "1", 0.0, 100.0, "shedding of a metastasis relative to a primary of equal size"),
    # --- anatomy of circulation -------------------------------------------------------------------------
    _t(
        "anatomy.primary_drainage",
        "1",
        0.0,
        1.0,
        "share of the primary's venous blood reaching each first-pass capillary bed",
        keys=DRAINAGE_KEYS,
    ),
    _t(
        "anatomy.flow_fraction",
        "1",
        0.0,
        1.0,
        "share of cardiac output (arterial blood) reaching each organ",
        keys=FLOW_KEYS,
    ),
    _t(
        "anatomy.capillary_arrest",
        "1",
        0.0,
        1.0,
        "probability that a circulating cell arrests in one pass through an organ's capillaries",
        keys=ARREST_KEYS,
    ),
    # --- circulation ---------------------------------------------------------------------------------
    _f("circulation.half_life_hours", "h", 0.01, 100.0, "half-life of circulating tumour cells in blood"),
    _f(
        "circulation.blood_survival",
        "1",
        0.0,
        1.0,
        "probability that a cell entering blood survives to arrest alive in a capillary bed",
    ),
    _f(
        "circulation.lymph_survival",
        "1",
        0.0,
        1.0,
        "probability that a cell entering lymph survives to arrest alive in a node",
    ),
    _f("circulation.blood_volume_ml", "mL", 500.0, 10000.0, "blood volume, for CTCs per 7.5 mL"),
    # --- extravasation -------------------------------------------------------------------------------
    _t("extravasation.probability", "1", 0.0, 1.0, "probability that an arrested cell leaves the vessel"),
    _f("extravasation.rate_per_day", "1/day", 0.01, 100.0, "rate at which arrested cells extravasate or die"),
    # --- colonisation --------------------------------------------------------------------------------
    _t(
        "colonisation.soil_affinity",
        "1",
        0.0,
        1000.0,
        "seed-and-soil multiplier of micrometastasis persistence in each site for this primary",
    ),
    _f(
        "colonisation.proliferation_probability",
        "1",
        0.0,
        1.0,
        "probability that an extravasated cell starts dividing at once (a micrometastasis)",
    ),
    _f(
        "colonisation.micrometastasis_persistence",
        "1",
        0.0,
        1.0,
        "probability that a micrometastasis persists and grows (at soil affinity 1)",
    ),
    _f(
        "colonisation.dormancy_probability",
        "1",
        0.0,
        1.0,
        "probability that a solitary extravasated cell enters long-term dormancy rather than dying",
    ),
    _f(
        "colonisation.solitary_death_rate_per_day",
        "1/day",
        0.0,
        100.0,
        "death rate of solitary cells that do not enter long-term dormancy",
    ),
    _f("colonisation.dormant_wake_rate_per_day", "1/day", 0.0, 1.0, "rate at which a dormant cell wakes"),
    _f("colonisation.dormant_death_rate_per_day", "1/day", 0.0, 1.0, "death rate of dormant cells"),
    # --- lymph nodes ---------------------------------------------------------------------------------
    ParamSpec("lymph.regional_nodes", "nodes", 1, 200, "lymph nodes in the regional basin", kind="int"),
    _f("lymph.sentinel_retention", "1", 0.0, 1.0, "share of lymph-borne cells retained by the first node reached"),
    _f(
        "lymph.distant_node_retention",
        "1",
        0.0,
        1.0,
        "share of cells leaving the regional basin that are retained in distant nodes",
    ),
    # --- the clinic: patients --------------------------------------------------------------------------
    _f(
        "patient.onset_to_diagnosis_years",
        "year",
        0.0,
        40.0,
        "typical years from the first malignant cell to "
        "diagnosis; age at onset = age at diagnosis (demography.toml) minus this",
    ),
    # --- symptoms and organ failure --------------------------------------------------------------------
    _f(
        "symptoms.primary_onset_diameter_mm",
        "mm",
        0.5,
        300.0,
        "median diameter of the primary when its own symptom begins (bleeding, a lump, cough ...)",
    ),
    _t(
        "symptoms.onset_cells",
        "cells",
        1e5,
        1e14,
        "median tumour cells in the causing organs when a symptom begins",
        keys=SYMPTOM_NAMES[1:],
    ),
    _f("symptoms.onset_log_sd", "1", 0.0, 5.0, "person-to-person spread of symptom thresholds (sd of ln)"),
    _f("symptoms.visit_delay_days_median", "day", 0.0, 3650.0, "median days from a symptom to the doctor's visit"),
    _f("symptoms.visit_delay_log_sd", "1", 0.0, 5.0, "spread of the visit delay (sd of ln)"),
    _t(
        "organs.failure_cells",
        "cells",
        1e8,
        1e15,
        "tumour cells in a vital organ at which it fails",
        keys=("liver", "lung", "brain"),
    ),
    # --- diagnosis and staging -------------------------------------------------------------------------
    ParamSpec(
        "clinic.staging_modality",
        "",
        0,
        0,
        "imaging used to stage the chest, abdomen and pelvis",
        kind="choice",
        choices=STAGING_MODALITIES,
    ),
    ParamSpec(
        "clinic.primary_modality",
        "",
        0,
        0,
        "test that looks at the primary during the workup",
        kind="choice",
        choices=MODALITIES,
    ),
    _f(
        "clinic.revisit_days",
        "day",
        1.0,
        3650.0,
        "days until a symptomatic patient with a negative workup is seen again",
    ),
    _f("clinic.treatment_delay_days", "day", 0.0, 365.0, "days from diagnosis to the first treatment"),
    _f(
        "clinic.incidental_scan_rate_per_year",
        "1/year",
        0.0,
        2.0,
        "rate of abdominal or chest imaging done for other reasons (incidental findings)",
    ),
    ParamSpec(
        "clinic.sentinel_node_biopsy",
        "",
        0,
        0,
        "whether node-negative patients have a sentinel node biopsy",
        kind="choice",
        choices=("yes", "no"),
    ),
    _f(
        "clinic.pathology_macro_sensitivity",
        "1",
        0.0,
        1.0,
        "share of node deposits of 2 mm or more found by the pathologist",
    ),
    _f("clinic.pathology_micro_sensitivity", "1", 0.0, 1.0, "share of node deposits of 0.2-2 mm found"),
    _f(
        "clinic.surveillance_interval_days",
        "day",
        30.0,
        3650.0,
        "days between surveillance scans after curative treatment",
    ),
    _f("clinic.surveillance_years", "year", 0.0, 30.0, "years of surveillance after curative treatment"),
    ParamSpec(
        "staging.group_rule",
        "",
        0,
        0,
        "rule mapping TNM to stage groups",
        kind="choice",
        choices=("generic", "colorectal", "breast", "lung"),
    ),
    # --- screening ---------------------------------------------------------------------------------------
    ParamSpec(
        "screening.test",
        "",
        0,
        0,
        "screening test offered (none: no programme)",
        kind="choice",
        choices=SCREENING_TESTS,
    ),
    _f("screening.start_age_years", "year", 0.0, 120.0, "age of the first invitation"),
    _f("screening.stop_age_years", "year", 0.0, 120.0, "age after which no one is invited"),
    _f("screening.interval_years", "year", 0.1, 20.0, "years between screening rounds"),
    _f("screening.uptake", "1", 0.0, 1.0, "share of people who take part in the programme"),
    _f("screening.sensitivity_early", "1", 0.0, 1.0, "test sensitivity for a T1-T2 cancer above the size limit"),
    _f("screening.sensitivity_advanced", "1", 0.0, 1.0, "test sensitivity for a T3-T4 cancer"),
    _f("screening.min_diameter_mm", "mm", 0.0, 100.0, "smallest primary the test can find"),
    _f("screening.followup_days", "day", 0.0, 3650.0, "days from a positive test to the diagnostic workup"),
    _f("screening.followup_adherence", "1", 0.0, 1.0, "share of positives who have the follow-up workup"),
    # --- treatment ---------------------------------------------------------------------------------------
    *(
        ParamSpec(
            f"treatment.plan_stage_{g}",
            "",
            0,
            0,
            f"treatments given at diagnosed stage {g}",
            kind="plan",
            choices=TREATMENTS,
        )
        for g in ("I", "II", "III", "IV")
    ),
    _f("treatment.max_age_systemic_years", "year", 0.0, 120.0, "oldest age at which chemotherapy is given (fitness)"),
    _f(
        "treatment.chemo_log10_kill_per_cycle",
        "log10",
        0.0,
        5.0,
        "log10 cells killed per cycle in a lesion "
        "growing at the primary's reference rate (Norton-Simon: scaled by the lesion's own growth rate)",
    ),
    _f(
        "treatment.chemo_max_log10_kill_per_cycle",
        "log10",
        0.0,
        10.0,
        "cap on the Norton-Simon log-kill of small, fast lesions",
    ),
    _f("treatment.cycle_days", "day", 1.0, 120.0, "days between cycles of systemic therapy"),
    ParamSpec("treatment.adjuvant_cycles", "cycles", 1, 100, "cycles of adjuvant chemotherapy", kind="int"),
    ParamSpec(
        "treatment.palliative_max_cycles", "cycles", 1, 500, "most cycles of one line of palliative therapy", kind="int"
    ),
    ParamSpec("treatment.assess_every_cycles", "cycles", 1, 100, "cycles between response scans", kind="int"),
    _f("treatment.brain_penetration", "1", 0.0, 1.0, "share of the systemic log-kill reaching brain lesions"),
    _f("treatment.chemo_death_per_course", "1", 0.0, 0.5, "probability of dying of toxicity in a course"),
    _f("treatment.second_line_factor", "1", 0.0, 2.0, "second-line log-kill relative to the first line"),
    _f("treatment.target_share", "1", 0.0, 1.0, "share of tumours carrying the targeted drug's target"),
    _f(
        "treatment.targeted_regression_per_day",
        "1/day",
        0.0,
        1.0,
        "median net regression rate of sensitive cells on the targeted drug",
    ),
    _f(
        "treatment.targeted_regression_log_sd",
        "1",
        0.0,
        3.0,
        "spread between patients of the log regression rate on the targeted drug",
    ),
    _f("treatment.immunotherapy_response_rate", "1", 0.0, 1.0, "share of patients whose tumours respond"),
    _f("treatment.immunotherapy_log10_kill_per_cycle", "log10", 0.0, 5.0, "log10 cells killed per cycle in responders"),
    ParamSpec("treatment.immunotherapy_max_cycles", "cycles", 1, 500, "most cycles of immunotherapy", kind="int"),
    _f("treatment.radiation_alpha_per_gy", "1/Gy", 0.0, 2.0, "linear-quadratic alpha of tumour cells"),
    _f("treatment.radiation_alpha_beta_gy", "Gy", 0.5, 30.0, "alpha/beta ratio of tumour cells"),
    _f("treatment.radiation_dose_per_fraction_gy", "Gy", 0.1, 30.0, "dose per fraction, curative course"),
    ParamSpec("treatment.radiation_fractions", "fractions", 1, 60, "fractions of a curative course", kind="int"),
    _f("treatment.palliative_dose_per_fraction_gy", "Gy", 0.1, 30.0, "dose per fraction, palliative course"),
    ParamSpec("treatment.palliative_fractions", "fractions", 1, 60, "fractions of a palliative course", kind="int"),
    _f("treatment.surgery_mortality", "1", 0.0, 0.5, "operative mortality of removing the primary"),
    _f("treatment.metastasectomy_mortality", "1", 0.0, 0.5, "operative mortality of resecting metastases"),
    _f("treatment.positive_margin_probability", "1", 0.0, 1.0, "chance that surgery leaves cells behind"),
    _f("treatment.residual_fraction", "1", 0.0, 1.0, "share of the primary's cells left by a positive margin"),
    _f(
        "treatment.resection_candidate_share",
        "1",
        0.0,
        1.0,
        "share of patients whose metastases, if few and in one organ, can be resected",
    ),
    ParamSpec(
        "treatment.max_resectable_metastases",
        "lesions",
        0,
        50,
        "most detected metastases, all in one organ (liver or lung), that are resected",
        kind="int",
    ),
    # --- immune surveillance ---------------------------------------------------------------------------
    _f(
        "immune.clearance_rate_per_day",
        "1/day",
        0.0,
        10.0,
        "hazard that immune cells eliminate a small lesion, while it is below immune.escape_cells",
    ),
    _f("immune.escape_cells", "cells", 1.0, 1e12, "size beyond which a lesion escapes immune elimination"),
)

SPECS: dict[str, ParamSpec] = {s.name: s for s in _SPECS}
