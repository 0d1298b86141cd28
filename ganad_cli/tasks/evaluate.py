"""`ganad evaluate run=<run folder> [inversion=... score=... threshold=...]`.

Re-scores a trained run without retraining: the run's generator/discriminator weights (from its
detector.pt) and its data config (so the same splits) are reused; inversion, score components,
their combination and tau are re-run / re-fitted on validation only with the new choices, and
everything is written into a new folder `<run>/evaluations/<timestamp>/`. The run's own files are
never written.

A group choice (`score=svm`) replaces the run's node; `+score.residual_norm=l2` (no choice) changes
one key of the run's node; both together (`score=residual score.residual_norm=l2`) also work.

`weights=last` re-scores the last training epoch's weights (`<run>/checkpoints/last.ckpt`) instead
of the epoch the run selected (ganad_cli.runs.weights); with `score.combine=equal` and
`threshold=normal_quantile` that is the label-free variant. metrics.json's `model_selection` says
which weights and epoch were used; the effective config's `trainer.select_epoch` is `last` then.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.config import validate_config
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.encoder import check_inversion
from ganad_cli.io import atomic_write_json, atomic_write_text
from ganad_cli.runs.folder import (
    check_same_splits,
    effective_config,
    load_run_config,
    load_run_detector,
    run_folder,
)
from ganad_cli.runs.label_use import record as label_use_record
from ganad_cli.runs.weights import use_weights, weights_choice

log = logging.getLogger("ganad")


def prepare(eval_cfg: DictConfig) -> tuple[Path, DictConfig, Detector, dict]:
    """Check everything that can be checked before any folder is written; the run folder, the
    effective config, the detector holding the chosen weights and the record of that choice."""
    from ganad_cli.scoring.components import check_compatible

    choice = weights_choice(eval_cfg.get("weights"))
    run_dir = run_folder(eval_cfg.get("run"))
    cfg = effective_config(load_run_config(run_dir), eval_cfg)
    validate_config(cfg)
    detector = load_run_detector(run_dir, cfg)
    selection = use_weights(run_dir, detector, choice)
    if choice == "last":  # the detector is the last epoch's, whatever the run selected
        cfg.trainer.select_epoch = "last"
    check_inversion(detector.model, cfg.inversion)
    check_compatible(detector.model, cfg.score)
    return run_dir, cfg, detector, selection


def precheck(overrides: list[str], multirun: bool) -> None:
    """Compose every variant of the command line and `prepare` it; raises GanadInputError."""
    from ganad_cli.config.compose import compose_variants

    configs = compose_variants("evaluate", overrides, multirun)
    if len({str(c.get("run")) for c in configs}) > 1:
        raise GanadInputError(
            "config key 'run': a sweep may vary inversion/score/threshold, not the run "
            "folder (its results go beside that run); call evaluate once per run"
        )
    for cfg in configs:
        if cfg.get("ensemble") is not None:
            from ganad_cli.tasks.ensemble import prepare_ensemble

            prepare_ensemble(cfg)
        else:
            prepare(cfg)


def run_evaluation(eval_cfg: DictConfig, out_dir: Path) -> dict:
    """Re-run inversion and scoring of a trained run; write results into out_dir only."""
    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits
    from ganad_cli.evaluation.fit import fit_detector
    from ganad_cli.evaluation.results import evaluate_into
    from ganad_cli.hardware import hardware

    if eval_cfg.get("ensemble") is not None:
        from ganad_cli.tasks.ensemble import run_ensemble

        return run_ensemble(eval_cfg, out_dir)
    run_dir, cfg, frozen, selection = prepare(eval_cfg)
    if selection["weights"] == "last" and selection["same_as_run"]:
        log.info(
            "weights=last: %s selected its last epoch (%s) already; the same weights as its "
            "detector.pt",
            run_dir,
            selection["epoch"],
        )
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    splits = make_splits(load_samples(cfg.data), cfg.data)
    shape = splits.train.shape
    if shape != frozen.shape:
        raise GanadInputError(
            f"run {run_dir}: its data config now gives windows of shape {shape}, but the detector "
            f"expects {frozen.shape}; the data set changed since training"
        )
    check_same_splits(run_dir, splits.info)
    model = frozen.model
    use_gpu = cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available()
    model.to("cuda" if use_gpu else "cpu")
    t0 = time.perf_counter()
    detector, val_res = fit_detector(model, splits.val, cfg, splits.train)
    metrics = evaluate_into(
        detector,
        splits,
        val_res,
        out_dir,
        cfg,
        extra={"evaluated_run": str(run_dir.resolve()), "model_selection": selection},
    )
    runtime = {
        **metrics.pop("runtime"),
        "evaluate_seconds": time.perf_counter() - t0,
        "hardware": hardware(),
    }
    metrics["objective"] = metrics.get(cfg.get("optimized_metric", "val/auroc"))
    metrics["label_use"] = label_use_record(cfg)
    detector.save(out_dir / "detector.pt")
    atomic_write_text(out_dir / "effective_config.yaml", OmegaConf.to_yaml(cfg))
    atomic_write_json(out_dir / "runtime.json", runtime)
    atomic_write_json(out_dir / "metrics.json", metrics)
    log.info(
        "evaluated %s -> %s: test auroc %.4f auprc %.4f f1 %.4f mcc %.4f (tau %.4f)",
        run_dir,
        out_dir,
        metrics["test/auroc"],
        metrics["test/auprc"],
        metrics["test/f1"],
        metrics["test/mcc"],
        metrics["test/threshold"],
    )
    return metrics
