"""One function per `ganad` command: argv in, exit code out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ganad_cli.cli.args import ensemble_args, split_args
from ganad_cli.cli.hydra_run import precheck_then_run, run_hydra_app
from ganad_cli.cli.output import error
from ganad_cli.cli.resume import resume_args
from ganad_cli.errors import GanadInputError


def cmd_train(args: list[str]) -> int:
    from ganad_cli.cli.apps import train_app

    try:
        args = resume_args(args)
    except GanadInputError as exc:
        return error(str(exc))
    return run_hydra_app(train_app, "ganad train", args, "train")


def cmd_evaluate(args: list[str]) -> int:
    from ganad_cli.cli.apps import evaluate_app
    from ganad_cli.tasks.evaluate import precheck

    try:
        args = ensemble_args(args)
    except GanadInputError as exc:
        return error(str(exc))
    return precheck_then_run(args, "evaluate", precheck, evaluate_app)


def cmd_detect(args: list[str]) -> int:
    from ganad_cli.cli.apps import detect_app
    from ganad_cli.tasks.detect import precheck

    return precheck_then_run(args, "detect", precheck, detect_app)


def cmd_report(args: list[str]) -> int:
    """`ganad report <dir> [--out <dir>]`: prints report.md, warns of the runs it skipped."""
    import argparse
    import sys

    from ganad_cli.tasks.report import build_report

    parser = argparse.ArgumentParser(
        prog="ganad report",
        description="Aggregate run folders under DIR: mean ± std per configuration.",
    )
    parser.add_argument("dir", help="a folder holding run folders (e.g. a multirun sweep)")
    parser.add_argument("--out", help="where report.md/report.csv go (default: DIR)")
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)

    def warn(message: str) -> None:
        print(f"ganad: warning: {message}", file=sys.stderr)

    try:
        _, text = build_report(Path(ns.dir), Path(ns.out) if ns.out else None, warn)
    except GanadInputError as exc:
        return error(str(exc))
    print(text, end="")
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {"train": cmd_train}
COMMANDS.update(evaluate=cmd_evaluate, detect=cmd_detect, report=cmd_report)


def cmd_data(args: list[str]) -> int:
    from ganad_cli.cli.data import cmd_data as data_main

    return data_main(args)


COMMANDS.update(data=cmd_data)


def cmd_bench(args: list[str]) -> int:
    from ganad_cli.cli.apps import bench_app
    from ganad_cli.tasks.bench import precheck

    # bench writes bench.csv/bench.md into the run folder itself: one writer at a time
    runs = [a.split("=", 1)[1] for a in split_args(args)[0] if a.startswith("run=")]
    lock = Path(runs[-1]).expanduser().absolute() if runs and Path(runs[-1]).is_dir() else None
    return precheck_then_run(args, "bench", precheck, bench_app, lock)


COMMANDS.update(bench=cmd_bench)
