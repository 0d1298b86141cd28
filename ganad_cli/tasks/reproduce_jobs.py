"""Running a preset's `ganad` commands: one logged child at a time (run_logged), or the fold
jobs side by side (run_jobs: resumes partial folds, skips finished ones, refuses folds trained
under another protocol, and gives a lone last fold the cores the others freed)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ganad_cli.errors import ReproduceError
from ganad_cli.runs.reproduction import job_state
from ganad_cli.tasks.reproduce_commands import child_env
from ganad_cli.tasks.reproduce_presets import checkout


def start_logged(cmd: list[str], log: Path, env: dict[str, str] | None) -> subprocess.Popen:
    """Start one ganad command with its output appended to `log`, after a `$ cmd` line."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        return subprocess.Popen(cmd, cwd=checkout(), stdout=f, stderr=subprocess.STDOUT, env=env)


def failed(cmd: list[str], code: int, log: Path) -> ReproduceError:
    tail = "\n".join(log.read_text().splitlines()[-30:])
    return ReproduceError(f"reproduce: `{shlex.join(cmd)}` failed with exit code {code}:\n{tail}")


def run_logged(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run one ganad command; its output goes to `log`; fail loudly with the log's tail."""
    code = start_logged(cmd, log, env).wait()
    if code != 0:
        raise failed(cmd, code, log)


def protocol_drift(run_dir: Path, cmd: list[str]) -> list[str]:
    """`node.key: saved -> now` for every data or model key on which the run folder's saved
    config differs from what `cmd` composes today (a preset that changed since the fold was
    trained); keys the run predates count with their schema default."""
    from omegaconf import OmegaConf

    from ganad_cli.config import SCHEMAS
    from ganad_cli.config.compose import compose_variants
    from ganad_cli.config.keys import DATA_LOCATION_KEYS

    saved_file = run_dir / ".hydra" / "config.yaml"
    if not saved_file.is_file():
        return []
    saved = OmegaConf.to_container(OmegaConf.load(saved_file), resolve=True)
    overrides = [a for a in cmd[2:] if not a.startswith(("hydra.", "-"))]
    now = OmegaConf.to_container(compose_variants("train", overrides, False)[0], resolve=True)
    drift = []
    for node in ("data", "model"):
        schema = SCHEMAS[node].get(saved[node].get("name"), SCHEMAS[node]["base"])
        defaults = OmegaConf.to_container(OmegaConf.structured(schema))
        for key, value in now[node].items():
            if node == "data" and key in DATA_LOCATION_KEYS:
                continue
            was = saved[node].get(key, defaults.get(key))
            if was != value:
                drift.append(f"{node}.{key}: {was!r} -> {value!r}")
    return drift


@dataclass
class FoldJob:
    """One fold's `ganad train` process while run_jobs drives it."""

    cmd: list[str]
    log: Path
    run_dir: Path
    proc: subprocess.Popen | None = None
    threads: int = 1
    checkpoint_seen: float = 0.0


def last_checkpoint_time(run_dir: Path) -> float:
    f = run_dir / "checkpoints" / "last.ckpt"
    return f.stat().st_mtime if f.is_file() else 0.0


def run_jobs(
    cmds: list[list[str]],
    runs: Path,
    out: Path,
    jobs: int,
    smoke: bool,
    cores: int | None = None,
    poll: float = 2.0,
    on_done: Callable[[Path], None] | None = None,
) -> None:
    """Run per-fold commands, `jobs` at a time; resume partial folds, skip finished ones.
    (The results list their commands from the job logs: see commands_run.) `on_done(run_dir)`
    runs for each finished fold, as soon as it finishes (and for those finished before).

    Each fold gets cores / jobs torch threads. Once no fold is waiting, a fold left with fewer
    threads than its share of the cores is restarted with its share right after its next
    `last.ckpt` (kill, then `ganad train resume=`), so a last lone fold does not run on one
    core while the others idle. It loses only the poll interval and a restart. Not done when
    the user fixed OMP_NUM_THREADS or for --smoke (one thread each).
    """
    cores = cores or os.cpu_count() or 1
    todo: list[FoldJob] = []
    for k, cmd in enumerate(cmds):
        run_dir = runs / str(k)
        state = job_state(run_dir)
        drift = protocol_drift(run_dir, cmd) if state != "new" else []
        if drift:
            raise ReproduceError(
                f"reproduce: {run_dir} was trained with another protocol than `{cmd[2]}` "
                f"composes now ({'; '.join(drift[:4])}{'; ...' if len(drift) > 4 else ''}); "
                "its results would mix protocols: pass a fresh --out"
            )
        if state == "done":
            if on_done is not None:
                on_done(run_dir)
            continue
        if state == "partial":
            cmd = [*cmd[:2], f"resume={run_dir}"]
        elif run_dir.exists():  # died before its first checkpoint: start over
            shutil.rmtree(run_dir)
        todo.append(FoldJob(cmd, out / f"job{k}.log", run_dir))
    env = child_env(smoke, jobs)
    rebalance = jobs > 1 and not smoke and "OMP_NUM_THREADS" not in os.environ
    active: list[FoldJob] = []
    broken: list[FoldJob] = []

    def start(job: FoldJob, threads: int) -> None:
        job_env = dict(env)
        if rebalance:
            job_env["OMP_NUM_THREADS"] = job_env["MKL_NUM_THREADS"] = str(threads)
        job.proc = start_logged(job.cmd, job.log, job_env)
        job.threads = threads
        job.checkpoint_seen = last_checkpoint_time(job.run_dir)

    try:
        while todo or active:
            while todo and len(active) < jobs:
                job = todo.pop(0)
                start(job, max(1, cores // jobs))
                active.append(job)
            time.sleep(poll)
            for job in [j for j in active if j.proc.poll() is not None]:
                active.remove(job)
                if job.proc.returncode != 0:
                    broken.append(job)
                elif on_done is not None:
                    on_done(job.run_dir)
            share = max(1, cores // max(1, len(active)))
            for job in active:
                seen, job.checkpoint_seen = job.checkpoint_seen, last_checkpoint_time(job.run_dir)
                if rebalance and not todo and job.threads < share and job.checkpoint_seen > seen:
                    job.proc.kill()  # the checkpoint is written atomically; one epoch just ended
                    job.proc.wait()
                    with job.log.open("a") as f:
                        f.write(f"reproduce: restarting with {share} threads (cores freed)\n")
                    job.cmd = [*job.cmd[:2], f"resume={job.run_dir}"]
                    start(job, share)
    finally:
        for job in active:  # the driver was interrupted: do not leave folds running unseen
            if job.proc is not None and job.proc.poll() is None:
                job.proc.kill()
    if broken:
        raise failed(broken[0].cmd, broken[0].proc.returncode, broken[0].log)
