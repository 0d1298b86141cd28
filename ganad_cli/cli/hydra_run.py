"""Running a command's Hydra app: preflight checks, the run-folder lock, Hydra's --help."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ganad_cli.cli.args import split_args
from ganad_cli.cli.output import error
from ganad_cli.config.compose import preflight
from ganad_cli.errors import GanadInputError


def call_app(app: Callable[[], object], prog: str, args: list[str]) -> int:
    """Run a @hydra.main app on `args` as if `prog` were the script; its exit code."""
    saved = sys.argv
    sys.argv = [prog, *args]
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else error(exc.code, 1)
    finally:
        sys.argv = saved
    return 0


def _filtered_help(app: Callable[[], object], prog: str, args: list[str]) -> int:
    """Hydra's --help without the `schema/...` groups: those are the structured-config bases the
    YAML choices extend (ConfigStore), not choices a user picks."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = call_app(app, prog, args)
    kept = [ln for ln in buffer.getvalue().splitlines() if not ln.startswith("schema/")]
    try:
        print("\n".join(kept))
        sys.stdout.flush()
    except BrokenPipeError:  # `ganad train --help | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _locked_train_args(args: list[str], key: str, folder: str) -> tuple[list[str], Path]:
    """Pin the run (or sweep) folder Hydra will use (`${now:}` resolved once, by preflight), so
    the lock taken before Hydra starts is on that very folder; a new run into a folder that
    already holds one is refused."""
    overrides, multirun, _ = split_args(args)
    path = Path(folder).expanduser().absolute()
    resuming = any(o.startswith("resume=") for o in overrides)
    if not resuming and not multirun and (path / ".hydra" / "config.yaml").is_file():
        raise GanadInputError(
            f"config key '{key}': {path} already holds a run; expected a new folder (or "
            f"continue that run with: ganad train resume={path})"
        )
    if not any(o.startswith(f"{key}=") for o in overrides):
        args = [*args, f"{key}={path}"]
    return args, path


def run_hydra_app(
    app: Callable[[], object],
    prog: str,
    args: list[str],
    config_name: str,
    lock: Path | None = None,
) -> int:
    """Preflight, then the Hydra app; `lock` (or, for train, the run folder) is held throughout."""
    from contextlib import nullcontext

    from ganad_cli.runs.runlock import run_folder_lock

    overrides, multirun, only_prints = split_args(args)
    if not only_prints:
        from ganad_cli.runs.safety import check_output_dirs

        try:
            preflight(config_name, overrides, multirun)
            dirs = check_output_dirs(config_name, overrides, multirun)
            if config_name == "train" and dirs and not ({"--cfg", "-c"} & set(args)):
                args, lock = _locked_train_args(args, *dirs[0])
        except GanadInputError as exc:
            return error(str(exc))
    if config_name in ("train", "bench") and not only_prints:  # after the torch-free checks
        from ganad_cli.threads import pin_default_threads

        pin_default_threads()  # threads=null: this process's default in every launcher
    if "--help" in args or "-h" in args:
        return _filtered_help(app, prog, args)
    sweep_errors = getattr(sys.modules.get("ganad_cli.cli.apps"), "SWEEP_INPUT_ERRORS", [])
    sweep_errors.clear()
    try:
        with run_folder_lock(lock, f"{prog} {' '.join(args)}") if lock else nullcontext():
            code = call_app(app, prog, args)
    except GanadInputError as exc:  # the folder is locked by another process
        return error(str(exc))
    except ValueError as exc:  # Hydra's own flag check, e.g. `-m ... --cfg job`
        if str(exc).startswith("Only one of"):
            return error(str(exc))
        raise
    return 2 if code == 1 and sweep_errors else code  # a sweep job's bad input: exit 2


# data keys that say where the data lives, not which data: a resume may change them


def precheck_then_run(
    args: list[str], config_name: str, precheck, app, lock: Path | None = None
) -> int:
    """Compose-level checks, then a command-specific precheck, before Hydra makes a folder."""
    overrides, multirun, only_prints = split_args(args)
    if not only_prints:
        try:
            preflight(config_name, overrides, multirun)
            precheck(overrides, multirun)
        except GanadInputError as exc:
            return error(str(exc))
    return run_hydra_app(app, f"ganad {config_name}", args, config_name, lock)
