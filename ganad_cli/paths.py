"""Where the packaged Hydra configs live (wheel: ganad_cli/conf, checkout: ./conf)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def conf_dir() -> Path:
    for candidate in (_PKG / "conf", _PKG.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"ganad configs not found next to {_PKG}")


def resolve_path(value: str | Path, key: str) -> Path:
    """`value` expanded and made absolute; a symlink loop names the config key (pathlib raises
    RuntimeError for one up to Python 3.12, OSError ELOOP after)."""
    from ganad_cli.errors import GanadInputError

    try:
        return Path(value).expanduser().resolve()
    except (RuntimeError, OSError) as exc:
        raise GanadInputError(
            f"config key '{key}': {value} could not be resolved ({exc}); expected a path that is "
            "not a symlink loop"
        ) from exc
