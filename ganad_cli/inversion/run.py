"""Dispatch on the `inversion` config node."""

from __future__ import annotations

from typing import Any

import torch

from ganad_cli.inversion.anogan import InversionResult, anogan_invert
from ganad_cli.inversion.encoder import encoder_invert, require_encoder
from ganad_cli.models.base import GanadModule


def invert(model: GanadModule, x: torch.Tensor, cfg: Any) -> InversionResult:
    """cfg: the inversion config (DictConfig or dict)."""
    g = cfg.get
    common = dict(
        similarity=g("similarity", "l1"), bandwidth=g("rbf_bandwidth", 1.0), eps=g("eps", 0.05)
    )
    name = cfg["name"]
    if name == "encoder":
        return encoder_invert(model, x, batch_size=g("batch_size", 512), **common)
    if name not in ("anogan", "encoder_then_anogan"):
        raise ValueError(f"unknown inversion {name!r}")
    z_init = None
    if name == "encoder_then_anogan" or g("init", "prior") == "encoder":
        require_encoder(model)
        z_init = encoder_invert(model, x, batch_size=g("batch_size", 512), **common).z
    return anogan_invert(
        model,
        x,
        n_max=g("n_max", 100),
        lr=g("lr", 0.05),
        batch_size=g("batch_size", 256),
        restarts=g("restarts", 1),
        restriction=g("restriction", "none"),
        chi_weight=g("chi_weight", 0.0),
        lr_schedule=g("lr_schedule", "constant"),
        seed=g("seed", 0),
        z_init=z_init,
        **common,
    )
