"""ecgan's RBF similarity criterion as a stopping rule of the latent search (experiment=table1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganad_cli.config import validate_config
from ganad_cli.inversion.anogan import anogan_invert
from ganad_cli.inversion.criteria import dissimilarity, ecgan_rbf
from ganad_cli.inversion.similarity import distance


def test_ecgan_rbf_by_hand():
    # x = [0, 1, 2], x_hat = [0, 0, 0]: the 9 time-point distances are 0,0,0,1,1,1,2,2,2;
    # sigma = median = 1, k = exp(-d^2 / 2)
    x = torch.tensor([[[0.0, 1.0, 2.0]]])
    x_hat = torch.zeros(1, 1, 3)
    want = 1 - (1 + math.exp(-0.5) + math.exp(-2.0)) / 3
    assert float(ecgan_rbf(x, x_hat)[0]) == pytest.approx(want, rel=1e-6)
    # an even count takes torch.median's lower middle value, as ecgan does: d = 1,1,2,2 -> sigma 1
    x2, h2 = torch.tensor([[[0.0, 3.0]]]), torch.ones(1, 1, 2)
    want2 = 1 - (math.exp(-0.5) + math.exp(-2.0)) / 2
    assert float(ecgan_rbf(x2, h2)[0]) == pytest.approx(want2, rel=1e-6)
    # two channels: the distance between time points is Euclidean over channels
    x3 = torch.tensor([[[0.0, 3.0], [0.0, 4.0]]])  # points (0, 0) and (3, 4)
    h3 = torch.zeros(1, 2, 2)  # both points at the origin: d = 0, 5, 0, 5 -> sigma 0 -> lower = 0
    got3 = float(ecgan_rbf(x3, h3)[0])
    assert 0.49 < got3 <= 0.5  # k = 1 on the zero pairs, ~0 on the others


def test_ecgan_rbf_is_per_sample_and_not_our_rbf():
    g = torch.Generator().manual_seed(0)
    x, x_hat = torch.randn(5, 1, 32, generator=g), torch.randn(5, 1, 32, generator=g)
    both = ecgan_rbf(x, x_hat)
    alone = torch.cat([ecgan_rbf(x[i : i + 1], x_hat[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(both.numpy(), alone.numpy(), rtol=1e-6)
    assert not np.allclose(both.numpy(), distance(x, x_hat, "rbf").numpy(), atol=1e-2)
    assert float(ecgan_rbf(x, x)[0]) < float(both[0])  # closer beats are more similar


def test_table1_stops_on_ecgans_criterion(compose_train):
    cfg = compose_train(["experiment=table1"])
    assert cfg.inversion.similarity == "ecgan_rbf"
    validate_config(cfg)
    ours = compose_train(["experiment=table1", "inversion.similarity=rbf"])
    assert ours.inversion.similarity == "rbf"


def test_latent_search_with_ecgan_rbf(compose_train):
    from ganad_cli.models import build_model

    torch.manual_seed(0)
    cfg = compose_train(["model=wgan_gp", "model.latent_dim=4", "model.base_channels=4"])
    model = build_model(cfg.model, (1, 32)).eval()
    x = torch.randn(3, 1, 32, generator=torch.Generator().manual_seed(2))
    res = anogan_invert(model, x, eps=1e-9, n_max=4, lr=0.1, similarity="ecgan_rbf")
    with torch.no_grad():
        again = dissimilarity(model, x, model.decode(res.z), "ecgan_rbf")
    np.testing.assert_allclose(res.similarity.numpy(), again.numpy(), rtol=1e-5)
    stop_at_once = anogan_invert(model, x, eps=2.0, n_max=4, similarity="ecgan_rbf")
    assert (stop_at_once.steps == 0).all() and stop_at_once.converged.all()


def test_reproduce_bench_keeps_the_runs_similarity():
    from ganad_cli.tasks.reproduce_commands import bench_overrides
    from tests.test_reproduce import REPO

    args = bench_overrides(REPO / "run", smoke=False)
    assert not any("similarity" in a for a in args)
