"""AnoGAN latent search with per-sample stopping, run as one masked batch.

Each sample stops on its own when its dissimilarity drops below eps (or after n_max updates): on
that step its z, reconstruction, dissimilarity and step count are recorded, its loss term is
masked out and its z is held fixed from then on. The loss is a sum of per-row terms and the
offered optimisers (Adam, SGD, RMSprop) act element-wise, and every row starts at the same
optimiser step and learning rate, so each sample follows exactly the path it would follow alone
(batch size 1). Stopping is decided on the device: the loop reads nothing back to the host except
how many rows are still searching, every `check_every` steps (so a GPU is not left waiting every
step). Stopped rows still pass through G until a check finds at most `compact_below` of the batch
searching; then the batch is cut down to those rows (z, target and optimiser state), so a batch
costs about what its slowest samples need. Neither changes any sample's result.
The generator is frozen (eval mode, no weight gradients) during the search.

Restarts (Deecke et al.): the K starts of a sample are searched side by side as K rows of the same
batch, and the start that ends with the lowest dissimilarity is kept.
"""

from __future__ import annotations

import torch

from ganad_cli.config.choices import LR_SCHEDULES, RESTRICTIONS  # noqa: F401 (re-exported)
from ganad_cli.config.schema.detection import InversionConfig
from ganad_cli.inversion.criteria import dissimilarity, target_features
from ganad_cli.inversion.runtime import (  # noqa: F401 (re-exported)
    AMP_DTYPES,
    autocast,
    device_flags,
    fold_batchnorm,
    folded_networks,
    frozen,
    to_device,
)
from ganad_cli.models.base import GanadModule
from ganad_cli.progress import bar
from ganad_cli.types import InversionResult

# the defaults of the search are the inversion schema's (conf/inversion/anogan.yaml is that schema)
DEFAULTS = InversionConfig()
TRUNCATION = DEFAULTS.truncation  # |z_i| bound of the truncated region for restriction=clamp
# steps between the host reads of "is any row still searching?" (results do not depend on it)
CHECK_EVERY = DEFAULTS.check_every
# at a check, a batch with at most this fraction of its rows still searching is cut down to them
COMPACT_BELOW = DEFAULTS.compact_below
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


def _make_optimizer(kind: str, z: torch.Tensor, lr: float, momentum: float):
    if kind not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {kind!r}; expected one of {tuple(OPTIMIZERS)}")
    if kind == "adam":
        return torch.optim.Adam([z], lr=lr)
    return OPTIMIZERS[kind]([z], lr=lr, momentum=momentum)


def _make_schedule(kind: str, opt: torch.optim.Optimizer, n_max: int, gamma: float):
    if kind == "constant":
        return None
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(n_max, 1))
    if kind == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
    raise ValueError(f"unknown lr_schedule {kind!r}; expected one of {LR_SCHEDULES}")


def _compact(opt: torch.optim.Optimizer, z: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Replace the optimised leaf by its `keep` rows, with their gradient and optimiser state."""
    new = z.detach()[keep].clone().requires_grad_(True)
    if z.grad is not None:
        new.grad = z.grad[keep].clone()
    state = opt.state.pop(z, {})
    n = len(z)
    opt.state[new] = {
        k: (v[keep].clone() if torch.is_tensor(v) and v.dim() >= 1 and len(v) == n else v)
        for k, v in state.items()
    }
    opt.param_groups[0]["params"] = [new]
    return new


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
    optimizer: str = "adam",
    momentum: float = 0.0,
    lr_gamma: float = 0.98,
    truncation: float = TRUNCATION,
    schlegl_lambda: float = DEFAULTS.schlegl_lambda,
    check_every: int = CHECK_EVERY,
    compact_below: float = COMPACT_BELOW,
    amp: str = DEFAULTS.amp,
    lr_drop_below: float | None = DEFAULTS.lr_drop_below,
    lr_drop_factor: float = DEFAULTS.lr_drop_factor,
) -> InversionResult:
    """Masked search: a row is recorded (z, x_hat, dissimilarity, step) on the step it first gets
    below eps and is frozen from then on (its loss term is masked out and its z restored after
    each update), while it keeps passing through G with the others. The only host read is the
    number of rows still searching, every `check_every` steps: at 0 the chunk ends; at or below
    `compact_below` of the rows in the batch, the batch is cut down to them (z, x and the
    optimiser state), so finished rows stop costing compute (0 = never cut). With
    `lr_drop_below`, a row's steps are divided by `lr_drop_factor` from the first step its
    dissimilarity is below it (ecgan's ADAPT_LR); the offered optimisers' steps are linear in the
    learning rate, so that is the row's learning rate divided, as at batch size 1."""
    n = len(x)
    device = x.device
    z_out = z0.detach().clone()
    if restriction == "clamp":
        z_out.clamp_(-truncation, truncation)
    x_hat_out = torch.empty_like(x)
    steps = torch.full((n,), n_max, dtype=torch.long, device=device)
    final = torch.empty(n, dtype=x.dtype, device=device)

    rows = torch.arange(n, device=device)  # original index of each row in the batch
    active = torch.ones(n, dtype=torch.bool, device=device)
    z = z_out.clone().requires_grad_(True)
    xa = x
    opt = _make_optimizer(optimizer, z, lr, momentum)
    sched = _make_schedule(lr_schedule, opt, n_max, lr_gamma)
    mode = model.latent_mode_norm()
    f_x = target_features(model, x, similarity)  # f(x) once, for the feature-based losses
    check_every = max(int(check_every), 1)
    lr_scale = torch.ones(n, 1, dtype=z.dtype, device=device) if lr_drop_below else None
    for t in range(n_max + 1):
        last = t == n_max
        with torch.set_grad_enabled(not last), autocast(device, amp):
            x_hat = model.decode(z)
        dist = dissimilarity(
            model, xa, x_hat.to(x.dtype), similarity, bandwidth, f_x, schlegl_lambda
        )
        d = dist.detach()
        # rows stopping now: below eps for the first time, or every row still active at n_max
        stop = active if last else active & (d < eps)
        z_out[rows] = torch.where(stop.unsqueeze(1), z.detach(), z_out[rows])
        x_hat_b = stop.view(-1, *([1] * (x.dim() - 1)))
        x_hat_out[rows] = torch.where(x_hat_b, x_hat.detach().to(x.dtype), x_hat_out[rows])
        final[rows] = torch.where(stop, d, final[rows])
        if not last:
            steps[rows] = torch.where(stop, torch.full_like(rows, t), steps[rows])
        active = active & ~stop
        if last:
            break
        if lr_scale is not None:  # once below the threshold, the row's lr stays divided
            lr_scale.masked_fill_((d < lr_drop_below).unsqueeze(1), 1.0 / lr_drop_factor)
        check = t % check_every == 0
        if check:
            left = int(active.sum())
            if left == 0:
                break
        loss = torch.where(active, dist, torch.zeros_like(dist)).sum()
        if restriction == "chi" and chi_weight > 0:
            chi = (z.norm(dim=1) - mode) ** 2
            loss = loss + chi_weight * torch.where(active, chi, torch.zeros_like(chi)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if check and left <= compact_below * len(z):  # cut the batch to the rows still searching
            keep = active.nonzero().squeeze(1)
            z = _compact(opt, z, keep)
            xa, rows, active = xa[keep], rows[keep], active[keep]
            f_x = f_x[keep] if f_x is not None else None
            lr_scale = lr_scale[keep] if lr_scale is not None else None
        z_before = z.detach().clone() if lr_scale is not None else None
        opt.step()
        with torch.no_grad():
            if z_before is not None:
                z.copy_(z_before + lr_scale * (z - z_before))
            if restriction == "clamp":
                z.clamp_(-truncation, truncation)
            # stopped rows keep the z they stopped at (their optimiser state no longer matters:
            # they never rejoin the search)
            z.copy_(torch.where(active.unsqueeze(1), z, z_out[rows]))
        if sched is not None:
            sched.step()
    converged = final < eps
    return InversionResult(z_out, x_hat_out, steps, converged, final)


def prior_starts(model: GanadModule, n: int, restarts: int = 1, seed: int = 0) -> torch.Tensor:
    """The (restarts, n, d) prior draws anogan_invert starts from for n rows and this seed; slice
    [:, i:j] to invert rows i..j separately and get the same starts as in one call."""
    gen = torch.Generator(device=model.device).manual_seed(seed)  # drawn where the model is
    return model.sample_z(n * restarts, generator=gen).view(restarts, n, -1)


def anogan_invert(
    model: GanadModule,
    x: torch.Tensor,
    *,
    eps: float = DEFAULTS.eps,
    n_max: int = DEFAULTS.n_max,
    lr: float = DEFAULTS.lr,
    batch_size: int = DEFAULTS.batch_size,
    similarity: str = DEFAULTS.similarity,
    bandwidth: float = DEFAULTS.rbf_bandwidth,
    restarts: int = DEFAULTS.restarts,
    restriction: str = DEFAULTS.restriction,
    chi_weight: float = DEFAULTS.chi_weight,
    lr_schedule: str = DEFAULTS.lr_schedule,
    seed: int = DEFAULTS.seed,
    z_init: torch.Tensor | None = None,
    optimizer: str = DEFAULTS.optimizer,
    momentum: float = DEFAULTS.momentum,
    lr_gamma: float = DEFAULTS.lr_gamma,
    truncation: float = TRUNCATION,
    schlegl_lambda: float = DEFAULTS.schlegl_lambda,
    check_every: int = CHECK_EVERY,
    compact_below: float = COMPACT_BELOW,
    amp: str = DEFAULTS.amp,
    tf32: bool = DEFAULTS.tf32,
    lr_drop_below: float | None = DEFAULTS.lr_drop_below,
    lr_drop_factor: float = DEFAULTS.lr_drop_factor,
) -> InversionResult:
    """Invert every row of x. Initial z is drawn once for all rows (so results do not depend on
    batch_size); with `restarts` K > 1 each row is searched from K starts and the best kept
    (extra starts are prior draws, or jittered copies of a given (n, d) z_init). A z_init of
    shape (K, n, d) gives every start explicitly (see `prior_starts`). `amp` (none | bf16 | fp16)
    runs G under autocast; `tf32` allows TF32 on CUDA."""
    device = next(model.parameters()).device
    x = to_device(x, device)
    n = len(x)
    if z_init is None:
        z_init = prior_starts(model, n, restarts, seed)
    elif z_init.dim() == 3:
        if z_init.shape[:2] != (restarts, n):
            raise ValueError(
                f"z_init of shape {tuple(z_init.shape)}; expected ({restarts}, {n}, d)"
            )
        z_init = to_device(z_init, device)
    else:
        z_init = to_device(z_init, device).unsqueeze(0).expand(restarts, -1, -1).clone()
        if restarts > 1:  # jitter the extra starts around the given z
            gen = torch.Generator(device=device).manual_seed(seed)
            z_init[1:] += 0.5 * torch.randn(z_init[1:].shape, generator=gen, device=device)
    kw = dict(
        eps=eps,
        n_max=n_max,
        lr=lr,
        similarity=similarity,
        bandwidth=bandwidth,
        restriction=restriction,
        chi_weight=chi_weight,
        lr_schedule=lr_schedule,
        optimizer=optimizer,
        momentum=momentum,
        lr_gamma=lr_gamma,
        truncation=truncation,
        schlegl_lambda=schlegl_lambda,
        check_every=check_every,
        compact_below=compact_below,
        amp=amp,
        lr_drop_below=lr_drop_below,
        lr_drop_factor=lr_drop_factor,
    )
    k = restarts
    parts = []
    progress = bar(n, "AnoGAN inversion", unit="sample")
    with frozen(model), folded_networks(model), device_flags(device, tf32), progress:
        for i in range(0, n, batch_size):
            xb = x[i : i + batch_size]
            b = len(xb)
            # K starts side by side: rows [k * b + j] = start k of sample j
            res = _search_chunk(
                model,
                xb.repeat(k, *([1] * (xb.dim() - 1))),
                z_init[:, i : i + batch_size].reshape(k * b, -1),
                **kw,
            )
            if k > 1:
                best = res.similarity.view(k, b).argmin(0)  # ties: the first start
                res = res.select(best * b + torch.arange(b, device=device))
            parts.append(res)
            progress.update(b)  # no postfix: it would read the steps back every chunk
    return InversionResult.cat(parts)
