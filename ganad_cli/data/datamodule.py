"""LightningDataModule over the training normals (the only split the GAN ever trains on)."""

from __future__ import annotations

from collections.abc import Iterator, Sized

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from ganad_cli.data.base import Splits


class EpochShuffle(RandomSampler):
    """A shuffle whose order for epoch e is the permutation of a generator seeded with
    seed + e (Lightning calls `set_epoch` before every epoch), so it does not depend on the
    epochs before: a run resumed from a checkpoint sees the same batches as one trained in one
    go. (A generator seeded once would restart at epoch 0's order after a resume.) Under DDP
    Lightning replaces a RandomSampler with a DistributedSampler, seeded the same way."""

    def __init__(self, data_source: Sized, seed: int):
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()


class WindowDataModule(pl.LightningDataModule):
    def __init__(self, splits: Splits, batch_size: int, num_workers: int = 0, seed: int = 0):
        super().__init__()
        self.splits = splits
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        x = torch.from_numpy(self.splits.train.x)
        dataset = TensorDataset(x)
        # pinned host batches on CUDA: Lightning's copy to the device is then non-blocking
        trainer = getattr(self, "trainer", None)
        on_cuda = trainer is not None and trainer.strategy.root_device.type == "cuda"
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(dataset, self.seed),
            drop_last=len(x) > self.batch_size,
            num_workers=self.num_workers,
            pin_memory=on_cuda,
        )
