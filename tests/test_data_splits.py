"""Splits on real MIT-BIH records and other data sets: determinism, no record overlap,
contamination exactly as requested, the ecgan 85/15 preset, max_samples."""

from __future__ import annotations

import numpy as np
import pytest

from ganad_cli.data import load_samples
from ganad_cli.data.base import Samples
from ganad_cli.data.mitbih import DS1, DS2
from ganad_cli.data.splits import make_splits
from ganad_cli.errors import GanadInputError

# a few DS1 and DS2 records that hold N, S, V and F beats
RECORDS = [100, 105, 106, 118, 124, 201, 208, 213, 223, 233]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("splits_cache")


@pytest.fixture
def mit(compose_train, mitdb_root, cache):
    def make(*overrides: str):
        cfg = compose_train(
            [
                "data=mitbih",
                f"data.root={mitdb_root}",
                f"data.cache_dir={cache}",
                "data.download=false",
                f"data.records={RECORDS}",
                *overrides,
            ]
        ).data
        return load_samples(cfg), cfg

    return make


def _ids(splits):
    """Identify beats by (record, first samples) since subsets do not keep indices."""
    return [
        {(g, x.tobytes()) for g, x in zip(s.group, s.x[:, 0, :8])}
        for s in (splits.train, splits.val, splits.test)
    ]


@pytest.mark.parametrize("split", ["intra_patient", "ecgan", "inter_patient"])
def test_deterministic_for_a_seed(mit, split):
    samples, cfg = mit(f"data.split={split}", "data.val_anomaly_fraction=0.2")
    a = make_splits(samples, cfg)
    b = make_splits(load_samples(cfg), cfg)
    for x, y in zip((a.train, a.val, a.test), (b.train, b.val, b.test)):
        assert np.array_equal(x.x, y.x) and np.array_equal(x.cls, y.cls)
    cfg.seed = 1
    c = make_splits(load_samples(cfg), cfg)
    assert not np.array_equal(a.val.x, c.val.x) or not np.array_equal(a.train.x, c.train.x)
    # every split is disjoint from the others
    tr, va, te = _ids(a)
    assert not (tr & va) and not (tr & te) and not (va & te)


def test_inter_patient_keeps_records_apart(mit):
    samples, cfg = mit("data.split=inter_patient", "data.val_anomaly_fraction=0.5")
    s = make_splits(samples, cfg)
    groups = [set(x.group) for x in (s.train, s.val, s.test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2])
    assert not (groups[1] & groups[2])
    ds1, ds2 = {str(r) for r in DS1}, {str(r) for r in DS2}
    assert groups[0] | groups[1] <= ds1 and groups[2] <= ds2
    assert groups[2] == ds2 & {str(r) for r in RECORDS}
    assert s.info["groups"]["test"] == sorted(groups[2])
    # the test set holds every beat of the DS2 records
    assert len(s.test) == int(np.isin(samples.group, sorted(ds2)).sum())
    assert s.train.label.sum() == 0  # no contamination asked for


@pytest.mark.parametrize("split", ["intra_patient", "ecgan", "inter_patient"])
def test_contamination_is_the_training_anomaly_share_on_a_fixed_test_set(mit, split):
    """Lambda = p(y=1) over the training set (the survey's); the test beats do not change."""
    runs = {}
    for share in (0.0, 0.01, 0.05):
        samples, cfg = mit(
            f"data.split={split}", f"data.contamination={share}", "data.contamination_max=0.05"
        )
        s = runs[share] = make_splits(samples, cfg)
        assert s.info["train_anomaly_share"] == pytest.approx(s.train.label.mean())
        assert abs(s.train.label.mean() - share) < 0.005
        assert s.info["train_contaminated"] == int(s.train.label.sum())
        n_normal = int((s.train.label == 0).sum())
        assert s.info["train_contaminated"] == round(share / (1 - share) * n_normal)
    zero = runs[0.0]
    for share, s in runs.items():
        for a, b in ((zero.test, s.test), (zero.val, s.val)):
            assert np.array_equal(a.x, b.x) and np.array_equal(a.cls, b.cls), share
            assert np.array_equal(a.group, b.group)
        assert np.array_equal(zero.train.x, s.train.x[s.train.label == 0])  # same normals
    assert runs[0.05].info["train_contaminated"] > runs[0.01].info["train_contaminated"] > 0
    if split == "inter_patient":  # contaminating anomalies come from the training records
        assert set(runs[0.05].train.group) <= set(runs[0.05].info["groups"]["train"])


def test_contamination_needs_enough_anomalies(mit):
    samples, cfg = mit("data.contamination=0.6")
    with pytest.raises(GanadInputError, match="data.contamination"):
        make_splits(samples, cfg)
    samples, cfg = mit("data.contamination=0.1", "data.contamination_max=0.05")
    with pytest.raises(GanadInputError, match="data.contamination_max"):
        make_splits(samples, cfg)


def test_ecgan_preset_85_15(mit):
    samples, cfg = mit("data.split=ecgan")
    s = make_splits(samples, cfg)
    n_normal = int((samples.label == 0).sum())
    test_normal = int((s.test.label == 0).sum())
    assert test_normal == n_normal - int(np.ceil(0.85 * n_normal))
    n_val_normal = int((s.val.label == 0).sum())
    # fold 0 is ecgan's first chunk of ceil(n / 5) train+validation normals
    per_fold = int(np.ceil(np.ceil(0.85 * n_normal) / 5))
    assert n_val_normal == per_fold
    # anomalies shared between validation and test in proportion to test normals and chunk size
    share = test_normal / (test_normal + per_fold)
    n_anom = int((samples.label == 1).sum())
    assert int(s.test.label.sum()) == int(np.ceil(n_anom * share))
    assert int(s.val.label.sum()) == n_anom - int(np.ceil(n_anom * share))
    assert len(s.train) + len(s.val) + len(s.test) == len(samples)


def _normals_and_vs(n_normal: int, n_anomalous: int) -> Samples:
    cls = np.array(["N"] * n_normal + ["V"] * n_anomalous)
    x = np.arange(len(cls), dtype=np.float32).reshape(-1, 1, 1).repeat(4, axis=2)
    return Samples(x=x, cls=cls, group=np.array(["g"] * len(cls)))


def test_ecgan_folds_are_chunks_of_ceil_n_over_folds(compose_train):
    """26 normals: ceil(0.85 * 26) = 23 train+validation, chunks of ceil(23 / 5) = 5: 5, 5, 5,
    5, 3 (np.array_split would give 5, 5, 5, 4, 4); the test set is the same for every fold."""
    base = ["data.split=ecgan", "data.batch_size=2"]
    samples = _normals_and_vs(26, 10)
    sizes, tests = [], []
    for fold in range(5):
        s = make_splits(samples, compose_train([*base, f"data.fold={fold}"]).data)
        sizes.append(int((s.val.label == 0).sum()))
        assert len(s.train) == 23 - sizes[-1]
        tests.append(s.test.x[:, 0, 0].tolist())
    assert sizes == [5, 5, 5, 5, 3]
    assert all(t == tests[0] for t in tests)
    # test share 3 / (3 + 5) of the 10 anomalies, rounded up
    assert int(np.sum(np.isin(tests[0], np.arange(26, 36)))) == 4
    # 7 normals: 6 train+validation in chunks of 2 are only 3 folds
    few = _normals_and_vs(7, 4)
    make_splits(few, compose_train([*base, "data.batch_size=1", "data.fold=2"]).data)
    with pytest.raises(GanadInputError, match=r"data\.fold.*3 folds"):
        make_splits(few, compose_train([*base, "data.batch_size=1", "data.fold=3"]).data)


def test_val_anomaly_fraction_intra(mit):
    samples, cfg = mit("data.val_anomaly_fraction=0.25")
    s = make_splits(samples, cfg)
    n_anom = int((samples.label == 1).sum())
    assert int(s.val.label.sum()) == round(0.25 * n_anom)
    assert int(s.val.label.sum()) + int(s.test.label.sum()) == n_anom


def test_val_anomalies_per_class_as_the_beatgan_authors(compose_train):
    """data.val_anomaly_per_class: ceil(0.1 * n) of each class (sklearn's train_test_split, as
    BeatGAN's ecg/data.py), the same validation and test anomalies for every fold."""
    cls = np.array(["N"] * 50 + ["S"] * 31 + ["V"] * 9 + ["F"] * 1)
    x = np.arange(len(cls), dtype=np.float32).reshape(-1, 1, 1).repeat(4, axis=2)
    samples = Samples(x=x, cls=cls, group=np.array(["g"] * len(cls)))
    base = ["data.val_anomaly_fraction=0.1", "data.val_anomaly_per_class=true", "data.batch_size=2"]
    vals = []
    for fold in range(5):
        s = make_splits(samples, compose_train([*base, f"data.fold={fold}"]).data)
        anom = s.val.label == 1
        counts = {c: int(np.sum(s.val.cls[anom] == c)) for c in "SVF"}
        assert counts == {"S": 4, "V": 1, "F": 1}  # ceil(3.1), ceil(0.9), ceil(0.1)
        assert int(s.test.label.sum()) == 41 - 6
        vals.append(sorted(s.val.x[anom][:, 0, 0].tolist()))
    assert all(v == vals[0] for v in vals)
    pooled = make_splits(samples, compose_train([base[0], base[2]]).data)
    assert int(pooled.val.label.sum()) == round(0.1 * 41)  # the default: 10 % of all of them


def test_class_counts_recorded(mit):
    samples, cfg = mit()
    s = make_splits(samples, cfg)
    total: dict[str, int] = {}
    for part in s.info["class_counts"].values():
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    names, counts = np.unique(samples.cls, return_counts=True)
    assert total == {str(k): int(v) for k, v in zip(names, counts)}


def test_normal_classes_absent_is_input_error(mit):
    samples, cfg = mit("data.normal_classes=[X]")
    with pytest.raises(GanadInputError, match="normal_classes"):
        make_splits(samples, cfg)


def test_max_samples_subsets_seeded(mit):
    a, cfg = mit("data.max_samples=500")
    b, _ = mit("data.max_samples=500")
    assert len(a) == 500 and np.array_equal(a.x, b.x)


def test_inter_patient_group_folds_for_any_data(compose_train):
    """Without group lists, inter_patient makes seeded group-wise folds (here synthetic data)."""
    cfg = compose_train(["data.split=inter_patient", "data.batch_size=4"]).data
    rng = np.random.default_rng(0)
    n = 600
    cls = np.where(rng.random(n) < 0.2, "V", "N")
    samples = Samples(
        x=rng.normal(size=(n, 1, 16)).astype(np.float32),
        cls=cls,
        group=np.array([f"p{i % 12}" for i in range(n)]),
    )
    s = make_splits(samples, cfg)
    groups = [set(x.group) for x in (s.train, s.val, s.test)]
    assert not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert not (groups[0] & groups[1])
    assert len(groups[2]) in (2, 3)  # 12 groups in 5 folds


# anomaly classes per DS1 record (beats with the authors' classes; Q only in 101, 203, 208)
DS1_ANOMALIES = {
    "101": "SSSQQ", "106": "V", "108": "VSF", "109": "FV", "112": "S", "114": "VSF", "115": "",
    "116": "VS", "118": "VS", "119": "V", "122": "", "124": "SVF", "201": "SVF", "203": "VSQF",
    "205": "VSF", "207": "VS", "208": "FVSQ", "209": "SV", "215": "VSF", "220": "S",
    "223": "VSF", "230": "V",
}  # fmt: skip


def _ds1_like(n_normal: int = 30) -> Samples:
    cls, group = [], []
    for g, anomalies in DS1_ANOMALIES.items():
        cls += ["N"] * n_normal + list(anomalies)
        group += [g] * (n_normal + len(anomalies))
    n = len(cls)
    x = np.random.default_rng(0).normal(size=(n, 1, 8)).astype(np.float32)
    return Samples(x=x, cls=np.array(cls), group=np.array(group))


def test_inter_patient_validates_on_whole_records_holding_every_class(compose_train):
    base = ["data.split=inter_patient", "data.batch_size=4", "data.val_anomaly_fraction=0.1"]
    groups = list(DS1_ANOMALIES)
    base += [f"data.train_groups={groups[:-2]}", f"data.test_groups={groups[-2:]}"]
    chosen = []
    for seed in range(4):
        cfg = compose_train([*base, f"data.seed={seed}", "data.val_required_classes=[S,V,F]"])
        samples = _ds1_like()
        s = make_splits(samples, cfg.data)
        val_g = s.info["groups"]["val"]
        chosen.append(tuple(val_g))
        # every beat of the validation records, anomalies included (no val_anomaly_fraction)
        assert len(s.val) == int(np.isin(samples.group, val_g).sum())
        assert {"S", "V", "F"} <= set(s.val.cls) and s.info["val_missing_classes"] == []
        assert s.info["val_required_classes"] == ["F", "S", "V"]
        assert not set(val_g) & set(s.info["groups"]["train"])
    assert len(set(chosen)) > 1  # the split follows the seed
    # null = every anomaly class of the train groups, Q included
    cfg = compose_train([*base, "data.seed=0"])
    s = make_splits(_ds1_like(), cfg.data)
    assert "Q" in set(s.val.cls) and s.info["val_required_classes"] == ["F", "Q", "S", "V"]
    # a class no validation record can bring is reported, not silently dropped
    only = "data.train_groups=['106','119','122','101']"  # no F beat in any of them
    cfg = compose_train([*base, "data.seed=0", only, "data.val_required_classes=[S,V,F]"])
    s = make_splits(_ds1_like(), cfg.data)
    assert "F" in s.info["val_missing_classes"] and len(s.info["groups"]["train"]) >= 1


def test_mitbih_kachuee_beats_scaled_per_split_as_ecgan(mit, compose_train):
    """data.scale=ecgan on our Kachuee extraction: each split min-max to [-1, 1] on its own;
    the windows' [0, 1] and the zero padding make that 2x - 1 here."""
    from ganad_cli.config import validate_config

    base = ["data.preprocess=kachuee", "data.split=ecgan", "data.records=[100,105]"]
    samples, cfg = mit(*base, "data.scale=ecgan")
    plain = make_splits(samples, mit(*base)[1])
    s = make_splits(load_samples(cfg), cfg)
    assert s.test.x.shape[2] == 187  # Kachuee's length, no resampling
    for name in ("train", "val", "test"):
        x, x0 = getattr(s, name).x, getattr(plain, name).x
        assert s.info["scale"][name] == [0.0, 1.0]
        assert x.min() == -1.0 and x.max() == 1.0 and np.allclose(x, 2.0 * x0 - 1.0)
    validate_config(compose_train(["data=mitbih", *base, "data.scale=ecgan"]))
    with pytest.raises(GanadInputError, match=r"data\.scale.*preprocess=kachuee"):
        validate_config(compose_train(["data=mitbih", "data.scale=ecgan"]))
    with pytest.raises(GanadInputError, match=r"data\.scale"):
        validate_config(compose_train(["data=mitbih", "data.scale=global"]))


def test_detect_cuts_kachuee_beats_on_the_ecgan_scale(compose_train):
    """`ganad detect` on a recording: a data.scale=ecgan run's beats map from [0, 1] by 2x - 1."""
    from ganad_cli.evaluation.beatscore import _cut

    t = np.arange(360 * 20) / 360.0
    signal = (np.sin(2 * np.pi * 1.2 * t) ** 21)[:, None]
    beats = np.arange(200, len(t) - 400, 300)
    base = ["data=mitbih", "data.preprocess=kachuee"]
    plain, _ = _cut(compose_train(base).data, signal, 360, beats)
    scaled, _ = _cut(compose_train([*base, "data.scale=ecgan"]).data, signal, 360, beats)
    assert plain.min() >= 0.0 and plain.max() <= 1.0 and scaled.dtype == np.float32
    assert np.allclose(scaled, 2.0 * plain - 1.0, atol=1e-6)
