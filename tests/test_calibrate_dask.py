"""Calibration on a real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The posterior must be identical to the one computed in this process with the same seed.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from metastasim.calibration.smc import calibrate
from metastasim.calibration.spec import read_calibration
from metastasim.calibration.store import CalibrationStore
from metastasim.parallel import DaskCluster, InProcess
from test_calibrate import SMALL

DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-threaded workers started with Dask's own commands; stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - closed below
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=subprocess.STDOUT, env=env)]
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-dashboard"],
                                          stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


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
        DaskCluster(f"tcp://127.0.0.1:{_free_port()}", timeout_seconds=2)
