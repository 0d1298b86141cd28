"""The `ganad` commands a reproduce.py preset runs: the training sweep (one `ganad train` per
fold, or one multirun), the bench of table1, and the environment the children get (torch
threads per child)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ganad_cli.tasks.reproduce_presets import (
    PRESETS,
    SMOKE_BENCH_N,
    SMOKE_COMMON,
    SMOKE_NMAX_DIV,
    TABLE1_PUBLISHED,
)


def ganad_exe() -> list[str]:
    exe = Path(sys.executable).with_name("ganad")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "ganad_cli.cli"]


def train_overrides(
    name: str,
    smoke: bool,
    data_root: str | None,
    runs: Path,
    extra: Sequence[str] = (),
    sweep: list[str] | None = None,
    run_dir: Path | None = None,
) -> list[str]:
    """The preset, data root, sweep (or one job's values), smoke size, then the user's own
    overrides (they win); a multirun's sweep folder, or one job's run folder."""
    p = PRESETS[name]
    out = [f"experiment={name}"]
    if data_root:
        out.append(f"data.root={data_root}")
    if sweep is None:
        sweep = p.smoke_sweep if smoke else p.sweep
    out += sweep
    if smoke:
        out += SMOKE_COMMON
    else:  # children write to log files: per-epoch numbers go to <run>/logs/metrics.csv
        out += ["trainer.enable_progress_bar=false"]
    out += list(extra)
    if run_dir is not None:
        return [*out, f"hydra.run.dir={run_dir}"]
    return [*out, f"hydra.sweep.dir={runs}", "hydra.sweep.subdir=${hydra.job.num}"]


def bench_overrides(run: Path, smoke: bool) -> list[str]:
    # the run's inversion node carries experiment=table1's similarity (ecgan_rbf, ecgan's criterion)
    out = [f"run={run}", "bench=table1"]
    if smoke:
        n_max = sorted({m // SMOKE_NMAX_DIV for _, _, m, _, _ in TABLE1_PUBLISHED if m})
        out += [
            f"bench.n={SMOKE_BENCH_N}",
            f"bench.n_max=[{','.join(map(str, n_max))}]",
            "bench.batch=[1,64,512]",
            "bench.min_timings=2",
            "bench.warmup_steps=1",
        ]
    return out


def child_env(smoke: bool, jobs: int = 1) -> dict[str, str]:
    """Torch threads per child unless OMP_NUM_THREADS is set: one for smoke runs (tiny networks
    on a shared CPU run many times slower with several threads contending), else cores / jobs
    when jobs run side by side."""
    env = dict(os.environ)
    if smoke:
        env.setdefault("OMP_NUM_THREADS", "1")
    elif jobs > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    if "OMP_NUM_THREADS" in env:
        env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    return env


def job_sweep(name: str, smoke: bool) -> list[list[str]]:
    """One override list per job for fold presets (`key=a,b,...` expanded), else []: the preset
    then runs as one Hydra multirun whose sweep lives in its config."""
    p = PRESETS[name]
    if not p.per_job:
        return []
    jobs: list[list[str]] = [[]]
    for item in p.smoke_sweep if smoke else p.sweep:
        key, values = item.split("=", 1)
        jobs = [[*j, f"{key}={v}"] for j in jobs for v in values.split(",")]
    return jobs


def commands(
    name: str, smoke: bool, data_root: str | None, out: Path, extra: Sequence[str] = ()
) -> list[tuple[str, list[str]]]:
    """The ganad commands of a preset that are known before running: (kind, argv)."""
    runs = out / "runs"
    jobs = job_sweep(name, smoke)
    if not jobs:
        train = train_overrides(name, smoke, data_root, runs, extra)
        return [("train", [*ganad_exe(), "train", "-m", *train])]
    out_cmds = []
    for k, job in enumerate(jobs):
        train = train_overrides(
            name, smoke, data_root, runs, extra, sweep=job, run_dir=runs / str(k)
        )
        out_cmds.append(("train", [*ganad_exe(), "train", *train]))
    return out_cmds
