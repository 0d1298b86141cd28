"""Hydra applications behind the `ganad` commands."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException
from hydra.types import RunMode
from omegaconf import DictConfig

from ganad_cli.config import register_configs
from ganad_cli.errors import GanadInputError
from ganad_cli.paths import conf_dir

register_configs()
log = logging.getLogger("ganad")


class SweepJobInputError(GanadInputError, CompactHydraException):
    """A sweep job stopped on bad input. Hydra reports a CompactHydraException as its message
    alone (no traceback) once the sweep's jobs have run; `ganad` then exits 2."""


# sweep jobs that stopped on bad input in this process (cli turns Hydra's exit 1 into 2)
SWEEP_INPUT_ERRORS: list[str] = []


def _fail_input(exc: GanadInputError, run_dir: Path) -> None:
    """One line, exit 2; a single run's folder is removed so nothing looks finished."""
    from ganad_cli.cli.output import error

    error(str(exc))  # with GANAD_DEBUG=1 the traceback first
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        # the launcher records the failed job; the other jobs go on; its folder has no results
        SWEEP_INPUT_ERRORS.append(str(exc))
        raise SweepJobInputError(
            f"ganad: error: sweep job {HydraConfig.get().job.num} ({run_dir}) stopped on bad "
            "input (its message is above); expected every job's settings to be valid"
        ) from None
    _detach_file_logs(run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    raise SystemExit(2)


def _detach_file_logs(folder: Path) -> None:
    """Close and remove log handlers writing into `folder` (Hydra's <job>.log), so a later run
    in the same process does not log into a deleted folder."""
    folder = folder.resolve()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in list(getattr(logger, "handlers", [])):
            if isinstance(handler, logging.FileHandler) and Path(
                handler.baseFilename
            ).resolve().is_relative_to(folder):
                logger.removeHandler(handler)
                handler.close()


def _input_or_raise(exc: BaseException, cfg: DictConfig | None = None) -> GanadInputError:
    """The boundary (ganad_cli.boundary): a user-caused exception as its one-line input error;
    anything else is re-raised with its traceback (a bug in ganad)."""
    from ganad_cli.boundary import as_input_error

    err = as_input_error(exc, cfg)
    if err is None:
        raise exc
    return err


def _started_training(run_dir: Path) -> bool:
    """Did this run write a checkpoint (so a Ctrl-C leaves something to resume)?"""
    return any((run_dir / "checkpoints").glob("*.ckpt"))


@hydra.main(config_path=str(conf_dir()), config_name="train", version_base="1.3")
def train_app(cfg: DictConfig) -> float | None:
    from ganad_cli.boundary import NO_SPACE
    from ganad_cli.cli.output import error
    from ganad_cli.tasks.train import run_training

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    resumed = bool(cfg.get("resume"))
    try:
        metrics = run_training(cfg, run_dir)
    except FloatingPointError as exc:
        raise SystemExit(error(f"training diverged: {exc}", 1)) from None
    except KeyboardInterrupt as exc:
        print(f"ganad: {exc}" if str(exc) else "ganad: interrupted", file=sys.stderr)
        if not resumed and not _started_training(run_dir):  # Ctrl-C during start-up
            if HydraConfig.get().mode != RunMode.MULTIRUN:
                _detach_file_logs(run_dir)
                shutil.rmtree(run_dir, ignore_errors=True)
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the boundary: user-caused classes, else re-raised
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            # disk full mid-run: keep the folder (no metrics.json: nothing looks finished) and
            # any checkpoints, to resume once there is room
            raise SystemExit(error(str(_input_or_raise(exc)), 1)) from None
        err = _input_or_raise(exc, cfg)
        if resumed:  # never remove a resumed run's folder: only what this call staged
            _discard_staged_resume(run_dir)
            raise SystemExit(error(str(err))) from None
        _fail_input(err, run_dir)
    finally:
        if resumed:
            _discard_staged_resume(run_dir)
    value = metrics.get(cfg.optimized_metric)
    return None if value is None else float(value)


def _discard_staged_resume(run_dir: Path) -> None:
    """A resume that stopped before training was under way: its staged Hydra files go."""
    from ganad_cli.training.callbacks import RESUME_SUBDIR

    shutil.rmtree(run_dir / RESUME_SUBDIR, ignore_errors=True)


@hydra.main(config_path=str(conf_dir()), config_name="evaluate", version_base="1.3")
def evaluate_app(cfg: DictConfig) -> float | None:
    from ganad_cli.tasks.evaluate import run_evaluation

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = run_evaluation(cfg, out_dir)
    except Exception as exc:  # noqa: BLE001 - the boundary; a full disk: its half-made folder goes
        _fail_input(_input_or_raise(exc, cfg), out_dir)
    value = metrics.get("objective")
    return None if value is None else float(value)


@hydra.main(config_path=str(conf_dir()), config_name="detect", version_base="1.3")
def detect_app(cfg: DictConfig) -> None:
    from ganad_cli.tasks.detect import run_detection

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        target = run_detection(cfg, out_dir)
    except Exception as exc:  # noqa: BLE001 - e.g. output=<path under a file>, a full disk
        _fail_input(_input_or_raise(exc, cfg), out_dir)
    print(target)  # the detections file, for scripts


@hydra.main(config_path=str(conf_dir()), config_name="bench", version_base="1.3")
def bench_app(cfg: DictConfig) -> None:
    from ganad_cli.tasks.bench import run_bench

    try:
        run_bench(cfg)
    except KeyboardInterrupt as exc:  # the finished rows are in bench.csv already
        print(f"ganad: {exc}" if str(exc) else "ganad: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - never _fail_input: the output folder is the run
        print(f"ganad: error: {_input_or_raise(exc, cfg)}", file=sys.stderr)
        raise SystemExit(2) from None
