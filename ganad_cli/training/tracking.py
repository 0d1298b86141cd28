"""What every configured logger records of a run: the full resolved config as hyperparameters,
the optimised metric as `hp_metric`, the plots as images where the logger takes images, the
wandb group and job type, and one log line per epoch when stdout is not a terminal."""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig

from ganad_cli.config import to_plain

log = logging.getLogger("ganad")


def log_config(trainer: pl.Trainer, cfg: DictConfig, model: pl.LightningModule) -> None:
    """The whole resolved config (every group, not only the model's) as each logger's
    hyperparameters. Lightning's own logging of the model's hparams is switched off, so each
    logger holds exactly one set: this one."""
    params = to_plain(cfg)
    model._log_hyperparams = False  # Lightning would log {model_cfg, shape} on top
    for logger in trainer.loggers:
        logger.log_hyperparams(params)
        logger.save()


def _objective(metrics: dict) -> float | None:
    value = metrics.get("objective")
    if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return None
    return float(value)


def log_final(trainer: pl.Trainer, metrics: dict, run_dir: Path) -> None:
    """`hp_metric` = the optimised metric (TensorBoard's HParams view shows it; Lightning starts
    it at -1) in every logger, and the plots as TensorBoard images."""
    if trainer.world_size > 1:
        # multi-process (DDP): the workers' loggers wrote and closed their files; this process
        # did not train, and rewriting them from here would clash with their headers
        return
    value = _objective(metrics)
    images = sorted((run_dir / "plots").glob("*.png"))
    for logger in trainer.loggers:
        if value is not None:
            logger.log_metrics({"hp_metric": value}, step=trainer.global_step)
        if isinstance(logger, pl.loggers.TensorBoardLogger) and images:
            import matplotlib.image as mpimg

            for path in images:
                pixels = mpimg.imread(path)[..., :3]  # RGBA PNG -> HWC RGB in [0, 1]
                logger.experiment.add_image(
                    f"plots/{path.stem}", pixels, trainer.global_step, dataformats="HWC"
                )
        logger.save()
        if isinstance(logger, pl.loggers.TensorBoardLogger):
            logger.finalize("success")  # fit closed its writer; this one reopened it


def experiment_name(cfg: DictConfig) -> str:
    """The experiment preset when one is chosen, else `<model>-<data>`."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        chosen = HydraConfig.get().runtime.choices.get("experiment")
        if chosen:
            return str(chosen)
    return f"{cfg.model.name}-{cfg.data.name}"


def wandb_identity(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """wandb group, job type and run name. A single run: group = the experiment, job type
    `train`. A sweep job: group = `<experiment>/<sweep folder relative to its parent's parent>`
    (its date and time: sweeps on other days never share a group), job type `sweep-<sweeper>`
    (basic, optuna). `logger.group` set by the user wins."""
    from hydra.core.hydra_config import HydraConfig

    experiment = experiment_name(cfg)
    group, job_type, name = experiment, "train", run_dir.name
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        hc = HydraConfig.get()
        sweep = Path(hc.sweep.dir)
        group = f"{experiment}/{sweep.parent.name}_{sweep.name}"
        job_type = f"sweep-{hc.runtime.choices.get('hydra/sweeper') or 'basic'}"
        name = f"{group}-{hc.job.num}"
    if cfg.logger.get("group"):
        group = str(cfg.logger.group)
    return {"group": group, "job_type": job_type, "name": name}


class EpochLine(pl.Callback):
    """One `ganad` log line per finished epoch (its logged metrics) when stdout is not a
    terminal (nohup, SLURM, a pipe), where no progress bar is drawn."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = (not sys.stdout.isatty()) if enabled is None else enabled

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        values = []
        metrics = trainer.callback_metrics
        for key, value in sorted(metrics.items()):
            # `x_step` is one batch's value; `x_epoch` repeats `x` when both are logged
            if key.endswith("_step") or (
                key.endswith("_epoch") and key[: -len("_epoch")] in metrics
            ):
                continue
            try:
                values.append(f"{key} {float(value):.4g}")
            except (TypeError, ValueError):
                continue
        log.info(
            "epoch %d/%d: %s",
            trainer.current_epoch + 1,
            trainer.max_epochs,
            ", ".join(values) or "no metrics logged",
        )
