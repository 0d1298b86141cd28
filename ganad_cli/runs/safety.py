"""Untrusted files and unwritable places: safe checkpoint loading, atomic checkpoints, and an
output-folder check before Hydra creates anything.

Run folders get shared. A `.ckpt`/`.pt` is a pickle, and a pickle can name any callable to run
while loading; `torch.load(weights_only=True)` only rebuilds tensors and plain containers and
refuses everything else, whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ganad_cli.errors import GanadInputError


def load_checkpoint_safely(path: str | Path, what: str = "checkpoint") -> dict[str, Any]:
    """A checkpoint dict via torch.load(weights_only=True); GanadInputError if the file is
    missing, damaged, or needs arbitrary code to load."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise GanadInputError(f"{what} {path} not found; expected a file written by 'ganad train'")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused, truncated zip, not a torch file at all
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        raise GanadInputError(
            f"{what} {path} could not be loaded safely ({type(exc).__name__}: {detail}); expected "
            "a checkpoint written by 'ganad train' (files that would run code are refused)"
        ) from exc
    if not isinstance(blob, dict) or "state_dict" not in blob:
        raise GanadInputError(f"{what} {path} holds no state_dict; expected a Lightning checkpoint")
    return blob


def writable_dir_problem(path: str | Path) -> str | None:
    """Why `path` cannot be created/written as a folder, or None if it can."""
    path = Path(path).expanduser().absolute()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def output_dirs(config_name: str, overrides: list[str], multirun: bool) -> list[tuple[str, str]]:
    """(key, folder) Hydra would create for this command line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.paths import conf_dir

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
            if multirun:
                return [("hydra.sweep.dir", str(cfg.hydra.sweep.dir))]
            return [("hydra.run.dir", str(cfg.hydra.run.dir))]
    finally:
        GlobalHydra.instance().clear()


def check_output_dirs(
    config_name: str, overrides: list[str], multirun: bool
) -> list[tuple[str, str]]:
    """Raise GanadInputError if the run/sweep folder cannot be created (before Hydra tries);
    the (key, folder) pairs composed, for callers that lock them ([] if composing failed)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ganad_cli.config.compose import variants

    try:
        first = variants(overrides)[0] if multirun else overrides
        dirs = output_dirs(config_name, first, multirun)
    except (HydraException, OmegaConfBaseException, ValueError):
        return []  # anything composing rejects was already reported by preflight
    for key, folder in dirs:
        problem = writable_dir_problem(folder)
        if problem:
            raise GanadInputError(
                f"config key '{key}': cannot create output folder {folder} ({problem}); expected "
                "a writable location"
            )
    return dirs
