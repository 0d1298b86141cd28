"""`ganad bench run=<run folder> bench=table1`: inference cost and accuracy of inversion settings.

On N test samples of a trained run (a seeded subset, stratified by label so both classes stay in
it), every row of the grid inversion x eps x n_max x batch size inverts all N samples with the
run's frozen model (the `anogan` rows start where the run's inversion.init says, the prior by
default; `encoder_then_anogan` rows at E(x)), scores them with the run's fitted score
combination, and records ms per sample (mean +- std over timed batches; whole passes are
repeated until `min_timings` timings exist), samples per second, mean steps, fraction
converged and test AUROC. A short untimed warm-up precedes every row; CUDA is synchronised
around each timed batch. Writes bench.csv and bench.md (laid out like Table 1 of the survey)
into the run folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from ganad_cli.config import check_finite, check_seed
from ganad_cli.config.choices import INVERSIONS
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError
from ganad_cli.hardware import device_info
from ganad_cli.inversion import InversionResult, invert, prior_starts
from ganad_cli.progress import bar
from ganad_cli.runs.bench_tables import COLUMNS, LABELS, finished_rows, row_key, write_tables
from ganad_cli.runs.folder import load_run_detector

log = logging.getLogger("ganad")

SHOWN_KEYS = (
    "lr",
    "optimizer",
    "lr_schedule",
    "lr_drop_below",
    "lr_drop_factor",
    "similarity",
    "init",
    "restarts",
    "restriction",
    "seed",
)


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise GanadInputError(f"config key '{key}' must be {expected}, got {value!r}")


def validate_bench(cfg: DictConfig) -> None:
    b = cfg.bench
    check_finite(b, "bench")
    check_seed(b.seed, "bench.seed")
    _check(b.n >= 2, "bench.n", ">= 2", b.n)
    _check(len(b.eps) >= 1 and all(e > 0 for e in b.eps), "bench.eps", "values > 0", list(b.eps))
    _check(
        len(b.n_max) >= 1 and all(int(m) >= 1 for m in b.n_max),
        "bench.n_max",
        "values >= 1",
        list(b.n_max),
    )
    _check(
        len(b.batch) >= 1 and all(int(s) >= 1 for s in b.batch),
        "bench.batch",
        "batch sizes >= 1",
        list(b.batch),
    )
    invs = list(b.inversions)
    _check(
        len(invs) >= 1 and set(invs) <= set(INVERSIONS),
        "bench.inversions",
        f"a non-empty list from {tuple(LABELS)}",
        invs,
    )
    _check(b.min_timings >= 1, "bench.min_timings", ">= 1", b.min_timings)
    _check(b.warmup_steps >= 0, "bench.warmup_steps", ">= 0", b.warmup_steps)
    _check(cfg.device in ("cpu", "cuda"), "device", "cpu or cuda", cfg.device)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise GanadInputError("config key 'device' is cuda, but CUDA is not available here")
    r = cfg.get("resume", False)
    _check(isinstance(r, bool), "resume", "true or false", r)
    t = cfg.get("threads")
    _check(t is None or int(t) >= 1, "threads", "null or >= 1", t)


def prepare(cfg: DictConfig) -> tuple[Path, DictConfig, Detector]:
    """Every check that can run before anything is written."""
    from ganad_cli.runs.folder import load_run_config, run_folder

    validate_bench(cfg)
    run_dir = run_folder(cfg.get("run"))
    run_cfg = load_run_config(run_dir)
    detector = load_run_detector(run_dir, run_cfg)
    return run_dir, run_cfg, detector


def precheck(overrides: list[str], multirun: bool) -> None:
    """Compose every variant of the command line and run `prepare` (raises GanadInputError)."""
    from ganad_cli.config.compose import compose_variants

    for cfg in compose_variants("bench", overrides, multirun):
        prepare(cfg)


def plan_rows(bench: DictConfig, n: int, has_encoder: bool) -> list[dict]:
    """The grid, minus rows that make no sense: batch sizes above n collapse into one (batch n),
    eps/n_max do not apply to the encoder, encoder rows need a model with an encoder."""
    batches: list[int] = []
    for b in bench.batch:
        eff = min(int(b), n)
        if eff not in batches:
            batches.append(eff)
    rows = []
    for inv in bench.inversions:
        if inv != "anogan" and not has_encoder:
            log.info("bench: skipping %s rows: the model has no encoder", inv)
            continue
        if inv == "encoder":
            rows += [{"inversion": inv, "eps": None, "n_max": None, "batch": b} for b in batches]
            continue
        for eps in bench.eps:
            for n_max in bench.n_max:
                rows += [
                    {"inversion": inv, "eps": float(eps), "n_max": int(n_max), "batch": b}
                    for b in batches
                ]
    return rows


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def row_config(base: dict, row: dict) -> dict:
    cfg = {**base, "name": row["inversion"], "batch_size": row["batch"]}
    cfg.pop("eps_calibrated", None)
    cfg["eps_quantile"] = None  # the grid sets eps
    if row["inversion"] == "encoder_then_anogan":
        cfg["init"] = "encoder"
    elif row["inversion"] == "anogan":
        # the run's start of a plain search: inversion.init (prior unless the run sets it;
        # experiment=table1 sets encoder, ecgan's z0 = E(x)); an encoder_then_anogan run's own
        # start is E(x) by its name, and its anogan rows start from the prior
        own = base.get("init", "prior") if base.get("name") != "encoder_then_anogan" else "prior"
        cfg["init"] = own
    if row["eps"] is not None:
        cfg["eps"], cfg["n_max"] = row["eps"], row["n_max"]
    return cfg


def measure_row(
    detector: Detector,
    x: torch.Tensor,
    y: np.ndarray,
    inv_cfg: dict,
    device: str,
    min_timings: int,
    warmup_steps: int,
) -> dict:
    model = detector.model
    b = int(inv_cfg["batch_size"])
    warm = {**inv_cfg, "n_max": min(int(inv_cfg.get("n_max", 1)), max(warmup_steps, 1))}
    # untimed warm-up of every batch shape timed below (a shorter last batch too: new shapes
    # cost allocator growth, and on CUDA cudnn.benchmark's search, the first time they run)
    for size in dict.fromkeys((min(b, len(x)), len(x) % b)):
        if size:
            invert(model, x[:size], warm)
    _sync(device)
    # the starts one call on all of x would use, so every batch size inverts the same problem
    starts = None
    if inv_cfg["name"] == "anogan" and inv_cfg.get("init", "prior") == "prior":
        starts = prior_starts(
            model, len(x), int(inv_cfg.get("restarts", 1)), inv_cfg.get("seed", 0)
        )
    n_batches = math.ceil(len(x) / b)
    passes = max(1, math.ceil(min_timings / n_batches))
    per_sample, total_s, first = [], 0.0, []
    for p in range(passes):
        for i in range(0, len(x), b):
            xb = x[i : i + b]
            _sync(device)
            t0 = time.perf_counter()
            z0 = None if starts is None else starts[:, i : i + b]
            res = invert(model, xb, inv_cfg, z_init=z0)
            _sync(device)
            dt = time.perf_counter() - t0
            total_s += dt
            per_sample.append(1000.0 * dt / len(xb))
            if p == 0:
                first.append(res)
    inv = InversionResult.cat(first)
    scores = detector.score.total(detector.components(x, inv))
    ms = np.asarray(per_sample)
    return {
        "n": len(x),
        "ms_per_sample_mean": float(ms.mean()),
        "ms_per_sample_std": float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        "samples_per_s": passes * len(x) / total_s,
        "mean_steps": float(inv.steps.float().mean()),
        "fraction_converged": float(inv.converged.float().mean()),
        "auroc": float(roc_auc_score(y, scores)),
        "timings": len(ms),
    }


def bench_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of n test samples, stratified by label (both classes kept), sorted."""
    idx = np.arange(len(y))
    if n >= len(y):
        return idx
    sub, _ = train_test_split(idx, train_size=n, stratify=y, random_state=seed)
    return np.sort(sub)


def setup_id(cfg: DictConfig, base: dict, n: int) -> str:
    """What, beyond a row's own key, decides its numbers: rows of another setup are not reused."""
    b = cfg.bench
    fields = {
        "n": n,
        "seed": int(b.seed),
        "min_timings": int(b.min_timings),
        "warmup_steps": int(b.warmup_steps),
        "device": str(cfg.device),
        "threads": torch.get_num_threads(),
        "inversion": {k: base[k] for k in sorted(base)},
    }
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_bench(cfg: DictConfig) -> pd.DataFrame:
    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits

    run_dir, run_cfg, detector = prepare(cfg)
    from ganad_cli.threads import apply_threads

    apply_threads(cfg.get("threads"))
    bench = cfg.bench
    splits = make_splits(load_samples(run_cfg.data), run_cfg.data)
    if splits.test.shape != detector.shape:
        raise GanadInputError(
            f"run {run_dir}: its data config now gives windows of shape {splits.test.shape}, but "
            f"the detector expects {detector.shape}; the data set changed since training"
        )
    y_all = np.asarray(splits.test.label).astype(int)
    idx = bench_subset(y_all, int(bench.n), int(bench.seed))
    device = str(cfg.device)
    detector.model.to(device)
    x = torch.from_numpy(splits.test.x[idx]).to(device)
    y = y_all[idx]
    base = {**dict(detector.inversion), **OmegaConf.to_container(bench.inversion, resolve=True)}
    base.pop("device", None)
    hw = device_info(device)
    plan = plan_rows(bench, len(x), bool(detector.model.has_encoder))
    setup = setup_id(cfg, base, len(x))
    done = finished_rows(run_dir / "bench.csv", setup) if cfg.get("resume") else {}
    shown = {k: base[k] for k in SHOWN_KEYS if k in base}
    meta = {
        "run": str(run_dir),
        "model": run_cfg.model.name,
        "data": run_cfg.data.name,
        "n": len(x),
        "n_anomalous": int(y.sum()),
        "n_test": len(y_all),
        "base_inversion": ", ".join(f"{k}={v}" for k, v in sorted(shown.items())),
        "hardware": hw,
    }
    rows: list[dict] = []
    progress = bar(len(plan), "bench rows", unit="row")
    for k, row in enumerate(plan):
        progress.update(1)
        if row_key(row) in done:  # resume=true: measured by an earlier, interrupted bench
            rows.append(done[row_key(row)])
            log.info("bench %d/%d: kept from bench.csv (resume)", k + 1, len(plan))
            continue
        inv_cfg = row_config(base, row)
        try:
            result = measure_row(
                detector, x, y, inv_cfg, device, int(bench.min_timings), int(bench.warmup_steps)
            )
        except KeyboardInterrupt:
            progress.close()
            raise KeyboardInterrupt(
                f"bench interrupted at row {k + 1}/{len(plan)}; the {len(rows)} finished rows are "
                f"in {run_dir / 'bench.csv'}; continue with: ganad bench run={run_dir} "
                "resume=true (and the same grid)"
            ) from None
        hw_cols = {f"hw_{key}": v for key, v in hw.items()}
        rows.append({**row, **result, **hw_cols, "setup": setup})
        write_tables(run_dir, rows, meta)  # every finished row is on disk at once
        log.info(
            "bench %d/%d %s eps=%s n_max=%s batch=%d: %.4g ms/sample, %.1f steps, "
            "%.3f converged, auroc %.4f",
            k + 1,
            len(plan),
            row["inversion"],
            row["eps"],
            row["n_max"],
            row["batch"],
            result["ms_per_sample_mean"],
            result["mean_steps"],
            result["fraction_converged"],
            result["auroc"],
        )
    progress.close()
    frame = write_tables(run_dir, rows, meta)
    log.info("bench: wrote %s and %s", run_dir / "bench.csv", run_dir / "bench.md")
    return frame[COLUMNS]
