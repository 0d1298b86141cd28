"""LightningDataModule over the training normals (the only split the GAN ever trains on)."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganad_cli.data.base import Splits


class WindowDataModule(pl.LightningDataModule):
    def __init__(self, splits: Splits, batch_size: int, num_workers: int = 0, seed: int = 0):
        super().__init__()
        self.splits = splits
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        x = torch.from_numpy(self.splits.train.x)
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            TensorDataset(x),
            batch_size=self.batch_size,
            shuffle=True,
            drop_last=len(x) > self.batch_size,
            num_workers=self.num_workers,
            generator=generator,
        )
