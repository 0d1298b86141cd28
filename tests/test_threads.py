"""torch threads are decided by the config (`threads`), in every Hydra launcher, and recorded."""

from __future__ import annotations

import json
import os
import subprocess

from tests.test_applied import TINY
from tests.test_cli import GANAD


def test_joblib_launcher_uses_the_configured_threads(tmp_path):
    """joblib (loky) starts each job with OMP_NUM_THREADS = cores / jobs; the config decides:
    threads=2 gives 2, threads=null the default of the `ganad` process (here 1)."""
    env = {**os.environ, "CI": "true", "OMP_NUM_THREADS": "1"}
    env.pop("GANAD_TORCH_THREADS", None)
    out = subprocess.run(
        [
            GANAD,
            "train",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            *TINY,
            "threads=2,null",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    recorded = {}
    for job in ("0", "1"):
        metrics = json.loads((tmp_path / "sweep" / job / "metrics.json").read_text())
        runtime = json.loads((tmp_path / "sweep" / job / "runtime.json").read_text())
        recorded[job] = metrics["threads"]
        assert runtime["hardware"]["torch_threads"] == metrics["threads"]
    assert recorded == {"0": 2, "1": 1}


def test_importing_ganad_sets_a_passive_openmp_wait_policy_before_torch():
    """Idle OpenMP workers must sleep, not spin, on a shared machine: ganad sets
    OMP_WAIT_POLICY=PASSIVE when imported (before torch loads libgomp); a user's value wins."""
    import sys

    code = (
        "import os, sys, ganad_cli; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["PASSIVE", "False"], out.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["ACTIVE", "False"], out.stderr
