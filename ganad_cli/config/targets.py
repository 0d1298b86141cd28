"""The classes a config may name with `_target_`, and where: the allow-list.

`hydra.utils.instantiate` imports and calls whatever a `_target_` names, and a run folder (its
`.hydra/config.yaml`, its overrides) may come from someone else. So ganad builds only these
classes, and only from these places:
- `trainer._target_`: Lightning's Trainer;
- `logger._target_`: the Lightning logger of `logger.name` (csv, tensorboard, wandb);
- `callbacks.<entry>._target_`: one of Lightning's callbacks below.
Every other `_target_` (another class, another place, a nested one) is refused, on the command
line as in a run folder, before anything is imported.

Torch-free: the argument lists (`target_arguments`) import Lightning only when asked.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from ganad_cli.errors import GanadInputError

TRAINER_TARGET = "pytorch_lightning.Trainer"
# logger.name -> the class built for it (logger=none builds nothing)
LOGGER_TARGETS = {
    "csv": "pytorch_lightning.loggers.CSVLogger",
    "tensorboard": "pytorch_lightning.loggers.TensorBoardLogger",
    "wandb": "pytorch_lightning.loggers.WandbLogger",
}
# Lightning's own callbacks a `callbacks.<entry>` may build (conf/callbacks/default.yaml)
CALLBACK_TARGETS = (
    "pytorch_lightning.callbacks.EarlyStopping",
    "pytorch_lightning.callbacks.LearningRateMonitor",
    "pytorch_lightning.callbacks.ModelCheckpoint",
    "pytorch_lightning.callbacks.RichProgressBar",
)
ALLOWED_TARGETS = frozenset({TRAINER_TARGET, *LOGGER_TARGETS.values(), *CALLBACK_TARGETS})

# arguments ganad sets itself when it builds a logger or a callback (the run folder, the run's
# identity): a config may not set them, so nothing is written outside the run folder
MANAGED_LOGGER_ARGS = ("save_dir", "name", "version", "offline", "config", "project", "group")
MANAGED_CALLBACK_ARGS = ("dirpath", "save_last")
# checkpoint names ganad writes itself (last.ckpt, epochNNN.ckpt, best.ckpt, interrupted.ckpt):
# a ModelCheckpoint from config may not write (or remove) them
RESERVED_CHECKPOINT_NAMES = ("last", "best", "interrupted")
RESERVED_CHECKPOINT_PREFIX = "epoch"


def allowed_at(path: tuple[str, ...]) -> tuple[str, ...]:
    """The targets allowed at the config node `path` (the node holding `_target_`); () where
    no `_target_` may sit."""
    if path == ("trainer",):
        return (TRAINER_TARGET,)
    if path == ("logger",):
        return tuple(LOGGER_TARGETS.values())
    if len(path) == 2 and path[0] == "callbacks":
        return CALLBACK_TARGETS
    return ()


def target_problem(path: tuple[str, ...], value: object) -> str | None:
    """Why `<path>._target_: value` is refused, or None when it is on the allow-list there."""
    where = ".".join(path)
    allowed = allowed_at(path)
    if not allowed:
        return (
            f"'{where}._target_' is not a place ganad builds objects from; expected _target_ "
            "only at trainer, logger and callbacks.<entry>"
        )
    if value is None and path == ("logger",):  # logger=none: nothing is built
        return None
    if value not in allowed:
        expected = " or ".join(allowed)
        return f"'{where}._target_' names {value!r}, not on ganad's allow-list; expected {expected}"
    return None


def check_target(path: tuple[str, ...], value: object, source: str = "config key") -> None:
    problem = target_problem(path, value)
    if problem is not None:
        raise GanadInputError(f"{source} {problem}")


@cache
def target_arguments(target: str) -> frozenset[str]:
    """The constructor arguments of an allow-listed class (imports only allow-listed modules)."""
    if target not in ALLOWED_TARGETS:
        raise GanadInputError(f"_target_ {target!r} is not on ganad's allow-list")
    module, _, name = target.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    params = inspect.signature(cls.__init__).parameters
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    return frozenset(n for n, p in params.items() if n != "self" and p.kind not in variadic)


# instantiate's other special keys: none is accepted anywhere (no positional arguments, partials,
# recursion or conversion chosen by a config)
_OTHER_SPECIAL_KEYS = ("_args_", "_partial_", "_recursive_", "_convert_")


def tree_problem(tree: object, path: tuple[str, ...] = ()) -> str | None:
    """The first `_target_` (or other instantiate key) in a plain config tree that the
    allow-list refuses, described; None when every one is allowed where it sits."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "_target_":
                problem = target_problem(path, value)
                if problem is not None:
                    return problem
            elif key in _OTHER_SPECIAL_KEYS:
                return f"'{'.'.join((*path, str(key)))}' is an instantiate key; expected none"
            else:
                problem = tree_problem(value, (*path, str(key)))
                if problem is not None:
                    return problem
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            problem = tree_problem(value, (*path[:-1], f"{path[-1] if path else ''}[{i}]"))
            if problem is not None:
                return problem
    return None
