"""`ganad data summary [--out DIR] [overrides]`: samples per class and group, and the split.

The overrides are the same as for `ganad train` (composed with Hydra's compose API), e.g.
`ganad data summary data=mitbih data.preprocess=kachuee`. Prints a table of counts per group
(MIT-BIH: record) and class (AAMI), and writes counts.csv and summary.json to DIR (default
outputs/data_summary/<data set>[-<preset>]).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError

USAGE = """usage: ganad data summary [--out DIR] [overrides...]

Counts of samples per class (MIT-BIH: AAMI N/S/V/F/Q) per group (record) and per split.
examples:
  ganad data summary data=mitbih data.root=../shared/data/mitdb
  ganad data summary data=mitbih data.preprocess=kachuee data.split=inter_patient
  ganad data summary data=ucr data.root=../shared/data/ECG200
"""


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


def cmd_data(args: list[str]) -> int:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.cli import error, preflight, split_args
    from ganad_cli.config import register_configs
    from ganad_cli.io import atomic_write_json, atomic_write_text
    from ganad_cli.paths import conf_dir

    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if args[0] != "summary":
        return error(f"unknown data command '{args[0]}'; valid commands: summary")
    rest, out = args[1:], None
    if "--out" in rest:
        i = rest.index("--out")
        if i + 1 >= len(rest):
            return error("--out needs a folder")
        out, rest = rest[i + 1], rest[:i] + rest[i + 2 :]
    overrides, _, _ = split_args(rest)
    register_configs()
    try:
        preflight("train", overrides, multirun=False)
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose("train", overrides=overrides)
        GlobalHydra.instance().clear()
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        table, info = summarize(cfg)
    except GanadInputError as exc:
        return error(str(exc))
    out_dir = _out_dir(cfg, out)
    atomic_write_text(out_dir / "counts.csv", table.to_csv(index_label="group"))
    atomic_write_json(out_dir / "summary.json", {**info, "totals": table.loc["TOTAL"].to_dict()})
    print(f"{cfg.data.name}: {info['n']} samples of shape {tuple(info['shape'])}")
    print(table.to_string())
    drops = info.get("normal_r_filter")
    if drops:
        n_rec = drops["normals_before_per_record"]
        worst = ", ".join(
            f"{r}: {n} of {n_rec[r]} ({100 * n / max(1, n_rec[r]):.1f} %)"
            for r, n in list(drops["dropped"].items())[:8]
        )
        print(
            f"data.normal_r_filter={drops['method']}: {drops['dropped_total']} of "
            f"{drops['normals_before']} N beats dropped ({100 * drops['dropped_share']:.2f} %), "
            f"in {len(drops['dropped'])} records; most: {worst or 'none'}"
        )
    splits = info.get("splits")
    if splits:
        print(
            f"split {splits['split']}: "
            + ", ".join(f"{k} {v}" for k, v in splits["class_counts"].items())
            + f"; contaminated {splits['train_contaminated']}"
        )
    else:
        print(f"split: {info['splits_error']}")
    print(f"written: {out_dir / 'counts.csv'}, {out_dir / 'summary.json'}", file=sys.stderr)
    return 0
