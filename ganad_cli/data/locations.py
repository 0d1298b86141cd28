"""Where data lives: the project's data/ folder (checkout) or ~/.cache/ganad (installed wheel).

Relative paths in the config are taken relative to the working directory (Hydra runs with
chdir=false), so `data.root=../shared/data/mitdb` means what the shell means.
"""

from __future__ import annotations

import os
from pathlib import Path

from ganad_cli.paths import resolve_path

_PKG = Path(__file__).resolve().parents[1]


def data_home() -> Path:
    """The checkout's data/ folder when ganad runs from a checkout, else ~/.cache/ganad/data."""
    checkout = _PKG.parent / "data"
    if (checkout / "README.md").is_file():
        return checkout
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganad" / "data"


def mitdb_root(configured: str | None) -> Path:
    """data.root if set, else $GANAD_MITDB, else <data home>/mitdb."""
    if configured:
        return resolve_path(configured, "data.root")
    env = os.environ.get("GANAD_MITDB")
    if env:
        return resolve_path(env, "data.root ($GANAD_MITDB)")
    return data_home() / "mitdb"


def ucr_home() -> Path:
    """The folder of UCR data set folders (<NAME>/): $GANAD_UCR, else <data home>/ucr."""
    env = os.environ.get("GANAD_UCR")
    if env:
        return resolve_path(env, "$GANAD_UCR")
    return data_home() / "ucr"


def cache_dir(configured: str | None) -> Path:
    """data.cache_dir if set, else $GANAD_CACHE, else <data home>/cache."""
    if configured:
        return resolve_path(configured, "data.cache_dir")
    env = os.environ.get("GANAD_CACHE")
    if env:
        return resolve_path(env, "data.cache_dir ($GANAD_CACHE)")
    return data_home() / "cache"
