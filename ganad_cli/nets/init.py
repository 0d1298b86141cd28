"""Weight initialisation schemes (`model.init`), applied to the networks the factory builds.

- default: PyTorch's own per-layer initialisation.
- beatgan: the BeatGAN authors' `weights_init` (hi-bingo/BeatGAN experiments/ecg/network.py:10-27)
  as it runs: convolutions (plain and transposed) Xavier-normal, BatchNorm weight N(1, 0.02) and
  bias 0, linear layers Xavier-uniform with bias 0.01. A linear head that stands for the authors'
  final convolution (dcgan1d: its kernel spans the trunk's last length k) is initialised as that
  convolution would be (Xavier-normal with fans C*k and out*k).
- dcgan: DCGAN's N(0, 0.02) for convolution and linear weights (the line network.py:18 has
  commented out), BatchNorm as above.
"""

from __future__ import annotations

import torch
from torch import nn

from ganad_cli.config.choices import WEIGHT_INITS

CONVS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _weight(m: nn.Module) -> torch.Tensor:
    """The trainable weight tensor, also under a (spectral-norm) parametrisation."""
    if nn.utils.parametrize.is_parametrized(m, "weight"):
        return m.parametrizations.weight.original
    return m.weight


@torch.no_grad()
def init_weights(net: nn.Module, scheme: str) -> None:
    """Re-initialise every layer of `net` by `scheme` (one of WEIGHT_INITS)."""
    if scheme not in WEIGHT_INITS:
        raise ValueError(f"unknown weight initialisation {scheme!r}")
    if scheme == "default":
        for m in net.modules():
            if m is not net and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        return
    heads = {id(m): k for m, k in _conv_heads(net)}
    for m in net.modules():
        if isinstance(m, NORMS) and m.affine:
            m.weight.normal_(1.0, 0.02)
            m.bias.zero_()
        elif isinstance(m, CONVS) or (isinstance(m, nn.Linear) and id(m) in heads):
            w = _weight(m)
            if scheme == "dcgan":
                w.normal_(0.0, 0.02)
            elif isinstance(m, nn.Linear):  # as the convolution (out, C, k) it stands for
                k = heads[id(m)]
                nn.init.xavier_normal_(w.view(w.shape[0], w.shape[1] // k, k))
            else:
                nn.init.xavier_normal_(w)
        elif isinstance(m, nn.Linear):
            w = _weight(m)
            if scheme == "dcgan":
                w.normal_(0.0, 0.02)
            else:
                nn.init.xavier_uniform_(w)
            if m.bias is not None:
                m.bias.fill_(0.01 if scheme == "beatgan" else 0.0)


def _conv_heads(net: nn.Module) -> list[tuple[nn.Module, int]]:
    """(linear head, kernel length) for critics/encoders whose trunk says its head is a conv."""
    out = []
    for m in net.modules():
        feats = getattr(m, "features", None)
        head = getattr(m, "head", None)
        k = getattr(feats, "conv_head_kernel", None)
        if isinstance(head, nn.Linear) and k:
            out.append((head, int(k)))
    return out
