#!/usr/bin/env python
"""Reproduce a paper table: run an `experiment=` preset with the `ganad` CLI, aggregate, compare.

    python scripts/reproduce.py <preset> [overrides...] [--smoke] [--data-root DIR] [--out DIR]
                                [--results DIR] [--jobs N] [--resume] [--status] [--dry-run]
                                [--update-readme]

Presets (conf/experiment/<preset>.yaml): beatgan_mitbih, beatgan_mitbih_small, ganad_mitbih,
betavaegan_mitbih, table1, contamination, inter_patient. Fold presets (beatgan_mitbih,
beatgan_mitbih_small, ganad_mitbih, betavaegan_mitbih) run one
`ganad train` per fold into <out>/runs/<k>, `--jobs N` at a time (each with cores/N torch
threads, raised for the last fold once the others finish); `--resume` continues an interrupted
--out: finished folds are kept, a fold with a checkpoint continues with
`ganad train resume=<run>`, the rest start; `--status` prints each fold's state, epochs done
and validation AUROC so far. Each finished fold (with its re-scoring) is also kept, without
checkpoints, detector or plots, in <results>/<preset>_runs/<k> (ganad_cli.runs.archive): commit
that folder, and `--resume` on another machine, where the run folders are gone, counts those
folds as done and rebuilds their run folders from it. The other presets run as one
`ganad train -m ...` (seeds or Lambda as a Hydra sweep, run folders under <out>/runs);
betavaegan_mitbih then re-scores each run
with the grid combination (`ganad evaluate score=weighted_all`), ganad_mitbih with equal weights
(`ganad evaluate +score.combine=equal`, the label-free variant), table1 times the inversion grid
with `ganad bench`. Runs are aggregated with ganad_cli.tasks.report (mean ± std, ddof=1, over folds
or
seeds) and written to <results>/<preset>.md next to the published numbers, with the hardware,
the git commit, the commands and the wall time.

--smoke: the same pipeline on a few records, a data subset, one epoch, small networks and a tiny
inversion grid (every table cell is filled; the numbers mean nothing). Defaults: full size writes
scripts/results/<preset>.md; --smoke writes <out>/<preset>.md (out: outputs/reproduce/smoke).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from ganad_cli.hardware import cpu_model, load_average
from ganad_cli.io import atomic_write_json
from ganad_cli.runs.archive import archive_run, restore_run

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "scripts" / "results"
PRESETS_DIR = REPO / "conf" / "experiment"

METRIC_NAMES = {"auroc": "AUROC", "auprc": "AP (AUPRC)", "f1": "F1", "mcc": "MCC"}

# smoke size: records with N, S, V and F beats from both DS1 (101, 106, 208) and DS2 (100, 232)
SMOKE_RECORDS = "[100,101,106,208,232]"
SMOKE_COMMON = [
    f"data.records={SMOKE_RECORDS}",
    "data.max_samples=1200",
    "data.batch_size=64",
    "model.base_channels=8",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "plots=false",
    "quiet=true",
    "logger=none",
]
# table1 smoke: published n_max / SMOKE_NMAX_DIV, on SMOKE_BENCH_N test samples
SMOKE_NMAX_DIV = 100
SMOKE_BENCH_N = 16


def protocol_text(name: str) -> str:
    """The protocol as conf/experiment/<name>.yaml describes it: its header comment's first
    paragraph (the protocol text lives there only)."""
    lines = []
    for line in (PRESETS_DIR / f"{name}.yaml").read_text().splitlines():
        if line.startswith("# @package"):
            continue
        if not line.startswith("#") or not line[1:].strip():
            break
        lines.append(line[1:].strip())
    return " ".join(lines)


@dataclass
class Preset:
    title: str
    source: str
    sweep: list[str]  # full-size sweep overrides (folds, seeds); may be empty (config-defined)
    smoke_sweep: list[str]
    metrics: list[str]
    published: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None  # a config column that makes the table's rows (e.g. Lambda)
    over: str = "folds"
    # True: one `ganad train` per value of `sweep` (parallel, resumable); False: one multirun
    per_job: bool = False
    published_for: str | None = None  # with group_by: the group the published numbers belong to


PRESETS: dict[str, Preset] = {
    "beatgan_mitbih": Preset(
        title="BeatGAN on MIT-BIH as the authors' code runs it (N vs S/V/F/Q, 5 folds of normals)",
        source="Zhou et al., BeatGAN, IJCAI 2019 (authors' code re-run)",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={
            "auroc": "0.9458",
            "auprc": "0.9108",
            "f1": "not reported",
            "mcc": "not reported",
        },
    ),
    "beatgan_mitbih_small": Preset(
        title="BeatGAN on MIT-BIH, ganad's small network (N vs S/V/F/Q, 5 folds of normal beats)",
        source="Zhou et al., BeatGAN, IJCAI 2019 (authors' code re-run)",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={
            "auroc": "0.9458",
            "auprc": "0.9108",
            "f1": "not reported",
            "mcc": "not reported",
        },
    ),
    "ganad_mitbih": Preset(
        title="ganad's neighbours detector on MIT-BIH, BeatGAN protocol (N vs S/V/F/Q, 5 folds)",
        source=(
            "BeatGAN (Zhou et al., IJCAI 2019, authors' code re-run): AUROC 0.9458, AP 0.9108; "
            "ganad's own beatgan_mitbih_small: see beatgan_mitbih_small.md"
        ),
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        published={"auroc": "0.9458", "auprc": "0.9108"},
        group_by="score.combine",
        published_for="weighted",
    ),
    "ganad_inter_patient": Preset(
        title="ganad's neighbours detector, inter-patient: train on DS1, test on DS2 (de Chazal)",
        source=(
            "no published BeatGAN inter-patient numbers; Anobeat reports AUROC 0.894 "
            "inter-patient under its own protocol"
        ),
        sweep=["seed=0,1,2,3,4"],
        smoke_sweep=["seed=0"],
        per_job=True,
        metrics=["auroc", "auprc", "f1", "mcc"],
        group_by="score.combine",
        over="seeds",
    ),
    "betavaegan_mitbih": Preset(
        title="β-VAEGAN on MIT-BIH Kachuee beats (N vs rest, 85/15 split, 5 folds)",
        source="Lüer et al. 2023 (β-VAEGAN, emundo/ecgan): F1 0.92 (SVM); previous best 0.85",
        sweep=["data.fold=0,1,2,3,4"],
        smoke_sweep=["data.fold=0,1"],
        per_job=True,
        metrics=["f1", "mcc", "auroc"],
        published={"f1": "0.92", "mcc": "not reported", "auroc": "not reported"},
        group_by="score.name",
        published_for="svm",
    ),
    "table1": Preset(
        title="Survey Table 1: AnoGAN latent search vs encoder, β-VAEGAN on MIT-BIH Kachuee beats",
        source="Survey Table 1 (consumer GPU, 22427 test samples); encoder on CPU: 2.4 ms (text)",
        sweep=[],
        smoke_sweep=[],
        metrics=[],
        over="rows",
    ),
    "contamination": Preset(
        title="Contaminated training data: BeatGAN protocol, Λ ∈ {0, 0.01, 0.05, 0.1}",
        source="no published numbers (survey section 4.3 discusses the effect qualitatively)",
        sweep=[],  # Lambda x folds come from the preset's hydra.sweeper.params
        smoke_sweep=["data.fold=0"],
        metrics=["auroc", "auprc", "f1", "mcc"],
        group_by="data.contamination",
    ),
    "inter_patient": Preset(
        title="Inter-patient BeatGAN: train on DS1, test on DS2 (de Chazal 2004)",
        source="no published BeatGAN inter-patient numbers",
        sweep=[],  # seeds come from the preset's hydra.sweeper.params
        smoke_sweep=["seed=0,1"],
        metrics=["auroc", "auprc", "f1", "mcc"],
        over="seeds",
    ),
}

# Survey Table 1 rows: (inversion, eps, n_max, batch) -> published runtime (ms per sample)
TABLE1_PUBLISHED: list[tuple[str, float | None, int | None, int, str]] = [
    ("anogan", 0.005, 500, 1, "1139.7 ± 483.3"),
    ("anogan", 0.005, 500, 64, "38.27 ± 2.7"),
    ("anogan", 0.005, 1000, 1, "2254.4 ± 997.6"),
    ("anogan", 0.05, 500, 1, "325.8 ± 560.5"),
    ("anogan", 0.05, 100, 1, "77.9 ± 117.7"),
    ("encoder", None, None, 1, "1.9 ± 0.3 (GPU); 2.4 (CPU)"),
    ("encoder", None, None, 512, "0.08 (GPU)"),
]


# ------------------------------------------------------------------------------- environment


def default_data_root() -> str | None:
    """$GANAD_MITDB, else the shared copy next to the checkout, else None (ganad's default)."""
    env = os.environ.get("GANAD_MITDB")
    if env:
        return env
    shared = REPO.parent / "shared" / "data" / "mitdb"
    return str(shared) if (shared / "100.hea").is_file() else None


def ganad_exe() -> list[str]:
    exe = Path(sys.executable).with_name("ganad")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "ganad_cli.cli"]


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (with uncommitted changes)" if dirty else "")


def hardware(runs_root: Path) -> str:
    """CPU model and count, torch threads as the runs saw them, GPU if any."""
    import torch

    cpu = cpu_model()
    threads = sorted(
        {
            json.loads(p.read_text()).get("hardware", {}).get("torch_threads")
            for p in runs_root.rglob("runtime.json")
        }
        - {None}
    )
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    load = load_average()
    shown = ", ".join(map(str, threads)) or str(torch.get_num_threads())
    return (
        f"CPU {cpu} ({os.cpu_count()} logical cores), torch {torch.__version__} with {shown} "
        f"intra-op threads; GPU: {gpu}; load average at the end {load}"
    )


# ---------------------------------------------------------------------------------- commands


def train_overrides(
    name: str,
    smoke: bool,
    data_root: str | None,
    runs: Path,
    extra: Sequence[str] = (),
    sweep: list[str] | None = None,
    run_dir: Path | None = None,
) -> list[str]:
    """The preset, data root, sweep (or one job's values), smoke size, then the user's own
    overrides (they win); a multirun's sweep folder, or one job's run folder."""
    p = PRESETS[name]
    out = [f"experiment={name}"]
    if data_root:
        out.append(f"data.root={data_root}")
    if sweep is None:
        sweep = p.smoke_sweep if smoke else p.sweep
    out += sweep
    if smoke:
        out += SMOKE_COMMON
    else:  # children write to log files: per-epoch numbers go to <run>/logs/metrics.csv
        out += ["trainer.enable_progress_bar=false"]
    out += list(extra)
    if run_dir is not None:
        return [*out, f"hydra.run.dir={run_dir}"]
    return [*out, f"hydra.sweep.dir={runs}", "hydra.sweep.subdir=${hydra.job.num}"]


def bench_overrides(run: Path, smoke: bool) -> list[str]:
    # the run's inversion node carries experiment=table1's similarity (ecgan_rbf, ecgan's criterion)
    out = [f"run={run}", "bench=table1"]
    if smoke:
        n_max = sorted({m // SMOKE_NMAX_DIV for _, _, m, _, _ in TABLE1_PUBLISHED if m})
        out += [
            f"bench.n={SMOKE_BENCH_N}",
            f"bench.n_max=[{','.join(map(str, n_max))}]",
            "bench.batch=[1,64,512]",
            "bench.min_timings=2",
            "bench.warmup_steps=1",
        ]
    return out


def child_env(smoke: bool, jobs: int = 1) -> dict[str, str]:
    """Torch threads per child unless OMP_NUM_THREADS is set: one for smoke runs (tiny networks
    on a shared CPU run many times slower with several threads contending), else cores / jobs
    when jobs run side by side."""
    env = dict(os.environ)
    if smoke:
        env.setdefault("OMP_NUM_THREADS", "1")
    elif jobs > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    if "OMP_NUM_THREADS" in env:
        env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    return env


def start_logged(cmd: list[str], log: Path, env: dict[str, str] | None) -> subprocess.Popen:
    """Start one ganad command with its output appended to `log`, after a `$ cmd` line."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        return subprocess.Popen(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)


def failed(cmd: list[str], code: int, log: Path) -> SystemExit:
    tail = "\n".join(log.read_text().splitlines()[-30:])
    return SystemExit(f"reproduce: `{shlex.join(cmd)}` failed with exit code {code}:\n{tail}")


def run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run one ganad command; its output goes to `log`; fail loudly with the log's tail."""
    code = start_logged(cmd, log, env).wait()
    if code != 0:
        raise failed(cmd, code, log)


def training_summary(trained: list[Path]) -> str:
    """Epochs, selected epochs and training seconds per run, from their runtime.json."""
    parts = []
    for r in trained:
        rt_file = r / "runtime.json"
        if not rt_file.is_file():
            continue
        rt = json.loads(rt_file.read_text())
        sel = rt.get("model_selection") or {}
        chosen = f", kept epoch {sel['epoch']}" if sel.get("epoch") else ""
        resumed = " (resumed)" if rt.get("resumed_from") else ""
        total = rt.get("train_epoch_seconds_total")
        timed = rt.get("train_epochs_timed")
        over = f" ({timed} epochs timed)" if timed is not None and timed != rt.get("epochs") else ""
        spent = (
            f", {total / 3600:.2f} h in training epochs{over}"
            if total
            else ", epoch time not recorded (trained before ganad timed epochs)"
        )
        parts.append(f"{r.name}: {rt.get('epochs')} epochs{chosen}{spent}{resumed}")
    return "; ".join(parts) if parts else "no runtime.json found"


def rescored(run: Path) -> bool:
    """Whether a finished re-scoring (`ganad evaluate`) of this run exists: --resume keeps it
    rather than adding a second row for the same model."""
    return any((run / "evaluations").glob("*/metrics.json"))


def train_runs(runs: Path) -> list[Path]:
    """Run folders of `ganad train` under runs/ (not evaluations), in job order."""
    found = [p.parent for p in runs.glob("*/metrics.json")]
    return sorted(found, key=lambda p: int(p.name) if p.name.isdigit() else p.name)


# -------------------------------------------------------------------------------- aggregation


def _pm(values: pd.Series) -> str:
    v = values.astype(float).dropna()
    if len(v) == 0:
        return "n/a (no value)"
    if len(v) == 1:
        return f"{v.iloc[0]:.4f} (n=1)"
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}"


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def collect(runs: Path) -> pd.DataFrame:
    from omegaconf import OmegaConf

    from ganad_cli.tasks.report import collect as collect_runs

    frame = collect_runs(runs)
    if frame.empty:
        raise SystemExit(f"reproduce: no run folders with metrics.json under {runs}")
    # fold / seed per run, for the per-run table (report drops them from the configuration)
    extra = []
    for rel in frame["run"]:
        run_dir = runs / rel
        cfg_file = run_dir / "effective_config.yaml"  # `ganad evaluate` writes this
        if not cfg_file.is_file():
            cfg_file = run_dir / ".hydra" / "config.yaml"
        cfg = OmegaConf.load(cfg_file)
        extra.append({"fold": int(cfg.data.fold), "seed": int(cfg.seed)})
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(extra)], axis=1)


def class_columns(frame: pd.DataFrame) -> list[str]:
    """The anomaly classes with a per-class AUROC in some run, AAMI order (S, V, F, Q) first."""
    classes = [c[6:-1] for c in frame.columns if c.startswith("auroc[")]
    return sorted(classes, key=lambda c: ("SVFQ".index(c) if c in "SVFQ" else 4, c))


def per_class_table(frame: pd.DataFrame, n_label: str) -> str:
    """Each anomaly class scored against the normal test beats alone (AUROC), over the runs."""
    rows = []
    for c in class_columns(frame):
        counts = frame[f"n[{c}]"].dropna()
        beats = f"{counts.mean():.0f}" if len(counts) else "n/a"
        rows.append([c, beats, _pm(frame[f"auroc[{c}]"])])
    head = ["class", "test beats (mean per run)", f"AUROC vs normal (mean ± std over {n_label})"]
    return md_table(head, rows)


# presets on MIT-BIH records: their results show false-positive rates per record
RECORD_PRESETS = ("beatgan_mitbih", "ganad_mitbih", "ganad_inter_patient", "inter_patient")
PER_RECORD_SHOWN = 12  # records with the highest false-positive rate in the per-record table


def af_records(data_root: str | None, records: Sequence[str]) -> set[str]:
    """Records whose reference rhythm annotations (aux_note of the .atr) contain atrial
    fibrillation or flutter; read for this report only, never by a detector."""
    if not data_root:
        return set()
    import wfdb

    found = set()
    for rec in records:
        try:
            ann = wfdb.rdann(str(Path(data_root) / str(rec)), "atr")
        except (OSError, ValueError):
            continue
        if any(str(a).startswith(("(AFIB", "(AFL")) for a in ann.aux_note):
            found.add(str(rec))
    return found


def per_record_table(frame: pd.DataFrame, root: Path, data_root: str | None) -> str:
    """False-positive rate of normal test beats per record, mean over the runs, highest first."""
    from ganad_cli.tasks.report import per_record_rates

    parts = [per_record_rates(root / r).assign(run=r) for r in frame["run"]]
    parts = [p for p in parts if len(p)]
    if not parts:
        return ""
    rates = pd.concat(parts)
    by = rates.groupby("record")
    table = pd.DataFrame(
        {
            "normals": by["normals"].mean(),
            "fp": by["fp_rate"].mean(),
            "fp_std": by["fp_rate"].std(ddof=1),
            "sens": by["sensitivity"].mean(),
        }
    ).sort_values("fp", ascending=False)
    af = af_records(data_root, list(table.index))
    overall = (rates.fp_rate * rates.normals).sum() / rates.normals.sum()
    rows = []
    for rec, r in table.head(PER_RECORD_SHOWN).iterrows():
        fp = f"{r.fp:.4f}" + ("" if pd.isna(r.fp_std) else f" ± {r.fp_std:.4f}")
        sens = "no anomalies" if pd.isna(r.sens) else f"{r.sens:.3f}"
        rows.append([str(rec), f"{r.normals:.0f}", fp, sens, "yes" if rec in af else "no"])
    head = [
        "record",
        "normal test beats (mean per run)",
        "false-positive rate (mean ± std)",
        "sensitivity",
        "AF/flutter in the reference rhythm annotations",
    ]
    note = (
        f"\nAll records together: false-positive rate {overall:.4f} over "
        f"{int(rates.normals.sum())} normal test beats ({len(table)} records; the "
        f"{min(PER_RECORD_SHOWN, len(table))} highest shown).\n"
    )
    return md_table(head, rows) + note


def summary_tables(name: str, frame: pd.DataFrame, n_label: str) -> str:
    p = PRESETS[name]
    if p.group_by is None:
        head = ["metric", f"ours (mean ± std over {n_label})", "published"]
        rows = [
            [METRIC_NAMES[m], _pm(frame[m]), p.published.get(m, "not published")] for m in p.metrics
        ]
        return md_table(head, rows)
    key = p.group_by
    label = {
        "score.name": "combination",
        "score.combine": "combination",
        "data.contamination": "Λ",
    }[key]
    head = [label, "runs"] + [f"{METRIC_NAMES[m]} (mean ± std)" for m in p.metrics]
    if p.published:
        head.append("published")
    rows = []
    for value, group in frame.groupby(frame[key].astype(str), sort=True):
        shown = {
            "svm": "SVM (score=svm)",
            "weighted_all": "grid (score=weighted_all)",
            "weighted": "λ fitted on validation (score.combine=weighted)",
            "equal": "equal weights, label-free (score.combine=equal)",
        }
        row = [shown.get(value, value), str(len(group))] + [_pm(group[m]) for m in p.metrics]
        if p.published:
            pub = p.published if value == p.published_for else {}
            row.append(
                ", ".join(f"{METRIC_NAMES[m]} {v}" for m, v in pub.items() if "not" not in v)
                or "not published"
            )
        rows.append(row)
    return md_table(head, rows)


def per_run_table(name: str, frame: pd.DataFrame) -> str:
    p = PRESETS[name]
    classes = [f"auroc[{c}]" for c in class_columns(frame)]
    cols = ["run", "fold", "seed"] + ([p.group_by] if p.group_by else []) + p.metrics + classes
    head = [METRIC_NAMES.get(c, f"AUROC {c[6:-1]} vs normal" if c in classes else c) for c in cols]
    rows = []
    for _, r in frame.sort_values("run").iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c in classes:
                cells.append("absent" if pd.isna(v) else f"{v:.4f}")
            else:
                cells.append(f"{v:.4f}" if isinstance(v, float) and c in METRIC_NAMES else str(v))
        rows.append(cells)
    return md_table(head, rows)


def table1_tables(run_dir: Path, smoke: bool) -> str:
    bench = pd.read_csv(run_dir / "bench.csv")
    n = int(bench["n"].iloc[0])
    head = [
        "inversion",
        "ε",
        "n_max",
        "batch size",
        "ours: ms/sample",
        "ours: test AUROC",
        "ours: converged",
        "published: ms/sample",
    ]
    if smoke:
        head.insert(4, f"run with (smoke: n_max/{SMOKE_NMAX_DIV}, batch ≤ n={n})")
    rows = []
    for inv, eps, n_max, batch, published in TABLE1_PUBLISHED:
        want_nmax = n_max // SMOKE_NMAX_DIV if (smoke and n_max) else n_max
        want_batch = min(batch, n)
        sel = bench[(bench.inversion == inv) & (bench.batch == want_batch)]
        if eps is not None:
            sel = sel[(sel.eps - eps).abs() < 1e-12]
            sel = sel[sel.n_max == want_nmax]
        if sel.empty:
            raise SystemExit(
                f"reproduce: bench.csv in {run_dir} has no row for {inv} {eps} {n_max}"
            )
        r = sel.iloc[0]
        row = [
            "AnoGAN" if inv == "anogan" else "Encoder",
            "–" if eps is None else f"{eps:g}",
            "–" if n_max is None else str(n_max),
            str(batch),
            f"{r.ms_per_sample_mean:.4g} ± {r.ms_per_sample_std:.2g}",
            f"{r.auroc:.4f}",
            f"{r.fraction_converged:.3f}",
            published,
        ]
        if smoke:
            row.insert(4, f"n_max {'–' if eps is None else want_nmax}, batch {want_batch}")
        rows.append(row)
    text = md_table(head, rows)
    text += "\nThe whole grid timed by `ganad bench` (its bench.md):\n\n"
    bench_md = (run_dir / "bench.md").read_text()
    table = [ln for ln in bench_md.splitlines() if ln.startswith("|")]
    if table and re.match(r"\|\s*\|", table[0]):  # bench.md leaves the first header cell empty
        table[0] = re.sub(r"^\|\s*\|", "| inversion |", table[0])
    return text + "\n".join(table) + "\n"


# ------------------------------------------------------------------------------------- driver


def job_sweep(name: str, smoke: bool) -> list[list[str]]:
    """One override list per job for fold presets (`key=a,b,...` expanded), else []: the preset
    then runs as one Hydra multirun whose sweep lives in its config."""
    p = PRESETS[name]
    if not p.per_job:
        return []
    jobs: list[list[str]] = [[]]
    for item in p.smoke_sweep if smoke else p.sweep:
        key, values = item.split("=", 1)
        jobs = [[*j, f"{key}={v}"] for j in jobs for v in values.split(",")]
    return jobs


def commands(
    name: str, smoke: bool, data_root: str | None, out: Path, extra: Sequence[str] = ()
) -> list[tuple[str, list[str]]]:
    """The ganad commands of a preset that are known before running: (kind, argv)."""
    runs = out / "runs"
    jobs = job_sweep(name, smoke)
    if not jobs:
        train = train_overrides(name, smoke, data_root, runs, extra)
        return [("train", [*ganad_exe(), "train", "-m", *train])]
    out_cmds = []
    for k, job in enumerate(jobs):
        train = train_overrides(
            name, smoke, data_root, runs, extra, sweep=job, run_dir=runs / str(k)
        )
        out_cmds.append(("train", [*ganad_exe(), "train", *train]))
    return out_cmds


def protocol_drift(run_dir: Path, cmd: list[str]) -> list[str]:
    """`node.key: saved -> now` for every data or model key on which the run folder's saved
    config differs from what `cmd` composes today (a preset that changed since the fold was
    trained); keys the run predates count with their schema default."""
    from omegaconf import OmegaConf

    from ganad_cli.config import SCHEMAS
    from ganad_cli.config.compose import compose_variants
    from ganad_cli.config.keys import DATA_LOCATION_KEYS

    saved_file = run_dir / ".hydra" / "config.yaml"
    if not saved_file.is_file():
        return []
    saved = OmegaConf.to_container(OmegaConf.load(saved_file), resolve=True)
    overrides = [a for a in cmd[2:] if not a.startswith(("hydra.", "-"))]
    now = OmegaConf.to_container(compose_variants("train", overrides, False)[0], resolve=True)
    drift = []
    for node in ("data", "model"):
        schema = SCHEMAS[node].get(saved[node].get("name"), SCHEMAS[node]["base"])
        defaults = OmegaConf.to_container(OmegaConf.structured(schema))
        for key, value in now[node].items():
            if node == "data" and key in DATA_LOCATION_KEYS:
                continue
            was = saved[node].get(key, defaults.get(key))
            if was != value:
                drift.append(f"{node}.{key}: {was!r} -> {value!r}")
    return drift


def job_state(run_dir: Path) -> str:
    """done (metrics.json), partial (a checkpoint to resume from) or new."""
    if (run_dir / "metrics.json").is_file():
        return "done"
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return "partial"
    return "new"


@dataclass
class FoldJob:
    """One fold's `ganad train` process while run_jobs drives it."""

    cmd: list[str]
    log: Path
    run_dir: Path
    proc: subprocess.Popen | None = None
    threads: int = 1
    checkpoint_seen: float = 0.0


def last_checkpoint_time(run_dir: Path) -> float:
    f = run_dir / "checkpoints" / "last.ckpt"
    return f.stat().st_mtime if f.is_file() else 0.0


def run_jobs(
    cmds: list[list[str]],
    runs: Path,
    out: Path,
    jobs: int,
    smoke: bool,
    cores: int | None = None,
    poll: float = 2.0,
    on_done: Callable[[Path], None] | None = None,
) -> None:
    """Run per-fold commands, `jobs` at a time; resume partial folds, skip finished ones.
    (The results list their commands from the job logs: see commands_run.) `on_done(run_dir)`
    runs for each finished fold, as soon as it finishes (and for those finished before).

    Each fold gets cores / jobs torch threads. Once no fold is waiting, a fold left with fewer
    threads than its share of the cores is restarted with its share right after its next
    `last.ckpt` (kill, then `ganad train resume=`), so a last lone fold does not run on one
    core while the others idle. It loses only the poll interval and a restart. Not done when
    the user fixed OMP_NUM_THREADS or for --smoke (one thread each).
    """
    cores = cores or os.cpu_count() or 1
    todo: list[FoldJob] = []
    for k, cmd in enumerate(cmds):
        run_dir = runs / str(k)
        state = job_state(run_dir)
        drift = protocol_drift(run_dir, cmd) if state != "new" else []
        if drift:
            raise SystemExit(
                f"reproduce: {run_dir} was trained with another protocol than `{cmd[2]}` "
                f"composes now ({'; '.join(drift[:4])}{'; ...' if len(drift) > 4 else ''}); "
                "its results would mix protocols: pass a fresh --out"
            )
        if state == "done":
            if on_done is not None:
                on_done(run_dir)
            continue
        if state == "partial":
            cmd = [*cmd[:2], f"resume={run_dir}"]
        elif run_dir.exists():  # died before its first checkpoint: start over
            shutil.rmtree(run_dir)
        todo.append(FoldJob(cmd, out / f"job{k}.log", run_dir))
    env = child_env(smoke, jobs)
    rebalance = jobs > 1 and not smoke and "OMP_NUM_THREADS" not in os.environ
    active: list[FoldJob] = []
    broken: list[FoldJob] = []

    def start(job: FoldJob, threads: int) -> None:
        job_env = dict(env)
        if rebalance:
            job_env["OMP_NUM_THREADS"] = job_env["MKL_NUM_THREADS"] = str(threads)
        job.proc = start_logged(job.cmd, job.log, job_env)
        job.threads = threads
        job.checkpoint_seen = last_checkpoint_time(job.run_dir)

    try:
        while todo or active:
            while todo and len(active) < jobs:
                job = todo.pop(0)
                start(job, max(1, cores // jobs))
                active.append(job)
            time.sleep(poll)
            for job in [j for j in active if j.proc.poll() is not None]:
                active.remove(job)
                if job.proc.returncode != 0:
                    broken.append(job)
                elif on_done is not None:
                    on_done(job.run_dir)
            share = max(1, cores // max(1, len(active)))
            for job in active:
                seen, job.checkpoint_seen = job.checkpoint_seen, last_checkpoint_time(job.run_dir)
                if rebalance and not todo and job.threads < share and job.checkpoint_seen > seen:
                    job.proc.kill()  # the checkpoint is written atomically; one epoch just ended
                    job.proc.wait()
                    with job.log.open("a") as f:
                        f.write(f"reproduce: restarting with {share} threads (cores freed)\n")
                    job.cmd = [*job.cmd[:2], f"resume={job.run_dir}"]
                    start(job, share)
    finally:
        for job in active:  # the driver was interrupted: do not leave folds running unseen
            if job.proc is not None and job.proc.poll() is None:
                job.proc.kill()
    if broken:
        raise failed(broken[0].cmd, broken[0].proc.returncode, broken[0].log)


def fold_status(out: Path) -> str:
    """A table of every run folder under <out>/runs: state, epochs, validation AUROC so far
    (from the CSV logs: logs/metrics.csv, plus logs/resume<k>/metrics.csv of resumed runs)."""
    rows = []
    for run_dir in sorted((out / "runs").glob("*"), key=lambda p: (len(p.name), p.name)):
        if not run_dir.is_dir():
            continue
        state = job_state(run_dir)
        epochs, best, last = "0", "n/a", "n/a"
        logs = sorted((run_dir / "logs").rglob("metrics.csv"))  # resumed runs add resume<k>/
        if logs:
            frame = pd.concat([pd.read_csv(f) for f in logs], ignore_index=True)
            if "val/epoch_auroc" in frame:
                auroc = frame.dropna(subset=["val/epoch_auroc"])
                if len(auroc):
                    per_epoch = auroc.groupby("epoch")["val/epoch_auroc"].last()
                    epochs = str(int(per_epoch.index.max()) + 1)
                    best = f"{per_epoch.max():.4f} (epoch {int(per_epoch.idxmax()) + 1})"
                    last = f"{per_epoch.iloc[-1]:.4f}"
        test = "n/a"
        if state == "done":
            epochs = str(json.loads((run_dir / "runtime.json").read_text())["epochs"])
            m = json.loads((run_dir / "metrics.json").read_text())
            test = f"AUROC {m['test/auroc']:.4f}, AP {m['test/auprc']:.4f}"
        rows.append([run_dir.name, state, epochs, best, last, test])
    head = ["run", "state", "epochs done", "best val AUROC", "last val AUROC", "test"]
    return md_table(head, rows) if rows else f"no run folders under {out / 'runs'}\n"


def commands_run(out: Path, executed: list[list[str]], per_job: bool) -> list[str]:
    """The md's list of ganad commands. A fold preset's trainings come from every job<k>.log,
    which each call appends to, so a fold trained over several calls lists its start and its
    resumes; `executed` adds this call's other commands (evaluate, bench, multirun)."""
    lines = ["- ganad commands run (folds: over all calls, from `job<k>.log`):"]
    logs = sorted(out.glob("job*.log"), key=lambda f: int(f.stem[3:] or 0)) if per_job else []
    for log in logs:
        cmds = [ln[2:] for ln in log.read_text().splitlines() if ln.startswith("$ ")]
        if cmds:
            resumes = cmds[1:]
            more = f", then {len(resumes)} × `{resumes[-1]}`" if resumes else ""
            lines.append(f"  - `{cmds[0]}`{more}")
    return lines + [f"  - `{shlex.join(c)}`" for c in executed]


STAMP = "%Y-%m-%d %H:%M:%S"  # invocations.json times, comparable as strings


class InvocationClock:
    """This call's wall time in <out>/invocations.json, rewritten every `beat` seconds while
    it runs, so a call that is killed (a reboot, the end of a session) still counts up to its
    last heartbeat; `stop()` writes the final time and returns the total over all calls."""

    def __init__(self, out: Path, argv: list[str], beat: float = 30.0) -> None:
        self.path = out / "invocations.json"
        out.mkdir(parents=True, exist_ok=True)
        self.calls = json.loads(self.path.read_text()) if self.path.is_file() else []
        self.entry = {
            "started": time.strftime(STAMP),
            "finished": None,
            "seconds": 0.0,
            "argv": argv,
        }
        self.calls.append(self.entry)
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self._write()
        self.thread = threading.Thread(target=self._beat, args=(beat,), daemon=True)
        self.thread.start()

    def _write(self) -> None:
        with self.lock:
            self.entry["seconds"] = round(time.perf_counter() - self.t0, 1)
            atomic_write_json(self.path, self.calls)  # a kill mid-write keeps the previous file

    def _beat(self, beat: float) -> None:
        while not self.done.wait(beat):
            self._write()

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.entry["finished"] = time.strftime(STAMP)
        self._write()
        return self.total

    @property
    def total(self) -> float:
        """Seconds over all recorded calls (killed ones up to their last heartbeat)."""
        return sum(c["seconds"] for c in self.calls)

    @property
    def unfinished_before(self) -> int:
        """Earlier calls that were killed: their time counts up to their last heartbeat."""
        return sum(1 for c in self.calls[:-1] if c.get("finished") is None)


def shown_path(path: Path) -> Path:
    """`path` relative to the repository when inside it, so generated files name no home folder."""
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def first_job_log_time(out: Path) -> str | None:
    """The earliest log timestamp in the fold job logs (`[YYYY-MM-DD HH:MM:SS,ms]`, written by
    ganad's Hydra logging): when training into this output folder began."""
    stamps = []
    for log in out.glob("job*.log"):
        found = re.search(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", log.read_text(), flags=re.M)
        if found:
            stamps.append(found.group(1))
    return min(stamps) if stamps else None


def wall_time(clock: InvocationClock, out: Path) -> str:
    """The md's wall-time sentence: the sum over the recorded calls, and, when the job logs show
    training that began before the first recorded call, the elapsed time since then."""
    total = clock.total
    first = clock.calls[0].get("started") or clock.calls[0].get("finished")
    killed = clock.unfinished_before
    text = (
        f"{total:.0f} s ({total / 3600:.2f} h), summed over the {len(clock.calls)} reproduce.py "
        f"calls recorded in `{shown_path(clock.path)}` (the first started {first}"
        + (f"; {killed} killed, counted to the last heartbeat" if killed else "")
        + ")."
    )
    began = first_job_log_time(out)
    if began and first and began < first:
        end = clock.calls[-1].get("finished") or time.strftime(STAMP)
        span = datetime.strptime(end, STAMP) - datetime.strptime(began, STAMP)
        text += (
            f" Training began earlier, at {began} (the first line of the job logs), in calls that"
            f" were not recorded, so the sum misses their time; from then to the end took"
            f" {span.total_seconds() / 3600:.2f} h of elapsed time, pauses included."
        )
    return text


# fold presets re-scored from the same models (`ganad evaluate`, one run per call):
# betavaegan_mitbih with the grid combination, ganad_mitbih with equal weights (label-free)
RESCORING = {
    "betavaegan_mitbih": ["score=weighted_all"],
    "ganad_mitbih": ["+score.combine=equal"],
    "ganad_inter_patient": ["+score.combine=equal"],
}


def fold_archive(results: Path, name: str) -> Path:
    """Where finished folds are kept for git (ganad_cli.runs.archive): <results>/<preset>_runs."""
    return results / f"{name}_runs"


def restore_folds(archive: Path, out: Path) -> list[str]:
    """Folds finished on another machine (in the archive, not under <out>/runs): their run
    folders are rebuilt from the archive, so --resume counts them as done."""
    restored = []
    for metrics in sorted(archive.glob("*/metrics.json")):
        k = metrics.parent.name
        run_dir = out / "runs" / k
        if not (run_dir / "metrics.json").is_file():
            restore_run(metrics.parent, run_dir, out / f"job{k}.log")
            restored.append(k)
    calls = archive / "invocations.json"
    if calls.is_file() and not (out / "invocations.json").is_file():
        out.mkdir(parents=True, exist_ok=True)
        (out / "invocations.json").write_text(calls.read_text())
    return restored


def run_preset(
    name: str,
    smoke: bool,
    data_root: str | None,
    out: Path,
    extra: Sequence[str],
    jobs: int,
    log: Path,
    env: dict[str, str],
    archive: Path | None = None,
) -> tuple[list[list[str]], list[Path]]:
    """Run the preset's ganad commands; return them and the trained run folders. A fold
    preset re-scores each fold (RESCORING) and archives it as soon as it finishes."""
    p = PRESETS[name]
    runs = out / "runs"
    executed: list[list[str]] = []
    cmds = [cmd for _, cmd in commands(name, smoke, data_root, out, extra)]

    def finish_fold(run_dir: Path) -> None:
        if name in RESCORING and not rescored(run_dir):
            cmd = [*ganad_exe(), "evaluate", f"run={run_dir}", *RESCORING[name]]
            cmd += ["plots=false", "quiet=true"] if smoke else []
            run(cmd, log, env)
            executed.append(cmd)
        if archive is not None:
            archive_run(run_dir, archive / run_dir.name, out / f"job{run_dir.name}.log")

    if p.per_job:
        run_jobs(cmds, runs, out, jobs, smoke, on_done=finish_fold)
    else:
        for cmd in cmds:
            run(cmd, log, env)
            executed.append(cmd)
    trained = train_runs(runs)
    if not trained:
        raise SystemExit(f"reproduce: the sweep wrote no run folders into {runs}; see {log}")
    if name == "table1":
        cmd = [*ganad_exe(), "bench", *bench_overrides(trained[0], smoke)]
        run(cmd, log, env)
        executed.append(cmd)
    return executed, trained


def reproduce(
    name: str,
    smoke: bool,
    data_root: str | None,
    out: Path,
    results: Path,
    argv: list[str],
    extra: Sequence[str] = (),
    jobs: int = 1,
    resume: bool = False,
) -> Path:
    p = PRESETS[name]
    runs = out / "runs"
    if resume and not p.per_job:
        raise SystemExit(f"reproduce: --resume works for the fold presets only, not {name}")
    if not resume and runs.exists() and any(runs.iterdir()):
        raise SystemExit(f"reproduce: {runs} is not empty; pass a fresh --out (or --resume)")
    log = out / "reproduce.log"
    env = child_env(smoke)
    archive = fold_archive(results, name) if p.per_job else None
    if resume and archive is not None:
        restore_folds(archive, out)
    elif archive is not None and archive.exists():
        shutil.rmtree(archive)  # a fresh run replaces the folds kept from an earlier one
    clock = InvocationClock(out, argv)
    try:
        executed, trained = run_preset(name, smoke, data_root, out, extra, jobs, log, env, archive)
    finally:
        clock.stop()  # a failed or interrupted call still counts its time
        if archive is not None and archive.is_dir():
            (archive / "invocations.json").write_text(clock.path.read_text())

    if name == "table1":
        body = table1_tables(trained[0], smoke)
    else:
        frame = collect(runs)
        n_runs = frame.groupby(p.group_by).size().min() if p.group_by else len(frame)
        body = summary_tables(name, frame, f"{n_runs} {p.over}")
        if p.group_by is None and class_columns(frame):
            body += "\nPer anomaly class (test):\n\n" + per_class_table(frame, f"{n_runs} {p.over}")
        elif class_columns(frame):
            for value, group in frame.groupby(frame[p.group_by].astype(str), sort=True):
                body += f"\nPer anomaly class (test), {p.group_by}={value}:\n\n"
                body += per_class_table(group, f"{len(group)} {p.over}")
        body += "\nPer run (test metrics):\n\n" + per_run_table(name, frame)
        if name in RECORD_PRESETS:
            for value, group in (
                frame.groupby(frame[p.group_by].astype(str), sort=True)
                if p.group_by
                else [(None, frame)]
            ):
                table = per_record_table(group, runs, data_root)
                if table:
                    at = f", {p.group_by}={value}" if value is not None else ""
                    body += f"\nPer record (test{at}), normal beats flagged:\n\n{table}"

    size = "smoke run (a few records, 1 epoch; numbers not comparable)" if smoke else "full size"
    lines = [
        f"# {name}: {p.title}",
        "",
        f"Size: **{size}**. Generated by `scripts/reproduce.py`; do not edit by hand.",
        "",
        body,
        "## Setup",
        "",
        f"- Protocol: {protocol_text(name)}",
        f"- Published numbers: {p.source}.",
        f"- Preset: `conf/experiment/{name}.yaml`",
        f"- Commit: {git_commit()}",
        f"- Hardware: {hardware(runs)}",
        f"- Wall time: {wall_time(clock, out)} Per run: {training_summary(trained)}",
        f"- Command: `{shlex.join(['python', 'scripts/reproduce.py', *argv])}`",
        *commands_run(out, executed, p.per_job),
        f"- Run folders: `{shown_path(runs)}` (logs: `{shown_path(out)}/*.log`)",
        "",
    ]
    results.mkdir(parents=True, exist_ok=True)
    target = results / f"{name}.md"
    target.write_text("\n".join(lines))
    return target


def update_readme(name: str, result: Path, readme: Path = REPO / "README.md") -> bool:
    """Put the preset's first table between its markers in the README's Results section."""
    text = readme.read_text()
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    if start not in text or end not in text:
        return False
    doc = result.read_text()
    first_table = re.search(r"((?:^\|.*\n)+)", doc, flags=re.M)
    setup = [ln[2:] for ln in doc.splitlines() if ln.startswith(("- Hardware", "- Wall time"))]
    rel = shown_path(result)
    block = f"{start}\n{first_table.group(1) if first_table else ''}\n"
    block += "; ".join(setup) + f". Details: [{rel}]({rel}).\n{end}"
    new = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    readme.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument(
        "overrides", nargs="*", help="extra Hydra overrides for `ganad train`, e.g. trainer=gpu"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny CI size (minutes on 2 cores)")
    parser.add_argument("--data-root", help="MIT-BIH folder (default: $GANAD_MITDB or shared)")
    parser.add_argument("--out", type=Path, help="folder for the run folders and the log")
    parser.add_argument("--results", type=Path, help="folder for <preset>.md")
    parser.add_argument(
        "--jobs", type=int, default=1, help="fold presets: runs side by side (threads split)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="fold presets: continue an interrupted --out"
    )
    parser.add_argument(
        "--status", action="store_true", help="print the progress of the run folders in --out"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument(
        "--update-readme", action="store_true", help="copy the table into README.md's Results"
    )
    ns = parser.parse_args(argv)
    if ns.smoke and ns.update_readme:
        parser.error("--update-readme takes full-size results only, not --smoke")
    data_root = ns.data_root or default_data_root()
    size = "smoke" if ns.smoke else "full"
    out = (ns.out or REPO / "outputs" / "reproduce" / size / ns.preset).resolve()
    results = (ns.results or (out if ns.smoke else RESULTS)).resolve()
    if ns.status:
        print(fold_status(out), end="")
        return 0
    if ns.dry_run:
        for _, cmd in commands(ns.preset, ns.smoke, data_root, out, ns.overrides):
            print(shlex.join(cmd))
        return 0
    if ns.jobs < 1:
        parser.error("--jobs must be >= 1")
    target = reproduce(
        ns.preset, ns.smoke, data_root, out, results, argv, ns.overrides, ns.jobs, ns.resume
    )
    print(target.read_text())
    print(f"wrote {target}")
    if ns.update_readme and not update_readme(ns.preset, target):
        print(f"README.md has no <!-- results:{ns.preset} --> markers; not updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
