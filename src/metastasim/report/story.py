"""One patient's story in words: the event log as a readable timeline, then every lesion at the end."""

from __future__ import annotations

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


def format_story(patient: pd.Series, lesions: pd.DataFrame, events: pd.DataFrame, label: str) -> str:
    """Render one patient's timeline and final state as plain text."""
    lines = [f"metastasim — the story of one virtual patient's {label}", DISCLAIMER, ""]
    lines.append(
        f"patient {int(patient['patient_id'])}: primary doubling time {patient['doubling_time_days']:.0f} days "
        f"(at about 27 mm); simulated from the first malignant cell (day 0)."
    )
    lines.append("")
    lines.append(f"{'day':>7} {'year':>5}  {'where':<24} {'size':<26} event")
    hidden = 0
    seeded = dict(zip(lesions["lesion_id"], lesions["day_seeded"], strict=True))
    for ev in events.itertuples(index=False):
        if ev.lesion_id != 0 and ev.event in _QUIET_FOR_METASTASES:
            hidden += 1
            continue
        size = f"{_cells(ev.cells)} ({ev.diameter_mm:.2g} mm)" if ev.cells > 0 else "—"
        site = site_label(ev.site, ev.node)
        where = site if ev.lesion_id == 0 else f"{site} #{ev.lesion_id}"
        detail = ev.detail
        if ev.event == "seeding":
            detail = detail.replace("a cell from the ", f"a cell from lesion {ev.source_lesion_id} (", 1).replace(
                " arrests in", ") arrests in", 1
            )
        elif ev.event == "dormant_cell_wakes":
            detail = f"a dormant cell wakes after {ev.day - seeded[ev.lesion_id]:.0f} days and starts dividing"
        lines.append(f"{ev.day:7.0f} {ev.day / DAYS_PER_YEAR:5.1f}  {where:<24} {size:<26} {detail}")
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
    eliminated = int((lesions["status_end"] == "eliminated").sum())
    if eliminated:
        lines.append(f"       ({eliminated} lesions were eliminated by immune surveillance)")
    lines.append("")
    lines.append(
        f"True stage at the end: {patient['t_category_end']} {patient['n_category_end']} "
        f"{patient['m_category_end']} ({int(patient['n_involved_nodes_end'])} regional nodes involved)."
    )
    lines.append("A metastasis keeps its primary's identity: colon cancer in the liver is metastatic colon cancer.")
    lines.append(f"Diagnosis by name: {patient['disease']}.")
    return "\n".join(lines)
