"""One patient's story in words: the event log as a readable timeline, then every lesion at the end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metastasim.engine.records import SITE_LABELS
from metastasim.units import DAYS_PER_YEAR

COHORT_DISCLAIMER = (
    "metastasim is an educational and research simulation, not medical advice. These are virtual "
    "patients, not predictions for any person."
)
DISCLAIMER = (
    "metastasim is an educational and research simulation, not medical advice. "
    "This is a virtual patient, not a prediction for any person."
)

# Events shown in the text timeline for metastases; trait and resistance events of metastases are kept in
# the structured output (--json, events table) but would drown the story.
_QUIET_FOR_METASTASES = {"trait_acquired", "resistant_subclone"}


def site_label(site: str, node: int) -> str:
    """Readable site name; regional nodes are named by their place in the basin."""
    if site == "regional_nodes":
        return "sentinel lymph node" if node == 0 else f"regional lymph node {node}"
    return SITE_LABELS.get(site, site)


def _cells(x: float) -> str:
    return f"{x:.3g} cells" if x < 1e4 else f"{x:.2e} cells"


def _where_and_size(ev: Any) -> tuple[str, str]:
    """The 'where' and 'size' columns of one event row (clinical rows without a lesion say 'clinic')."""
    if ev.lesion_id < 0:
        if ev.event == "symptom" and np.isfinite(ev.value):
            return "clinic", f"{_cells(ev.value)} in the organ"
        return "clinic", "—"
    site = site_label(ev.site, ev.node)
    where = site if ev.lesion_id == 0 else f"{site} #{ev.lesion_id}"
    if np.isfinite(ev.cells) and ev.cells > 0:
        return where, f"{_cells(ev.cells)} ({ev.diameter_mm:.2g} mm)"
    if np.isfinite(ev.diameter_mm) and ev.diameter_mm > 0:
        return where, f"{ev.diameter_mm:.2g} mm"
    return where, "—"


def format_story(patient: pd.Series, lesions: pd.DataFrame, events: pd.DataFrame, label: str) -> str:
    """Render one patient's timeline and final state as plain text."""
    lines = [f"metastasim — the story of one virtual patient's {label}", DISCLAIMER, ""]
    lines.append(
        f"patient {int(patient['patient_id'])}: primary doubling time {patient['doubling_time_days']:.0f} days "
        f"(at about 27 mm); simulated from the first malignant cell (day 0)."
    )
    lines.append("")
    if not pd.isna(patient.get("age_at_onset", np.nan)):
        lines.append(
            f"A {patient['sex']} aged {patient['age_at_onset']:.0f} at onset (age and sex drawn from published "
            "figures for this cancer; death from other causes from the life table)."
        )
    lines.append("")
    lines.append(f"{'day':>7} {'age':>5}  {'where':<24} {'size':<26} event")
    hidden = 0
    age0 = float(patient.get("age_at_onset", np.nan))
    seeded = dict(zip(lesions["lesion_id"], lesions["day_seeded"], strict=True))
    for ev in events.itertuples(index=False):
        if ev.lesion_id != 0 and ev.event in _QUIET_FOR_METASTASES:
            hidden += 1
            continue
        where, size = _where_and_size(ev)
        detail = ev.detail
        if ev.event == "seeding":
            detail = detail.replace("a cell from the ", f"a cell from lesion {ev.source_lesion_id} (", 1).replace(
                " arrests in", ") arrests in", 1
            )
        elif ev.event == "dormant_cell_wakes":
            detail = f"a dormant cell wakes after {ev.day - seeded[ev.lesion_id]:.0f} days and starts dividing"
        elif ev.event == "treatment_effect":
            detail = f"{detail}: {_cells(ev.value)} before, {_cells(ev.cells)} after"
        age = ev.day / DAYS_PER_YEAR + (age0 if np.isfinite(age0) else 0.0)
        lines.append(f"{ev.day:7.0f} {age:5.1f}  {where:<24} {size:<26} {detail}")
    if hidden:
        lines.append(f"        ({hidden} trait and resistance events in metastases not shown; see --json)")
    lines.append("")
    lines.append(f"At day {patient['day_end']:.0f} ({patient['end_reason']}):")
    alive = lesions[lesions["status_end"] != "eliminated"]
    lines.append(
        f"{'lesion':>6} {'from':>5}  {'site':<22} {'status':<9} {'cells':>10} {'mm':>7} {'seeded day':>10}  route"
    )
    for le in alive.itertuples(index=False):
        site = site_label(le.site, le.node)
        parent = "" if le.parent_id < 0 else str(le.parent_id)
        lines.append(
            f"{le.lesion_id:6d} {parent:>5}  {site:<22} {le.status_end:<9} {le.cells_end:10.3g} "
            f"{le.diameter_mm_end:7.2f} {le.day_seeded:10.0f}  {le.route}"
        )
    for cause, words in (
        ("immune system", "eliminated by immune surveillance"),
        ("treatment", "eradicated by treatment"),
        ("surgery", "removed by surgery"),
    ):
        k = int(((lesions["status_end"] == "eliminated") & (lesions["ended_by"] == cause)).sum())
        if k:
            lines.append(f"       ({k} lesions were {words})")
    lines.append("")
    if not pd.isna(patient.get("day_diagnosis", np.nan)):
        lines.append(
            f"Diagnosed on day {patient['day_diagnosis']:.0f} (age {patient['age_at_diagnosis']:.0f}, "
            f"{patient['diagnosis_route']}): stage {patient['stage_observed']} "
            f"({patient['t_observed']} {patient['n_observed']} {patient['m_observed']}, SEER "
            f"{patient['seer_stage_observed']}) as observed; true stage then {patient['stage_true']} "
            f"({patient['t_true']} {patient['n_true']} {patient['m_true']}, SEER {patient['seer_stage_true']})."
        )
        if patient["stage_true"] != patient["stage_observed"]:
            lines.append("The tests could not see every deposit: the observed stage understates the true one.")
    else:
        lines.append("The cancer was never diagnosed.")
    if patient.get("died", False):
        lines.append(
            f"Died on day {patient['day_death']:.0f} (age {patient['age_at_death']:.0f}) of {patient['death_cause']}."
        )
    else:
        lines.append(f"Alive at the end of the simulated period (day {patient['day_end']:.0f}).")
    lines.append(
        f"True disease at the end: {patient['t_category_end']} {patient['n_category_end']} "
        f"{patient['m_category_end']} ({int(patient['n_involved_nodes_end'])} regional nodes involved)."
    )
    lines.append("A metastasis keeps its primary's identity: colon cancer in the liver is metastatic colon cancer.")
    lines.append(f"Diagnosis by name: {patient['disease']}.")
    lines.append(DISCLAIMER)
    return "\n".join(lines)
