"""scripts/gpu_check.py: without CUDA its CUDA steps are reported as skipped; with --cpu --tiny it
runs every step (train, Table-1 bench, encoder throughput) and writes one Markdown file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"


def _run(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess, str]:
    out = tmp_path / "gpu_check.md"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *flags, "--out", str(out), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3000,
    )
    return proc, out.read_text() if out.is_file() else ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA report")
def test_without_cuda_every_cuda_step_is_reported_skipped(tmp_path):
    proc, md = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert md.count("skipped: CUDA not available") == 3, md
    assert "38.27 ms" in md and not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="--cpu is the no-CUDA path")
def test_cpu_tiny_runs_every_step_and_writes_the_timings(tmp_path):
    proc, md = _run(tmp_path, "--cpu", "--tiny", "--step-timeout", "900")
    assert proc.returncode == 0, proc.stderr[-2000:] + md
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "| cpu | ok |" in ln]
    assert len(rows) == 3, md
    assert "## Table-1 rows" in md and "| AnoGAN |" in md and "| Encoder |" in md
    assert "## Encoder" in md and "| beatgan |" in md
    assert (tmp_path / "run" / "bench.csv").is_file()
