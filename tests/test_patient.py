"""One patient's story: the cascade's steps appear in order, lineage is consistent, the name is right."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import metastasim as ms
from metastasim.engine.records import SITE_LABELS
from metastasim.errors import MetastasimError


@pytest.fixture(scope="module")
def story():
    return ms.simulate_patient("colorectal", seed=7, years=20)


def test_story_shows_each_step_of_the_cascade_in_order(story):
    ev = story.events
    first = {kind: ev.loc[ev.event == kind, "day"].min() for kind in ev.event.unique()}
    for kind in ("onset", "invasion", "first_lymph_entry", "first_blood_entry", "seeding", "micrometastasis",
                 "reaches_10mm", "end"):
        assert kind in first, kind
    assert first["onset"] == 0 <= first["invasion"] <= first["first_blood_entry"] <= first["seeding"]
    assert first["seeding"] <= first["micrometastasis"] <= first["reaches_10mm"] <= first["end"]
    liver = ev[(ev.event == "seeding") & (ev.site == "liver")]
    assert (liver.route == "portal vein").any()  # colorectal primaries drain to the liver first
    assert ev.day.is_monotonic_increasing
    assert "not medical advice" in story.text()


def test_every_lesion_knows_its_lineage(story):
    le = story.lesions.set_index("lesion_id")
    mets = le[le.parent_id >= 0]
    assert len(mets) > 0
    parents = le.loc[mets.parent_id]
    assert (parents.day_seeded.to_numpy() <= mets.day_seeded.to_numpy()).all()
    assert (mets.generation.to_numpy() == parents.generation.to_numpy() + 1).all()
    assert le.loc[0, "site"] == "primary" and le.loc[0, "parent_id"] == -1


def test_disease_is_named_after_its_primary_with_its_sites(story):
    le = story.lesions
    established = le[(le.site != "primary") & (le.site != "regional_nodes") & (le.status_end == "growing")
                     & le.day_micrometastasis.notna()]
    name = story.disease
    assert name.startswith("metastatic colorectal cancer: ") if len(established) else name.startswith("colorectal")
    for site in established.site.unique():
        assert SITE_LABELS[site] in name


def test_lesions_are_addressable_by_organ():
    sim = ms.PatientSimulation(ms.load_parameters("colorectal"), seed=7).advance_to()
    liver = sim.lesion_ids("liver")
    tables = sim.tables()
    expected = tables["lesions"].query("site == 'liver'").lesion_id.tolist()
    assert liver == expected and len(liver) > 0
    # The primary is row 0; resistant subclones split off it by treatment live at the primary site too.
    primary = tables["lesions"].query("site == 'primary'").lesion_id.tolist()
    assert sim.lesion_ids("primary") == primary and primary[0] == 0
    with pytest.raises(MetastasimError, match="'liver'"):
        sim.lesion_ids("livr")


def test_ctc_counts_rise_with_burden(story):
    """Expected CTCs are a monotone (power-law) function of shedding burden, so their ranks follow the burden's
    through growth, surgery and regrowth; a rank correlation tests exactly that."""
    ts = story.timeseries
    assert spearmanr(ts.total_cells, ts.ctc_expected_per_7_5ml).statistic > 0.8


@pytest.mark.parametrize("law", ["gompertz", "logistic", "power"])
def test_every_growth_law_runs_a_whole_course(law):
    s = ms.simulate_patient("colorectal", seed=2, years=20, overrides={"growth.law": law}, natural_history=True)
    assert s.lesions.day_seeded.is_monotonic_increasing  # lesions are rows in order of seeding
    burden = s.timeseries.total_cells.to_numpy()
    assert (np.diff(burden) > 0).all()  # untreated burden only grows
    assert s.patient["end_reason"] in ("horizon", "lethal tumour burden")
    if s.patient["end_reason"] == "lethal tumour burden":
        assert s.lesions.cells_end[s.lesions.status_end == "growing"].sum() == pytest.approx(1e12, rel=1e-3)
