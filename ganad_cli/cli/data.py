"""`ganad data summary [--out DIR] [overrides]`: samples per class and group, and the split.

The overrides are the same as for `ganad train` (composed with Hydra's compose API), e.g.
`ganad data summary data=mitbih data.preprocess=kachuee`. Prints a table of counts per group
(MIT-BIH: record) and class (AAMI), and writes counts.csv and summary.json to DIR (default
outputs/data_summary/<data set>[-<preset>]).
"""

from __future__ import annotations

import sys

from ganad_cli.cli.args import split_args
from ganad_cli.cli.output import error
from ganad_cli.config.compose import preflight
from ganad_cli.errors import GanadInputError

USAGE = """usage: ganad data summary [--out DIR] [overrides...]

Counts of samples per class (MIT-BIH: AAMI N/S/V/F/Q) per group (record) and per split.
examples:
  ganad data summary data=mitbih data.root=../shared/data/mitdb
  ganad data summary data=mitbih data.preprocess=kachuee data.split=inter_patient
  ganad data summary data=ucr data.root=../shared/data/ECG200
  ganad data summary data=ucr data.dataset=ECG200   # $GANAD_UCR/ECG200, else downloaded
"""


def cmd_data(args: list[str]) -> int:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir
    from ganad_cli.tasks.data_summary import data_summary

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
        table, info, out_dir = data_summary(cfg, out)
    except GanadInputError as exc:
        return error(str(exc))
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
