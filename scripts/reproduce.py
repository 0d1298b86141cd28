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
with the grid combination (`ganad evaluate score=weighted_all`), every fold preset with the
label-free variant (`ganad evaluate weights=last +score.combine=equal threshold=normal_quantile`;
the ganad_* presets also with equal weights alone), table1 times the inversion grid
with `ganad bench`. Runs are aggregated with ganad_cli.tasks.report (mean ± std, ddof=1, over folds
or
seeds) and written to <results>/<preset>.md next to the published numbers, with the hardware,
the git commit, the commands and the wall time.

--smoke: the same pipeline on a few records, a data subset, one epoch, small networks and a tiny
inversion grid (every table cell is filled; the numbers mean nothing). Defaults: full size writes
scripts/results/<preset>.md; --smoke writes <out>/<preset>.md (out: outputs/reproduce/smoke).

This file reads the arguments; the work lives in the package: ganad_cli.tasks.reproduce_presets
(the presets and published numbers), .reproduce_commands (the ganad commands), .reproduce_jobs
(running them), .reproduce_tables (the tables), .reproduce (the result document) and
ganad_cli.runs.reproduction (the --out folder: fold states, archive, invocations.json).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from ganad_cli.errors import ReproduceError
from ganad_cli.tasks.reproduce import reproduce, update_readme
from ganad_cli.tasks.reproduce_commands import commands
from ganad_cli.tasks.reproduce_presets import PRESETS
from ganad_cli.tasks.reproduce_tables import fold_status

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "scripts" / "results"


def default_data_root() -> str | None:
    """$GANAD_MITDB, else the shared copy next to the checkout, else None (ganad's default)."""
    env = os.environ.get("GANAD_MITDB")
    if env:
        return env
    shared = REPO.parent / "shared" / "data" / "mitdb"
    return str(shared) if (shared / "100.hea").is_file() else None


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
    try:
        target = reproduce(
            ns.preset, ns.smoke, data_root, out, results, argv, ns.overrides, ns.jobs, ns.resume
        )
    except ReproduceError as err:
        print(err, file=sys.stderr)
        return 1
    print(target.read_text())
    print(f"wrote {target}")
    if ns.update_readme and not update_readme(ns.preset, target):
        print(f"README.md has no <!-- results:{ns.preset} --> markers; not updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
