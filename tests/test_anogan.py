"""AnoGAN latent search: per-sample stopping and batch/single equivalence."""

from __future__ import annotations

import torch

from ganad_cli.inversion.anogan import anogan_invert
from ganad_cli.models.gan import GAN as WGANGP

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
    model = WGANGP(CFG, (1, 32))
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
