"""Hydra applications behind the `ganad` commands."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ganad_cli.config import register_configs
from ganad_cli.errors import GanadInputError
from ganad_cli.paths import conf_dir

register_configs()
log = logging.getLogger("ganad")


def _fail_input(exc: GanadInputError, run_dir: Path) -> None:
    """One line, exit 2; a single run's folder is removed so nothing looks finished."""
    print(f"ganad: error: {exc}", file=sys.stderr)
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        raise exc  # the launcher records the failed job; other jobs go on
    logging.shutdown()
    shutil.rmtree(run_dir, ignore_errors=True)
    raise SystemExit(2)


@hydra.main(config_path=str(conf_dir()), config_name="train", version_base="1.3")
def train_app(cfg: DictConfig) -> float | None:
    from ganad_cli.pipeline import run_training

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        metrics = run_training(cfg, run_dir)
    except GanadInputError as exc:
        _fail_input(exc, run_dir)
    except FloatingPointError as exc:
        print(f"ganad: error: training diverged: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    value = metrics.get(cfg.optimized_metric)
    return None if value is None else float(value)
