"""Device-resident training batches: the DataLoader's batches, used where they can be."""

from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganad_cli.data.datamodule import EpochShuffle, ResidentBatches, resident_device


def loader_batches(x: torch.Tensor, batch_size: int, drop_last: bool, seed: int, epoch: int):
    dataset = TensorDataset(x)
    sampler = EpochShuffle(dataset, seed)
    sampler.set_epoch(epoch)
    return list(DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last))


@pytest.mark.parametrize("drop_last", [True, False])
def test_resident_batches_equal_the_dataloaders_in_every_epoch(drop_last: bool) -> None:
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(103, 1, 16)).astype(np.float32))
    resident = ResidentBatches(x, batch_size=10, drop_last=drop_last, seed=7)
    for epoch in (0, 1, 5):
        resident.sampler.set_epoch(epoch)  # what Lightning's fit loop calls
        got = list(resident)
        want = loader_batches(x, 10, drop_last, seed=7, epoch=epoch)
        assert len(got) == len(want) == len(resident)
        for (a,), (b,) in zip(got, want):
            assert torch.equal(a, b)
    resident.sampler.set_epoch(0)
    first = next(iter(resident))[0]
    resident.sampler.set_epoch(1)
    assert not torch.equal(first, next(iter(resident))[0])  # the order changes per epoch


def test_resident_device_on_cpu_and_where_the_dataloader_stays() -> None:
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    assert resident_device(trainer, num_workers=0, nbytes=10**6) == torch.device("cpu")
    assert resident_device(trainer, num_workers=2, nbytes=10**6) is None  # workers asked for
    assert resident_device(None, num_workers=0, nbytes=10**6) is None  # no trainer attached


class _Recorder(pl.LightningModule):
    """Records the batches one fit sees, so a fit's data path can be compared."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch, _):
        self.seen.append(batch[0].clone())
        return (self.w * batch[0].mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_cpu_fit_trains_on_resident_batches_in_the_loaders_order() -> None:
    from ganad_cli.data.base import Samples, Splits
    from ganad_cli.data.datamodule import WindowDataModule

    x = np.random.default_rng(1).normal(size=(50, 1, 8)).astype(np.float32)

    def samples(v: np.ndarray) -> Samples:
        return Samples(v, np.array(["N"] * len(v)), np.zeros(len(v), dtype=int))

    splits = Splits(train=samples(x), val=samples(x[:0]), test=samples(x[:0]), info={})
    dm = WindowDataModule(splits, batch_size=8, seed=3)
    model = _Recorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=dm)
    assert isinstance(trainer.train_dataloader, ResidentBatches)
    want = [b for e in (0, 1) for (b,) in loader_batches(torch.from_numpy(x), 8, True, 3, e)]
    assert len(model.seen) == len(want) == 12
    assert all(torch.equal(a, b) for a, b in zip(model.seen, want))
