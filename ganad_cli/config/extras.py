"""Optional extras (pyproject's [project.optional-dependencies]): a choice that needs one that is
not installed is one line naming the extra to install, found before any run folder is made.

Hydra plugins that are not installed leave their config choices out (`hydra/sweeper=optuna` is
then an unknown choice), so the choices of the known plugins are named here too."""

from __future__ import annotations

import importlib
from typing import Any

from ganad_cli.errors import GanadInputError

# Hydra plugin choices -> (extra, modules the plugin and its library import as)
PLUGIN_CHOICES: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("hydra/sweeper", "optuna"): ("sweep", ("hydra_plugins.hydra_optuna_sweeper", "optuna")),
    ("hydra/launcher", "joblib"): ("sweep", ("hydra_plugins.hydra_joblib_launcher", "joblib")),
    ("hydra/launcher", "submitit_local"): (
        "cluster",
        ("hydra_plugins.hydra_submitit_launcher", "submitit"),
    ),
    ("hydra/launcher", "submitit_slurm"): (
        "cluster",
        ("hydra_plugins.hydra_submitit_launcher", "submitit"),
    ),
}
# logger=<name> -> (extra, modules: any one of them will do)
LOGGERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tensorboard": ("tensorboard", ("tensorboard", "tensorboardX")),
    "wandb": ("wandb", ("wandb",)),
}


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def install_hint(extra: str) -> str:
    return f"pip install 'ganad[{extra}]'"


def missing_plugin(group: str, choice: str) -> GanadInputError | None:
    """The error for a Hydra plugin choice whose plugin is not installed (None if unknown)."""
    known = PLUGIN_CHOICES.get((group, choice))
    if known is None:
        return None
    extra, modules = known
    absent = next((m for m in modules if not importable(m)), None)
    if absent is None:
        return None
    return GanadInputError(
        f"{group}={choice} needs {modules[0].split('.')[-1].replace('_', '-')}, which is not "
        f"installed ({absent} cannot be imported); install it with `{install_hint(extra)}`"
    )


def check_extras(cfg: Any) -> None:
    """Refuse a composed train config whose choices need an extra that is not installed."""
    choices = cfg.hydra.runtime.choices if "hydra" in cfg else {}
    for group in ("hydra/sweeper", "hydra/launcher"):
        err = missing_plugin(group, str(choices.get(group)))
        if err is not None:
            raise err
    name = str(cfg.logger.get("name", "")) if "logger" in cfg else ""
    if name in LOGGERS:
        extra, modules = LOGGERS[name]
        if not any(importable(m) for m in modules):
            raise GanadInputError(
                f"config key 'logger': logger={name} needs {modules[0]}, which is not installed; "
                f"install it with `{install_hint(extra)}` (or choose logger=csv)"
            )
