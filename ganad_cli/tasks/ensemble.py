"""`ganad evaluate ensemble=[<run>,<run>,...]`: runs of one configuration (different seeds) as
one detector, reported like a run.

The members must have been trained with one configuration apart from `seed` and where things live
(data.root, cache, logger, progress bars): their composed configs are compared, and so are the
splits recorded in their metrics.json (sizes, class counts and groups per split). The data are
loaded once; every member's detector is re-fitted on that validation split exactly as
`ganad evaluate` does (the evaluation's inversion/score/threshold choices apply to all members) and
scores the same validation and test samples.

Combination: each member's total score s_k is standardised with the mean and standard deviation of
its scores on the validation normals (the standardisation `score.combine` applies to components:
validation normals are the only labels used) and the ensemble score is their mean,
    s = (1/K) sum_k (s_k - mean_k) / std_k.
tau is fitted on the ensemble's validation scores with the members' threshold config.

Output (`<first member>/ensembles/<timestamp>/`, or hydra.run.dir): metrics.json (test/... and
val/... as a run's, plus `ensemble`: members, seeds, mean_k and std_k), scores.csv (a column per
member's total score `seed<k>`, then score and prediction), effective_config.yaml and plots, so
`ganad report` reads the folder like a run (its kind: "ensemble of K"). There is no detector.pt:
`ganad detect` takes a single run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.config import to_plain, validate_config
from ganad_cli.config.keys import DATA_LOCATION_KEYS
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError
from ganad_cli.io import atomic_write_json, atomic_write_text

log = logging.getLogger("ganad")

# keys that tell runs of one configuration apart without changing what was trained or scored
IGNORED_TOP = ("seed", "resume", "plots", "quiet", "threads", "logger")
IGNORED_TRAINER = ("accelerator", "enable_progress_bar", "log_every_n_steps")
OUTPUT_DIR = "${now:%Y-%m-%d_%H-%M-%S_%f}"


@dataclass
class Member:
    run_dir: Path
    cfg: DictConfig
    detector: Detector
    selection: dict  # which weights (`weights=selected|last`, ganad_cli.runs.weights) and epoch


def member_paths(value: object) -> list[Path]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise GanadInputError(
            f"config key 'ensemble' must be a list of run folders, got {value!r}; expected "
            "ensemble=[<run>,<run>,...]"
        )
    from ganad_cli.runs.folder import run_folder

    paths = [run_folder(v).resolve() for v in value]
    if len(set(paths)) < 2 or len(set(paths)) != len(paths):
        raise GanadInputError(
            f"config key 'ensemble' must name at least two different run folders, got {list(value)}"
        )
    return paths


def identity(cfg: DictConfig) -> dict:
    """The config without the keys that may differ between members."""
    plain = {k: v for k, v in to_plain(cfg).items() if k not in IGNORED_TOP}
    plain["data"] = {k: v for k, v in plain["data"].items() if k not in DATA_LOCATION_KEYS}
    trainer = plain.get("trainer") or {}
    plain["trainer"] = {k: v for k, v in trainer.items() if k not in IGNORED_TRAINER}
    return plain


def _flat(d: object, prefix: str = "") -> dict[str, object]:
    if isinstance(d, dict):
        out: dict[str, object] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def first_difference(a: dict, b: dict) -> tuple[str, object, object] | None:
    fa, fb = _flat(a), _flat(b)
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key, "<absent>") != fb.get(key, "<absent>"):
            return key, fa.get(key, "<absent>"), fb.get(key, "<absent>")
    return None


def saved_split(run_dir: Path) -> dict | None:
    """The split a run recorded in its metrics.json (None for an interrupted run)."""
    try:
        data = json.loads((run_dir / "metrics.json").read_text()).get("data")
    except (OSError, ValueError, AttributeError):
        return None
    return data if isinstance(data, dict) else None


def check_members(members: list[Member]) -> None:
    """One configuration apart from seed and locations; distinct seeds; the same recorded split."""
    first = members[0]
    ref, ref_split = identity(first.cfg), saved_split(first.run_dir)
    seeds = {int(first.cfg.seed): first.run_dir}
    for m in members[1:]:
        diff = first_difference(ref, identity(m.cfg))
        if diff is not None:
            key, a, b = diff
            raise GanadInputError(
                f"config key 'ensemble': runs {first.run_dir} and {m.run_dir} differ in {key} "
                f"({a!r} vs {b!r}); expected runs of one configuration that differ only in seed"
            )
        seed = int(m.cfg.seed)
        if seed in seeds:
            raise GanadInputError(
                f"config key 'ensemble': runs {seeds[seed]} and {m.run_dir} have the same seed "
                f"{seed}; expected runs with different seeds"
            )
        seeds[seed] = m.run_dir
        split = saved_split(m.run_dir)
        if ref_split is not None and split is not None:
            diff = first_difference(ref_split, split)
            if diff is not None:
                key, a, b = diff
                raise GanadInputError(
                    f"config key 'ensemble': runs {first.run_dir} and {m.run_dir} were tested on "
                    f"other splits (metrics.json data.{key}: {a!r} vs {b!r}); expected the same "
                    "validation and test samples"
                )


def prepare_ensemble(eval_cfg: DictConfig) -> list[Member]:
    """Load and check every member before any folder is written."""
    from ganad_cli.inversion.encoder import check_inversion
    from ganad_cli.runs.folder import effective_config, load_run_config
    from ganad_cli.runs.weights import use_weights, weights_choice
    from ganad_cli.scoring.components import check_compatible

    choice = weights_choice(eval_cfg.get("weights"))
    members = []
    for run_dir in member_paths(to_plain(eval_cfg)["ensemble"]):
        cfg = effective_config(load_run_config(run_dir), eval_cfg)
        validate_config(cfg)
        detector = Detector.load(run_dir / "detector.pt")
        selection = use_weights(run_dir, detector, choice)
        if choice == "last":
            cfg.trainer.select_epoch = "last"
        check_inversion(detector.model, cfg.inversion)
        check_compatible(detector.model, cfg.score)
        members.append(Member(run_dir, cfg, detector, selection))
    check_members(members)
    return members


def combine(val: dict[str, np.ndarray], val_labels: np.ndarray):
    """Each member's total standardised on the validation normals, equal weights."""
    from ganad_cli.scoring.combine import fit_combination

    cfg = OmegaConf.create({"components": list(val), "combine": "equal", "standardize": True})
    return fit_combination(val, val_labels, cfg)


def run_ensemble(eval_cfg: DictConfig, out_dir: Path) -> dict:
    from sklearn.metrics import roc_auc_score

    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits
    from ganad_cli.evaluation.fit import fit_detector, score_split
    from ganad_cli.evaluation.results import scores_frame
    from ganad_cli.hardware import hardware
    from ganad_cli.metrics import detection_metrics
    from ganad_cli.runs.folder import check_same_splits
    from ganad_cli.scoring.threshold import fit_threshold
    from ganad_cli.types import InversionResult, Scored

    members = prepare_ensemble(eval_cfg)
    cfg = members[0].cfg
    splits = make_splits(load_samples(cfg.data), cfg.data)
    t0 = time.perf_counter()
    names, val, test, invs = [], {}, {}, []
    for m in members:
        if splits.train.shape != m.detector.shape:
            raise GanadInputError(
                f"run {m.run_dir}: the data config gives windows of shape {splits.train.shape}, "
                f"but its detector expects {m.detector.shape}; the data set changed since training"
            )
        check_same_splits(m.run_dir, splits.info)
        use_gpu = m.cfg.trainer.accelerator in ("gpu", "cuda") and torch.cuda.is_available()
        m.detector.model.to("cuda" if use_gpu else "cpu")
        pl.seed_everything(m.cfg.seed, workers=True, verbose=False)  # as `ganad evaluate` does
        detector, val_res = fit_detector(m.detector.model, splits.val, m.cfg, splits.train)
        test_res = score_split(detector, splits.test)
        name = f"seed{int(m.cfg.seed)}"
        names.append(name)
        val[name], test[name] = val_res.scores, test_res.scores
        invs.append(test_res.inversion)
    fitted = combine(val, splits.val.label)
    val_scores, test_scores = fitted.total(val), fitted.total(test)
    tau = fit_threshold(val_scores, splits.val.label, cfg.threshold)
    beta = float(cfg.threshold.get("beta", 1.0))
    metrics: dict = {}
    for split, s, scores in (("val", splits.val, val_scores), ("test", splits.test, test_scores)):
        mm = detection_metrics(s.label, scores, tau, beta, s.cls)
        mm["lambda"], mm["combine"], mm["components"] = fitted.weights, "ensemble", names
        metrics.update({f"{split}/{k}": v for k, v in mm.items()})
    metrics["data"] = splits.info
    metrics["ensemble"] = {
        "members": [str(m.run_dir) for m in members],
        "seeds": [int(m.cfg.seed) for m in members],
        "standardisation": "mean and std of each member's total score on validation normals",
        "mean": fitted.mean,
        "std": fitted.std,
        "member_test_auroc": [float(roc_auc_score(splits.test.label, test[n])) for n in names],
        "model_selection": [m.selection for m in members],
    }
    metrics["objective"] = metrics.get(cfg.get("optimized_metric", "val/auroc"))
    # scores.csv as a run's: steps summed over the members, converged when all converged, and
    # (for the plots) the members' mean reconstruction
    inv = InversionResult(
        z=invs[0].z,
        x_hat=torch.stack([i.x_hat.cpu() for i in invs]).mean(0),
        steps=torch.stack([i.steps.cpu() for i in invs]).sum(0),
        converged=torch.stack([i.converged.cpu() for i in invs]).all(0),
        similarity=torch.stack([i.similarity.cpu() for i in invs]).mean(0),
    )
    res = Scored(test_scores, test, inv, 0.0)
    frame = scores_frame(splits.test, res, tau)
    atomic_write_text(out_dir / "scores.csv", frame.to_csv(index=False))
    if cfg.get("plots", True):
        from ganad_cli.runs.plots import write_plots

        write_plots(out_dir / "plots", splits.test, res, tau)
    runtime = {"evaluate_seconds": time.perf_counter() - t0, "hardware": hardware()}
    atomic_write_text(out_dir / "effective_config.yaml", OmegaConf.to_yaml(cfg))
    atomic_write_json(out_dir / "runtime.json", runtime)
    atomic_write_json(out_dir / "metrics.json", metrics)
    log.info(
        "ensemble of %d runs -> %s: test auroc %.4f auprc %.4f f1 %.4f (tau %.4f; members %s)",
        len(members),
        out_dir,
        metrics["test/auroc"],
        metrics["test/auprc"],
        metrics["test/f1"],
        tau,
        ", ".join(f"{a:.4f}" for a in metrics["ensemble"]["member_test_auroc"]),
    )
    return metrics
