"""A run folder as later commands read it: where it is, its saved config on today's schemas,
that config with an evaluation's choices applied, and the splits it recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ganad_cli.config import to_plain
from ganad_cli.errors import GanadInputError
from ganad_cli.runs.detector_file import expected_shape, sampling_rate_hz

if TYPE_CHECKING:
    from ganad_cli.detector import Detector

# the groups `ganad evaluate` may choose anew for a trained run
GROUPS = ("inversion", "score", "threshold")


def run_folder(run: str | None) -> Path:
    if run is None or str(run) in ("", "???"):
        raise GanadInputError(
            "config key 'run' is required: expected run=<folder written by 'ganad train'>"
        )
    path = Path(str(run)).expanduser()
    if not path.is_dir():
        raise GanadInputError(f"config key 'run': run folder {path} not found")
    return path


def load_run_config(run_dir: Path) -> DictConfig:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        raise GanadInputError(
            f"run folder {run_dir} has no .hydra/config.yaml; expected a folder written by "
            "'ganad train'"
        )
    from ganad_cli.runs.untrusted import read_saved_config

    cfg = read_saved_config(path)
    missing = [k for k in ("data", "model", *GROUPS) if k not in cfg]
    if not isinstance(cfg, DictConfig) or missing:
        raise GanadInputError(f"run config {path} lacks {missing}; expected a 'ganad train' config")
    return upgrade(cfg)


TOP_LEVEL_DEFAULTS = {"seed": 0, "plots": True, "quiet": False, "optimized_metric": "val/auroc"}


def upgrade(saved: DictConfig) -> DictConfig:
    """The saved run config on today's schemas: keys added since the run get their schema
    defaults (the behaviour before they existed), keys since removed are dropped."""
    from ganad_cli.config import SCHEMAS

    out = OmegaConf.create({**TOP_LEVEL_DEFAULTS, **to_plain(saved)})
    for group, schemas in SCHEMAS.items():
        if group not in saved or not isinstance(saved[group], DictConfig):
            continue
        schema = OmegaConf.structured(schemas.get(saved[group].get("name"), schemas["base"]))
        fields = set(schema.keys())
        known = {k: v for k, v in to_plain(saved[group]).items() if k in fields}
        merged = OmegaConf.merge(schema, known)
        OmegaConf.set_struct(merged, False)
        out[group] = merged
    return out


def effective_config(run_cfg: DictConfig, eval_cfg: DictConfig) -> DictConfig:
    """The run's config with the evaluation's inversion/score/threshold choices applied."""
    cfg = OmegaConf.create(to_plain(run_cfg))
    for group in GROUPS:
        node = eval_cfg.get(group)
        if node is None:
            continue
        node = OmegaConf.create(to_plain(node))
        cfg[group] = node if "name" in node else OmegaConf.merge(cfg[group], node)
    for key in ("plots", "quiet"):
        if eval_cfg.get(key) is not None:
            cfg[key] = eval_cfg[key]
    if eval_cfg.get("accelerator") is not None:
        cfg.trainer.accelerator = eval_cfg.accelerator
    return cfg


def check_same_splits(run_dir: Path, info: dict) -> None:
    """The split sizes must match the run's metrics.json: otherwise the data moved under it."""
    try:
        saved = json.loads((run_dir / "metrics.json").read_text()).get("data") or {}
    except (OSError, ValueError):
        return  # an interrupted run has no metrics.json; the detector alone is enough
    keys = [k for k in ("n_train", "n_val", "n_test") if k in saved and k in info]
    diff = {k: (saved[k], info[k]) for k in keys if saved[k] != info[k]}
    if diff:
        raise GanadInputError(
            f"run {run_dir}: its data config now gives other splits than in training "
            f"(run, now: {diff}); the data files changed since the run"
        )


def load_run_detector(run_dir: Path, run_cfg: Any = None) -> Detector:
    """A run folder's detector.pt, checked against the folder's own config: the same model, data,
    window shape and sampling rate (a detector copied in from another run is refused). A folder
    holding only a detector.pt (ganad detect) has nothing to check it against."""
    from omegaconf import OmegaConf

    from ganad_cli.detector import Detector

    path = run_dir / "detector.pt"
    detector = Detector.load(path)
    if run_cfg is None:
        configs = ("effective_config.yaml", ".hydra/config.yaml")
        if not any((run_dir / name).is_file() for name in configs):
            return detector  # a detector on its own (no run config to disagree with)
        run_cfg = _run_config(run_dir)
    model = OmegaConf.select(run_cfg, "model.name")
    data = OmegaConf.to_container(run_cfg.data, resolve=False)
    meta = detector.metadata
    checks = [
        ("model.name", model, meta["model_name"]),
        ("data.name", data.get("name"), detector.data.get("name")),
        ("sampling rate (Hz)", sampling_rate_hz(data), meta["sampling_rate_hz"]),
    ]
    shape = expected_shape(data)
    if shape is not None:
        checks.append(("window shape (channels, length)", list(shape), meta["input_shape"]))
    for what, run_value, detector_value in checks:
        if run_value != detector_value:
            raise GanadInputError(
                f"{path}: the detector was made for {what} {detector_value!r}, but its run folder "
                f"{run_dir} has {run_value!r}; expected the detector 'ganad train' wrote there"
            )
    return detector


def _run_config(run_dir: Path) -> Any:
    """The run's config: effective_config.yaml (a `ganad evaluate` folder) or .hydra/config.yaml."""
    effective = run_dir / "effective_config.yaml"
    if effective.is_file():
        from ganad_cli.runs.untrusted import read_saved_config

        cfg = read_saved_config(effective)
        if "model" not in cfg or "data" not in cfg:
            raise GanadInputError(f"run config {effective} lacks model or data")
        return cfg
    return load_run_config(run_dir)
