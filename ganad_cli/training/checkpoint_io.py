"""Lightning CheckpointIO for ganad runs: atomic saves, weights-only loads.

Lightning's default writes through an fsspec transaction whose temp file lives in the system temp
folder (a copy, not a rename, when that is another file system). Here every checkpoint is written
beside its target, fsynced and renamed (ganad_cli.io), so a kill during a save leaves the previous
last.ckpt intact; loading (resume) always uses torch.load(weights_only=True).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from ganad_cli.io import atomic_torch_save


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        atomic_torch_save(checkpoint, Path(path))

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"Checkpoint file not found: {path}")
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)
