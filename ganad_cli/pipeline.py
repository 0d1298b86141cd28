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
from omegaconf import DictConfig, OmegaConf

from ganad_cli import __version__
from ganad_cli.applied import check_applied_keys, check_optimisation, trainer_extras
from ganad_cli.choices import CONTEXT_COMPONENTS
from ganad_cli.config import to_plain, validate_config
from ganad_cli.data import load_samples
from ganad_cli.data.base import Samples, Splits
from ganad_cli.data.datamodule import WindowDataModule
from ganad_cli.data.splits import make_splits
from ganad_cli.detector import Detector, check_scores
from ganad_cli.errors import GanadInputError
from ganad_cli.hardware import check_hardware
from ganad_cli.inversion import InversionResult
from ganad_cli.inversion.run import calibrate_eps
from ganad_cli.io import atomic_write_json, atomic_write_text
from ganad_cli.metrics import detection_metrics
from ganad_cli.models import build_model
from ganad_cli.models.base import GanadModule
from ganad_cli.progress import set_quiet
from ganad_cli.scoring.combine import fit_combination
from ganad_cli.scoring.threshold import fit_threshold
from ganad_cli.threads import apply_threads

log = logging.getLogger("ganad")


def quiet_mode(cfg: DictConfig) -> bool:
    return bool(cfg.get("quiet", False)) or os.environ.get("CI", "").lower() in ("1", "true")


def build_trainer(cfg: DictConfig, run_dir: Path, val: Samples | None = None) -> pl.Trainer:
    """Lightning Trainer with checkpoints, Ctrl-C handling and plots. With
    `trainer.select_epoch=best_val_auroc`, `val` feeds the per-epoch validation AUROC that picks
    the checkpoint kept as best (`checkpoints/best.ckpt` via ModelCheckpoint)."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    from ganad_cli.callbacks import AdoptResumedConfig, EpochValAUROC, RNGStates, TrainingClock
    from ganad_cli.checkpoint_io import AtomicCheckpointIO

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
        callbacks.append(EpochValAUROC(torch.from_numpy(val.x), val.label))
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
    from ganad_cli.interrupts import interrupt_callback

    callbacks.append(interrupt_callback(run_dir))
    from ganad_cli.tracking import EpochLine

    callbacks.append(EpochLine())  # stdout not a terminal: one line per epoch
    if cfg.get("plots", True):
        from ganad_cli.callbacks import SampleGrid

        callbacks.append(SampleGrid(run_dir / "plots"))
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
        logger=build_logger(cfg, run_dir),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],  # atomic saves, weights-only loads
        default_root_dir=str(run_dir),
        enable_progress_bar=t.enable_progress_bar and not quiet,
        enable_model_summary=not quiet,
    )
    if t.limit_train_batches is not None:
        kwargs["limit_train_batches"] = t.limit_train_batches
    # Lightning Trainer arguments given as `+trainer.<arg>=...` (checked by check_applied_keys)
    kwargs.update(to_plain(OmegaConf.create(trainer_extras(t))))
    try:
        return pl.Trainer(**kwargs)
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
    name = cfg.logger.name
    if name == "csv":
        # Lightning's CSVLogger replaces an existing metrics.csv: a resumed run writes its own
        # logs/resume<k>/metrics.csv and the epochs before the interruption stay readable
        return pl.loggers.CSVLogger(
            save_dir=str(run_dir), name="logs", version=_csv_version(cfg, run_dir)
        )
    if name == "tensorboard":
        return pl.loggers.TensorBoardLogger(save_dir=str(run_dir), name="logs", version="")
    if name == "wandb":
        from ganad_cli.tracking import wandb_identity

        who = wandb_identity(cfg, run_dir)
        return pl.loggers.WandbLogger(
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
    return False


def log_results(trainer: pl.Trainer, metrics: dict, run_dir: Path) -> None:
    """Final metrics (and, for wandb, plots and the detector) to every configured logger."""
    from ganad_cli.tracking import log_final

    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and k != "objective"}
    log_final(trainer, metrics, run_dir)  # hp_metric, plots as TensorBoard images
    for logger in trainer.loggers:
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
    from ganad_cli.callbacks import TrainingClock

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


def fit_latent_neighbours(detector: Detector, train: Samples | None, cfg: DictConfig):
    """The training beats' codes (the detector's own inversion) for the latent_knn component."""
    from ganad_cli.scoring.latent_knn import LatentNeighbours

    if train is None or len(train) == 0:
        raise GanadInputError(
            "config key 'score.components': latent_knn is fitted on the training beats' codes, "
            "and none were given"
        )
    sc = cfg.score
    n = len(train)
    keep = np.arange(n)
    if n > int(sc.knn_max_train):  # subsample before inverting: the inversion is the cost
        rng = np.random.default_rng(int(cfg.seed))
        keep = np.sort(rng.choice(n, int(sc.knn_max_train), replace=False))
    codes = detector.invert(torch.from_numpy(train.x[keep])).z
    return LatentNeighbours.fit(codes, int(sc.knn_k), int(sc.knn_max_train), int(cfg.seed))


def fit_detector(
    model: GanadModule, val: Samples, cfg: DictConfig, train: Samples | None = None
) -> tuple[Detector, dict]:
    """Fit score combination and tau on validation only (the rr_density component on the
    training beats, as the GAN: normals, plus any deliberate contamination); returns the
    detector and the validation results."""
    detector = Detector(
        model,
        to_plain(cfg.inversion),
        to_plain(cfg.score),
        None,
        0.0,  # type: ignore[arg-type]
        to_plain(cfg.data),
    )
    context_used = [n for n in cfg.score.components if n in CONTEXT_COMPONENTS]
    if context_used and (val.context is None or (train is not None and train.context is None)):
        raise GanadInputError(
            f"config key 'score.components': {', '.join(context_used)} need(s) beats cut from "
            f"records (data=mitbih); data {cfg.data.name!r} has no beat positions"
        )
    if "rr_density" in cfg.score.components:
        from ganad_cli.scoring.rhythm import RhythmDensity

        if train is None or train.context is None:
            raise GanadInputError(
                "config key 'score.components': rr_density is fitted on the training beats' RR "
                "features, and none were given"
            )
        detector.rhythm = RhythmDensity.fit(train.context, seed=int(cfg.seed))
    if "latent_knn" in cfg.score.components:
        detector.neighbours = fit_latent_neighbours(detector, train, cfg)
    x_val = torch.from_numpy(val.x)
    # a data-driven eps (inversion.eps_quantile) is calibrated on validation normals only
    detector.inversion = calibrate_eps(model, x_val, val.label, detector.inversion)
    inv, seconds = timed_inversion(detector, x_val)
    if "latent_norm" in cfg.score.components:
        from ganad_cli.scoring.latent_center import fit_latent_center

        center = fit_latent_center(inv.z, val.label, detector.inversion)
        if center is not None:  # encoder codes: centred on the validation normals' norms
            detector.score_cfg = {**detector.score_cfg, "latent_norm_center": center}
    comps = detector.components(x_val, inv, val.context)
    check_scores(comps, np.zeros(len(x_val)), "the trained model", "validation windows")
    detector.score = fit_combination(comps, val.label, cfg.score)
    scores = detector.score.total(comps)
    check_scores(comps, scores, "the trained model", "validation windows")
    detector.threshold = fit_threshold(scores, val.label, cfg.threshold)
    return detector, {"inv": inv, "seconds": seconds, "comps": comps, "scores": scores}


def score_split(detector: Detector, s: Samples) -> dict:
    x = torch.from_numpy(s.x)
    inv, seconds = timed_inversion(detector, x)
    comps = detector.components(x, inv, s.context)
    scores = detector.score.total(comps)
    check_scores(comps, scores, "the trained model", "test windows")
    return {"inv": inv, "seconds": seconds, "comps": comps, "scores": scores}


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
        m["combine"] = detector.score_cfg.get("combine", "weighted")
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
        from ganad_cli.interrupts import resume_checkpoint

        found = resume_checkpoint(Path(cfg.resume))
        if found is None:
            raise GanadInputError(f"resume: no checkpoint in {Path(cfg.resume) / 'checkpoints'}")
        ckpt_path = str(found)
        log.info("resuming from %s", ckpt_path)
    from ganad_cli.tracking import log_config

    log_config(trainer, cfg, model)  # the full resolved config as every logger's hyperparameters
    t0 = time.perf_counter()
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit:  # Lightning exits after its graceful Ctrl-C shutdown
        if not trainer.interrupted:
            raise
    train_seconds = time.perf_counter() - t0
    if cfg.get("resume"):  # training had already ended: fit restored the checkpoint and stopped
        from ganad_cli.callbacks import adopt_resumed_config

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
