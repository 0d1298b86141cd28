"""Encoder inversion: one forward pass, z = E(x), x_hat = G(z)."""

from __future__ import annotations

import torch

from ganad_cli.config.choices import uses_encoder
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.anogan import DEFAULTS
from ganad_cli.inversion.criteria import dissimilarity
from ganad_cli.inversion.runtime import autocast, device_flags, folded_networks, frozen, to_device
from ganad_cli.models.base import GanadModule
from ganad_cli.types import InversionResult


def require_encoder(model: GanadModule) -> None:
    if not model.has_encoder:
        from ganad_cli.models.registry import encoder_models

        raise GanadInputError(
            f"config key 'inversion.name': model {model.name!r} has no encoder; "
            f"models with one: {', '.join(encoder_models()) or 'none registered'}"
        )


def check_inversion(model: GanadModule, inversion) -> None:
    """An inversion that runs the encoder needs a model with one."""
    if uses_encoder(inversion):
        require_encoder(model)


@torch.no_grad()
def encoder_invert(
    model: GanadModule,
    x: torch.Tensor,
    *,
    batch_size: int = 512,
    similarity: str = DEFAULTS.similarity,
    bandwidth: float = DEFAULTS.rbf_bandwidth,
    eps: float = DEFAULTS.eps,
    schlegl_lambda: float = DEFAULTS.schlegl_lambda,
    amp: str = DEFAULTS.amp,
    tf32: bool = DEFAULTS.tf32,
) -> InversionResult:
    """amp: E and G under autocast (none | bf16 | fp16); z and x_hat come back in x's dtype."""
    require_encoder(model)
    device = next(model.parameters()).device
    parts = []
    with frozen(model), folded_networks(model), device_flags(device, tf32):
        for i in range(0, len(x), batch_size):
            xb = to_device(x[i : i + batch_size], device)
            with autocast(device, amp):
                z = model.encode(xb)
                x_hat = model.decode(z)
            z, x_hat = z.to(xb.dtype), x_hat.to(xb.dtype)
            d = dissimilarity(model, xb, x_hat, similarity, bandwidth, lam=schlegl_lambda)
            zeros = torch.zeros(len(xb), dtype=torch.long, device=device)
            parts.append(InversionResult(z, x_hat, zeros, d < eps, d))
    return InversionResult.cat(parts)
