"""LightningDataModule over the training normals (the only split the GAN ever trains on)."""

from __future__ import annotations

import math
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

    def order(self) -> torch.Tensor:
        """This epoch's permutation of the sample indices."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return torch.randperm(len(self.data_source), generator=generator)

    def __iter__(self) -> Iterator[int]:
        yield from self.order().tolist()


class ResidentBatches:
    """The training batches of a DataLoader over `TensorDataset(x)` with an `EpochShuffle`
    sampler (the same batches, in the same order, as `[x_batch]` lists), sliced from `x` where
    it already lives: one gather per batch instead of a per-sample fetch, collate and host to
    device copy. Lightning finds `set_epoch` through `.sampler`, as for a DataLoader."""

    def __init__(self, x: torch.Tensor, batch_size: int, drop_last: bool, seed: int):
        self.x = x
        self.batch_size = int(batch_size)
        self.drop_last = drop_last
        self.sampler = EpochShuffle(range(len(x)), seed)

    def __len__(self) -> int:
        n = len(self.x) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self) -> Iterator[list[torch.Tensor]]:
        order = self.sampler.order().to(self.x.device)
        for i in range(len(self)):
            yield [self.x.index_select(0, order[i * self.batch_size : (i + 1) * self.batch_size])]


def resident_device(
    trainer: pl.Trainer | None, num_workers: int, nbytes: int
) -> torch.device | None:
    """Where the training set can live for the whole fit, or None for the DataLoader path.
    CPU: always (it is in memory already). One CUDA device: when the set takes at most a
    quarter of the free device memory. DDP and worker processes keep the DataLoader (its
    DistributedSampler and workers are what they are for)."""
    if trainer is None or num_workers > 0 or trainer.world_size > 1:
        return None
    device = trainer.strategy.root_device
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return device if nbytes <= free // 4 else None
    return None


class WindowDataModule(pl.LightningDataModule):
    def __init__(self, splits: Splits, batch_size: int, num_workers: int = 0, seed: int = 0):
        super().__init__()
        self.splits = splits
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed

    def train_dataloader(self) -> DataLoader | ResidentBatches:
        x = torch.from_numpy(self.splits.train.x)
        trainer = getattr(self, "trainer", None)
        drop_last = len(x) > self.batch_size
        device = resident_device(trainer, self.num_workers, x.element_size() * x.nelement())
        if device is not None:
            return ResidentBatches(x.to(device), self.batch_size, drop_last, self.seed)
        dataset = TensorDataset(x)
        # pinned host batches on CUDA: Lightning's copy to the device is then non-blocking
        on_cuda = trainer is not None and trainer.strategy.root_device.type == "cuda"
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(dataset, self.seed),
            drop_last=drop_last,
            num_workers=self.num_workers,
            pin_memory=on_cuda,
        )
