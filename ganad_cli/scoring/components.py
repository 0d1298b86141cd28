"""Per-sample score components (survey eqs. 4-6 and the latent norm of section 4.2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganad_cli.inversion.anogan import InversionResult, distance
from ganad_cli.models.base import GanadModule

COMPONENTS = ("residual", "discriminator", "feature_matching", "latent_norm")


@torch.no_grad()
def compute_components(
    model: GanadModule,
    x: torch.Tensor,
    inv: InversionResult,
    names: list[str],
    score_cfg: Any,
    batch_size: int = 1024,
) -> dict[str, np.ndarray]:
    unknown = [n for n in names if n not in COMPONENTS]
    if unknown:
        from ganad_cli.errors import GanadInputError

        raise GanadInputError(
            f"config key 'score.components' has unknown {unknown}; expected "
            f"any of {list(COMPONENTS)}"
        )
    device = next(model.parameters()).device
    out: dict[str, list[np.ndarray]] = {n: [] for n in names}
    was_training = model.training
    model.eval()
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device)
        xh = inv.x_hat[i : i + batch_size].to(device)
        zb = inv.z[i : i + batch_size].to(device)
        need_d = {"discriminator", "feature_matching"} & set(names)
        if need_d:
            d_hat, f_hat = model.discriminate(xh)
        for name in names:
            if name == "residual":
                v = distance(
                    xb,
                    xh,
                    score_cfg.get("residual_norm", "l1"),
                    score_cfg.get("rbf_bandwidth", 1.0),
                )
            elif name == "discriminator":
                # Wasserstein critics: the negated critic value; GANs: BCE against "real".
                v = -d_hat if model.wasserstein else F.softplus(-d_hat)
            elif name == "feature_matching":
                _, f_x = model.discriminate(xb)
                v = (f_x - f_hat).abs().mean(1)
            else:  # latent_norm
                v = (zb.norm(dim=1) - model.latent_mode_norm()).abs()
            out[name].append(v.float().cpu().numpy())
    model.train(was_training)
    return {n: np.concatenate(v) for n, v in out.items()}
