"""The cluster path, tested: a multirun through the submitit plugin's local launcher
(`hydra/launcher=submitit_local`, the same plugin and job pickling as `submitit_slurm`), each job
its own process, then `ganad report` over the sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganad_cli.cli import main
from tests.conftest import REPO

TINY = [
    "experiment=smoke",
    "data.n_normal=200",
    "data.n_per_anomaly=12",
    "data.val_anomaly_fraction=0.3",
    "model.latent_dim=8",
    "model.base_channels=8",
    "trainer.max_epochs=1",
    "inversion.n_max=3",
    "logger=none",
    "quiet=true",
    "threads=1",
]


@pytest.mark.slow  # two submitit jobs, each a fresh Python process: about a minute on 2 cores
def test_submitit_local_multirun_then_report(tmp_path: Path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the `cluster` extra
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "ganad_cli.cli", "train", "-m", "hydra/launcher=submitit_local"]
        + [*TINY, "seed=0,1", f"hydra.sweep.dir={sweep}", "hydra.launcher.timeout_min=10"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = [json.loads((sweep / str(k) / "metrics.json").read_text()) for k in (0, 1)]
    assert all(0.0 <= m["test/auroc"] <= 1.0 and m["threads"] == 1 for m in metrics)
    seeds = [(sweep / str(k) / ".hydra" / "overrides.yaml").read_text() for k in (0, 1)]
    assert "seed=0" in seeds[0] and "seed=1" in seeds[1]
    jobs = [p for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    assert len(jobs) == 2  # each job ran as its own submitit job (a process of its own)

    assert main(["report", str(sweep)]) == 0
    report = (sweep / "report.csv").read_text().splitlines()
    assert len(report) == 2 and ",2," in report[1]  # one configuration, two runs (seeds)
    assert (sweep / "report.png").is_file() and (sweep / "report.html").is_file()
