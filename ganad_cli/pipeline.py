"""One training run: data -> fit on normals -> frozen detector fitted on validation -> test."""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from ganad_cli import __version__
from ganad_cli.config import to_plain, validate_config
from ganad_cli.data import load_samples
from ganad_cli.data.base import Samples, Splits
from ganad_cli.data.datamodule import WindowDataModule
from ganad_cli.data.splits import make_splits
from ganad_cli.detector import Detector
from ganad_cli.inversion import InversionResult
from ganad_cli.io import atomic_write_json, atomic_write_text
from ganad_cli.metrics import detection_metrics
from ganad_cli.models import build_model
from ganad_cli.models.base import GanadModule
from ganad_cli.scoring.combine import fit_combination
from ganad_cli.scoring.threshold import fit_threshold

log = logging.getLogger("ganad")


def quiet_mode(cfg: DictConfig) -> bool:
    return bool(cfg.get("quiet", False)) or os.environ.get("CI", "").lower() in ("1", "true")


def build_trainer(cfg: DictConfig, run_dir: Path) -> pl.Trainer:
    from pytorch_lightning.callbacks import ModelCheckpoint

    t = cfg.trainer
    logger: object = False
    if cfg.logger.name == "csv":
        logger = pl.loggers.CSVLogger(save_dir=str(run_dir), name="logs", version="")
    elif cfg.logger.name == "tensorboard":
        logger = pl.loggers.TensorBoardLogger(save_dir=str(run_dir), name="logs", version="")
    elif cfg.logger.name == "wandb":
        logger = pl.loggers.WandbLogger(
            project=cfg.logger.project, save_dir=str(run_dir), offline=cfg.logger.mode != "online"
        )
    checkpoint = ModelCheckpoint(
        dirpath=str(run_dir / "checkpoints"),
        filename="epoch{epoch:03d}",
        auto_insert_metric_name=False,
        save_last=True,
        save_top_k=1,
    )
    quiet = quiet_mode(cfg)
    kwargs = dict(
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=t.strategy,
        precision=t.precision,
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        log_every_n_steps=t.log_every_n_steps,
        deterministic=t.deterministic,
        logger=logger,
        callbacks=[checkpoint],
        default_root_dir=str(run_dir),
        enable_progress_bar=t.enable_progress_bar and not quiet,
        enable_model_summary=not quiet,
    )
    if t.limit_train_batches is not None:
        kwargs["limit_train_batches"] = t.limit_train_batches
    return pl.Trainer(**kwargs)


def hardware() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "ganad": __version__,
        "device": "cpu",
    }
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
    return info


def timed_inversion(detector: Detector, x: torch.Tensor) -> tuple[InversionResult, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    inv = detector.invert(x)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return inv, time.perf_counter() - t0


def fit_detector(model: GanadModule, val: Samples, cfg: DictConfig) -> tuple[Detector, dict]:
    """Fit score combination and tau on validation only; returns the detector and val results."""
    detector = Detector(
        model,
        to_plain(cfg.inversion),
        to_plain(cfg.score),
        None,
        0.0,  # type: ignore[arg-type]
        to_plain(cfg.data),
    )
    x_val = torch.from_numpy(val.x)
    inv, seconds = timed_inversion(detector, x_val)
    comps = detector.components(x_val, inv)
    detector.score = fit_combination(comps, val.label, cfg.score)
    scores = detector.score.total(comps)
    detector.threshold = fit_threshold(scores, val.label, cfg.threshold)
    return detector, {"inv": inv, "seconds": seconds, "comps": comps, "scores": scores}


def score_split(detector: Detector, s: Samples) -> dict:
    x = torch.from_numpy(s.x)
    inv, seconds = timed_inversion(detector, x)
    comps = detector.components(x, inv)
    return {"inv": inv, "seconds": seconds, "comps": comps, "scores": detector.score.total(comps)}


def scores_frame(s: Samples, res: dict, tau: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"index": np.arange(len(s)), "label": s.label, "class": s.cls, "group": s.group}
    )
    for name, values in res["comps"].items():
        frame[name] = values
    frame["score"] = res["scores"]
    frame["prediction"] = (res["scores"] > tau).astype(int)
    frame["steps"] = res["inv"].steps.cpu().numpy()
    frame["converged"] = res["inv"].converged.cpu().numpy().astype(int)
    return frame


def inversion_runtime(res: dict) -> dict:
    inv: InversionResult = res["inv"]
    n = len(inv.steps)
    return {
        "n": n,
        "ms_per_sample": 1000.0 * res["seconds"] / max(n, 1),
        "mean_steps": float(inv.steps.float().mean()),
        "fraction_converged": float(inv.converged.float().mean()),
    }


def evaluate_into(
    detector: Detector,
    splits: Splits,
    val_res: dict,
    out_dir: Path,
    cfg: DictConfig,
    extra: dict | None = None,
) -> dict:
    """Score test with the frozen detector; write metrics.json, scores.csv, runtime, plots."""
    test_res = score_split(detector, splits.test)
    beta = float(cfg.threshold.get("beta", 1.0))
    metrics: dict = {}
    for split, s, res in (("val", splits.val, val_res), ("test", splits.test, test_res)):
        m = detection_metrics(s.label, res["scores"], detector.threshold, beta, s.cls)
        m["lambda"] = detector.score.weights
        m["components"] = detector.score.components
        metrics.update({f"{split}/{k}": v for k, v in m.items()})
    metrics["data"] = splits.info
    metrics.update(extra or {})
    atomic_write_text(
        out_dir / "scores.csv",
        scores_frame(splits.test, test_res, detector.threshold).to_csv(index=False),
    )
    if cfg.get("plots", True):
        from ganad_cli.plots import write_plots

        write_plots(out_dir / "plots", splits.test, test_res, detector.threshold)
    metrics["runtime"] = {"val": inversion_runtime(val_res), "test": inversion_runtime(test_res)}
    return metrics


def run_training(cfg: DictConfig, run_dir: Path) -> dict:
    validate_config(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
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
    trainer = build_trainer(cfg, run_dir)
    datamodule = WindowDataModule(splits, cfg.data.batch_size, cfg.data.num_workers, cfg.seed)
    t0 = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    train_seconds = time.perf_counter() - t0
    model.eval()
    if cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available():
        model.to("cuda")
    else:
        model.to("cpu")

    detector, val_res = fit_detector(model, splits.val, cfg)
    detector.save(run_dir / "detector.pt")
    metrics = evaluate_into(detector, splits, val_res, run_dir, cfg)
    runtime = {
        "train_seconds": train_seconds,
        "epochs": trainer.current_epoch,
        "global_steps": trainer.global_step,
        **metrics.pop("runtime"),
        "hardware": hardware(),
    }
    metrics["objective"] = metrics.get(cfg.optimized_metric)
    atomic_write_json(run_dir / "runtime.json", runtime)
    atomic_write_json(run_dir / "metrics.json", metrics)
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
