"""AnoGAN latent search with per-sample stopping, run as one shrinking batch.

Each sample stops on its own when its dissimilarity drops below eps (or after n_max updates).
Stopped samples leave the computation: the generator only runs on the active rows, so a batch
costs what its slowest samples need. Adam is element-wise and every row starts at the same
optimiser step, so each sample follows exactly the path it would follow alone (batch size 1);
rows that stopped are restored after each step so momentum cannot move them.
The generator is frozen (eval mode, no weight gradients) during the search.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ganad_cli.models.base import GanadModule

TRUNCATION = 2.0  # |z_i| bound of the truncated region for restriction=clamp


@dataclass
class InversionResult:
    z: torch.Tensor  # (n, latent_dim)
    x_hat: torch.Tensor  # (n, channels, length)
    steps: torch.Tensor  # (n,) optimiser updates used
    converged: torch.Tensor  # (n,) bool: dissimilarity < eps reached
    similarity: torch.Tensor  # (n,) final dissimilarity (lower = closer)

    @staticmethod
    def cat(parts: list[InversionResult]) -> InversionResult:
        return InversionResult(
            *(torch.cat([getattr(p, f) for p in parts]) for f in InversionResult.__annotations__)
        )

    def select(self, idx: torch.Tensor) -> InversionResult:
        return InversionResult(*(getattr(self, f)[idx] for f in InversionResult.__annotations__))


def distance(
    x: torch.Tensor, x_hat: torch.Tensor, kind: str = "l1", bandwidth: float = 1.0
) -> torch.Tensor:
    """Per-sample dissimilarity, averaged over elements so eps does not depend on length."""
    diff = (x - x_hat).flatten(1)
    if kind == "l1":
        return diff.abs().mean(1)
    if kind == "l2":
        return diff.pow(2).mean(1)
    if kind == "rbf":
        return 1.0 - torch.exp(-diff.pow(2).mean(1) / (2.0 * bandwidth**2))
    if kind == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(x.flatten(1), x_hat.flatten(1), dim=1)
    raise ValueError(f"unknown similarity {kind!r}")


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


def _search_chunk(
    model: GanadModule,
    x: torch.Tensor,
    z0: torch.Tensor,
    *,
    eps: float,
    n_max: int,
    lr: float,
    similarity: str,
    bandwidth: float,
    restriction: str,
    chi_weight: float,
    lr_schedule: str = "constant",
) -> InversionResult:
    n = len(x)
    z = z0.clone().detach().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_max)
        if lr_schedule == "cosine"
        else None
    )
    active = torch.ones(n, dtype=torch.bool, device=x.device)
    steps = torch.zeros(n, dtype=torch.long, device=x.device)
    mode = model.latent_mode_norm()
    for _ in range(n_max):
        idx = active.nonzero().squeeze(1)
        if len(idx) == 0:
            break
        dist = distance(x[idx], model.decode(z[idx]), similarity, bandwidth)
        done = dist.detach() < eps
        active[idx[done]] = False
        keep = ~done
        if not keep.any():
            break
        loss = dist[keep].sum()
        if restriction == "chi" and chi_weight > 0:
            loss = loss + chi_weight * ((z[idx[keep]].norm(dim=1) - mode) ** 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        stopped = ~active
        saved = z.detach()[stopped].clone()
        opt.step()
        with torch.no_grad():
            z[stopped] = saved
            if restriction == "clamp":
                z.clamp_(-TRUNCATION, TRUNCATION)
        steps[idx[keep]] += 1
        if sched is not None:
            sched.step()
    with torch.no_grad():
        x_hat = model.decode(z)
        final = distance(x, x_hat, similarity, bandwidth)
    return InversionResult(z.detach(), x_hat, steps, final < eps, final)


def anogan_invert(
    model: GanadModule,
    x: torch.Tensor,
    *,
    eps: float = 0.05,
    n_max: int = 100,
    lr: float = 0.05,
    batch_size: int = 256,
    similarity: str = "l1",
    bandwidth: float = 1.0,
    restarts: int = 1,
    restriction: str = "none",
    chi_weight: float = 0.0,
    lr_schedule: str = "constant",
    seed: int = 0,
    z_init: torch.Tensor | None = None,
) -> InversionResult:
    """Invert every row of x. Initial z is drawn once for all rows (so results do not depend on
    batch_size); with `restarts` K > 1 each row is searched from K starts and the best kept."""
    device = next(model.parameters()).device
    x = x.to(device)
    n = len(x)
    if z_init is None:
        gen = torch.Generator().manual_seed(seed)
        z_init = model.sample_z(n * restarts, generator=gen).view(restarts, n, -1)
    else:
        z_init = z_init.to(device).unsqueeze(0).expand(restarts, -1, -1).clone()
        if restarts > 1:  # jitter the extra starts around the given z
            gen = torch.Generator().manual_seed(seed)
            z_init[1:] += 0.5 * torch.randn(z_init[1:].shape, generator=gen).to(device)
    kw = dict(
        eps=eps,
        n_max=n_max,
        lr=lr,
        similarity=similarity,
        bandwidth=bandwidth,
        restriction=restriction,
        chi_weight=chi_weight,
        lr_schedule=lr_schedule,
    )
    with frozen(model):
        best: InversionResult | None = None
        for k in range(restarts):
            parts = [
                _search_chunk(model, x[i : i + batch_size], z_init[k, i : i + batch_size], **kw)
                for i in range(0, n, batch_size)
            ]
            res = InversionResult.cat(parts)
            if best is None:
                best = res
            else:
                better = res.similarity < best.similarity
                best = InversionResult(
                    *(
                        torch.where(
                            better.view(-1, *([1] * (getattr(res, f).dim() - 1))),
                            getattr(res, f),
                            getattr(best, f),
                        )
                        for f in InversionResult.__annotations__
                    )
                )
    assert best is not None
    return best
