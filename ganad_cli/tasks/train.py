"""`ganad train`: data -> model -> GAN training -> detector fitted on validation -> test ->
run folder (detector.pt, metrics.json, runtime.json, scores.csv, plots)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from ganad_cli.config import validate_config
from ganad_cli.config.applied import check_applied_keys, check_optimisation
from ganad_cli.data import load_samples
from ganad_cli.data.base import Splits
from ganad_cli.data.datamodule import WindowDataModule
from ganad_cli.data.splits import make_splits
from ganad_cli.errors import GanadInputError
from ganad_cli.evaluation.fit import fit_detector
from ganad_cli.evaluation.results import evaluate_into
from ganad_cli.hardware import check_hardware, hardware
from ganad_cli.io import atomic_write_json
from ganad_cli.models import build_model
from ganad_cli.progress import set_quiet
from ganad_cli.runs.label_use import record as label_use_record
from ganad_cli.threads import apply_threads
from ganad_cli.training.trainer import (
    build_trainer,
    completed_epochs,
    epoch_clock,
    log_results,
    quiet_mode,
    select_epoch,
)

log = logging.getLogger("ganad")


def run_training(cfg: DictConfig, run_dir: Path, splits: Splits | None = None) -> dict:
    """Train, fit the detector on validation, test; `splits` given (scripts/side_by_side.py:
    one subset shared by several methods) replaces the split the data config would make."""
    validate_config(cfg)
    check_applied_keys(cfg)
    check_hardware(cfg.trainer)
    set_quiet(quiet_mode(cfg))
    threads = apply_threads(cfg.get("threads"))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    if splits is None:
        splits = make_splits(load_samples(cfg.data), cfg.data)
    log.info(
        "data %s: train %d, val %d, test %d (shape %s)",
        cfg.data.name,
        len(splits.train),
        len(splits.val),
        len(splits.test),
        splits.train.shape,
    )
    model = build_model(cfg.model, splits.train.shape)
    model.finite_check_every = int(cfg.trainer.get("finite_check_every", 50))
    check_optimisation(cfg, model.automatic_optimization, cfg.model.name)
    trainer = build_trainer(cfg, run_dir, splits.val)
    datamodule = WindowDataModule(splits, cfg.data.batch_size, cfg.data.num_workers, cfg.seed)
    ckpt_path = None
    if cfg.get("resume"):
        from ganad_cli.training.interrupts import resume_checkpoint

        found = resume_checkpoint(Path(cfg.resume))
        if found is None:
            raise GanadInputError(f"resume: no checkpoint in {Path(cfg.resume) / 'checkpoints'}")
        ckpt_path = str(found)
        log.info("resuming from %s", ckpt_path)
    from ganad_cli.training.tracking import log_config

    log_config(trainer, cfg, model)  # the full resolved config as every logger's hyperparameters
    from ganad_cli.training.interrupts import sigint_restored

    t0 = time.perf_counter()
    try:
        with sigint_restored():
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit:  # Lightning exits after its graceful Ctrl-C shutdown
        if not trainer.interrupted:
            raise
    train_seconds = time.perf_counter() - t0
    if cfg.get("resume"):  # training had already ended: fit restored the checkpoint and stopped
        from ganad_cli.training.callbacks import adopt_resumed_config

        adopt_resumed_config(run_dir)
    if trainer.interrupted:
        raise KeyboardInterrupt(
            f"training interrupted at epoch {trainer.current_epoch}; checkpoints in "
            f"{run_dir / 'checkpoints'}; continue with: ganad train resume={run_dir}"
        )
    epochs, steps = completed_epochs(trainer, run_dir)
    selection = select_epoch(model, trainer, cfg)
    model.eval()
    if cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available():
        model.to("cuda")
    else:
        model.to("cpu")

    detector, val_res = fit_detector(model, splits.val, cfg, splits.train)
    detector.save(run_dir / "detector.pt")
    metrics = evaluate_into(detector, splits, val_res, run_dir, cfg)
    runtime = {
        "train_seconds": train_seconds,
        # epoch time summed over every process that trained this run (resumes included)
        **epoch_clock(trainer, run_dir),
        "epochs": epochs,
        "global_steps": steps,
        **metrics.pop("runtime"),
        "hardware": hardware(),
    }
    metrics["objective"] = metrics.get(cfg.optimized_metric)
    metrics["threads"] = threads  # torch intra-op threads used (config `threads`)
    runtime["resumed_from"] = ckpt_path
    runtime["model_selection"] = selection
    metrics["model_selection"] = selection
    metrics["label_use"] = label_use_record(cfg)
    atomic_write_json(run_dir / "runtime.json", runtime)
    atomic_write_json(run_dir / "metrics.json", metrics)
    log_results(trainer, metrics, run_dir)
    log.info(
        "test auroc %.4f auprc %.4f f1 %.4f mcc %.4f (tau %.4f, lambda %s)",
        metrics["test/auroc"],
        metrics["test/auprc"],
        metrics["test/f1"],
        metrics["test/mcc"],
        metrics["test/threshold"],
        metrics["test/lambda"],
    )
    return metrics
