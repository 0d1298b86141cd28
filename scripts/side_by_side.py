#!/usr/bin/env python
"""PyOD's AutoEncoder beside ganad's detectors on one shared subset of MIT-BIH beats (issue 17).

    python scripts/side_by_side.py [--epochs 10] [--pyod-epochs N] [--threads N] [--seed 0]
                                   [--preset beatgan_mitbih|beatgan_mitbih_small]
                                   [--data-root DIR] [--out-dir DIR] [--results FILE]
                                   [--methods pyod_ae,beatgan,context,context_equal,neighbours,...]
                                   [--smoke]

Needs PyOD: `pip install 'ganad[baselines]'` (or `pip install 'pyod>=2'`).

The beats are experiment=beatgan_mitbih's (ganad_cli.data.load_samples with that preset composed:
[R-140, R+180) at 360 Hz, 3-45 Hz band-pass, min-max to [-1, 1], paced records dropped, N normal,
S/V/F/Q anomalous; every beat carries its RR/template context). One subset is drawn with
`--seed` (default 0): 20,000 normals for training, then from the beats not drawn for training
5,000 N + 5,000 S/V/F/Q for test, then from what is left a validation subset (2,000 N + 500
anomalies) that ganad uses for tau, lambda and the epoch selection of the preset. Every method
sees exactly these indices (written to <out-dir>/subset.npz; their SHA-256 is in the table).

Methods (test labels are only read to compute the metrics):
- pyod_ae: pyod.models.auto_encoder.AutoEncoder with PyOD's defaults (its own epochs unless
  --pyod-epochs), fitted on the training beats flattened to 320 values; decision_function.
- beatgan: ganad's BeatGAN (experiment=--preset, score=residual) trained for --epochs
  through ganad_cli.tasks.train.run_training.
- context: that trained BeatGAN scored with score=context (residual + rr_density + template,
  lambda on validation), re-fitted as `ganad evaluate` does; uses beat timing and neighbouring
  beats, which the BeatGAN authors' model does not see.
- context_equal: the same, label-free (score.combine=equal, threshold=normal_quantile); the
  training is shared, and the preset's epoch selection did use validation labels.
- neighbours, neighbours_equal: the same two with score=neighbours (latent_knn: the code's
  distance to the training beats' codes, + rr_density), experiment=ganad_mitbih's score.
- autoencoder: model=autoencoder in the same preset (BeatGAN without its adversarial part).

Writes scripts/results/side_by_side.md (with --smoke: <out-dir>/side_by_side.md) with AUROC, AP,
per-class AUROC (S, V, F, Q against N), wall time, hardware, threads, commit and the command.
--smoke: five records, a few hundred beats, one epoch, small networks (the numbers mean nothing).
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ganad_cli.data.base import Samples, Splits
from ganad_cli.hardware import cpu_model, git_commit

REPO = Path(__file__).resolve().parents[1]

METHODS = (
    "pyod_ae",
    "beatgan",
    "context",
    "context_equal",
    "neighbours",
    "neighbours_equal",
    "autoencoder",
)
# re-scorings of the trained BeatGAN: method -> its score group
RESCORED = {
    "context": "context",
    "context_equal": "context",
    "neighbours": "neighbours",
    "neighbours_equal": "neighbours",
}
LABELS = {
    "pyod_ae": "PyOD AutoEncoder (defaults)",
    "beatgan": "ganad BeatGAN (score=residual)",
    "context": "ganad context (score=context, λ on validation)",
    "context_equal": "ganad context, label-free (equal weights, τ normal quantile)",
    "neighbours": "ganad neighbours (score=neighbours, λ on validation)",
    "neighbours_equal": "ganad neighbours, label-free (equal weights, τ normal quantile)",
    "autoencoder": "ganad autoencoder (model=autoencoder, score=residual)",
}
CLASSES = ("S", "V", "F", "Q")
FULL = {"train": 20000, "test_normal": 5000, "test_anomalous": 5000, "val_normal": 2000}
FULL["val_anomalous"] = 500
SMOKE = {"train": 600, "test_normal": 150, "test_anomalous": 150, "val_normal": 100}
SMOKE["val_anomalous"] = 50
SMOKE_OVERRIDES = [
    "data.records=[100,101,106,208,232]",
    "model.base_channels=8",
    "model.latent_dim=8",
]
INSTALL = "pip install 'ganad[baselines]'  (or: pip install 'pyod>=2')"


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return hydra_compose("train", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


def draw_subset(label: np.ndarray, sizes: dict, seed: int, smoke: bool) -> dict[str, np.ndarray]:
    """Indices of train (normals), test (N + anomalies) and validation, disjoint, one seed."""
    rng = np.random.default_rng(seed)
    normals, anomalies = np.flatnonzero(label == 0), np.flatnonzero(label == 1)

    def take(pool: np.ndarray, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        if n > len(pool):
            if not smoke:
                raise SystemExit(f"side_by_side: {what} needs {n} beats, only {len(pool)} left")
            n = len(pool)
        chosen = rng.choice(pool, size=n, replace=False)
        return np.sort(chosen), np.setdiff1d(pool, chosen)

    train, normals = take(normals, sizes["train"], "train")
    test_n, normals = take(normals, sizes["test_normal"], "test N")
    test_a, anomalies = take(anomalies, sizes["test_anomalous"], "test S/V/F/Q")
    val_n, _ = take(normals, sizes["val_normal"], "validation N")
    val_a, _ = take(anomalies, sizes["val_anomalous"], "validation S/V/F/Q")
    return {
        "train": train,
        "val": np.sort(np.concatenate([val_n, val_a])),
        "test": np.sort(np.concatenate([test_n, test_a])),
    }


def make_subset_splits(samples: Samples, idx: dict[str, np.ndarray]) -> Splits:
    def counts(s: Samples) -> dict[str, int]:
        names, n = np.unique(s.cls, return_counts=True)
        return {str(a): int(b) for a, b in zip(names, n)}

    parts = {k: samples.subset(v) for k, v in idx.items()}
    info = {
        "split": "side_by_side",
        "n_train": len(parts["train"]),
        "n_val": len(parts["val"]),
        "n_test": len(parts["test"]),
        "class_counts": {k: counts(s) for k, s in parts.items()},
    }
    return Splits(parts["train"], parts["val"], parts["test"], info)


def subset_digest(idx: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in ("train", "val", "test"):
        h.update(k.encode() + idx[k].astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def run_pyod(splits: Splits, epochs: int | None, seed: int) -> tuple[np.ndarray, float, dict]:
    from pyod.models.auto_encoder import AutoEncoder

    # PyOD seeds torch, numpy and its shuffle from random_state; --seed fixes it too, so the
    # row is the same on every run (its default, 42, would also be fixed but unstated).
    kwargs = {"verbose": 0, "random_state": seed}
    if epochs is not None:
        kwargs["epoch_num"] = epochs
    clf = AutoEncoder(**kwargs)
    t0 = time.perf_counter()
    clf.fit(splits.train.x.reshape(len(splits.train), -1))
    scores = clf.decision_function(splits.test.x.reshape(len(splits.test), -1))
    seconds = time.perf_counter() - t0
    info = {"epoch_num": clf.epoch_num, "random_state": seed}
    return np.asarray(scores, dtype=np.float64), seconds, info


def ganad_overrides(args, extra: list[str]) -> list[str]:
    out = [f"experiment={args.preset}", f"trainer.max_epochs={args.epochs}"]
    out += ["logger=none", "plots=false", "quiet=true", "trainer.enable_progress_bar=false"]
    if args.data_root:
        out.append(f"data.root={args.data_root}")
    if args.threads:
        out.append(f"threads={args.threads}")
    if args.smoke:
        out += SMOKE_OVERRIDES
    return [*out, *extra]


def test_scores(run_dir: Path) -> np.ndarray:
    return pd.read_csv(run_dir / "scores.csv")["score"].to_numpy(dtype=np.float64)


def train_ganad(args, splits: Splits, run_dir: Path, extra: list[str]) -> tuple[np.ndarray, float]:
    from ganad_cli.tasks.train import run_training

    cfg = compose(ganad_overrides(args, extra))
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run_training(cfg, run_dir, splits)
    return test_scores(run_dir), time.perf_counter() - t0


def rescore(args, splits: Splits, trained: Path, out: Path, extra: list[str]):
    """The trained model with other score/threshold choices, fitted on validation only."""
    from ganad_cli.detector import Detector
    from ganad_cli.evaluation.fit import fit_detector
    from ganad_cli.evaluation.results import evaluate_into
    from ganad_cli.io import atomic_write_json

    cfg = compose(ganad_overrides(args, extra))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = Detector.load(trained / "detector.pt").model
    detector, val_res = fit_detector(model, splits.val, cfg, splits.train)
    metrics = evaluate_into(detector, splits, val_res, out, cfg)
    atomic_write_json(out / "metrics.json", metrics)
    return test_scores(out), time.perf_counter() - t0


def metrics_row(test: Samples, scores: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    row = {
        "auroc": roc_auc_score(test.label, scores),
        "ap": average_precision_score(test.label, scores),
    }
    normal = test.label == 0
    for c in CLASSES:
        sel = test.cls == c
        if sel.any() and normal.any():
            keep = sel | normal
            row[c] = roc_auc_score(test.label[keep], scores[keep])
        else:
            row[c] = float("nan")
    return row


def hardware_line() -> tuple[str, int]:
    import os

    import torch

    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    threads = torch.get_num_threads()
    return (
        f"CPU {cpu} ({os.cpu_count()} logical cores); GPU: {gpu}; torch {torch.__version__}",
        threads,
    )


def _f(v: float) -> str:
    return "–" if v != v else f"{v:.4f}"


def markdown(rows: list[dict], splits: Splits, args, digest: str, wall: float) -> str:
    hw, threads = hardware_line()
    counts = splits.info["class_counts"]
    command = shlex.join(["python", "scripts/side_by_side.py", *args.argv])
    per_class = ", ".join(f"{c} {counts['test'].get(c, 0)}" for c in ("N", *CLASSES))
    lines = [
        "# PyOD AutoEncoder beside ganad on a shared MIT-BIH subset"
        + (" (smoke)" if args.smoke else ""),
        "",
        f"Beats and networks of `experiment={args.preset}` (BeatGAN preprocessing, N normal, "
        "S/V/F/Q anomalous). "
        f"One subset drawn with seed {args.seed}: train {counts['train']}, test {counts['test']}, "
        f"validation {counts['val']} (beats per class). Every method sees the same indices "
        f"(SHA-256 prefix {digest}, in subset.npz). ganad fits τ, λ and the preset's epoch "
        "selection on validation only; test labels are read only for these metrics.",
        "",
        "| method | AUROC | AP | AUROC S | AUROC V | AUROC F | AUROC Q | wall s | budget |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["label"], _f(r["auroc"]), _f(r["ap"]), *(_f(r[c]) for c in CLASSES)]
        cells += [f"{r['seconds']:.1f}", r["budget"]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per-class AUROC: the class's test beats against all test N beats (test beats per "
        f"class: {per_class}).",
        "The context rows use information the BeatGAN authors' model does not see (the beat's "
        "timing and its neighbouring beats); their wall time is the re-scoring only (the network "
        "is the BeatGAN row's).",
        "",
        f"- hardware: {hw}; torch intra-op threads: {threads}",
        f"- commit: {git_commit(REPO)}",
        f"- command: `{command}`",
        f"- date: {datetime.now().isoformat(timespec='seconds')}; total wall time {wall:.0f} s",
        "",
    ]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="ganad training epochs (default 10)")
    p.add_argument("--pyod-epochs", type=int, default=None, help="default: PyOD's own default")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0, help="the subset's and PyOD's seed (default 0)")
    p.add_argument(
        "--preset",
        default="beatgan_mitbih",
        choices=("beatgan_mitbih", "beatgan_mitbih_small"),
        help="ganad's BeatGAN preset: the authors' network (default) or the small CPU variant",
    )
    p.add_argument("--data-root", default=None, help="MIT-BIH folder (default: $GANAD_MITDB)")
    p.add_argument("--out-dir", type=Path, default=None, help="run folders and subset.npz")
    p.add_argument("--results", type=Path, default=None, help="the Markdown table's path")
    p.add_argument("--methods", default=",".join(METHODS), help=f"any of {','.join(METHODS)}")
    p.add_argument("--smoke", action="store_true", help="tiny size, 1 epoch: checks the path")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        p.error(f"unknown method(s) {unknown}; expected any of {list(METHODS)}")
    if args.smoke:
        args.epochs = 1
        args.pyod_epochs = 1
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    args.out_dir = args.out_dir or REPO / "outputs" / "side_by_side" / stamp
    if args.results is None:
        args.results = (args.out_dir if args.smoke else REPO / "scripts" / "results") / (
            "side_by_side.md"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if "pyod_ae" in args.methods:
        try:
            import pyod  # noqa: F401
        except ImportError:
            print(f"side_by_side: PyOD is not installed; {INSTALL}", file=sys.stderr)
            return 2
    import torch

    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import assign_labels

    if args.threads:
        torch.set_num_threads(args.threads)
    t_all = time.perf_counter()
    cfg = compose(ganad_overrides(args, []))
    samples = assign_labels(load_samples(cfg.data), list(cfg.data.normal_classes))
    idx = draw_subset(samples.label, SMOKE if args.smoke else FULL, args.seed, args.smoke)
    splits = make_subset_splits(samples, idx)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(args.out_dir / "subset.npz", **idx)
    digest = subset_digest(idx)
    budget = f"{args.epochs} epochs"
    rows = []
    for method in args.methods:
        if method == "pyod_ae":
            scores, seconds, info = run_pyod(splits, args.pyod_epochs, args.seed)
            row_budget = f"{info['epoch_num']} epochs (PyOD, random_state {info['random_state']})"
        elif method in ("beatgan", "autoencoder"):
            extra = ["model=autoencoder"] if method == "autoencoder" else []
            scores, seconds = train_ganad(args, splits, args.out_dir / method, extra)
            row_budget = budget
        else:
            if not (args.out_dir / "beatgan" / "detector.pt").is_file():
                scores, seconds = train_ganad(args, splits, args.out_dir / "beatgan", [])
            extra = [f"score={RESCORED[method]}"]
            if method.endswith("_equal"):
                extra += ["score.combine=equal", "threshold=normal_quantile"]
            scores, seconds = rescore(
                args, splits, args.out_dir / "beatgan", args.out_dir / method, extra
            )
            row_budget = f"{budget} (BeatGAN's network)"
        rows.append(
            {
                "method": method,
                "label": LABELS[method],
                "seconds": seconds,
                "budget": row_budget,
                **metrics_row(splits.test, scores),
            }
        )
        print(f"{LABELS[method]}: AUROC {rows[-1]['auroc']:.4f} ({seconds:.0f} s)", flush=True)
    text = markdown(rows, splits, args, digest, time.perf_counter() - t_all)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text)
    pd.DataFrame(rows).to_csv(args.out_dir / "side_by_side.csv", index=False)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
