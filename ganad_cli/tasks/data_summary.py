"""`ganad data summary`: samples per class and group (MIT-BIH: record, AAMI class), and the
split, of the data a train config selects; written to counts.csv and summary.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError


def counts_table(samples: Samples, class_order: list[str] | None = None) -> pd.DataFrame:
    """Rows: groups, then TOTAL; columns: classes, then total."""
    frame = pd.crosstab(pd.Series(samples.group, name="group"), pd.Series(samples.cls, name="cls"))
    order = list(class_order or [])
    for c in order:
        if c not in frame.columns:
            frame[c] = 0
    frame = frame[order + sorted(c for c in frame.columns if c not in order)]
    frame.loc["TOTAL"] = frame.sum(axis=0)
    frame["total"] = frame.sum(axis=1)
    frame.columns.name = None
    return frame.astype(np.int64)


def summarize(cfg: DictConfig) -> tuple[pd.DataFrame, dict]:
    from ganad_cli.config import to_plain
    from ganad_cli.data.registry import load_samples
    from ganad_cli.data.splits import make_splits

    order = ["N", "S", "V", "F", "Q"] if cfg.data.name == "mitbih" else None
    samples = load_samples(cfg.data)
    table = counts_table(samples, order)
    info: dict = {"data": to_plain(cfg.data), "shape": list(samples.shape), "n": len(samples)}
    if cfg.data.name == "mitbih" and cfg.data.get("normal_r_filter"):
        info["normal_r_filter"] = r_filter_drops(cfg.data, table)
    try:
        info["splits"] = make_splits(samples, cfg.data).info
    except GanadInputError as exc:  # the counts are still worth showing
        info["splits_error"] = str(exc)
    return table, info


def r_filter_drops(data: DictConfig, table: pd.DataFrame) -> dict:
    """N beats data.normal_r_filter dropped, per record: the counts without the filter (a second,
    usually cached load) minus those with it."""
    from omegaconf import OmegaConf

    from ganad_cli.data.registry import load_samples

    unfiltered = OmegaConf.merge(data, {"normal_r_filter": None})
    before = counts_table(load_samples(unfiltered), ["N"])["N"]
    after = table["N"].reindex(before.index, fill_value=0)
    dropped = (before - after).drop("TOTAL")
    total = int(before.loc["TOTAL"])
    return {
        "method": data.normal_r_filter,
        "normals_before": total,
        "dropped_total": int(dropped.sum()),
        "dropped_share": float(dropped.sum() / max(1, total)),
        "dropped": {str(r): int(n) for r, n in dropped.sort_values(ascending=False).items() if n},
        "normals_before_per_record": {str(r): int(n) for r, n in before.drop("TOTAL").items()},
    }


def _out_dir(cfg: DictConfig, out: str | None) -> Path:
    if out:
        return Path(out)
    tag = cfg.data.name + (f"-{cfg.data.preprocess}" if "preprocess" in cfg.data else "")
    return Path("outputs") / "data_summary" / tag


def data_summary(cfg: DictConfig, out: str | None = None) -> tuple[pd.DataFrame, dict, Path]:
    """The counts table and summary of a composed train config, written to counts.csv and
    summary.json in `out` (default outputs/data_summary/<data set>[-<preset>])."""
    from ganad_cli.io import atomic_write_json, atomic_write_text

    table, info = summarize(cfg)
    out_dir = _out_dir(cfg, out)
    atomic_write_text(out_dir / "counts.csv", table.to_csv(index_label="group"))
    atomic_write_json(out_dir / "summary.json", {**info, "totals": table.loc["TOTAL"].to_dict()})
    return table, info, out_dir
