"""DCGAN-style 1-D networks as in the BeatGAN authors' ECG code (`model.backbone=dcgan1d`).

Five stride-2 convolutions (kernel 4) widen from `base_channels` to 16 x `base_channels` while the
length halves five times (320 -> 10); BatchNorm on all but the first, LeakyReLU 0.2. The trunk's
flattened output feeds a linear head, which equals the authors' final convolution whose kernel
spans the remaining length (`conv_head_kernel`). `bias=False` (model.bias=false) drops the biases
the authors' layers do not have: the first convolution's, the generator's last layer's and the
heads'. The generator mirrors it: a transposed convolution from z to
16 x `base_channels` at the final length, five stride-2 transposed convolutions back up, output
cropped to `length`. About four times the compute per sample of the `conv1d` backbone.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganad_cli.errors import GanadInputError
from ganad_cli.nets.common import maybe_sn
from ganad_cli.nets.common import output_activation as output_layer

N_STAGES = 5  # stride-2 stages: 320 samples -> 10


def _end_length(length: int) -> int:
    """Length after the five stride-2 convolutions (each floor-halves)."""
    out = length
    for _ in range(N_STAGES):
        out //= 2
    if out < 1:
        raise GanadInputError(
            f"config key 'model.backbone': dcgan1d needs windows of at least {2**N_STAGES} "
            f"samples, got length {length}"
        )
    return out


class Dcgan1dFeatures(nn.Module):
    """x (n, channels, length) -> flat features (n, 16 * base_channels * length // 32)."""

    def __init__(
        self,
        channels: int,
        length: int,
        base_channels: int,
        spectral_norm: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        sn = maybe_sn(spectral_norm)
        widths = [channels] + [base_channels * 2**i for i in range(N_STAGES)]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(sn(nn.Conv1d(c_in, c_out, 4, stride=2, padding=1, bias=bias and i == 0)))
            if i > 0:
                layers.append(nn.BatchNorm1d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.body = nn.Sequential(*layers)
        self.conv_head_kernel = _end_length(length)
        self.out_features = widths[-1] * self.conv_head_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


class Dcgan1dGenerator(nn.Module):
    """z (n, latent_dim) -> x (n, channels, length)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        length: int,
        base_channels: int = 32,
        output_activation: str = "none",
        bias: bool = True,
    ):
        super().__init__()
        self.length = length
        start = math.ceil(length / 2**N_STAGES)
        width = base_channels * 2 ** (N_STAGES - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose1d(latent_dim, width, start, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(N_STAGES - 1):
            layers += [
                nn.ConvTranspose1d(width, width // 2, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm1d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers.append(nn.ConvTranspose1d(width, channels, 4, stride=2, padding=1, bias=bias))
        self.body = nn.Sequential(*layers)
        self.out = output_layer(output_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z.unsqueeze(-1))[..., : self.length])
