"""Lightning callbacks used by `ganad train`."""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Timer


class SampleGrid(pl.Callback):
    """At the end of training, write `<out_dir>/samples_epochXXX.png` (XXX: last completed
    epoch): generated samples G(z) for a fixed z and, for encoder models, training inputs
    (grey) with their reconstructions G(E(x)).

    Uses its own torch.Generator, so the global RNG (and thus determinism) is untouched.
    """

    def __init__(self, out_dir: str | Path, n: int = 8, seed: int = 0):
        self.out_dir = Path(out_dir)
        self.n = n
        self.seed = seed

    def _inputs(self, trainer: pl.Trainer) -> torch.Tensor | None:
        dm = getattr(trainer, "datamodule", None)
        if dm is not None and hasattr(dm, "splits"):
            return torch.from_numpy(dm.splits.train.x[: self.n])
        loader = trainer.train_dataloader
        if loader is None:
            return None
        return next(iter(loader))[0][: self.n]

    @torch.no_grad()
    def on_train_end(self, trainer: pl.Trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        was_training = pl_module.training
        pl_module.eval()
        z = pl_module.sample_z(self.n, generator=torch.Generator().manual_seed(self.seed))
        rows = [("generated", pl_module.decode(z).cpu(), None)]
        x = self._inputs(trainer)
        if pl_module.has_encoder and x is not None:
            x = x.to(pl_module.device)
            rows.append(("reconstructed", pl_module.decode(pl_module.encode(x)).cpu(), x.cpu()))
        pl_module.train(was_training)

        image = pl_module.nets.backbone == "conv2d"
        side = math.isqrt(pl_module.length)
        fig, axes = plt.subplots(
            len(rows), self.n, figsize=(1.6 * self.n, 1.6 * len(rows)), squeeze=False
        )
        for r, (title, out, ref) in enumerate(rows):
            for i in range(min(self.n, len(out))):
                ax = axes[r][i]
                if image:
                    ax.imshow(out[i, 0].view(side, side).numpy(), cmap="gray")
                else:
                    if ref is not None:
                        ax.plot(ref[i, 0].numpy(), color="0.6", lw=0.8)
                    ax.plot(out[i, 0].numpy(), lw=0.8)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[r][0].set_ylabel(title, fontsize=8)
        epoch = max(trainer.current_epoch - 1, 0)  # the last completed epoch
        fig.suptitle(f"{pl_module.name}, epoch {epoch}", fontsize=9)
        fig.tight_layout()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.out_dir / f"samples_epoch{epoch:03d}.png", dpi=80)
        plt.close(fig)


class EpochValAUROC(pl.Callback):
    """After every training epoch, log `val/epoch_auroc`: the AUROC of the reconstruction error
    ||x - G(E(x))||^2 (mean over channels and time) on the validation split.

    `trainer.select_epoch=best_val_auroc` monitors it with ModelCheckpoint and keeps the best epoch,
    as the BeatGAN authors do. Only validation labels are used; the test split is never touched.

    batchnorm="running": eval mode, in order, batches of 512. batchnorm="batch" (the authors'
    validation pass, `trainer.val_batchnorm=batch`): the networks stay in training mode and the
    validation beats are shuffled (a generator seeded by `seed` and the epoch, so a resumed run
    draws the same batches) into batches of `batch_size`, so BatchNorm normalises with each
    batch's statistics and updates its running ones, which the kept weights carry to test.
    """

    def __init__(
        self,
        x: torch.Tensor,
        label,
        batch_size: int = 512,
        batchnorm: str = "running",
        seed: int = 0,
    ):
        self.x = x
        self.label = label
        self.batch_size = batch_size
        self.batchnorm = batchnorm
        self.seed = seed
        self.history: list[float] = []

    def _order(self, epoch: int) -> torch.Tensor:
        if self.batchnorm != "batch":
            return torch.arange(len(self.x))
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(len(self.x), generator=gen)

    @torch.no_grad()
    def epoch_auroc(self, pl_module, epoch: int = 0) -> float:
        from sklearn.metrics import roc_auc_score

        was_training = pl_module.training
        pl_module.train(self.batchnorm == "batch")
        order = self._order(epoch)
        errors = torch.empty(len(self.x))
        for idx in torch.split(order, self.batch_size):
            chunk = self.x[idx].to(pl_module.device)
            x_hat = pl_module.decode(pl_module.encode(chunk))
            errors[idx] = (chunk - x_hat).pow(2).flatten(1).mean(1).float().cpu()
        pl_module.train(was_training)
        scores = errors.numpy()
        if not np.isfinite(scores).all():
            return float("nan")
        return float(roc_auc_score(self.label, scores))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        auroc = self.epoch_auroc(pl_module, trainer.current_epoch)
        self.history.append(auroc)
        pl_module.log("val/epoch_auroc", auroc, prog_bar=True, logger=True)

    def state_dict(self) -> dict:
        return {"history": list(self.history)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = [float(v) for v in state_dict.get("history", [])]


class TrainingClock(Timer):
    """Lightning's Timer (whole-fit time, `trainer.max_time`-style limits with `duration`), plus
    the seconds spent in training epochs summed across resumes: the totals travel inside every
    checkpoint (Lightning saves a callback's `state_dict`: Timer's `time_elapsed` and ours), so
    `runtime.json` can report the whole run's training time, not only the last process's.
    `epochs` counts the epochs timed; it is None when the run was resumed from a checkpoint of a
    version that did not count them. Wall-clock values: tests/test_resume_determinism.py leaves
    `seconds` and `time_elapsed` out of its checkpoint comparison, on purpose."""

    def __init__(self) -> None:
        super().__init__(duration=None, verbose=False)
        self.seconds = 0.0
        self.epochs: int | None = 0
        self._start: float | None = None

    @staticmethod
    def _sync(pl_module) -> None:
        """CUDA runs asynchronously: wait for the queued work before reading the clock."""
        device = getattr(pl_module, "device", None)
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module) -> None:
        self._sync(pl_module)
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._start is not None:
            self._sync(pl_module)
            self.seconds += time.perf_counter() - self._start
            self._start = None
            if self.epochs is not None:
                self.epochs += 1

    def state_dict(self) -> dict:
        return {**super().state_dict(), "seconds": self.seconds, "epochs": self.epochs}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.seconds = float(state_dict.get("seconds", 0.0))
        self.epochs = state_dict.get("epochs")


class RNGStates(pl.Callback):
    """The torch (CPU and CUDA), numpy and Python `random` generator states, saved in every
    checkpoint and restored on resume, so a resumed run draws the same noise (z, dropout, the
    gradient penalty's mixing) as the uninterrupted run would have. Lightning saves a callback's
    `state_dict` when the checkpoint is written (here: at the end of an epoch). Only tensors,
    ints, floats and tuples: the checkpoint still loads with `torch.load(weights_only=True)`.

    The states are set as soon as the checkpoint is restored: the resumed process then draws
    exactly what the uninterrupted one drew after that save (the first draw being the data
    loader's base seed, which Lightning takes before `on_train_start` on a resume). A checkpoint
    without them (an older ganad) resumes as before."""

    def state_dict(self) -> dict:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state: dict = {
            "torch": torch.get_rng_state(),
            "numpy": {
                "kind": str(kind),
                "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(gauss),
            },
            "python": random.getstate(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["torch.cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        n = state["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
        version, internal, gauss_next = state["python"]
        random.setstate((version, tuple(internal), gauss_next))
        cuda = state.get("torch.cuda")
        if cuda is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


from ganad_cli.runs.untrusted import RESUME_SUBDIR  # noqa: E402


def adopt_resumed_config(run_dir: str | Path) -> None:
    """A resume writes its Hydra files to .hydra-resume/; once training is under way they
    replace .hydra/ (each by an atomic rename); a resume that fails before that leaves .hydra/
    as it was."""
    staged = Path(run_dir) / RESUME_SUBDIR
    if not staged.is_dir():
        return
    target = Path(run_dir) / ".hydra"
    target.mkdir(exist_ok=True)
    for item in staged.iterdir():
        os.replace(item, target / item.name)
    staged.rmdir()


class AdoptResumedConfig(pl.Callback):
    """On a resumed run, adopt the staged config after the checkpoint was restored."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def on_train_start(self, trainer: pl.Trainer, pl_module) -> None:
        if trainer.is_global_zero:
            adopt_resumed_config(self.run_dir)
