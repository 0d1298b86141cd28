"""Rhythm context (issue 17): RR features per beat, the rr_density component, a detector that
carries it, and the label-free `equal` combination."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ganad_cli.cli import main
from ganad_cli.data.rhythm import (
    CONTEXT_FEATURES,
    RR_FEATURES,
    beat_context,
    rr_features,
    template_mse,
)
from ganad_cli.errors import GanadInputError
from ganad_cli.scoring.rhythm import RhythmDensity
from tests.conftest import train_beat_run


def test_rr_features_of_a_premature_beat():
    beats = np.array([0, 360, 720, 1080, 1300, 1800, 2160])  # beat 4 early, then a pause
    f = rr_features(beats, fs=360)
    assert f.shape == (7, len(RR_FEATURES))
    np.testing.assert_allclose(f[4, :2], [220 / 360, 500 / 360], rtol=1e-5)
    local = np.mean([1.0, 1.0, 1.0, 1.0])  # the intervals before beat 4 (its own excluded)
    np.testing.assert_allclose(f[4, 2], (220 / 360) / local, rtol=1e-5)
    assert f[4, 2] < 0.7 < 1.2 < f[4, 3]
    np.testing.assert_allclose(f[0], [1, 1, 1, 1], rtol=1e-6)  # first beat: its neighbour's RR


def test_template_mse_singles_out_the_beat_unlike_its_neighbours():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 64)
    normal = np.exp(-((t - 0.5) ** 2) / 0.002)
    x = normal + rng.normal(0, 0.02, size=(60, 1, 64))
    x[30, 0] = -normal  # an inverted beat in the middle
    x[0, 0] = np.roll(normal, 20)  # and one at the record's start (the filter's edge)
    d = template_mse(x.astype(np.float32))
    assert d.shape == (60,) and d.dtype == np.float32
    others = np.delete(d, [0, 30])
    assert d[30] > 50 * np.median(others) and d[0] > 50 * np.median(others)
    # the median of the neighbours, not their mean: one odd beat does not raise its neighbours
    assert d[29] < 5 * np.median(others) and d[31] < 5 * np.median(others)
    assert template_mse(x[:1]).shape == (1,) and template_mse(x[:0]).shape == (0,)


def test_beat_context_keeps_rr_of_all_beats_and_template_of_kept_ones():
    beats = np.array([10, 370, 730, 1090, 1450])
    keep = np.array([False, True, True, True, False])  # edge beats without a full window
    x = np.zeros((3, 1, 8), dtype=np.float32)
    c = beat_context(beats, 360, x, keep)
    assert c.shape == (3, len(CONTEXT_FEATURES))
    np.testing.assert_allclose(c[:, :4], rr_features(beats, 360)[keep])
    np.testing.assert_allclose(c[:, 4], 0.0)


def test_rr_features_match_the_annotations_of_record_100(mitdb_root: Path):
    ann = wfdb.rdann(str(mitdb_root / "100"), "atr")
    beats = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in "NA"])
    f = rr_features(beats, 360)
    np.testing.assert_allclose(f[1:, 0], np.diff(beats) / 360, rtol=1e-6)
    assert np.isfinite(f).all() and 0.5 < np.median(f[:, 0]) < 1.2


def test_density_ranks_premature_beats_above_normal_ones():
    rng = np.random.default_rng(0)
    normal = np.exp(rng.normal([0, 0, 0, 0], 0.05, size=(2000, 4))).astype(np.float32)
    premature = normal[:200].copy()
    premature[:, [0, 2]] *= 0.6
    premature[:, [1, 3]] *= 1.4
    d = RhythmDensity.fit(normal[200:])
    s_normal, s_premature = d.score(normal[:200]), d.score(premature)
    assert (s_premature > np.quantile(s_normal, 0.99)).mean() > 0.95
    again = RhythmDensity.from_dict(json.loads(json.dumps(d.to_dict())))
    np.testing.assert_allclose(again.score(premature), s_premature, rtol=1e-6)
    nan_row = np.full((1, 4), np.nan, dtype=np.float32)
    assert np.isfinite(d.score(np.concatenate([nan_row, normal[:5]]))).all()
    with pytest.raises(GanadInputError, match="rr_density"):
        RhythmDensity.fit(normal[:5])


def test_rr_density_on_windows_without_beat_positions_is_one_line(in_tmp, capfd):
    code = main(["train", "experiment=smoke", "score=rhythm", "trainer.max_epochs=1"])
    assert code == 2
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert err[-1].startswith("ganad: error:") and "rr_density" in err[-1]
    assert not list(in_tmp.rglob("metrics.json"))


@pytest.fixture(scope="module")
def rhythm_run(tmp_path_factory, mitdb_root) -> Path:
    base = tmp_path_factory.mktemp("rhythm")
    return train_beat_run(base, mitdb_root, "[100,101,119,208,209]", ["score=context"])


def test_context_run_scores_every_test_beat_with_every_component(rhythm_run: Path):
    from sklearn.metrics import roc_auc_score

    scores = pd.read_csv(rhythm_run / "scores.csv")
    comps = ["residual", "rr_density", "template"]
    assert {*comps, "score"} <= set(scores.columns)
    assert np.isfinite(scores[[*comps, "score"]].to_numpy()).all()
    metrics = json.loads((rhythm_run / "metrics.json").read_text())
    assert metrics["test/components"] == comps
    assert roc_auc_score(scores["label"], scores["template"]) > 0.75
    # records 119/208/209 hold many V and S beats: their rhythm alone separates them from N
    assert roc_auc_score(scores["label"], scores["rr_density"]) > 0.75


def test_rhythm_detector_scores_a_record_with_rr_columns(rhythm_run: Path, mitdb_root, tmp_path):
    out = tmp_path / "beats.csv"
    assert (
        main(["detect", f"run={rhythm_run}", f"input={mitdb_root / '119.hea'}", f"output={out}"])
        == 0
    )
    frame = pd.read_csv(out)
    assert set(CONTEXT_FEATURES) <= set(frame.columns)
    assert {"rr_density", "template"} <= set(frame.columns)
    assert np.isfinite(frame[["rr_density", "template"]].to_numpy()).all()
    v = frame["class"] == "V"
    assert frame.loc[v, "rr_density"].median() > frame.loc[~v, "rr_density"].median()


def test_equal_combination_uses_no_label(rhythm_run: Path, in_tmp):
    assert main(["evaluate", f"run={rhythm_run}", "+score.combine=equal"]) == 0
    (metrics_file,) = (rhythm_run / "evaluations").rglob("metrics.json")
    metrics = json.loads(metrics_file.read_text())
    np.testing.assert_allclose(metrics["test/lambda"], [1 / 3] * 3)
