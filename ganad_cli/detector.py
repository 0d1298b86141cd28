"""The frozen detector: everything fitted, in one file that loads without running pickled code.

Stored with torch.save as a dict of tensors and plain Python values; loaded with
`torch.load(weights_only=True)`, which refuses arbitrary objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganad_cli import __version__
from ganad_cli.config.choices import CONTEXT_COMPONENTS, TRAINING_FITTED_COMPONENTS
from ganad_cli.data.base import Samples
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion import InversionResult, invert
from ganad_cli.inversion.run import calibrate_eps
from ganad_cli.io import atomic_torch_save
from ganad_cli.models.base import GanadModule
from ganad_cli.models.registry import build_model
from ganad_cli.runs.detector_file import FORMAT, FORMAT_VERSION, check_blob, sampling_rate_hz
from ganad_cli.scoring.combine import FittedScore, fit_combination
from ganad_cli.scoring.components import compute_components
from ganad_cli.scoring.latent_knn import LatentNeighbours
from ganad_cli.scoring.rhythm import RhythmDensity
from ganad_cli.scoring.threshold import fit_threshold
from ganad_cli.types import Scored


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

    @classmethod
    def fit(
        cls,
        model: GanadModule,
        val: Samples,
        inversion: Any,
        score: Any,
        threshold: Any,
        data: Any,
        train: Samples | None = None,
        seed: int = 0,
    ) -> tuple[Detector, Scored]:
        """Fit on validation only: a data-driven eps (inversion.eps_quantile, on validation
        normals), the score combination and tau; the rr_density and latent_knn components, and
        latent_norm's centre with score.latent_center=ecgan_mode, on the training beats (as the
        GAN: normals, plus any deliberate contamination). Config nodes or plain dicts;
        returns the detector and its validation scores."""
        inversion, score, data = _plain(inversion), _plain(score), _plain(data)
        context_used = [n for n in score["components"] if n in CONTEXT_COMPONENTS]
        if context_used and (val.context is None or (train is not None and train.context is None)):
            raise GanadInputError(
                f"config key 'score.components': {', '.join(context_used)} need(s) beats cut "
                f"from records (data=mitbih); data {data['name']!r} has no beat positions"
            )
        rhythm = neighbours = None
        if "rr_density" in score["components"]:
            if train is None or train.context is None:
                raise GanadInputError(
                    "config key 'score.components': rr_density is fitted on the training beats' "
                    "RR features, and none were given"
                )
            rhythm = RhythmDensity.fit(train.context, seed=int(seed))
        # the networks and components alone: what the combination and tau are fitted on
        nothing = FittedScore(components=[], mean=[], std=[], weights=[])
        unfitted = cls(model, inversion, score, nothing, 0.0, data, rhythm)
        if "latent_knn" in score["components"]:
            neighbours = unfitted.fit_latent_neighbours(train, score, seed)
        x_val = torch.from_numpy(val.x)
        inversion = calibrate_eps(model, x_val, val.label, inversion)
        unfitted = replace(unfitted, inversion=inversion, neighbours=neighbours)
        inv, seconds = unfitted.timed_invert(x_val)
        if "latent_norm" in score["components"]:
            from ganad_cli.scoring.latent_center import fit_latent_center

            center = fit_latent_center(
                inv.z, val.label, inversion, score, lambda: unfitted.training_codes(train)
            )
            if center is not None:  # encoder codes: validation normals' or training norms
                unfitted = replace(unfitted, score_cfg={**score, "latent_norm_center": center})
        comps = unfitted.components(x_val, inv, val.context)
        check_scores(comps, np.zeros(len(x_val)), "the trained model", "validation windows")
        combination = fit_combination(comps, val.label, _node(score))
        total = combination.total(comps)
        check_scores(comps, total, "the trained model", "validation windows")
        tau = fit_threshold(total, val.label, _node(threshold))
        detector = replace(unfitted, score=combination, threshold=tau)
        return detector, Scored(total, comps, inv, seconds)

    def fit_latent_neighbours(
        self, train: Samples | None, score: dict, seed: int
    ) -> LatentNeighbours:
        """The training beats' codes (this detector's own inversion) for latent_knn."""
        if train is None or len(train) == 0:
            raise GanadInputError(
                "config key 'score.components': latent_knn is fitted on the training beats' "
                "codes, and none were given"
            )
        n, most = len(train), int(score["knn_max_train"])
        keep = np.arange(n)
        if n > most:  # subsample before inverting: the inversion is the cost
            keep = np.sort(np.random.default_rng(int(seed)).choice(n, most, replace=False))
        codes = self.invert(torch.from_numpy(train.x[keep])).z
        return LatentNeighbours.fit(codes, int(score["knn_k"]), most, int(seed))

    def training_codes(self, train: Samples | None) -> torch.Tensor:
        """The training beats' codes (this detector's own inversion) for latent_center."""
        if train is None or len(train) == 0:
            raise GanadInputError(
                "config key 'score.latent_center': ecgan_mode is fitted on the training beats' "
                "codes, and none were given"
            )
        return self.invert(torch.from_numpy(train.x)).z

    def evaluate(
        self, x: torch.Tensor | np.ndarray, context: np.ndarray | None = None, what: str = "windows"
    ) -> Scored:
        """Score windows with the frozen detector: total, components, inversion, its time."""
        x = torch.as_tensor(x)
        inv, seconds = self.timed_invert(x)
        comps = self.components(x, inv, context)
        total = self.score.total(comps)
        check_scores(comps, total, "the trained model", what)
        return Scored(total, comps, inv, seconds)

    def invert(self, x: torch.Tensor, inversion: dict | None = None) -> InversionResult:
        return invert(self.model, x, inversion or self.inversion)

    def timed_invert(self, x: torch.Tensor) -> tuple[InversionResult, float]:
        """The inversion and its wall time (GPU work finished before the clock stops)."""
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        inv = self.invert(x)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return inv, time.perf_counter() - t0

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
            meta = check_blob(blob, path)
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


def _plain(node: Any) -> dict:
    from omegaconf import DictConfig, OmegaConf

    return (
        OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    )


def _node(node: Any):
    from omegaconf import OmegaConf

    return OmegaConf.create(_plain(node))
