"""Names and kernel codes of everything the clinic can see, decide and do.

The compiled clinic works with small integers; these tuples are the single source of their names, used
by the parameter schema, the records and the story.
"""

from __future__ import annotations

from metastasim.anatomy.sites import (
    BONE,
    BRAIN,
    DISTANT_NODES,
    LIVER,
    LUNG,
    N_SITES,
    PERITONEUM,
    PLEURA,
    PRIMARY,
    REGIONAL_NODES,
    SITES,
)

#: Index of the whole-body total in the per-site burden array (sites 0..N_SITES-1, then the primary).
TOTAL = PRIMARY + 1
N_BURDEN = TOTAL + 1

# --- symptoms -----------------------------------------------------------------------------------------
#: Symptoms, with the sites whose disease causes them. "primary" is the cancer's own local symptom
#: (bleeding for colorectal, a lump for breast ...; named per cancer type in its data file).
SYMPTOMS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("primary", (PRIMARY,)),
    ("abdominal_pain", (LIVER,)),
    ("jaundice", (LIVER,)),
    ("cough", (LUNG, PLEURA)),
    ("shortness_of_breath", (LUNG, PLEURA)),
    ("chest_pain", (PLEURA, LUNG)),
    ("bone_pain", (BONE,)),
    ("fracture", (BONE,)),
    ("headache", (BRAIN,)),
    ("vision_problems", (BRAIN,)),
    ("weakness", (BRAIN,)),
    ("swollen_lymph_node", (REGIONAL_NODES, DISTANT_NODES)),
    ("abdominal_swelling", (PERITONEUM,)),
    ("fatigue", (TOTAL,)),
    ("weight_loss", (TOTAL,)),
)
SYMPTOM_NAMES: tuple[str, ...] = tuple(name for name, _ in SYMPTOMS)
N_SYMPTOMS = len(SYMPTOMS)
SYM_PRIMARY = 0
SYM_FRACTURE = SYMPTOM_NAMES.index("fracture")
SYMPTOM_LABELS: dict[str, str] = {
    "abdominal_pain": "abdominal pain",
    "jaundice": "jaundice",
    "cough": "cough",
    "shortness_of_breath": "shortness of breath",
    "chest_pain": "chest pain",
    "bone_pain": "bone pain",
    "fracture": "a fracture (skeletal event)",
    "headache": "headache",
    "vision_problems": "vision problems",
    "weakness": "weakness of a limb",
    "swollen_lymph_node": "a swollen lymph node",
    "abdominal_swelling": "abdominal swelling (ascites)",
    "fatigue": "fatigue",
    "weight_loss": "weight loss",
}


def symptom_site_mask() -> list[int]:
    """Per symptom, a bitmask over burden indices (sites, primary, total) that cause it."""
    masks = []
    for _, sites in SYMPTOMS:
        m = 0
        for s in sites:
            m |= 1 << s
        masks.append(m)
    return masks


# --- imaging ------------------------------------------------------------------------------------------
MODALITIES: tuple[str, ...] = (
    "CT",
    "MRI",
    "PET",
    "ultrasound",
    "mammography",
    "bone_scan",
    "endoscopy",
    "clinical_exam",
    "PET/CT",
)
CT, MRI, PET, ULTRASOUND, MAMMOGRAPHY, BONE_SCAN, ENDOSCOPY, CLINICAL_EXAM, PET_CT = range(len(MODALITIES))
N_MODALITIES = len(MODALITIES)
#: Modalities that image the chest, abdomen and pelvis for staging.
STAGING_MODALITIES: tuple[str, ...] = ("CT", "MRI", "PET", "PET/CT", "ultrasound")
#: Combined modalities: a lesion is found if either component shows it (see data/imaging.toml).
COMBINED_MODALITIES: dict[str, tuple[str, str]] = {"PET/CT": ("PET", "CT")}
#: Burden indices imaging tables are given for: every site, then the primary.
IMAGING_TARGETS: tuple[str, ...] = (*SITES, "primary")
N_IMAGING_TARGETS = N_SITES + 1
#: Breakpoints per step table (padded).
N_STEPS = 8

# --- screening ----------------------------------------------------------------------------------------
SCREENING_TESTS: tuple[str, ...] = ("none", "colonoscopy", "fit", "mammography", "ldct", "psa")

# --- treatment ----------------------------------------------------------------------------------------
TREATMENTS: tuple[str, ...] = (
    "surgery",
    "radiation",
    "adjuvant_chemotherapy",
    "chemotherapy",
    "targeted",
    "immunotherapy",
    "metastasectomy",
    "palliative_radiation",
)
TR_SURGERY, TR_RADIATION, TR_ADJUVANT, TR_CHEMO, TR_TARGETED, TR_IMMUNO, TR_METASTASECTOMY, TR_PALLIATIVE_RT = range(
    len(TREATMENTS)
)
STAGE_GROUPS: tuple[str, ...] = ("0", "I", "II", "III", "IV")
SEER_STAGES: tuple[str, ...] = ("localized", "regional", "distant")
SEER_LOCALIZED, SEER_REGIONAL, SEER_DISTANT = range(3)

# --- care pathway -------------------------------------------------------------------------------------
#: Pending clinical events of a patient, one time each.
CLINIC_EVENTS: tuple[str, ...] = ("other_death", "visit", "screen", "treat", "surveil", "incidental")
CE_OTHER_DEATH, CE_VISIT, CE_SCREEN, CE_TREAT, CE_SURVEIL, CE_INCIDENTAL = range(len(CLINIC_EVENTS))
N_CLINIC_EVENTS = len(CLINIC_EVENTS)

DIAGNOSIS_ROUTES: tuple[str, ...] = ("not diagnosed", "symptoms", "screening", "incidental imaging")
ROUTE_NONE, ROUTE_SYMPTOMS, ROUTE_SCREENING, ROUTE_INCIDENTAL = range(4)

CARE_STATES: tuple[str, ...] = ("undiagnosed", "treatment", "surveillance", "systemic", "supportive")
CARE_UNDIAGNOSED, CARE_TREATMENT, CARE_SURVEILLANCE, CARE_SYSTEMIC, CARE_SUPPORTIVE = range(len(CARE_STATES))

DEATH_CAUSES: tuple[str, ...] = (
    "alive",
    "liver failure",
    "respiratory failure",
    "brain metastases",
    "overall tumour burden",
    "complication of treatment",
    "other cause",
)
(
    CAUSE_NONE,
    CAUSE_LIVER,
    CAUSE_RESPIRATORY,
    CAUSE_BRAIN,
    CAUSE_BURDEN,
    CAUSE_TREATMENT,
    CAUSE_OTHER,
) = range(len(DEATH_CAUSES))
#: Organs whose failure kills, with the death cause each gives.
VITAL_ORGANS: tuple[tuple[str, int], ...] = (
    ("liver", CAUSE_LIVER),
    ("lung", CAUSE_RESPIRATORY),
    ("brain", CAUSE_BRAIN),
)

# --- the clinical log ---------------------------------------------------------------------------------
#: Kinds of rows in a patient's clinical log (kernel codes; the story turns them into sentences).
LOG_KINDS: tuple[str, ...] = (
    "symptom",  # a = symptom, x = cells in the causing organs
    "visit",  # a = reason (ROUTE_*)
    "scan_found",  # a = modality, b = lesion, x = diameter mm
    "scan_missed",  # a = modality, b = lesion, x = diameter mm, y = 1 too small / 2 not covered
    "scan_summary",  # a = modality, b = lesions found, x = lesions present >= 0.2 mm, y = purpose
    "biopsy",  # a = lesion biopsied, b = 1 confirmed
    "sentinel_node_biopsy",  # b = 1 positive
    "diagnosis",  # a = route
    "stage",  # a = observed group, b = true group, x = observed SEER, y = true SEER
    "plan",  # a = treatment bitmask, b = stage group
    "treatment_start",  # a = treatment, b = line
    "treatment_effect",  # a = treatment, b = lesion, x = cells before, y = cells after (0 eradicated)
    "treatment_end",  # a = treatment, b = cycles given
    "surgery",  # a = lesions removed, b = 1 margin positive
    "response",  # a = 0 response / 1 stable / 2 progression, x = sum of diameters, y = nadir
    "remission",
    "recurrence",  # a = site of the first lesion found
    "screen",  # a = test, b = 0 negative, 1 positive and followed up, 2 positive without follow-up
    "organ_failure",  # a = cause
    "death",  # a = cause
    "fracture",  # x = bone cells
    "target_test",  # b = 1 target present
)
(
    LOG_SYMPTOM,
    LOG_VISIT,
    LOG_SCAN_FOUND,
    LOG_SCAN_MISSED,
    LOG_SCAN_SUMMARY,
    LOG_BIOPSY,
    LOG_SENTINEL,
    LOG_DIAGNOSIS,
    LOG_STAGE,
    LOG_PLAN,
    LOG_TREATMENT_START,
    LOG_TREATMENT_EFFECT,
    LOG_TREATMENT_END,
    LOG_SURGERY,
    LOG_RESPONSE,
    LOG_REMISSION,
    LOG_RECURRENCE,
    LOG_SCREEN,
    LOG_ORGAN_FAILURE,
    LOG_DEATH,
    LOG_FRACTURE,
    LOG_TARGET_TEST,
) = range(len(LOG_KINDS))
