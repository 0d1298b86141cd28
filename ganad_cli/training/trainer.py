"""The Lightning side of training: the Trainer (checkpoints, callbacks, loggers), the epoch the
detector uses, and the results sent to the loggers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from ganad_cli.config import to_plain
from ganad_cli.config.keys import GANAD_TRAINER_KEYS
from ganad_cli.data.base import Samples
from ganad_cli.models.base import GanadModule
from ganad_cli.training.build import config_callbacks, factory, logger_node, plain

log = logging.getLogger("ganad")


def quiet_mode(cfg: DictConfig) -> bool:
    return bool(cfg.get("quiet", False)) or os.environ.get("CI", "").lower() in ("1", "true")


def build_trainer(cfg: DictConfig, run_dir: Path, val: Samples | None = None) -> pl.Trainer:
    """Lightning Trainer with checkpoints, Ctrl-C handling and plots. With
    `trainer.select_epoch=best_val_auroc`, `val` feeds the per-epoch validation AUROC that picks
    the checkpoint kept as best (`checkpoints/best.ckpt` via ModelCheckpoint)."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    from ganad_cli.training.callbacks import (
        AdoptResumedConfig,
        EpochValAUROC,
        RNGStates,
        TrainingClock,
    )
    from ganad_cli.training.checkpoint_io import AtomicCheckpointIO

    t = cfg.trainer
    # before the checkpoints, which store them; RNGStates makes a resumed run draw what the
    # uninterrupted one would (see tests/test_resume_determinism.py)
    callbacks: list[pl.Callback] = [TrainingClock(), RNGStates()]
    if cfg.get("resume"):
        callbacks.append(AdoptResumedConfig(run_dir))
    select_best = t.get("select_epoch", "last") == "best_val_auroc"
    if select_best:
        if val is None:
            raise ValueError("select_epoch=best_val_auroc needs the validation split")
        batchnorm = t.get("val_batchnorm", "running")
        callbacks.append(
            EpochValAUROC(
                torch.from_numpy(val.x),
                val.label,
                batch_size=int(cfg.data.batch_size) if batchnorm == "batch" else 512,
                batchnorm=batchnorm,
                seed=int(cfg.get("seed", 0)),
            )
        )
    # the monitored best comes first: last.ckpt, written after it, then holds its updated state
    if select_best:
        callbacks.append(
            ModelCheckpoint(
                dirpath=str(run_dir / "checkpoints"),
                filename="best",
                auto_insert_metric_name=False,
                save_top_k=1,
                monitor="val/epoch_auroc",
                mode="max",
                enable_version_counter=False,
            )
        )
    # last.ckpt after every epoch, so a resume loses at most one epoch (Lightning writes `last`
    # only in an epoch where its own callback saved a top-k file: a monitored one would skip)
    callbacks.append(
        ModelCheckpoint(
            dirpath=str(run_dir / "checkpoints"),
            filename="epoch{epoch:03d}",
            auto_insert_metric_name=False,
            save_last=True,
            save_top_k=1,
            enable_version_counter=False,
        )
    )
    # Ctrl-C mid-epoch keeps its state in interrupted.ckpt; last.ckpt stays the last whole epoch.
    from ganad_cli.training.interrupts import interrupt_callback

    callbacks.append(interrupt_callback(run_dir))
    from ganad_cli.training.tracking import EpochLine

    callbacks.append(EpochLine())  # stdout not a terminal: one line per epoch
    if cfg.get("plots", True):
        from ganad_cli.training.callbacks import SampleGrid

        callbacks.append(SampleGrid(run_dir / "plots"))
    quiet = quiet_mode(cfg)
    progress_bar = bool(t.enable_progress_bar) and not quiet
    # Lightning's own callbacks from the `callbacks` group (before ganad's last.ckpt checkpoint)
    callbacks[2:2] = config_callbacks(cfg.get("callbacks"), run_dir, progress_bar)
    # the Trainer from `trainer` (its _target_), minus ganad's own keys; `+trainer.<arg>=...`
    # reaches it too (checked by check_applied_keys)
    node = plain(t, drop=GANAD_TRAINER_KEYS)
    logger = build_logger(cfg, run_dir)
    try:
        return factory(("trainer",), node)(
            logger=logger,
            callbacks=callbacks,
            plugins=[AtomicCheckpointIO()],  # atomic saves, weights-only loads
            default_root_dir=str(run_dir),
            enable_progress_bar=progress_bar,
            enable_model_summary=not quiet,
        )
    except (ValueError, TypeError) as exc:  # Lightning's check of the trainer arguments
        from ganad_cli.boundary import trainer_error

        raise trainer_error(exc) from exc


def _csv_version(cfg: DictConfig, run_dir: Path) -> str:
    if not cfg.get("resume"):
        return ""
    k = 1
    while (run_dir / "logs" / f"resume{k}").exists():
        k += 1
    return f"resume{k}"


def build_logger(cfg: DictConfig, run_dir: Path):
    """The logger of `logger._target_` (none: False), with the run folder and identity ganad
    derives from its own logger keys."""
    name = cfg.logger.name
    if cfg.logger.get("_target_") is None:
        return False
    if name == "csv":
        # Lightning's CSVLogger replaces an existing metrics.csv: a resumed run writes its own
        # logs/resume<k>/metrics.csv and the epochs before the interruption stay readable
        kwargs = dict(save_dir=str(run_dir), name="logs", version=_csv_version(cfg, run_dir))
    elif name == "tensorboard":
        kwargs = dict(save_dir=str(run_dir), name="logs", version="")
    else:  # wandb
        from ganad_cli.training.tracking import wandb_identity

        who = wandb_identity(cfg, run_dir)
        kwargs = dict(
            project=cfg.logger.project,
            save_dir=str(run_dir),
            name=who["name"],
            group=who["group"],
            job_type=who["job_type"],
            tags=list(cfg.logger.tags),
            offline=cfg.logger.mode != "online",
            config=to_plain(cfg),
            log_model=False,
        )
    node = logger_node(cfg.logger)
    return factory(("logger",), node)(**kwargs)


def log_results(trainer: pl.Trainer, metrics: dict, run_dir: Path) -> None:
    """Final metrics (and, for wandb, plots and the detector) to every configured logger."""
    from ganad_cli.training.tracking import log_final

    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and k != "objective"}
    log_final(trainer, metrics, run_dir)  # hp_metric, plots as TensorBoard images
    for logger in trainer.loggers:
        if trainer.world_size > 1 and isinstance(logger, pl.loggers.CSVLogger):
            # multi-process (DDP): the workers wrote this metrics.csv with their own header; a
            # rewrite from this process would clash with it (the final metrics are in
            # metrics.json)
            continue
        logger.log_metrics(flat, step=trainer.global_step)
        logger.save()
        if isinstance(logger, pl.loggers.WandbLogger):
            import wandb

            images = sorted((run_dir / "plots").glob("*.png"))
            if images:
                logger.log_image("plots", [str(p) for p in images])
            artifact = wandb.Artifact(f"detector-{logger.experiment.id}", type="model")
            artifact.add_file(str(run_dir / "detector.pt"))
            logger.experiment.log_artifact(artifact)
            logger.experiment.finish()


def completed_epochs(trainer: pl.Trainer, run_dir: Path) -> tuple[int, int]:
    """(epochs, global steps). Forked DDP workers train; the main process reads their last.ckpt."""
    if trainer.current_epoch > 0:
        return trainer.current_epoch, trainer.global_step
    last = run_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        return int(ckpt["epoch"]) + 1, int(ckpt["global_step"])
    return 0, 0


def select_epoch(model: GanadModule, trainer: pl.Trainer, cfg: DictConfig) -> dict:
    """Load the weights the config selects: the last epoch, or the best validation-AUROC epoch
    that ModelCheckpoint tracked (`trainer.select_epoch=best_val_auroc`)."""
    if cfg.trainer.get("select_epoch", "last") != "best_val_auroc":
        return {"rule": "last"}
    from pytorch_lightning.callbacks import ModelCheckpoint

    monitored = [
        cb
        for cb in trainer.checkpoint_callbacks
        if isinstance(cb, ModelCheckpoint) and cb.monitor == "val/epoch_auroc"
    ]
    ckpt_cb = monitored[0] if monitored else None
    best = getattr(ckpt_cb, "best_model_path", "") if ckpt_cb is not None else ""
    if not best or not Path(best).is_file():
        raise FileNotFoundError(f"best validation-AUROC checkpoint missing: {best!r}")
    state = torch.load(best, map_location="cpu", weights_only=True)
    model.load_state_dict(state["state_dict"])
    score = ckpt_cb.best_model_score
    return {
        "rule": "best_val_auroc",
        "epoch": int(state["epoch"]) + 1,  # 1-based: the number of epochs trained
        "val_epoch_auroc": float(score) if score is not None else None,
        "checkpoint": str(best),
    }


def epoch_clock(trainer: pl.Trainer, run_dir: Path) -> dict:
    """Training-epoch seconds and the number of epochs they cover, over the whole run, resumes
    included (TrainingClock); forked DDP workers kept theirs in last.ckpt."""
    from ganad_cli.training.callbacks import TrainingClock

    clock = next((cb for cb in trainer.callbacks if isinstance(cb, TrainingClock)), None)
    state = clock.state_dict() if clock is not None and clock.seconds > 0 else None
    last = run_dir / "checkpoints" / "last.ckpt"
    if state is None and last.is_file():
        saved = torch.load(last, map_location="cpu", weights_only=True).get("callbacks", {})
        state = saved.get(TrainingClock.__qualname__)
    if not state:
        return {"train_epoch_seconds_total": None, "train_epochs_timed": None}
    return {
        "train_epoch_seconds_total": float(state["seconds"]),
        "train_epochs_timed": state.get("epochs"),
    }
