"""`ganad report <dir>`: aggregate run folders into one table, mean +- std per configuration.

A run folder is any folder under <dir> with a metrics.json and a config: `effective_config.yaml`
(written by `ganad evaluate`) or `.hydra/config.yaml` (written by `ganad train`). Runs whose
model, inversion, score, threshold, data and trainer settings agree, apart from seeds, the fold
and where it ran (accelerator, devices, progress bar: WHERE_KEYS), form one row ("differs" names
the settings that tell rows of the same names apart); the metrics are shown as mean +- std
(sample std, ddof=1) over those runs with their count.
Writes report.md and report.csv into <dir> (or --out), with report.png and report.html (test
AUROC per configuration, std error bars: ganad_cli.runs.report_summary), and prints the Markdown
table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from ganad_cli.config.keys import REPORT_GROUPS
from ganad_cli.errors import GanadInputError
from ganad_cli.io import atomic_write_bytes, atomic_write_text

GROUPS = REPORT_GROUPS
# groups without a name that still tell configurations apart (2 epochs vs 6 epochs)
SETTING_GROUPS = ("trainer",)
CONFIG_GROUPS = (*GROUPS, *SETTING_GROUPS)
# trainer keys that only say where or how a run ran, not what was trained
WHERE_KEYS = {
    "trainer": {
        "accelerator",
        "devices",
        "strategy",
        "num_nodes",
        "enable_progress_bar",
        "enable_model_summary",
        "log_every_n_steps",
        "deterministic",
        "benchmark",
        "profiler",
        "num_threads",
    }
}
# keys that only pick a repetition: averaged over, not part of the configuration
REPEAT_KEYS = {"seed", "fold"}
METRICS = (
    "auroc",
    "auprc",
    "f1",
    "fbeta",
    "precision",
    "recall",
    "mcc",
    "balanced_accuracy",
)


def _flatten(d: object, prefix: str = "") -> dict[str, object]:
    if isinstance(d, dict):
        out: dict[str, object] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: json.dumps(d) if isinstance(d, list) else d}


def _config(run: Path) -> tuple[dict | None, str]:
    """The run's config (read, never resolved), or None and why it was not usable."""
    from ganad_cli.runs.untrusted import check_saved_config

    for name in ("effective_config.yaml", ".hydra/config.yaml"):
        path = run / name
        if not path.is_file():
            continue
        try:
            cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
            check_saved_config(cfg, path)
        except GanadInputError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - any unreadable YAML: the run is skipped, named
            return None, f"{path} could not be read ({type(exc).__name__})"
        if all(g in cfg for g in GROUPS):
            return cfg, ""
        return None, f"{path} lacks one of {', '.join(GROUPS)}"
    return None, "no effective_config.yaml or .hydra/config.yaml"


def collect(root: Path) -> pd.DataFrame:
    """One row per run folder: its configuration (flattened), test metrics and, per class, the
    flagged rate, the count and (anomaly classes) the AUROC against the normals."""
    rows = []
    skipped: list[str] = []
    for metrics_file in sorted(root.rglob("metrics.json")):
        run = metrics_file.parent
        cfg, why = _config(run)
        if cfg is None:
            skipped.append(f"{run}: {why}")
            continue
        try:
            metrics = json.loads(metrics_file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            skipped.append(f"{metrics_file}: not readable JSON ({type(exc).__name__})")
            continue
        if not isinstance(metrics, dict):
            skipped.append(f"{metrics_file}: not a JSON object")
            continue
        row: dict[str, object] = {"run": str(run.relative_to(root)) or "."}
        for g in CONFIG_GROUPS:
            for k, v in _flatten(cfg.get(g) or {}).items():
                if k.split(".")[-1] not in REPEAT_KEYS and k not in WHERE_KEYS.get(g, ()):
                    row[f"{g}.{k}"] = v
        row["kind"] = "evaluate" if (run / "effective_config.yaml").is_file() else "train"
        ensemble = metrics.get("ensemble")
        if isinstance(ensemble, dict) and isinstance(ensemble.get("members"), list):
            row["kind"] = f"ensemble of {len(ensemble['members'])}"  # `ganad evaluate ensemble=`
        for m in METRICS:
            v = metrics.get(f"test/{m}")
            row[m] = float(v) if isinstance(v, (int, float)) else math.nan
        per_class = metrics.get("test/per_class") or {}
        for c, vals in per_class.items():
            row[f"rate[{c}]"] = vals.get("flagged_rate", math.nan)
            row[f"n[{c}]"] = vals.get("n", math.nan)
            if "auroc_vs_normal" in vals:  # anomaly classes only
                row[f"auroc[{c}]"] = vals["auroc_vs_normal"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs["skipped"] = skipped
    return frame


def _groupable(v: object) -> object:
    return "null" if v is None or (isinstance(v, float) and math.isnan(v)) else v


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Group by every configuration column; mean, std and count of each metric."""
    config_cols = [c for c in runs.columns if c.split(".")[0] in CONFIG_GROUPS] + ["kind"]
    runs = runs.copy()
    for c in config_cols:  # NaN/None never equal themselves: make them groupable
        runs[c] = runs[c].map(_groupable)
    name_cols = [f"{g}.name" for g in GROUPS if f"{g}.name" in runs.columns]
    names = runs[name_cols].astype(str).agg("/".join, axis=1)
    # per set of names: the settings that tell its configurations apart
    varying = {
        key: [
            c
            for c in config_cols
            if c not in name_cols and c != "kind" and sub[c].astype(str).nunique() > 1
        ]
        for key, sub in runs.groupby(names)
    }
    metric_cols = [c for c in runs.columns if c in METRICS or c.startswith("rate[")]
    rows = []
    for _, group in runs.groupby([runs[c].astype(str) for c in config_cols], sort=False):
        first = group.iloc[0]
        row: dict[str, object] = {g: first.get(f"{g}.name", "") for g in GROUPS}
        key = "/".join(str(first[c]) for c in name_cols)
        row["differs"] = " ".join(f"{c}={first[c]}" for c in varying[key])
        row["kind"] = first["kind"]
        row["runs"] = len(group)
        for m in metric_cols:
            values = group[m].astype(float).dropna()
            row[f"{m}_mean"] = values.mean() if len(values) else math.nan
            row[f"{m}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _pm(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "–"
    return f"{mean:.3f} ± {std:.3f}" if not math.isnan(std) else f"{mean:.3f}"


def markdown(
    table: pd.DataFrame, metrics: tuple[str, ...] = ("auroc", "auprc", "f1", "mcc")
) -> str:
    rate_cols = sorted(
        {c[: -len("_mean")] for c in table.columns if c.startswith("rate[") and c.endswith("_mean")}
    )
    show_differs = bool(table["differs"].astype(bool).any())
    show_kind = table["kind"].nunique() > 1  # train runs and `ganad evaluate` folders
    head = [*GROUPS, *(["differs"] if show_differs else []), *(["kind"] if show_kind else [])]
    head.append("runs")
    head += [f"test {m}" for m in metrics] + [f"flagged {c[5:-1]}" for c in rate_cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r[g]) for g in GROUPS]
        if show_differs:
            cells.append(str(r["differs"]) or "–")
        if show_kind:
            cells.append(str(r["kind"]))
        cells.append(str(r["runs"]))
        cells += [_pm(r[f"{m}_mean"], r[f"{m}_std"]) for m in metrics]
        cells += [_pm(r[f"{c}_mean"], r[f"{c}_std"]) for c in rate_cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def build_report(
    root: Path, out: Path | None = None, warn: Callable[[str], None] | None = None
) -> tuple[pd.DataFrame, str]:
    """report.md, report.csv and report_runs.csv of the runs under `root` (in `out`, default
    `root`); `warn` is told of every run skipped, with its reason."""
    root = Path(root)
    if not root.is_dir():
        raise GanadInputError(f"report directory {root} not found")
    runs = collect(root)
    skipped = runs.attrs.get("skipped", [])
    for line in skipped if warn else ():
        warn(f"skipped run {line}")
    if runs.empty:
        raise GanadInputError(
            f"no run folders under {root}; expected folders with metrics.json and "
            ".hydra/config.yaml (written by 'ganad train' or 'ganad evaluate')"
        )
    table = aggregate(runs)
    text = (
        f"# ganad report: {root}\n\n{len(runs)} runs, {len(table)} configurations; test metrics "
        "as mean ± std (ddof=1) over seeds/folds; 'flagged X' = fraction of class X above tau.\n\n"
        + markdown(table)
    )
    if skipped:
        text += f"\nSkipped {len(skipped)} run(s):\n\n" + "".join(f"- {s}\n" for s in skipped)
    out = Path(out) if out else root
    from ganad_cli.runs.report_summary import figure_png, html_page

    png = figure_png(table)
    files: dict[Path, str | bytes] = {
        out / "report_runs.csv": runs.to_csv(index=False),
        out / "report.csv": table.to_csv(index=False),
        out / "report.png": png,  # test AUROC per configuration, std error bars
        out / "report.html": html_page(f"ganad report: {root}", png, markdown(table), table),
        out / "report.md": text,  # last: its presence says the report is complete
    }
    try:
        for path, content in files.items():
            if isinstance(content, bytes):
                atomic_write_bytes(path, content)
            else:
                atomic_write_text(path, content)
    except OSError as exc:  # full disk, unwritable --out: no half report is left behind
        from ganad_cli.boundary import os_error

        for path in files:
            path.unlink(missing_ok=True)
        err = os_error(exc)
        if err is None:
            raise
        raise err from exc
    return table, text


def per_record_rates(run: Path) -> pd.DataFrame:
    """Per record (the `group` column of scores.csv): normal test beats, the share of them
    flagged (false-positive rate), anomalous test beats and the share flagged (sensitivity).
    An empty frame when the run has no scores.csv or no groups."""
    path = run / "scores.csv"
    cols = ["record", "normals", "fp_rate", "anomalies", "sensitivity"]
    try:
        scores = pd.read_csv(path, usecols=["label", "group", "prediction"], dtype={"group": str})
    except (OSError, ValueError, UnicodeDecodeError):
        return pd.DataFrame(columns=cols)
    rows = []
    for record, beats in scores.groupby("group", sort=True):
        normal, anomalous = beats[beats.label == 0], beats[beats.label == 1]
        rows.append(
            [
                record,
                len(normal),
                float(normal.prediction.mean()) if len(normal) else math.nan,
                len(anomalous),
                float(anomalous.prediction.mean()) if len(anomalous) else math.nan,
            ]
        )
    return pd.DataFrame(rows, columns=cols)
