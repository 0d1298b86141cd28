"""Schemas of the `trainer` and `logger` groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class TrainerConfig:
    # the class hydra.utils.instantiate builds (ganad_cli.config.targets: the only one allowed);
    # GANAD_TRAINER_KEYS (ganad_cli.config.keys) are taken out before it is called
    _target_: str = "pytorch_lightning.Trainer"
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    precision: str = "32-true"
    max_epochs: int = 15
    max_steps: int = -1
    limit_train_batches: float | None = None
    log_every_n_steps: int = 10
    deterministic: bool = True
    enable_progress_bar: bool = True
    # which epoch's weights the detector uses: "last", or "best_val_auroc" (encoder models; the
    # reconstruction-error AUROC on the validation split after every epoch, as BeatGAN does)
    select_epoch: str = "last"
    # how select_epoch=best_val_auroc's validation pass runs: "running" (eval mode, BatchNorm
    # on its running statistics) or "batch" (as the BeatGAN authors' code: networks left in
    # training mode, validation shuffled into batches of data.batch_size, so BatchNorm uses
    # each batch's statistics and updates its running ones; ecg/model.py:159-163, 288-331,
    # ecg/data.py:122-127)
    val_batchnorm: str = "running"
    # training batches between host reads of "was any loss non-finite?" (the step of the first
    # one is kept on the device, so the error names it whatever this is; epoch ends always check)
    finite_check_every: int = 50


@dataclass
class LoggerConfig:
    name: str = MISSING
    # the Lightning logger built for `name` (ganad_cli.config.targets.LOGGER_TARGETS); none: null.
    # The fields below are ganad's: it turns them into the logger's arguments
    _target_: str | None = None
    project: str = "ganad"
    # wandb: offline unless the user has credentials and sets mode=online
    mode: str = "offline"
    # wandb group (null: the experiment, and a sweep's date and time; ganad_cli.training.tracking)
    group: str | None = None
    tags: list[str] = field(default_factory=list)
