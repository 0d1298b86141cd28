"""A finished run folder's small files, kept where git can hold them.

Long reproductions (`scripts/reproduce.py`) train one fold per run folder over several sessions,
and a run folder may not survive a change of machine. `archive_run` copies what the results
tables are built from (metrics, per-sample scores, re-scorings, configs, logs, runtime), without
checkpoints, the frozen detector or plots, so a fold finished on one machine counts as finished
on the next (`restore_run`). Per-sample score tables are stored gzip-compressed.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

# what a results table never reads: model weights, plots, locks, TensorBoard event files
SKIPPED = (
    "checkpoints",
    "*.ckpt",
    "*.pt",
    "*.png",
    "*.html",
    ".ganad.lock",
    ".hydra-resume",
    "events.out.tfevents*",
    "wandb",
)
COMPRESSED = "scores.csv"


def _replace_dir(tmp: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    tmp.replace(dest)


def archive_run(run_dir: Path, dest: Path, job_log: Path | None = None) -> Path:
    """Copy run_dir's small files to dest (replacing it), scores tables as `.csv.gz`, and the
    job's log as `job.log`. Written beside dest first, so an interrupted copy leaves the
    previous archive."""
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(run_dir, tmp, ignore=shutil.ignore_patterns(*SKIPPED))
    for table in tmp.rglob(COMPRESSED):
        # mtime=0: the same scores give the same bytes, so re-archiving a fold changes nothing
        with (
            table.open("rb") as src,
            table.with_suffix(".csv.gz").open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as dst,
        ):
            shutil.copyfileobj(src, dst)
        table.unlink()
    if job_log is not None and job_log.is_file():
        shutil.copy2(job_log, tmp / "job.log")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _replace_dir(tmp, dest)
    return dest


def restore_run(archived: Path, run_dir: Path, job_log: Path | None = None) -> None:
    """Rebuild run_dir (replacing a partial one) from an archive_run copy; the job log goes
    back to job_log unless one is there already."""
    tmp = run_dir.with_name(run_dir.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(archived, tmp, ignore=shutil.ignore_patterns("job.log"))
    for packed in tmp.rglob(COMPRESSED + ".gz"):
        with gzip.open(packed, "rb") as src, packed.with_suffix("").open("wb") as dst:
            shutil.copyfileobj(src, dst)
        packed.unlink()
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    _replace_dir(tmp, run_dir)
    log = archived / "job.log"
    if job_log is not None and log.is_file() and not job_log.is_file():
        shutil.copy2(log, job_log)
