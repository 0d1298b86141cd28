"""`ganad evaluate run=<run folder> [inversion=... score=... threshold=...]`.

Re-scores a trained run without retraining: the run's generator/discriminator weights (from its
detector.pt) and its data config (so the same splits) are reused; inversion, score components,
their combination and tau are re-run / re-fitted on validation only with the new choices, and
everything is written into a new folder `<run>/evaluations/<timestamp>/`. The run's own files are
never written.

A group choice (`score=svm`) replaces the run's node; `+score.residual_norm=l2` (no choice) changes
one key of the run's node; both together (`score=residual score.residual_norm=l2`) also work.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.config import to_plain, validate_config
from ganad_cli.detector import Detector, load_run_detector
from ganad_cli.errors import GanadInputError
from ganad_cli.io import atomic_write_json, atomic_write_text

log = logging.getLogger("ganad")

GROUPS = ("inversion", "score", "threshold")


def run_folder(run: str | None) -> Path:
    if run is None or str(run) in ("", "???"):
        raise GanadInputError(
            "config key 'run' is required: expected run=<folder written by 'ganad train'>"
        )
    path = Path(str(run)).expanduser()
    if not path.is_dir():
        raise GanadInputError(f"config key 'run': run folder {path} not found")
    return path


def load_run_config(run_dir: Path) -> DictConfig:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        raise GanadInputError(
            f"run folder {run_dir} has no .hydra/config.yaml; expected a folder written by "
            "'ganad train'"
        )
    from ganad_cli.untrusted import read_saved_config

    cfg = read_saved_config(path)
    missing = [k for k in ("data", "model", *GROUPS) if k not in cfg]
    if not isinstance(cfg, DictConfig) or missing:
        raise GanadInputError(f"run config {path} lacks {missing}; expected a 'ganad train' config")
    return upgrade(cfg)


TOP_LEVEL_DEFAULTS = {"seed": 0, "plots": True, "quiet": False, "optimized_metric": "val/auroc"}


def upgrade(saved: DictConfig) -> DictConfig:
    """The saved run config on today's schemas: keys added since the run get their schema
    defaults (the behaviour before they existed), keys since removed are dropped."""
    from ganad_cli.config import SCHEMAS

    out = OmegaConf.create({**TOP_LEVEL_DEFAULTS, **to_plain(saved)})
    for group, schemas in SCHEMAS.items():
        if group not in saved or not isinstance(saved[group], DictConfig):
            continue
        schema = OmegaConf.structured(schemas.get(saved[group].get("name"), schemas["base"]))
        fields = set(schema.keys())
        known = {k: v for k, v in to_plain(saved[group]).items() if k in fields}
        merged = OmegaConf.merge(schema, known)
        OmegaConf.set_struct(merged, False)
        out[group] = merged
    return out


def effective_config(run_cfg: DictConfig, eval_cfg: DictConfig) -> DictConfig:
    """The run's config with the evaluation's inversion/score/threshold choices applied."""
    cfg = OmegaConf.create(to_plain(run_cfg))
    for group in GROUPS:
        node = eval_cfg.get(group)
        if node is None:
            continue
        node = OmegaConf.create(to_plain(node))
        cfg[group] = node if "name" in node else OmegaConf.merge(cfg[group], node)
    for key in ("plots", "quiet"):
        if eval_cfg.get(key) is not None:
            cfg[key] = eval_cfg[key]
    if eval_cfg.get("accelerator") is not None:
        cfg.trainer.accelerator = eval_cfg.accelerator
    return cfg


def check_inversion(detector: Detector, inversion: DictConfig) -> None:
    if inversion.name in ("encoder", "encoder_then_anogan") or inversion.get("init") == "encoder":
        from ganad_cli.inversion.encoder import require_encoder

        require_encoder(detector.model)


def prepare(eval_cfg: DictConfig) -> tuple[Path, DictConfig, Detector]:
    """Check everything that can be checked before any folder is written."""
    from ganad_cli.scoring.components import check_compatible

    run_dir = run_folder(eval_cfg.get("run"))
    cfg = effective_config(load_run_config(run_dir), eval_cfg)
    validate_config(cfg)
    detector = load_run_detector(run_dir, cfg)
    check_inversion(detector, cfg.inversion)
    check_compatible(detector.model, cfg.score)
    return run_dir, cfg, detector


def precheck(overrides: list[str], multirun: bool) -> None:
    """Compose every variant of the command line and `prepare` it; raises GanadInputError."""
    from ganad_cli.cli import compose_variants

    configs = compose_variants("evaluate", overrides, multirun)
    if len({str(c.get("run")) for c in configs}) > 1:
        raise GanadInputError(
            "config key 'run': a sweep may vary inversion/score/threshold, not the run "
            "folder (its results go beside that run); call evaluate once per run"
        )
    for cfg in configs:
        if cfg.get("ensemble") is not None:
            from ganad_cli.ensemble import prepare_ensemble

            prepare_ensemble(cfg)
        else:
            prepare(cfg)


def check_same_splits(run_dir: Path, info: dict) -> None:
    """The split sizes must match the run's metrics.json: otherwise the data moved under it."""
    import json

    try:
        saved = json.loads((run_dir / "metrics.json").read_text()).get("data") or {}
    except (OSError, ValueError):
        return  # an interrupted run has no metrics.json; the detector alone is enough
    keys = [k for k in ("n_train", "n_val", "n_test") if k in saved and k in info]
    diff = {k: (saved[k], info[k]) for k in keys if saved[k] != info[k]}
    if diff:
        raise GanadInputError(
            f"run {run_dir}: its data config now gives other splits than in training "
            f"(run, now: {diff}); the data files changed since the run"
        )


def run_evaluation(eval_cfg: DictConfig, out_dir: Path) -> dict:
    """Re-run inversion and scoring of a trained run; write results into out_dir only."""
    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits
    from ganad_cli.pipeline import evaluate_into, fit_detector, hardware

    if eval_cfg.get("ensemble") is not None:
        from ganad_cli.ensemble import run_ensemble

        return run_ensemble(eval_cfg, out_dir)
    run_dir, cfg, frozen = prepare(eval_cfg)
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
        detector, splits, val_res, out_dir, cfg, extra={"evaluated_run": str(run_dir.resolve())}
    )
    runtime = {
        **metrics.pop("runtime"),
        "evaluate_seconds": time.perf_counter() - t0,
        "hardware": hardware(),
    }
    metrics["objective"] = metrics.get(cfg.get("optimized_metric", "val/auroc"))
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
