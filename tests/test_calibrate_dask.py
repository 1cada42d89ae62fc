"""Calibration on a real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The posterior must be identical to the one computed in this process with the same seed.
"""

import pandas as pd
import pytest

from conftest import free_port
from metastasim.calibration.smc import calibrate
from metastasim.calibration.spec import read_calibration
from metastasim.calibration.store import CalibrationStore
from metastasim.parallel import DaskCluster, InProcess
from test_calibrate import SMALL


def test_calibration_on_a_dask_cluster_matches_the_local_one(tmp_path, dask_cluster):
    path = tmp_path / "cal.toml"
    path.write_text(SMALL.replace("max_generations = 3", "max_generations = 2"))
    spec = read_calibration(path)
    local = calibrate(spec, CalibrationStore(tmp_path / "local.duckdb"), InProcess(), quiet=True)
    cluster = DaskCluster(dask_cluster)
    try:
        assert "2 workers" in cluster.description
        remote = calibrate(spec, CalibrationStore(tmp_path / "dask.duckdb"), cluster, quiet=True)
    finally:
        cluster.close()
    pd.testing.assert_frame_equal(local.posterior.sort_values("proposal").reset_index(drop=True),
                                  remote.posterior.sort_values("proposal").reset_index(drop=True))
    assert local.simulations == remote.simulations


def test_an_unreachable_cluster_is_a_clear_error():
    from metastasim.errors import MetastasimError

    with pytest.raises(MetastasimError, match="cannot reach a Dask scheduler"):
        DaskCluster(f"tcp://127.0.0.1:{free_port()}", timeout_seconds=2)
