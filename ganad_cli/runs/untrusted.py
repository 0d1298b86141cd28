"""Run folders are untrusted input: what resume, evaluate, bench and report accept from them.

A run folder may come from someone else. Its `.hydra/overrides.yaml` is replayed on resume and its
`.hydra/config.yaml` is read by evaluate, bench and report. Hydra would happily apply an override
that adds a callback (`+hydra.callbacks.x._target_=...`), swaps the launcher or sweeper, or
builds an object from `_target_`; OmegaConf would run any registered resolver
(`${oc.env:SECRET}`). So only ganad's own schema is accepted from a run folder: its config groups,
the fields of their schemas and a few top-level keys, with plain values, and `_target_` only
where ganad builds Lightning objects and only naming a class of the allow-list
(ganad_cli.config.targets: trainer, logger, callbacks.<entry>). Everything else is refused with
one line naming the file, before anything is imported or built.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path
from typing import Any

from ganad_cli.config.keys import RUN_GROUPS, TOP_LEVEL_KEYS, TRAIN_GROUPS
from ganad_cli.config.targets import MANAGED_CALLBACK_ARGS, target_problem
from ganad_cli.errors import GanadInputError

# where a resume's Hydra files wait until training is under way (then they replace .hydra/)
RESUME_SUBDIR = ".hydra-resume"
# Hydra/instantiate special keys: their presence means "build or call something"
_SPECIAL = re.compile(
    r"(?<![A-Za-z0-9])_(target|args|partial|recursive|convert|call)_(?![A-Za-z0-9])"
)
# an interpolation that calls a resolver (${oc.env:X}, ${now:...}); ${model.latent_dim} is plain
_RESOLVER = re.compile(r"\$\{\s*[A-Za-z_][\w.]*\s*:")


@cache
def schema_fields() -> dict[str, frozenset[str]]:
    """Per config group, every field any of its schemas declares."""
    from ganad_cli.config import SCHEMAS

    out: dict[str, frozenset[str]] = {}
    for group, schemas in SCHEMAS.items():
        names: set[str] = set()
        for schema in schemas.values():
            names.update(f.name for f in dataclasses.fields(schema))
        out[group] = frozenset(names)
    return out


def _refuse(source: Path, what: str, why: str) -> GanadInputError:
    return GanadInputError(
        f"{source}: {what} {why}; a run folder may only set ganad's own config keys (config "
        "groups data/model/inversion/score/threshold/trainer/logger/callbacks/experiment and their "
        "fields), never hydra.*, resolvers, or a _target_ off ganad's allow-list"
    )


def check_value_text(text: str, source: Path, what: str) -> None:
    if _SPECIAL.search(text):
        raise _refuse(source, what, "names an object to build (_target_ and kin)")
    if _RESOLVER.search(text):
        raise _refuse(source, what, "calls an interpolation resolver")


def check_key(key: str, source: Path, what: str) -> None:
    """A dotted config key must be a top-level key of train.yaml or <group>.<schema field>..."""
    parts = key.split(".")
    if parts[0] in TOP_LEVEL_KEYS and len(parts) == 1:
        return
    fields = schema_fields()
    group_fields = fields.get(parts[0], frozenset()) if parts[0] != "bench" else frozenset()
    if len(parts) >= 2 and parts[1] in group_fields:
        return
    if parts[0] == "callbacks" and len(parts) in (2, 3) and parts[-1] not in MANAGED_CALLBACK_ARGS:
        # an entry (null: off) or one of its arguments: the composed config is checked against
        # the entry's class (config.applied.check_callbacks) before anything is built
        if all(p.isidentifier() for p in parts[1:]):
            return
    if len(parts) == 2 and parts[0] == "logger":  # `+logger.<argument of a Lightning logger>`
        from ganad_cli.config.targets import LOGGER_TARGETS, MANAGED_LOGGER_ARGS, target_arguments

        loggers = (target_arguments(t) for t in LOGGER_TARGETS.values())
        if parts[1] not in MANAGED_LOGGER_ARGS and any(parts[1] in args for args in loggers):
            return
    if len(parts) == 2 and parts[0] == "trainer":  # `+trainer.<Lightning Trainer argument>`
        from ganad_cli.config.applied import MANAGED_TRAINER_ARGS, trainer_arguments

        if parts[1] in trainer_arguments() and parts[1] not in MANAGED_TRAINER_ARGS:
            return
    raise _refuse(source, what, f"sets key '{key}', which is not in ganad's schema")


def saved_overrides(path: Path) -> list[str]:
    """The overrides of a run's `.hydra/overrides.yaml`, each one checked (see module doc)."""
    import yaml
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException
    from omegaconf import ListConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        loaded = OmegaConf.load(path)
    except (OmegaConfBaseException, OSError, ValueError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GanadInputError(
            f"resume: {path} could not be read ({type(exc).__name__}); expected the list of "
            "overrides 'ganad train' wrote"
        ) from exc
    if not isinstance(loaded, ListConfig) or len(loaded) == 0:
        raise GanadInputError(
            f"resume: {path} is empty or not a list; expected the non-empty list of overrides "
            "'ganad train' wrote (an interrupted write can leave it empty: restore it, or start a "
            "new run)"
        )
    parser = OverridesParser.create()
    accepted: list[str] = []
    for item in OmegaConf.to_container(loaded, resolve=False):  # type: ignore[union-attr]
        if not isinstance(item, str):
            raise _refuse(path, f"entry {item!r}", "is not an override string")
        what = f"override '{item}'"
        try:
            override = parser.parse_override(item)
        except HydraException as exc:
            raise _refuse(path, what, "is not a valid override") from exc
        key = override.key_or_group
        if override.package is not None or override.is_sweep_override():
            raise _refuse(path, what, "uses a package or a sweep")
        if override.type == OverrideType.DEL:
            raise _refuse(path, what, "deletes a key")
        if key.endswith("._target_") and override.type != OverrideType.DEL:
            place = tuple(key[: -len("._target_")].split("."))
            problem = target_problem(place, override.value())
            if problem is not None:
                raise _refuse(path, what, f"is refused: {problem}")
            check_value_text(item.replace("_target_", ""), path, what)
            accepted.append(item)
            continue
        check_value_text(item, path, what)
        if key.startswith("hydra"):
            if key == "hydra.run.dir":  # replaced by the resumed folder itself
                continue
            raise _refuse(path, what, "changes Hydra itself")
        if "/" in key or ("." not in key and key not in TOP_LEVEL_KEYS):
            if key not in RUN_GROUPS:
                raise _refuse(path, what, f"chooses config group '{key}'")
        else:
            check_key(key, path, what)
        if key == "resume":
            continue
        accepted.append(item)
    return accepted


def check_saved_config(cfg: Any, path: Path) -> None:
    """A run's saved config (a plain container, unresolved): ganad's keys, plain values only."""
    if not isinstance(cfg, dict):
        raise GanadInputError(
            f"run config {path} is not a mapping; expected a 'ganad train' config"
        )
    for key, value in cfg.items():
        if key not in TOP_LEVEL_KEYS and key not in TRAIN_GROUPS:
            raise _refuse(path, f"top-level key '{key}'", "is not in ganad's schema")
        _check_tree(value, path, (str(key),))


def _check_tree(node: Any, path: Path, where: tuple[str, ...]) -> None:
    name = ".".join(where)
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_":  # only an allow-listed class, at trainer/logger/callbacks.<x>
                problem = target_problem(where, value)
                if problem is not None:
                    raise _refuse(path, f"key '{name}._target_'", f"is refused: {problem}")
                continue
            check_value_text(str(key), path, f"key '{name}.{key}'")
            _check_tree(value, path, (*where, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_tree(value, path, (*where[:-1], f"{where[-1]}[{i}]"))
    elif isinstance(node, str):
        check_value_text(node, path, f"value of '{name}'")


def read_saved_config(path: Path) -> Any:
    """A saved run config (.hydra/config.yaml, effective_config.yaml) loaded and checked as
    untrusted input: one GanadInputError naming the file when it cannot be read or holds
    anything `check_saved_config` refuses."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        cfg = OmegaConf.load(path)
    except (OmegaConfBaseException, OSError, ValueError, yaml.YAMLError) as exc:
        why = type(exc).__name__
        raise GanadInputError(f"run config {path} could not be read ({why})") from exc
    check_saved_config(OmegaConf.to_container(cfg, resolve=False), path)
    return cfg
