"""Per-sample score components (survey eqs. 4-6, the latent norm of section 4.2, GANomaly's latent
residual). Every component is oriented so that higher = more anomalous.

Components are raw here; centring and standardisation are fitted on validation normals by
`scoring.combine.fit_combination` and stored with the detector.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganad_cli.config.choices import (  # noqa: F401 (re-exported)
    COMPONENTS,
    DISCRIMINATOR_COMPONENTS,
    RESIDUAL_NORMS,
)
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.similarity import distance
from ganad_cli.models.base import GanadModule
from ganad_cli.scoring.latent_center import is_signed
from ganad_cli.types import InversionResult

_FEATURE_MODULES = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.LSTM, nn.GRU)


def feature_layers(discriminator: nn.Module) -> list[str]:
    """Names of the discriminator's layers that `score.feature_layer` = 0, 1, ... selects."""
    return [n for n, m in discriminator.named_modules() if isinstance(m, _FEATURE_MODULES)]


def models_with_latent_residual() -> list[str]:
    from ganad_cli.models.registry import MODELS

    return sorted(n for n, cls in MODELS.items() if hasattr(cls, "encode_reconstruction"))


def check_compatible(model: GanadModule, score_cfg: Any) -> None:
    """Fail early (one line) when the chosen components need something the model lacks."""
    names = list(score_cfg["components"])
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        raise GanadInputError(
            f"config key 'score.components' has unknown {unknown}; expected any of "
            f"{list(COMPONENTS)}"
        )
    needs_d = [n for n in names if n in DISCRIMINATOR_COMPONENTS]
    if needs_d and not model.has_discriminator:
        raise GanadInputError(
            f"config key 'score.components': {', '.join(needs_d)} need(s) a discriminator, and "
            f"model {model.name!r} has none; expected components without it (e.g. "
            "score=residual)"
        )
    if "latent_residual" in names and getattr(model, "encode_reconstruction", None) is None:
        raise GanadInputError(
            f"config key 'score.components': latent_residual needs a second encoder "
            f"(GANomaly-style); model {model.name!r} has none; models with one: "
            f"{', '.join(models_with_latent_residual()) or 'none registered'}"
        )
    layer = int(score_cfg.get("feature_layer", -1))
    if "feature_matching" in names and layer >= 0:
        layers = feature_layers(model.discriminator)
        if layer >= len(layers):
            raise GanadInputError(
                f"config key 'score.feature_layer' = {layer}: the discriminator of model "
                f"{model.name!r} has {len(layers)} layers ({', '.join(layers)}); expected "
                f"-1 (the features it returns) or 0..{len(layers) - 1}"
            )


@contextmanager
def _capture(discriminator: nn.Module, layer: int) -> Iterator[list[torch.Tensor]]:
    """Record the output of the layer-th feature layer on every forward pass."""
    module = dict(discriminator.named_modules())[feature_layers(discriminator)[layer]]
    seen: list[torch.Tensor] = []

    def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
        seen.append(out[0] if isinstance(out, tuple) else out)

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def _features(model: GanadModule, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(discriminator output, features of the chosen layer flattened to (n, f))."""
    if layer < 0:
        return model.discriminate(x)
    with _capture(model.discriminator, layer) as seen:
        d, _ = model.discriminate(x)
    return d, seen[-1].flatten(1)


@torch.no_grad()
def compute_components(
    model: GanadModule,
    x: torch.Tensor,
    inv: InversionResult,
    names: list[str],
    score_cfg: Any,
    batch_size: int = 1024,
) -> dict[str, np.ndarray]:
    """Raw components per sample.

    - residual: l1 / l2 (mean over elements) or rbf (1 - k(x, x_hat)) between x and x_hat.
    - discriminator: BCE of D(x_hat) against "real" (softplus(-logit)); the negated critic
      value for Wasserstein critics. BiGAN/ALAD score D(x, E(x)) instead (`model.score_logit`),
      as Zenati et al. 2018 do.
    - feature_matching: mean |f(x) - f(x_hat)| (score.feature_norm=l1) or mean squared
      (l2, f-AnoGAN's feature MSE) on discriminator layer `feature_layer`
      (-1: the feature tensor the discriminator returns; k >= 0: output of its k-th
      conv/linear/recurrent layer, see `feature_layers`). With feature_layer -1, ALAD uses its
      D_xx features of (x, x) and (x, x_hat), the paper's score (`model.feature_pair`); BiGAN
      compares f(x, E(x)) with f(x_hat, E(x)) (Zenati et al. 2018, the feature-matching loss).
    - latent_norm: | ||z|| - c |, c the mode of the chi distribution with d_z degrees of freedom
      (AnoGAN's z), or score_cfg["latent_norm_center"] when fitted (encoder codes: the median
      norm of the validation normals' codes); with score.latent_center=ecgan_mode the signed
      ||z|| - c, c the training codes' histogram mode (`scoring.latent_center`).
    - latent_residual: ||E(x) - E2(x_hat)||_2^2 (GANomaly's score; model.encode_reconstruction).
    """
    check_compatible(model, {**dict(score_cfg), "components": names})
    device = next(model.parameters()).device
    layer = int(score_cfg.get("feature_layer", -1))
    feature_norm = score_cfg.get("feature_norm", "l1")
    out: dict[str, list[np.ndarray]] = {n: [] for n in names}
    was_training = model.training
    model.eval()
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device)
        xh = inv.x_hat[i : i + batch_size].to(device)
        zb = inv.z[i : i + batch_size].to(device)
        if set(DISCRIMINATOR_COMPONENTS) & set(names):
            d_hat, f_hat = _features(model, xh, layer)
        for name in names:
            if name == "residual":
                v = distance(
                    xb,
                    xh,
                    score_cfg.get("residual_norm", "l1"),
                    score_cfg.get("rbf_bandwidth", 1.0),
                )
            elif name == "discriminator":
                logit = model.score_logit(xb, xh)  # BiGAN/ALAD: D(x, E(x)) (Zenati et al.)
                d = d_hat if logit is None else logit
                v = -d if model.wasserstein else F.softplus(-d)
            elif name == "feature_matching":
                pair = model.feature_pair(xb, xh) if layer < 0 else None
                if pair is not None:  # the model's own feature score (ALAD: D_xx; BiGAN)
                    f_x, f_model = pair
                else:
                    _, f_x = _features(model, xb, layer)
                    f_model = f_hat
                diff = (f_x - f_model).flatten(1)
                v = diff.pow(2).mean(1) if feature_norm == "l2" else diff.abs().mean(1)
            elif name == "latent_norm":
                center = score_cfg.get("latent_norm_center")  # fitted (scoring.latent_center)
                ref = model.latent_mode_norm() if center is None else float(center)
                v = zb.flatten(1).norm(dim=1) - ref
                v = v if is_signed(score_cfg) else v.abs()
            else:  # latent_residual
                diff = (model.encode(xb) - model.encode_reconstruction(xh)).flatten(1)
                v = diff.pow(2).sum(1)
            out[name].append(v.float().cpu().numpy())
    model.train(was_training)
    return {n: np.concatenate(v) for n, v in out.items()}
