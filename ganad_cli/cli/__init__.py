"""`ganad <command> [hydra overrides]`: dispatch to Hydra apps.

Before Hydra creates a run folder, the overrides are composed once with Hydra's compose API and
checked (unknown choice or key, wrong type, out-of-range value). Bad input ends with one line
on stderr and exit code 2, and leaves no run folder behind.
"""

from __future__ import annotations

import sys

from ganad_cli.cli.commands import COMMANDS
from ganad_cli.cli.completion import COMPLETION_FLAGS, HYDRA_COMMANDS, shell_completion
from ganad_cli.cli.output import debug, error

USAGE = """usage: ganad <command> [overrides...]

commands:
  train      train a GAN on normal data, fit the detector on validation, test it
             (Hydra app: `ganad train --help` lists config groups; `-m` runs a sweep)
  data       `ganad data summary data=mitbih ...`: samples per class, record and split
  evaluate   re-score a trained run with other inversion/score/threshold choices, no retraining
             (ganad evaluate run=<run> [score=svm threshold=val_mcc ...]; `-m` sweeps choices)
             weights=last: the last epoch's networks (checkpoints/last.ckpt), not the selected
             ganad evaluate ensemble=[<run>,<run>,...]: runs of other seeds as one detector
  detect     score every beat of a recording (or windows) with a run's frozen detector
             (ganad detect run=<run> input=<rec.hea|.edf|.csv|.npy> [fs=..] [output=<file.csv>])
  report     aggregate the run folders under a directory: mean +- std per configuration
             (ganad report <dir> [--out <dir>]; writes report.md, .csv, .png, .html)
  bench      time inversion settings (eps x n_max x batch, encoder) on a run's test samples
             (ganad bench run=<run> [bench=table1 device=cuda]; writes bench.csv and bench.md)

examples:
  ganad train                                   # embedded synthetic ECG, WGAN-GP, AnoGAN
  ganad train trainer.max_epochs=1 inversion.n_max=20
  ganad train -m seed=0,1,2
"""

# Hydra flags that take a value, and flags that make the run print instead of train.


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] in ("--version", "-V") or (argv[0] in COMMANDS and "--version" in argv[1:]):
        from ganad_cli import __version__

        print(f"ganad {__version__}")  # `ganad train --version` too (Hydra's own says Hydra's)
        return 0
    if argv[0] in COMPLETION_FLAGS or (
        argv[0] in HYDRA_COMMANDS and set(COMPLETION_FLAGS) & set(argv[1:])
    ):
        return shell_completion(argv[1:])
    command, rest = argv[0], argv[1:]
    if debug():
        import os

        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    if command not in COMMANDS:
        return error(f"unknown command '{command}'; valid commands: {', '.join(COMMANDS)}")
    try:
        return COMMANDS[command](rest)
    except KeyboardInterrupt:  # Ctrl-C during start-up (composing, loading): nothing was made
        print("ganad: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the boundary outside the Hydra apps (ganad_cli.boundary)
        from ganad_cli.boundary import as_input_error

        err = as_input_error(exc)
        if err is None:
            raise
        return error(str(err))
