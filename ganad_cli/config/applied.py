"""Every key a train config holds is applied or refused: nothing is recorded and ignored.

Hydra's `+key=value` adds keys to any node, schemas included. A key that lands in
`.hydra/config.yaml` but changes nothing is the worst kind of error in an experiment runner, so:
- top-level keys are those of conf/train.yaml and its config groups;
- a group node holds only the fields of its schema (ganad_cli.config);
- every `_target_` is on the allow-list and at its place (ganad_cli.config.targets);
- `logger.*` beyond the schema is passed to the logger when it is one of its arguments, and
  `callbacks.<entry>.*` are arguments of the entry's Lightning callback;
- `trainer.*` beyond the schema is passed to Lightning's Trainer when it is one of its arguments
  (and not one ganad sets itself); under manual optimisation (every GAN here) Lightning cannot clip
  or accumulate gradients, so those are refused too.
"""

from __future__ import annotations

import dataclasses
import inspect
from functools import lru_cache
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganad_cli.config.keys import TOP_LEVEL_KEYS, TRAIN_GROUPS
from ganad_cli.errors import GanadInputError

# Trainer arguments ganad sets itself, and the config key that decides each
MANAGED_TRAINER_ARGS = {
    "logger": "logger=<csv|tensorboard|wandb|none>",
    "callbacks": "ganad's own callbacks",
    "plugins": "ganad's checkpoint I/O",
    "default_root_dir": "the run folder (hydra.run.dir)",
    "enable_checkpointing": "ganad's checkpoints (resume needs them)",
    "enable_model_summary": "quiet=true|false",
}
# Lightning refuses these under manual optimisation (self.automatic_optimization = False)
AUTOMATIC_ONLY = ("gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches")


@lru_cache(maxsize=1)
def trainer_arguments() -> frozenset[str]:
    import pytorch_lightning as pl

    return frozenset(inspect.signature(pl.Trainer.__init__).parameters) - {"self"}


def _schema_fields(node: DictConfig) -> set[str] | None:
    kind = OmegaConf.get_type(node)
    if kind is None or not dataclasses.is_dataclass(kind):
        return None
    return {f.name for f in dataclasses.fields(kind)}


def trainer_extras(trainer: DictConfig) -> dict[str, Any]:
    """`trainer.*` keys beyond ganad's schema: Lightning Trainer arguments to pass through."""
    from ganad_cli.config import TrainerConfig

    known = {f.name for f in dataclasses.fields(TrainerConfig)}
    return {k: trainer[k] for k in trainer if k not in known}


def check_applied_keys(cfg: DictConfig) -> None:
    """Refuse, naming the key, anything in a train config that ganad would not apply."""
    allowed = set(TOP_LEVEL_KEYS) | set(TRAIN_GROUPS)
    for key in cfg:
        if key != "hydra" and key not in allowed:
            raise GanadInputError(
                f"config key '{key}' is not applied by ganad; expected only the top-level keys "
                f"{', '.join(TOP_LEVEL_KEYS)} and the groups {', '.join(TRAIN_GROUPS)}"
            )
    from ganad_cli.config.targets import tree_problem

    problem = tree_problem(
        {k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k != "hydra"}
    )
    if problem is not None:
        raise GanadInputError(f"config key {problem}")
    for group in TRAIN_GROUPS:
        if group in ("trainer", "callbacks") or group not in cfg:
            continue
        fields = _schema_fields(cfg[group])
        extra = sorted(set(cfg[group]) - fields) if fields is not None else []
        if group == "logger":
            extra = _logger_extras(cfg.logger, extra)
        if extra:
            raise GanadInputError(
                f"config key '{group}.{extra[0]}' is not applied by ganad; expected one of "
                f"{', '.join(sorted(fields))}"
            )
    check_callbacks(cfg)
    for key in trainer_extras(cfg.trainer):
        if key in MANAGED_TRAINER_ARGS:
            raise GanadInputError(
                f"config key 'trainer.{key}' is set by ganad itself ({MANAGED_TRAINER_ARGS[key]})"
                "; expected it left out"
            )
        if key not in trainer_arguments():
            raise GanadInputError(
                f"config key 'trainer.{key}' is neither a ganad trainer key nor a Lightning "
                "Trainer argument; expected one of "
                f"{', '.join(sorted(trainer_arguments() - set(MANAGED_TRAINER_ARGS)))}"
            )


def _logger_extras(logger: DictConfig, extra: list[str]) -> list[str]:
    """Check `logger._target_` against `logger.name`; the extra keys that are not arguments of
    that logger (the others are passed to it)."""
    from ganad_cli.config.targets import LOGGER_TARGETS, MANAGED_LOGGER_ARGS, target_arguments

    target = LOGGER_TARGETS.get(logger.name)
    if logger.get("_target_") != target:
        raise GanadInputError(
            f"config key 'logger._target_' is {logger.get('_target_')!r} but logger.name is "
            f"{logger.name!r}; expected {target!r} (choose the logger with logger=<name>)"
        )
    if target is None:
        return extra
    managed = [k for k in extra if k in MANAGED_LOGGER_ARGS]
    if managed:
        raise GanadInputError(
            f"config key 'logger.{managed[0]}' is set by ganad itself (the run folder and the "
            "run's identity); expected it left out"
        )
    return [k for k in extra if k not in target_arguments(target)]


def _check_monitor(entry: str, monitor: Any, select_epoch: str) -> None:
    """A monitored metric must be one logged every epoch: the model's `train/*` losses, or
    `val/epoch_auroc` (logged only with trainer.select_epoch=best_val_auroc). The test and
    validation metrics of metrics.json are computed once, after training."""
    if monitor is None or not isinstance(monitor, str):
        return
    per_epoch = monitor.startswith("train/") or (
        monitor == "val/epoch_auroc" and select_epoch == "best_val_auroc"
    )
    if not per_epoch and monitor.split("/")[0] in ("val", "test"):
        raise GanadInputError(
            f"config key 'callbacks.{entry}.monitor': {monitor!r} is not logged during training "
            "(it is computed once, after training); expected a metric logged every epoch: the "
            "model's train/<loss> (train/loss_g, train/loss_d, ...), or val/epoch_auroc with "
            "trainer.select_epoch=best_val_auroc"
        )


def check_callbacks(cfg: DictConfig) -> None:
    """Every `callbacks.<entry>` is null (off) or a Lightning callback of the allow-list with
    its own arguments, that can work in this run."""
    from ganad_cli.config.targets import MANAGED_CALLBACK_ARGS, target_arguments

    select_epoch = cfg.trainer.get("select_epoch", "last")
    for entry, node in (cfg.get("callbacks") or {}).items():
        if node is None:
            continue
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise GanadInputError(
                f"config key 'callbacks.{entry}' has no _target_; expected null (off) or a "
                "Lightning callback with its _target_ (see conf/callbacks/default.yaml)"
            )
        arguments = target_arguments(node._target_)
        for key in node:
            if key == "_target_":
                continue
            if key in MANAGED_CALLBACK_ARGS:
                raise GanadInputError(
                    f"config key 'callbacks.{entry}.{key}' is set by ganad itself (checkpoints "
                    "go to the run folder's checkpoints/, last.ckpt is ganad's); expected it "
                    "left out"
                )
            if key not in arguments:
                raise GanadInputError(
                    f"config key 'callbacks.{entry}.{key}' is not an argument of "
                    f"{node._target_}; expected one of {', '.join(sorted(arguments))}"
                )
        _check_monitor(str(entry), node.get("monitor"), select_epoch)
        _check_checkpoint_name(str(entry), node)
        if str(node._target_).endswith(".LearningRateMonitor") and cfg.logger.name == "none":
            raise GanadInputError(
                f"config key 'callbacks.{entry}' (LearningRateMonitor) needs a logger to write "
                f"to; expected logger=csv|tensorboard|wandb, or callbacks.{entry}=null"
            )


def _check_checkpoint_name(entry: str, node: DictConfig) -> None:
    from ganad_cli.config.targets import RESERVED_CHECKPOINT_NAMES, RESERVED_CHECKPOINT_PREFIX

    if not str(node._target_).endswith(".ModelCheckpoint"):
        return
    name = str(node.get("filename") or "")
    stem = name.removesuffix(".ckpt")
    if not name or stem in RESERVED_CHECKPOINT_NAMES or stem.startswith(RESERVED_CHECKPOINT_PREFIX):
        raise GanadInputError(
            f"config key 'callbacks.{entry}.filename' is {name or None!r}, which would write over "
            f"ganad's own checkpoints (last, best, interrupted, epoch*); expected "
            "another name, e.g. best-{epoch:03d}"
        )


def check_optimisation(cfg: DictConfig, automatic: bool, model_name: str) -> None:
    """Lightning clips and accumulates gradients only under automatic optimisation."""
    if automatic:
        return
    for key in AUTOMATIC_ONLY:
        if key in cfg.trainer:
            raise GanadInputError(
                f"config key 'trainer.{key}' cannot be applied to model {model_name!r}: it "
                "optimises its networks manually (alternating GAN steps), and Lightning "
                f"{'clips' if 'clip' in key else 'accumulates'} gradients only under automatic "
                "optimisation; expected it left out (or a model with automatic optimisation, "
                "e.g. model=autoencoder)"
            )
