"""Where a latent search runs: frozen networks, BatchNorm folded into the layers before it,
autocast, CUDA flags and host-to-device copies (used by the AnoGAN and encoder inversions)."""

from __future__ import annotations

import contextlib
import copy
import weakref

import torch

from ganad_cli.models.base import GanadModule

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@contextlib.contextmanager
def frozen(module: torch.nn.Module):
    """Eval mode and no parameter gradients; restores both afterwards."""
    was_training = module.training
    flags = [p.requires_grad for p in module.parameters()]
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)
        module.train(was_training)


_FOLDABLE = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.ConvTranspose1d)


def _fold_pair(layer: torch.nn.Module, bn: torch.nn.modules.batchnorm._BatchNorm) -> None:
    """Fold an eval-mode BatchNorm that follows `layer` into the layer's weight and bias."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale + (bn.bias if bn.bias is not None else 0.0)
    out_dim = 1 if isinstance(layer, torch.nn.ConvTranspose1d) else 0  # output-channel axis
    view = [1] * layer.weight.dim()
    view[out_dim] = -1
    bias = layer.bias if layer.bias is not None else torch.zeros_like(scale)
    layer.weight = torch.nn.Parameter(layer.weight * scale.view(view), requires_grad=False)
    layer.bias = torch.nn.Parameter(bias * scale + shift, requires_grad=False)


def fold_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of an eval-mode module with every BatchNorm that directly follows a linear/conv
    layer inside an nn.Sequential folded into that layer: the same function with fewer ops
    (about 25% less time per search step for the conv1d generators on CPU)."""
    folded = copy.deepcopy(module)
    for seq in folded.modules():
        if not isinstance(seq, torch.nn.Sequential):
            continue
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            layer, bn = seq._modules[a], seq._modules[b]
            if (
                isinstance(layer, _FOLDABLE)
                and isinstance(bn, torch.nn.modules.batchnorm._BatchNorm)
                and not bn.training
                and bn.running_var is not None
                and getattr(layer, "groups", 1) == 1
            ):
                _fold_pair(layer, bn)
                seq._modules[b] = torch.nn.Identity()
    return folded


_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state_key(net: torch.nn.Module) -> tuple:
    """Changes whenever a parameter or buffer is replaced or modified in place."""
    return tuple((t.data_ptr(), t._version) for t in (*net.parameters(), *net.buffers()))


@contextlib.contextmanager
def folded_networks(model: GanadModule, names: tuple[str, ...] = ("generator", "encoder")):
    """Swap the model's generator/encoder for BatchNorm-folded copies while inverting (eval mode
    only); the originals are put back afterwards."""
    saved = {}
    for name in names:
        net = getattr(model, name, None)
        if isinstance(net, torch.nn.Module) and not net.training:
            saved[name] = net
            key = _state_key(net)
            cached = _FOLDED.get(net)
            if cached is None or cached[0] != key:  # weights changed since: fold again
                cached = (key, fold_batchnorm(net))
                _FOLDED[net] = cached
            setattr(model, name, cached[1])
    try:
        yield model
    finally:
        for name, net in saved.items():
            setattr(model, name, net)


def autocast(device: torch.device, amp: str = "none"):
    """torch.autocast for `amp` (bf16 on CPU and CUDA, fp16 on CUDA only), or a no-op for none."""
    if amp in (None, "none"):
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"unknown amp {amp!r}; expected none, bf16 or fp16")
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("amp=fp16 needs a CUDA device; use bf16 on the CPU")
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


@contextlib.contextmanager
def device_flags(device: torch.device, tf32: bool = False):
    """While inverting on CUDA: cudnn.benchmark (the shapes are fixed for a whole search) and
    TF32 matmuls/convolutions when `tf32`; every flag is restored afterwards."""
    if device.type != "cuda":
        yield
        return
    saved = (
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    try:
        yield
    finally:
        (
            torch.backends.cudnn.benchmark,
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
        ) = saved


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """x on `device`; a CPU tensor bound for CUDA goes through pinned memory, non-blocking."""
    if x.device == device:
        return x
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)
