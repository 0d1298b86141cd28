"""AnoGAN latent search: per-sample stopping and batch/single equivalence."""

from __future__ import annotations

import torch

from ganad_cli.inversion.anogan import anogan_invert
from ganad_cli.models.gan import GAN as WGANGP
from ganad_cli.models.registry import build_model

CFG = {
    "name": "wgan_gp",
    "backbone": "conv1d",
    "latent_dim": 8,
    "base_channels": 8,
    "prior": "normal",
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.5,
    "beta2": 0.9,
    "spectral_norm": False,
    "n_critic": 5,
    "gp_weight": 10.0,
}


def _model() -> WGANGP:
    torch.manual_seed(0)
    model = build_model(CFG, (1, 32))
    assert isinstance(model, WGANGP)
    model.eval()
    return model


def test_each_sample_stops_on_its_own():
    model = _model()
    with torch.no_grad():
        reachable = model.decode(torch.randn(3, 8))  # exactly representable by G
    far = torch.full((3, 1, 32), 5.0)  # nothing G makes is this close
    x = torch.cat([reachable, far])
    # start the reachable samples at their own z: they stop at step 0; the others run to n_max
    gen = torch.Generator().manual_seed(0)
    z0 = torch.randn(6, 8, generator=gen)
    with torch.no_grad():
        z_true = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
        x[:3] = model.decode(z_true)
    z0[:3] = z_true
    res = anogan_invert(model, x, eps=1e-4, n_max=15, lr=0.05, z_init=z0)
    assert res.converged[:3].all() and (res.steps[:3] == 0).all()
    assert not res.converged[3:].any() and (res.steps[3:] == 15).all()
    # frozen samples keep their z exactly
    assert torch.equal(res.z[:3], z_true)


def test_partial_convergence_mid_search():
    model = _model()
    x = model.decode(torch.randn(4, 8)).detach() + 0.01 * torch.randn(4, 1, 32)
    res = anogan_invert(model, x, eps=0.2, n_max=200, lr=0.05, seed=3)
    assert res.converged.all()
    res_strict = anogan_invert(model, x, eps=1e-6, n_max=5, lr=0.05, seed=3)
    assert (res_strict.steps == 5).all() and not res_strict.converged.any()


def test_batched_equals_one_at_a_time():
    model = _model()
    torch.manual_seed(1)
    x = torch.randn(6, 1, 32) * 0.5
    z0 = torch.randn(6, 8)
    batched = anogan_invert(model, x, eps=0.3, n_max=40, lr=0.05, batch_size=6, z_init=z0)
    for i in range(6):
        single = anogan_invert(
            model, x[i : i + 1], eps=0.3, n_max=40, lr=0.05, batch_size=1, z_init=z0[i : i + 1]
        )
        assert single.steps.item() == batched.steps[i].item()
        torch.testing.assert_close(single.z[0], batched.z[i], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(
            single.similarity[0], batched.similarity[i], atol=1e-5, rtol=1e-4
        )


def test_generator_weights_get_no_gradient_and_stay_unchanged():
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    anogan_invert(model, torch.randn(4, 1, 32), eps=1e-6, n_max=5)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())


def _mixed(model, n: int = 12):
    """Targets near G's range, starts at growing distance: rows stop at different steps."""
    gen = torch.Generator().manual_seed(5)
    z_true = torch.randn(n, 8, generator=gen)
    with torch.no_grad():
        x = model.decode(z_true) + 0.01 * torch.randn(n, 1, 32, generator=gen)
    z0 = z_true + torch.linspace(0.05, 1.5, n).unsqueeze(1) * torch.randn(n, 8, generator=gen)
    return x, z0


def test_search_reads_the_device_only_once_per_check():
    """No host read per step: only `any row still searching?` every check_every steps. (SGD:
    Adam's step counter is a CPU tensor even on a GPU, so its reads are not device reads.)"""
    from tests.host_reads import HostReads

    model = _model()
    x, z0 = _mixed(model)
    far = torch.full((4, 1, 32), 5.0)  # never converge: the search runs all n_max steps
    x, z0 = torch.cat([x, far]), torch.cat([z0, torch.randn(4, 8)])
    for check_every, allowed in ((10, 4), (1000, 1)):  # t = 0, 10, 20, 30 / t = 0 only
        with HostReads() as reads:
            res = anogan_invert(
                model,
                x,
                eps=0.008,
                n_max=40,
                lr=0.01,
                optimizer="sgd",
                momentum=0.9,
                batch_size=len(x),
                z_init=z0,
                check_every=check_every,
            )
        assert reads.count <= allowed, reads.names
        assert (res.steps[-4:] == 40).all() and res.converged[:-4].any()


def test_check_every_changes_nothing_but_the_end_of_a_batch():
    model = _model()
    x, z0 = _mixed(model)
    runs = [
        anogan_invert(model, x, eps=0.008, n_max=60, z_init=z0, check_every=k, compact_below=0.0)
        for k in (1, 7, 1000)
    ]
    assert len(set(runs[0].steps.tolist())) > 2  # rows did stop at different steps
    for other in runs[1:]:
        for field in ("z", "x_hat", "steps", "converged", "similarity"):
            assert torch.equal(getattr(runs[0], field), getattr(other, field)), field


def test_prior_draws_are_made_on_the_models_device():
    """sample_z and prior_starts draw where the model is (no host draw + copy per step)."""
    from torch.overrides import TorchFunctionMode

    from ganad_cli.inversion.anogan import prior_starts

    class Draws(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.devices = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if getattr(func, "__name__", "") == "randn":
                self.devices.append(kwargs.get("device"))
            return func(*args, **kwargs)

    model = _model()
    with Draws() as draws:
        model.sample_z(4)
        prior_starts(model, 3, 2, seed=1)
    assert draws.devices and all(torch.device(d) == model.device for d in draws.devices)
    # a given generator's stream is kept: the same draws as before the change on the CPU
    gen = torch.Generator().manual_seed(3)
    assert torch.equal(
        model.sample_z(5, generator=gen),
        torch.randn(5, 8, generator=torch.Generator().manual_seed(3)),
    )


def test_bf16_autocast_search_close_to_fp32():
    model = _model()
    x, z0 = _mixed(model, 6)
    full = anogan_invert(model, x, eps=1e-6, n_max=10, z_init=z0)
    bf16 = anogan_invert(model, x, eps=1e-6, n_max=10, z_init=z0, amp="bf16")
    assert bf16.x_hat.dtype == torch.float32 and bf16.similarity.dtype == torch.float32
    torch.testing.assert_close(bf16.similarity, full.similarity, atol=0.02, rtol=0.1)
    assert not torch.equal(bf16.similarity, full.similarity)  # autocast was really on


def test_cutting_the_batch_at_checks_changes_no_result():
    """compact_below=1 cuts the batch at every check with a finished row, 0 never does: the same
    per-sample results either way (and as at batch size 1)."""
    model = _model()
    x, z0 = _mixed(model)
    kw = dict(eps=0.008, n_max=60, z_init=z0, check_every=3)
    masked = anogan_invert(model, x, compact_below=0.0, **kw)
    cut = anogan_invert(model, x, compact_below=1.0, **kw)
    assert len(set(masked.steps.tolist())) > 2
    assert torch.equal(masked.steps, cut.steps) and torch.equal(masked.converged, cut.converged)
    torch.testing.assert_close(masked.z, cut.z, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(masked.x_hat, cut.x_hat, atol=1e-5, rtol=1e-4)
    for i in (0, 5, 11):
        one = anogan_invert(model, x[i : i + 1], **{**kw, "z_init": z0[i : i + 1]})
        assert one.steps.item() == cut.steps[i].item()
        torch.testing.assert_close(one.z[0], cut.z[i], atol=1e-5, rtol=1e-4)


def test_lr_drop_divides_a_rows_steps_from_its_first_step_below_the_threshold():
    """ecgan's ADAPT_LR: below lr_drop_below every later step is lr / lr_drop_factor."""
    model = _model()
    torch.manual_seed(2)
    x = torch.randn(3, 1, 32) * 0.5
    z0 = torch.randn(3, 8)
    kw = dict(eps=1e-9, n_max=12, z_init=z0, optimizer="sgd", similarity="l2")
    # a threshold met at step 0: the whole search runs at lr / 10
    dropped = anogan_invert(model, x, lr=0.5, lr_drop_below=1e9, lr_drop_factor=10.0, **kw)
    slow = anogan_invert(model, x, lr=0.05, **kw)
    torch.testing.assert_close(dropped.z, slow.z, atol=1e-6, rtol=1e-5)
    # a threshold never met, or a factor of 1: no drop
    plain = anogan_invert(model, x, lr=0.5, **kw)
    for extra in (dict(lr_drop_below=1e-12), dict(lr_drop_below=1e9, lr_drop_factor=1.0)):
        same = anogan_invert(model, x, lr=0.5, **kw, **extra)
        torch.testing.assert_close(same.z, plain.z, atol=1e-6, rtol=1e-5)


def test_lr_drop_per_row_as_at_batch_size_one():
    """Rows cross the threshold at different steps; cutting the batch keeps each row's drop."""
    model = _model()
    x, z0 = _mixed(model)
    kw = dict(eps=0.008, n_max=60, z_init=z0, check_every=3, lr_drop_below=0.02)
    cut = anogan_invert(model, x, compact_below=1.0, **kw)
    plain = anogan_invert(model, x, compact_below=1.0, **{**kw, "lr_drop_below": None})
    assert not torch.equal(cut.steps, plain.steps)  # the drop changes some searches
    for i in (0, 5, 11):
        one = anogan_invert(model, x[i : i + 1], **{**kw, "z_init": z0[i : i + 1]})
        assert one.steps.item() == cut.steps[i].item()
        torch.testing.assert_close(one.z[0], cut.z[i], atol=1e-5, rtol=1e-4)


def test_lr_drop_keys_are_checked(compose_train):
    import pytest

    from ganad_cli.config import validate_config
    from ganad_cli.errors import GanadInputError

    validate_config(compose_train(["inversion.lr_drop_below=0.05", "inversion.lr_drop_factor=10"]))
    for bad, key in (
        ("lr_drop_below=0", "lr_drop_below"),
        ("lr_drop_factor=0.5", "lr_drop_factor"),
    ):
        with pytest.raises(GanadInputError, match=f"inversion.{key}"):
            validate_config(compose_train([f"inversion.{bad}"]))
