"""Composing a command line's configs with Hydra's compose API, before Hydra makes a folder.

`preflight` composes and validates every job a command line would launch; bad input becomes one
GanadInputError naming the key, group or choice (the command line prints it)."""

from __future__ import annotations

import re

from ganad_cli.errors import GanadInputError


def variants(overrides: list[str]) -> list[list[str]]:
    """Sweep overrides expanded one value at a time (others at their first value)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    base: list[str] = []
    sweeps: list[tuple[int, list[str]]] = []
    for o in parsed:
        if o.is_sweep_override():
            values = [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
            sweeps.append((len(base), values))
            base.append(values[0])
        else:
            base.append(o.input_line)
    variants = [base]
    for pos, values in sweeps:
        for v in values[1:]:
            variants.append(base[:pos] + [v] + base[pos + 1 :])
    return variants


def compose_variants(config_name: str, overrides: list[str], multirun: bool) -> list:
    """The composed config of every job the command line would launch (compose API only)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ganad_cli.config import register_configs
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return [
                compose(config_name, overrides=variant)
                for variant in (variants(overrides) if multirun else [overrides])
            ]
    finally:
        GlobalHydra.instance().clear()


def check_objective(cfg) -> None:
    """An Optuna sweep maximises `optimized_metric` on validation: a ranking metric there needs
    validation anomalies, else every trial returns NaN."""
    choices = cfg.hydra.runtime.choices if "hydra" in cfg else {}
    if choices.get("hparams_search") is None:
        return
    metric = str(cfg.optimized_metric)
    if metric.startswith("val/") and cfg.data.val_anomaly_fraction <= 0:
        raise GanadInputError(
            f"config key 'data.val_anomaly_fraction' must be > 0 for hparams_search: the objective "
            f"{metric!r} is computed on validation, which has no anomalies (got "
            f"{cfg.data.val_anomaly_fraction})"
        )


def preflight(config_name: str, overrides: list[str], multirun: bool) -> list:
    """Compose and validate; raise GanadInputError with one clear line on bad input. Returns the
    composed config of every job."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    from ganad_cli.config import register_configs, validate_config
    from ganad_cli.config.applied import check_applied_keys
    from ganad_cli.config.extras import check_extras, missing_plugin
    from ganad_cli.hardware import check_hardware
    from ganad_cli.paths import conf_dir

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        try:
            jobs = variants(overrides) if multirun else [overrides]
            configs = []
            for variant in jobs:
                if config_name == "train":
                    cfg = compose(config_name, overrides=variant, return_hydra_config=True)
                    validate_config(cfg)
                    check_applied_keys(cfg)
                    check_objective(cfg)
                    check_hardware(cfg.trainer)
                    check_extras(cfg)
                else:
                    cfg = compose(config_name, overrides=variant)
                configs.append(cfg)
            return configs
        except MissingConfigException as exc:
            m = re.search(r"Could not find '([^']+)/([^'/]+)'", str(exc))
            if not m:
                raise GanadInputError(str(exc).splitlines()[0]) from exc
            group, choice = m.groups()
            plugin = missing_plugin(group, choice)  # a Hydra plugin of an extra, not installed
            if plugin is not None:
                raise plugin from exc
            loader = GlobalHydra.instance().config_loader()
            options = [o for o in loader.get_group_options(group) if o]
            raise GanadInputError(
                f"unknown choice '{choice}' for config group '{group}'; valid choices: "
                f"{', '.join(options)}"
            ) from exc
        except OmegaConfBaseException as exc:  # bad type, failing interpolation: name the key
            from ganad_cli.boundary import config_error

            raise config_error(exc) from exc
        except HydraException as exc:
            cause = exc.__cause__
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            detail = lines[0] if lines else type(exc).__name__
            if detail.endswith(":") and len(lines) > 1:  # "... raised while composing config:"
                detail += " " + lines[1]
            if cause is not None:
                detail += ": " + str(cause).splitlines()[0]
            raise GanadInputError(detail) from exc
        finally:
            GlobalHydra.instance().clear()
