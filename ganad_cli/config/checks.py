"""The checks every config group's validation uses: a value in range (one line naming the
key), finite floats, seeds numpy and torch accept."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganad_cli.errors import GanadInputError


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise GanadInputError(f"config key '{key}' must be {expected}, got {value!r}")


# numpy and torch take seeds in [0, 2**32)
SEED_MAX = 2**32 - 1
# the top-level keys of conf/train.yaml have no schema: their types are checked here
TOP_LEVEL_TYPES: dict[str, tuple[type, ...]] = {
    "seed": (int,),
    "optimized_metric": (str,),
    "plots": (bool,),
    "quiet": (bool,),
}
TYPE_NAMES = {int: "an integer", str: "a string", bool: "true or false"}


def check_finite(node: Any, prefix: str) -> None:
    """Every float under `node` (a config node or plain container) is finite: NaN or inf in a
    config is never meant (it only turns into NaN scores or a threshold no score passes)."""
    import math

    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if isinstance(node, dict):
        for key, value in node.items():
            check_finite(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            check_finite(value, f"{prefix}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        raise GanadInputError(f"config key '{prefix}' must be a finite number, got {node!r}")


def check_seed(value: Any, key: str) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SEED_MAX,
        key,
        f"an integer in [0, {SEED_MAX}]",
        value,
    )
