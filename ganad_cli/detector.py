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
from ganad_cli.choices import CONTEXT_COMPONENTS
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import InversionResult, invert
from ganad_cli.io import atomic_torch_save
from ganad_cli.models.base import GanadModule
from ganad_cli.models.registry import build_model
from ganad_cli.scoring.combine import FittedScore
from ganad_cli.scoring.components import compute_components
from ganad_cli.scoring.rhythm import RhythmDensity

FORMAT = "ganad-detector"
FORMAT_VERSION = 1


@dataclass
class Detector:
    model: GanadModule
    inversion: dict
    score_cfg: dict
    score: FittedScore
    threshold: float
    data: dict  # the data config the model was trained with (preprocessing, shape)
    rhythm: RhythmDensity | None = None  # score.components has rr_density: fitted on training

    def invert(self, x: torch.Tensor, inversion: dict | None = None) -> InversionResult:
        return invert(self.model, x, inversion or self.inversion)

    def components(
        self, x: torch.Tensor, inv: InversionResult, context: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Raw components per sample; `context` (ganad_cli.data.rhythm's features per beat) feeds
        rr_density and template."""
        names = list(self.score_cfg["components"])
        model_names = [n for n in names if n not in CONTEXT_COMPONENTS]
        comps = compute_components(self.model, x, inv, model_names, self.score_cfg)
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
        comps = self.components(x, self.invert(x), context)
        return self.score.total(comps), comps

    def predict(self, x: torch.Tensor, context: np.ndarray | None = None) -> np.ndarray:
        return (self.decision_function(x, context)[0] > self.threshold).astype(int)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "ganad_version": __version__,
            "model_cfg": dict(self.model.hparams["model_cfg"]),
            "shape": [self.model.channels, self.model.length],
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "inversion": self.inversion,
            "score_cfg": self.score_cfg,
            "score": self.score.to_dict(),
            "threshold": float(self.threshold),
            "data": self.data,
            "rhythm": None if self.rhythm is None else self.rhythm.to_dict(),
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
            model = build_model(blob["model_cfg"], tuple(blob["shape"]))
            model.load_state_dict(blob["state_dict"])
            model.eval()
            return cls(
                model,
                blob["inversion"],
                blob["score_cfg"],
                FittedScore.from_dict(blob["score"]),
                float(blob["threshold"]),
                blob["data"],
                RhythmDensity.from_dict(blob["rhythm"]) if blob.get("rhythm") else None,
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise GanadInputError(
                f"detector file {path} is incomplete or does not match its model "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from exc

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, length) the detector expects."""
        return int(self.model.channels), int(self.model.length)
