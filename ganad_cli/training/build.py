"""Objects built from `_target_` configs with `hydra.utils.instantiate`: the Trainer, the logger
and the Lightning callbacks of the `callbacks` group; only what ganad_cli.config.targets allows.

Hydra builds a partial (`_partial_=True`, nothing nested is instantiated) and ganad calls it with
what only a running ganad knows (the run folder, its callbacks and logger), so those never pass
through OmegaConf.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig

from ganad_cli.config import to_plain
from ganad_cli.config.targets import check_target

_EARLY_STOPPING = "pytorch_lightning.callbacks.EarlyStopping"
_MODEL_CHECKPOINT = "pytorch_lightning.callbacks.ModelCheckpoint"
_RICH_PROGRESS = "pytorch_lightning.callbacks.RichProgressBar"
# callbacks that are off while their monitor is null (conf/callbacks/default.yaml)
_OFF_WITHOUT_MONITOR = (_EARLY_STOPPING, _MODEL_CHECKPOINT)


def factory(path: tuple[str, ...], node: dict[str, Any]) -> Callable[..., Any]:
    """`hydra.utils.instantiate(node, _partial_=True)` once `node["_target_"]` is checked against
    the allow-list at `path` (again: the config checks ran before, this is the last gate)."""
    from hydra.utils import instantiate

    check_target(path, node.get("_target_"))
    return instantiate(node, _partial_=True, _recursive_=False, _convert_="all")


def plain(node: DictConfig | dict, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    tree = to_plain(node) if isinstance(node, DictConfig) else dict(node)
    return {k: v for k, v in tree.items() if k not in drop}


def config_callbacks(
    callbacks: DictConfig | None, run_dir: Path, progress_bar: bool
) -> list[pl.Callback]:
    """The Lightning callbacks of the `callbacks` group that are on. A ModelCheckpoint writes to
    <run>/checkpoints/; a progress bar is left out when progress bars are off (quiet=true, CI,
    trainer.enable_progress_bar=false): Lightning refuses one then."""
    out: list[pl.Callback] = []
    for entry, node in (callbacks or {}).items():
        if node is None:
            continue
        target = node.get("_target_")
        if target in _OFF_WITHOUT_MONITOR and node.get("monitor") is None:
            continue
        if target == _RICH_PROGRESS and not progress_bar:
            continue
        kwargs: dict[str, Any] = {}
        if target == _MODEL_CHECKPOINT:
            kwargs["dirpath"] = str(run_dir / "checkpoints")
        out.append(factory(("callbacks", str(entry)), plain(node))(**kwargs))
    return out


def logger_node(logger: DictConfig) -> dict[str, Any]:
    """`logger._target_` and the extra Lightning arguments a user gave (`+logger.<arg>=...`);
    ganad's own logger keys become arguments in training.trainer.build_logger."""
    import dataclasses

    from ganad_cli.config import LoggerConfig

    ganad_keys = tuple(f.name for f in dataclasses.fields(LoggerConfig) if f.name != "_target_")
    return plain(logger, drop=ganad_keys)
