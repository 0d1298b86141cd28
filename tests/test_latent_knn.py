"""The latent_knn component (issue 17): the code's distance to the training codes, fitted on the
training beats only, stored in detector.pt and used by evaluate and detect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ganad_cli.cli import main
from ganad_cli.detector import Detector
from ganad_cli.errors import GanadInputError
from ganad_cli.scoring.latent_knn import LatentNeighbours
from tests.conftest import train_beat_run


def test_score_is_the_log_mean_distance_to_the_k_nearest_training_codes():
    codes = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    z = torch.tensor([[0.0, 1.0], [3.0, 4.0]])
    one = LatentNeighbours.fit(codes, k=1, max_codes=10, seed=0).score(z)
    np.testing.assert_allclose(one, np.log([1.0, 3.0]), rtol=1e-6)
    two = LatentNeighbours.fit(codes, k=2, max_codes=10, seed=0).score(z)
    np.testing.assert_allclose(two, np.log([(1.0 + 3.0) / 2, (3.0 + 4.0) / 2]), rtol=1e-6)
    # a training code itself: distance 0, floored inside the log
    assert np.isfinite(LatentNeighbours.fit(codes, 1, 10, 0).score(codes)).all()


def test_fit_subsamples_with_its_seed_and_checks_sizes():
    codes = torch.randn(500, 4)
    a = LatentNeighbours.fit(codes, 1, max_codes=100, seed=3)
    b = LatentNeighbours.fit(codes, 1, max_codes=100, seed=3)
    assert a.codes.shape == (100, 4)
    torch.testing.assert_close(a.codes, b.codes)
    with pytest.raises(GanadInputError, match="score.knn_k"):
        LatentNeighbours.fit(codes[:2], k=3, max_codes=10, seed=0)
    with pytest.raises(GanadInputError, match="codes of size 3"):
        a.score(torch.randn(2, 3))


def test_stored_codes_are_checked_at_load():
    good = LatentNeighbours(torch.randn(5, 2), 1).to_dict()
    assert LatentNeighbours.from_dict(good).codes.shape == (5, 2)
    bad = {"codes": torch.tensor([[0.0, float("nan")]]), "k": 1}
    with pytest.raises(ValueError, match="NaN"):
        LatentNeighbours.from_dict(bad)
    with pytest.raises(ValueError):
        LatentNeighbours.from_dict({"codes": torch.randn(2, 2), "k": 3})


@pytest.fixture(scope="module")
def knn_run(tmp_path_factory, mitdb_root) -> Path:
    base = tmp_path_factory.mktemp("knn")
    return train_beat_run(
        base, mitdb_root, "[100,119,208]", ["score=neighbours", "score.knn_max_train=300"]
    )


def test_run_scores_with_latent_knn_from_its_saved_detector(knn_run: Path):
    metrics = json.loads((knn_run / "metrics.json").read_text())
    assert metrics["test/components"] == ["latent_knn", "rr_density"]
    scores = pd.read_csv(knn_run / "scores.csv")
    assert np.isfinite(scores[["latent_knn", "rr_density", "score"]].to_numpy()).all()
    detector = Detector.load(knn_run / "detector.pt")  # weights_only=True inside
    assert detector.neighbours is not None and detector.neighbours.codes.shape == (300, 8)
    # the component from the loaded detector equals the run's, beat for beat
    from ganad_cli.data import load_samples
    from ganad_cli.data.splits import make_splits
    from ganad_cli.tasks.evaluate import load_run_config

    cfg = load_run_config(knn_run)
    test = make_splits(load_samples(cfg.data), cfg.data).test
    x = torch.from_numpy(test.x)
    comps = detector.components(x, detector.invert(x), test.context)
    np.testing.assert_allclose(comps["latent_knn"], scores["latent_knn"], rtol=1e-5, atol=1e-5)
    # without its training codes the component is refused in one clear error
    detector.neighbours = None
    with pytest.raises(GanadInputError, match="needs the training codes"):
        detector.components(x[:4], detector.invert(x[:4]), test.context[:4])


def test_evaluate_refits_the_codes_for_a_new_choice(knn_run: Path, in_tmp):
    args = [
        "evaluate",
        f"run={knn_run}",
        "+score.components=[residual,latent_knn]",
        "+score.knn_k=3",
    ]
    assert main([*args, "+score.combine=equal"]) == 0
    (folder,) = (knn_run / "evaluations").iterdir()
    assert json.loads((folder / "metrics.json").read_text())["test/components"] == [
        "residual",
        "latent_knn",
    ]
    assert Detector.load(folder / "detector.pt").neighbours.k == 3


def test_knn_k_out_of_range_is_one_line(in_tmp, capfd):
    assert main(["train", "score=neighbours", "score.knn_k=0", "trainer.max_epochs=1"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["ganad: error: config key 'score.knn_k' must be >= 1, got 0"]


def test_detect_scores_a_record_with_latent_knn(knn_run: Path, mitdb_root: Path, tmp_path: Path):
    out = tmp_path / "beats.csv"
    assert (
        main(["detect", f"run={knn_run}", f"input={mitdb_root / '119.hea'}", f"output={out}"]) == 0
    )
    frame = pd.read_csv(out)
    scored = frame["latent_knn"].notna()
    assert scored.sum() > 1000 and np.isfinite(frame.loc[scored, "latent_knn"]).all()
