"""The tables of a reproduce.py result: the run folders aggregated as ganad_cli.tasks.report
reads them (mean ± std, ddof=1, over folds or seeds), set beside the published numbers, per
anomaly class, per run and per record; table1's timings from `ganad bench`; and the progress
table of `--status`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ganad_cli.errors import ReproduceError
from ganad_cli.runs.label_use import config_of, variant_of
from ganad_cli.runs.reproduction import job_state
from ganad_cli.tasks.report import collect as collect_runs
from ganad_cli.tasks.report import per_record_rates
from ganad_cli.tasks.reproduce_presets import (
    METRIC_NAMES,
    PRESETS,
    RECORD_PRESETS,
    SMOKE_NMAX_DIV,
    TABLE1_PUBLISHED,
)

PER_RECORD_SHOWN = 12  # records with the highest false-positive rate in the per-record table


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
    """Every train and evaluate folder under runs/, with its fold, seed and label use (the
    variant: ganad_cli.runs.label_use), the preset's own training first."""
    frame = collect_runs(runs)
    if frame.empty:
        raise ReproduceError(f"reproduce: no run folders with metrics.json under {runs}")
    # fold / seed per run, for the per-run table (report drops them from the configuration)
    extra = []
    for rel in frame["run"]:
        cfg = config_of(runs / rel)
        variant = variant_of(cfg)
        extra.append(
            {
                "fold": int(cfg.data.fold),
                "seed": int(cfg.seed),
                "variant": variant.short(),
                "variant_text": variant.describe(),
                "trained": "evaluations" not in Path(rel).parts,
            }
        )
    frame = pd.concat([frame.reset_index(drop=True), pd.DataFrame(extra)], axis=1)
    # the preset's own variant (its training runs) first, then the re-scorings
    own = set(frame.loc[frame.trained, "variant"])
    frame["own"] = frame["variant"].isin(own)
    return frame.sort_values("own", ascending=False, kind="stable")  # then in scoring order


def row_groups(name: str, frame: pd.DataFrame) -> list[tuple[tuple[str, ...], pd.DataFrame]]:
    """The rows of the result tables: one per variant (and per value of the preset's group_by
    column, e.g. Lambda), the preset's own training variant first."""
    p = PRESETS[name]
    keys = ([p.group_by] if p.group_by else []) + ["variant"]
    if p.group_by:  # e.g. each Lambda in order, its own variant first
        frame = frame.sort_values(p.group_by, kind="stable")
    cols = [frame[k].astype(str) for k in keys]
    return [(k if isinstance(k, tuple) else (k,), g) for k, g in frame.groupby(cols, sort=False)]


def group_heading(name: str, key: tuple[str, ...]) -> str:
    p = PRESETS[name]
    return ", ".join([f"{p.group_by}={key[0]}"] * bool(p.group_by) + [f"variant {key[-1]}"])


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


def summary_tables(name: str, frame: pd.DataFrame, n_label: str | None) -> str:
    """One row per variant (ganad_cli.runs.label_use): the published numbers beside the
    preset's own training variant, which follows the paper's protocol."""
    p = PRESETS[name]
    label = {"data.contamination": "Λ"}.get(p.group_by or "", p.group_by)
    head = [label] if label else []
    head += ["variant (labels used)", "runs"]
    over = f" over {n_label}" if n_label else ""  # rows of unequal size: see their runs column
    head += [f"{METRIC_NAMES[m]} (mean ± std{over})" for m in p.metrics]
    if p.published:
        head.append("published")
    rows = []
    for key, group in row_groups(name, frame):
        row = [key[0]] if p.group_by else []
        row += [group["variant_text"].iloc[0], str(len(group))]
        row += [_pm(group[m]) for m in p.metrics]
        if p.published:
            pub = p.published if bool(group["own"].all()) else {}
            row.append(
                ", ".join(f"{METRIC_NAMES[m]} {v}" for m, v in pub.items() if "not" not in v)
                or "not published"
            )
        rows.append(row)
    return md_table(head, rows)


def per_run_table(name: str, frame: pd.DataFrame) -> str:
    p = PRESETS[name]
    classes = [f"auroc[{c}]" for c in class_columns(frame)]
    cols = ["run", "fold", "seed"] + ([p.group_by] if p.group_by else []) + ["variant"]
    cols += p.metrics + classes
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
            raise ReproduceError(
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


def results_body(
    name: str, trained: list[Path], runs: Path, smoke: bool, data_root: str | None
) -> str:
    """Every table of the preset's result, in the order the Markdown shows them."""
    if name == "table1":
        return table1_tables(trained[0], smoke)
    p = PRESETS[name]
    frame = collect(runs)
    groups = row_groups(name, frame)
    sizes = {len(g) for _, g in groups}
    body = summary_tables(name, frame, f"{sizes.pop()} {p.over}" if len(sizes) == 1 else None)
    if class_columns(frame):
        for key, group in groups:
            body += f"\nPer anomaly class (test), {group_heading(name, key)}:\n\n"
            body += per_class_table(group, f"{len(group)} {p.over}")
    body += "\nPer run (test metrics):\n\n" + per_run_table(name, frame)
    if name in RECORD_PRESETS:
        for key, group in groups:
            table = per_record_table(group, runs, data_root)
            if table:
                at = group_heading(name, key)
                body += f"\nPer record (test, {at}), normal beats flagged:\n\n{table}"
    return body


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
