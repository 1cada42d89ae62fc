"""Parameters: every cancer type loads with a cited value for every parameter; bad input names itself."""

import pytest

from metastasim.anatomy.routing import arrival_by_bed
from metastasim.anatomy.sites import BEDS, CAVAL, LIVER, LUNG, PORTAL
from metastasim.errors import ScenarioError
from metastasim.params.load import CANCER_TYPES, load_parameters
from metastasim.params.schema import SPECS


@pytest.mark.parametrize("cancer", CANCER_TYPES)
def test_every_cancer_loads_and_every_value_cites_a_source(cancer):
    p = load_parameters(cancer)
    for name, spec in SPECS.items():
        if spec.kind == "table":
            for key in spec.keys:
                assert p.sources.get(f"{name}.{key}", "").strip(), f"{cancer}: {name}.{key} has no source"
        else:
            assert p.sources.get(name, "").strip(), f"{cancer}: {name} has no source"


def test_unknown_key_names_the_nearest_valid_key():
    with pytest.raises(ScenarioError, match=r"'growth.doubling_time_day_median'.*'growth.doubling_time_days_median'"):
        load_parameters("colorectal", {"growth.doubling_time_day_median": 100})
    with pytest.raises(ScenarioError, match=r"'livr'.*'liver'"):
        load_parameters("colorectal", {"colonisation": {"soil_affinity": {"livr": 1.0}}})


def test_out_of_range_names_the_valid_range():
    with pytest.raises(ScenarioError, match=r"valid range is \[1, 20000\] day"):
        load_parameters("colorectal", {"growth": {"doubling_time_days_median": 0}})
    with pytest.raises(ScenarioError, match="choose one of"):
        load_parameters("colorectal", {"growth.law": "exponential"})


def test_unknown_cancer_lists_valid_types():
    with pytest.raises(ScenarioError, match="colorectal"):
        load_parameters("colon")


def test_overrides_apply_and_keep_other_values():
    p = load_parameters("colorectal", {"colonisation.soil_affinity.lung": 0.5})
    base = load_parameters("colorectal")
    assert p["colonisation.soil_affinity"]["lung"] == 0.5
    assert p["colonisation.soil_affinity"]["liver"] == base["colonisation.soil_affinity"]["liver"]


def test_routing_conserves_cells_and_follows_venous_drainage():
    p = load_parameters("colorectal")
    table = arrival_by_bed(p["anatomy.flow_fraction"], p["anatomy.capillary_arrest"])
    assert table.shape[0] == len(BEDS)
    assert table.sum(axis=1) == pytest.approx(1.0)  # every cell arrests somewhere
    assert table[PORTAL].argmax() == LIVER  # gut primaries: liver first
    assert table[CAVAL].argmax() == LUNG  # systemic veins: lungs first
