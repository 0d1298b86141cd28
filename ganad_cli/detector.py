"""The frozen detector: everything fitted, in one file that loads without running pickled code.

Stored with torch.save as a dict of tensors and plain Python values; loaded with
`torch.load(weights_only=True)`, which refuses arbitrary objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganad_cli import __version__
from ganad_cli.choices import CONTEXT_COMPONENTS, TRAINING_FITTED_COMPONENTS
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import InversionResult, invert
from ganad_cli.io import atomic_torch_save
from ganad_cli.models.base import GanadModule
from ganad_cli.models.registry import build_model
from ganad_cli.scoring.combine import FittedScore
from ganad_cli.scoring.components import compute_components
from ganad_cli.scoring.latent_knn import LatentNeighbours
from ganad_cli.scoring.rhythm import RhythmDensity

FORMAT = "ganad-detector"
FORMAT_VERSION = 1
# MIT-BIH records are sampled at 360 Hz; beatgan windows keep that rate
MITBIH_FS = 360.0


def sampling_rate_hz(data: dict) -> float | None:
    """The sampling rate of the windows a data config makes; None where the data has no
    physical rate (synthetic beats, CSV/NPY/UCR windows)."""
    if data.get("name") != "mitbih":
        return None
    if data.get("preprocess", "beatgan") == "beatgan":
        return MITBIH_FS
    fs = float(data.get("kachuee_fs", 125))
    if data.get("resample_length"):
        fs *= float(data["resample_length"]) / float(data.get("kachuee_length", 187))
    return fs


def expected_shape(data: dict) -> tuple[int, int] | None:
    """(channels, length) a data config makes, where the config alone says (else None)."""
    name = data.get("name")
    if name == "synthetic_ecg":
        return 1, int(data.get("length", 128))
    if name == "mitbih":
        channels = 2 if data.get("two_leads") else 1
        if data.get("preprocess", "beatgan") == "beatgan":
            before = int(data.get("beatgan_before", 140))
            after = int(data.get("beatgan_after", 180))
            return channels, before + after
        return channels, int(data.get("resample_length") or data.get("kachuee_length", 187))
    return None


def check_scores(comps: dict[str, np.ndarray], total: np.ndarray, source: str, what: str) -> None:
    """A NaN or inf score is an error, never a prediction ("NaN > tau" is False: 'normal')."""
    bad = ~np.isfinite(np.asarray(total, dtype=float))
    for values in comps.values():
        bad |= ~np.isfinite(np.asarray(values, dtype=float))
    if not bad.any():
        return
    culprits = [n for n, v in comps.items() if not np.isfinite(np.asarray(v, dtype=float)).all()]
    raise GanadInputError(
        f"{source}: the scores of {int(bad.sum())} of {len(bad)} {what} are NaN or inf (first: "
        f"window {int(np.flatnonzero(bad)[0])}; components {culprits or 'finite, combined'}); "
        "expected finite scores (a damaged detector or input)"
    )


@dataclass
class Detector:
    model: GanadModule
    inversion: dict
    score_cfg: dict
    score: FittedScore
    threshold: float
    data: dict  # the data config the model was trained with (preprocessing, shape)
    rhythm: RhythmDensity | None = None  # score.components has rr_density: fitted on training
    neighbours: LatentNeighbours | None = None  # score.components has latent_knn: training codes
    source: str = "detector"  # where it was loaded from, named in errors

    def invert(self, x: torch.Tensor, inversion: dict | None = None) -> InversionResult:
        return invert(self.model, x, inversion or self.inversion)

    def components(
        self, x: torch.Tensor, inv: InversionResult, context: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Raw components per sample; `context` (ganad_cli.data.rhythm's features per beat) feeds
        rr_density and template."""
        names = list(self.score_cfg["components"])
        apart = (*CONTEXT_COMPONENTS, *TRAINING_FITTED_COMPONENTS)
        model_names = [n for n in names if n not in apart]
        comps = compute_components(self.model, x, inv, model_names, self.score_cfg)
        if "latent_knn" in names:
            if self.neighbours is None:
                raise GanadInputError(
                    f"{self.source}: score component 'latent_knn' needs the training codes, and "
                    "this detector was fitted without them; expected a detector trained (or "
                    "re-scored with ganad evaluate) with that component"
                )
            comps["latent_knn"] = self.neighbours.score(inv.z)
        if "template" in names:
            from ganad_cli.scoring.rhythm import template_score

            if context is None:
                raise GanadInputError(
                    "score component 'template' needs beats cut from records (data=mitbih, or a "
                    "WFDB record as ganad detect input)"
                )
            comps["template"] = template_score(context)
        if "rr_density" in names:
            if self.rhythm is None or context is None:
                raise GanadInputError(
                    "score component 'rr_density' needs every beat's RR features: beats cut from "
                    "records (data=mitbih, or a WFDB record as ganad detect input), and a detector "
                    "trained with that component"
                )
            comps["rr_density"] = self.rhythm.score(context)
        return {n: comps[n] for n in names}

    def decision_function(
        self, x: torch.Tensor, context: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Total score per sample (higher = more anomalous) and its components."""
        if tuple(x.shape[1:]) != self.shape:
            raise GanadInputError(
                f"{self.source}: input windows of shape {tuple(x.shape[1:])}; the detector "
                f"expects (channels, length) = {self.shape}"
            )
        comps = self.components(x, self.invert(x), context)
        total = self.score.total(comps)
        check_scores(comps, total, self.source, "input windows")
        return total, comps

    def predict(self, x: torch.Tensor, context: np.ndarray | None = None) -> np.ndarray:
        return (self.decision_function(x, context)[0] > self.threshold).astype(int)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "ganad_version": __version__,
            "model_cfg": dict(self.model.hparams["model_cfg"]),
            "shape": [self.model.channels, self.model.length],
            "metadata": self.metadata,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "inversion": self.inversion,
            "score_cfg": self.score_cfg,
            "score": self.score.to_dict(),
            "threshold": float(self.threshold),
            "data": self.data,
            "rhythm": None if self.rhythm is None else self.rhythm.to_dict(),
            "neighbours": None if self.neighbours is None else self.neighbours.to_dict(),
        }

    @property
    def metadata(self) -> dict[str, Any]:
        """What the detector was made for: checked against its run folder and its inputs."""
        return {
            "model_name": str(self.model.hparams["model_cfg"]["name"]),
            "input_shape": list(self.shape),
            "sampling_rate_hz": sampling_rate_hz(self.data),
        }

    def save(self, path: str | Path) -> None:
        atomic_torch_save(self.to_dict(), Path(path))

    @classmethod
    def load(cls, path: str | Path, map_location: str = "cpu") -> Detector:
        path = Path(path)
        if not path.is_file():
            raise GanadInputError(
                f"detector file {path} not found; expected a run folder written by 'ganad train'"
            )
        try:
            blob = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as exc:  # corrupt file or a pickle that wants to run code
            raise GanadInputError(
                f"detector file {path} could not be loaded safely "
                f"({type(exc).__name__}); expected a ganad detector"
            ) from exc
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise GanadInputError(f"detector file {path} is not a ganad detector")
        if blob.get("format_version") != FORMAT_VERSION:
            raise GanadInputError(
                f"detector file {path} has format version {blob.get('format_version')}; this "
                f"ganad ({__version__}) reads version {FORMAT_VERSION}"
            )
        try:
            meta = _check_blob(blob, path)
            model = build_model(blob["model_cfg"], tuple(blob["shape"]))
            model.load_state_dict(blob["state_dict"])
            model.eval()
            detector = cls(
                model,
                blob["inversion"],
                blob["score_cfg"],
                FittedScore.from_dict(blob["score"]),
                float(blob["threshold"]),
                blob["data"],
                RhythmDensity.from_dict(blob["rhythm"]) if blob.get("rhythm") else None,
                LatentNeighbours.from_dict(blob["neighbours"]) if blob.get("neighbours") else None,
                source=f"detector file {path}",
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise GanadInputError(
                f"detector file {path} is incomplete or does not match its model "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from exc
        if detector.metadata != meta:
            raise GanadInputError(
                f"detector file {path}: its metadata {meta} disagree with its model and data "
                f"{detector.metadata}; expected a detector written by 'ganad train'"
            )
        return detector

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, length) the detector expects."""
        return int(self.model.channels), int(self.model.length)


def _check_blob(blob: dict, path: Path) -> dict:
    """Finite weights, threshold and score parameters; the metadata (detectors written before
    it existed get it from their model config, shape and data config)."""
    import math

    for key, tensor in blob["state_dict"].items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not tensor.isfinite().all():
            raise GanadInputError(
                f"detector file {path} has NaN or inf weights (first in {key!r}); expected the "
                "weights of a trained model"
            )
    threshold = blob["threshold"]
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise GanadInputError(
            f"detector file {path} has threshold {threshold!r}; expected a finite number"
        )
    from ganad_cli.config import check_finite

    try:
        check_finite(blob["score"], "score")
    except GanadInputError as exc:
        raise GanadInputError(
            f"detector file {path}: its fitted {str(exc)[len('config key ') :]}"
        ) from exc
    meta = blob.get("metadata")
    if meta is None:  # written before detectors carried metadata
        meta = {
            "model_name": str(blob["model_cfg"]["name"]),
            "input_shape": list(blob["shape"]),
            "sampling_rate_hz": sampling_rate_hz(blob["data"]),
        }
    if not isinstance(meta, dict) or set(meta) != {"model_name", "input_shape", "sampling_rate_hz"}:
        raise GanadInputError(
            f"detector file {path} has metadata {meta!r}; expected model_name, input_shape and "
            "sampling_rate_hz"
        )
    return meta


def load_run_detector(run_dir: Path, run_cfg: Any = None) -> Detector:
    """A run folder's detector.pt, checked against the folder's own config: the same model, data,
    window shape and sampling rate (a detector copied in from another run is refused). A folder
    holding only a detector.pt (ganad detect) has nothing to check it against."""
    from omegaconf import OmegaConf

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
    from ganad_cli.evaluate import load_run_config

    effective = run_dir / "effective_config.yaml"
    if effective.is_file():
        from ganad_cli.untrusted import read_saved_config

        cfg = read_saved_config(effective)
        if "model" not in cfg or "data" not in cfg:
            raise GanadInputError(f"run config {effective} lacks model or data")
        return cfg
    return load_run_config(run_dir)
