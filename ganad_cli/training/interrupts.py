"""Ctrl-C keeps a checkpoint, and `resume=` continues from the right one.

Lightning's OnExceptionCheckpoint writes `checkpoints/interrupted.ckpt` (full state: loops,
optimisers, callbacks) when training stops on an exception, and removes it when a later fit
ends normally. ganad keeps it only for a Ctrl-C: a run that diverged or hit a bug is not one to
continue.

A resume continues from `last.ckpt`, the last whole epoch, when there is one: a resumed run then
equals the uninterrupted one (tests/test_resume_determinism.py). A Ctrl-C in epoch 0 leaves no
whole epoch; the resume then starts from `interrupted.ckpt`, mid-epoch 0.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import OnExceptionCheckpoint

INTERRUPTED = "interrupted"


class CheckpointOnCtrlC(OnExceptionCheckpoint):
    """OnExceptionCheckpoint for KeyboardInterrupt only."""

    def on_exception(self, trainer: pl.Trainer, pl_module: Any, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            super().on_exception(trainer, pl_module, exception)


def interrupt_callback(run_dir: Path) -> CheckpointOnCtrlC:
    return CheckpointOnCtrlC(dirpath=str(run_dir / "checkpoints"), filename=INTERRUPTED)


def resume_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint `resume=<run_dir>` continues from: last.ckpt, else interrupted.ckpt."""
    folder = Path(run_dir) / "checkpoints"
    for name in ("last.ckpt", f"{INTERRUPTED}.ckpt"):
        if (folder / name).is_file():
            return folder / name
    return None


@contextmanager
def sigint_restored() -> Iterator[None]:
    """Trainer.fit with the caller's Ctrl-C handler put back afterwards. Lightning ignores SIGINT
    after a graceful Ctrl-C shutdown and never restores it, so without this a process that trains
    again (the Python API, a notebook, a multirun in one process) and every child it starts would
    ignore the next Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)
