"""Count the tensor operations that read device values back to the host (on a GPU each one
stalls until the device has caught up): bool()/float()/int()/item()/tolist(), nonzero, and
indexing with a boolean mask (its result size depends on the values)."""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

READS = {"__bool__", "__float__", "__int__", "__index__", "item", "tolist", "nonzero"}
MASKED = {"__getitem__", "__setitem__", "masked_select"}


def _has_mask(args) -> bool:
    for a in args:
        if isinstance(a, torch.Tensor) and a.dtype == torch.bool and a.dim() > 0:
            return True
        if isinstance(a, (tuple, list)) and _has_mask(a):
            return True
    return False


class HostReads(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in READS or (name in MASKED and _has_mask(args[1:])):
            self.names.append(name)
        return func(*args, **(kwargs or {}))

    @property
    def count(self) -> int:
        return len(self.names)
