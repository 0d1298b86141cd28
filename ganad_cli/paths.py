"""Where the packaged Hydra configs live (wheel: ganad_cli/conf, checkout: ./conf)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def conf_dir() -> Path:
    for candidate in (_PKG / "conf", _PKG.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"ganad configs not found next to {_PKG}")
