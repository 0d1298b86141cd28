"""Recurrent generator and feature trunk (RGAN-style, Esteban et al. 2017).

The generator feeds z at every time step into an LSTM and maps each hidden state to the channels.
The trunk runs an LSTM over x (time-major over `length`) and returns [mean over time, last state].
Spectral normalisation, when on, wraps the linear layers only (not the recurrent weights).
"""

from __future__ import annotations

import torch
from torch import nn

from ganad_cli.nets.common import maybe_sn
from ganad_cli.nets.common import output_activation as output_layer


class LSTMGenerator(nn.Module):
    """z (n, latent_dim) -> x (n, channels, length)."""

    def __init__(
        self,
        latent_dim: int,
        channels: int,
        length: int,
        base_channels: int = 32,
        output_activation: str = "none",
    ):
        super().__init__()
        self.length = length
        hidden = base_channels * 2
        self.lstm = nn.LSTM(latent_dim, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, channels)
        self.out = output_layer(output_activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(z.unsqueeze(1).expand(-1, self.length, -1))
        return self.out(self.proj(h).transpose(1, 2))


class LSTMFeatures(nn.Module):
    """x (n, channels, length) -> features (n, 2 * hidden)."""

    def __init__(self, channels: int, length: int, base_channels: int, spectral_norm: bool = False):
        super().__init__()
        hidden = base_channels * 2
        self.inp = maybe_sn(spectral_norm)(nn.Linear(channels, hidden))
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out_features = 2 * hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(torch.tanh(self.inp(x.transpose(1, 2))))
        return torch.cat([h.mean(1), h[:, -1]], dim=1)
