"""bench.csv and bench.md in a run folder: the table laid out like Table 1 of the survey, and
the rows an earlier bench of the same setup finished (a resumed bench reuses them)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ganad_cli.errors import GanadInputError
from ganad_cli.io import atomic_write_text

LABELS = {"anogan": "AnoGAN", "encoder_then_anogan": "Encoder + AnoGAN", "encoder": "Encoder"}
COLUMNS = [
    "inversion",
    "eps",
    "n_max",
    "batch",
    "n",
    "ms_per_sample_mean",
    "ms_per_sample_std",
    "samples_per_s",
    "mean_steps",
    "fraction_converged",
    "auroc",
    "timings",
]


def _fmt(v: Any, spec: str) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def markdown(frame: pd.DataFrame, meta: dict) -> str:
    hw = meta["hardware"]
    lines = [
        f"# Inference benchmark: {meta['model']} on {meta['data']}",
        "",
        f"Run: `{meta['run']}`. {meta['n']} test samples ({meta['n_anomalous']} anomalous), "
        f"stratified seeded subset of {meta['n_test']}. Inversion settings not in the grid are "
        f"the run's: {meta['base_inversion']}.",
        "",
        f"Hardware: {hw['device']} ({hw['device_name']}), {hw['cpu_count']} CPUs, "
        f"torch {hw['torch']} with {hw['torch_threads']} threads; load average at start "
        f"{hw['load_average']}.",
        "",
        "| | ε | n_max | batch size | Runtime (ms/sample) | samples/s | mean steps | converged "
        "| test AUROC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in frame.to_dict("records"):
        eps = None if pd.isna(r["eps"]) else r["eps"]
        n_max = None if pd.isna(r["n_max"]) else int(r["n_max"])
        lines.append(
            f"| {LABELS[r['inversion']]} | {_fmt(eps, 'g')} | {_fmt(n_max, 'd')} | {r['batch']} | "
            f"{r['ms_per_sample_mean']:.4g} ± {r['ms_per_sample_std']:.2g} | "
            f"{r['samples_per_s']:.4g} | {r['mean_steps']:.1f} | "
            f"{r['fraction_converged']:.3f} | {r['auroc']:.4f} |"
        )
    conv = frame[frame.eps.notna()].groupby("eps").fraction_converged.mean()
    if len(conv):
        lines += ["", "Fraction of samples converged (similarity < ε), mean over rows, by ε: "]
        lines.append(", ".join(f"ε {e:g}: {v:.3f}" for e, v in conv.items()) + ".")
    lines += [
        "",
        "Runtime: mean ± std over timed batches of ms per sample (warm-up excluded"
        + ("; CUDA synchronised)." if hw["device"] == "cuda" else ")."),
        "",
    ]
    return "\n".join(lines)


def row_key(row: dict) -> tuple:
    """A grid row's identity: inversion, eps, n_max, batch (None where they do not apply)."""

    def clean(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    eps, n_max = clean(row["eps"]), clean(row["n_max"])
    return (
        str(row["inversion"]),
        None if eps is None else float(eps),
        None if n_max is None else int(n_max),
        int(row["batch"]),
    )


def finished_rows(path: Path, setup: str) -> dict[tuple, dict]:
    """The rows an earlier bench of the same setup finished (bench.csv), by row key."""
    if not path.is_file():
        return {}
    frame = pd.read_csv(path)
    if "setup" not in frame.columns or frame.empty:
        return {}
    other = sorted(set(frame.setup.astype(str)) - {setup})
    if other:
        raise GanadInputError(
            f"config key 'resume': {path} was written with other bench settings (setup {other[0]}"
            f", now {setup}: bench.n, bench.seed, min_timings, warmup_steps, device, threads or "
            "inversion differ); expected the same settings, or resume=false to start over"
        )
    rows = {}
    for r in frame.to_dict("records"):
        r = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        rows[row_key(r)] = r
    return rows


def write_tables(run_dir: Path, rows: list[dict], meta: dict) -> pd.DataFrame:
    """bench.csv (the rows with hardware and setup columns) and bench.md, each atomically."""
    full = pd.DataFrame(rows)
    frame = full.reindex(columns=COLUMNS)
    atomic_write_text(run_dir / "bench.csv", full.to_csv(index=False))
    atomic_write_text(run_dir / "bench.md", markdown(frame, meta))
    return frame
