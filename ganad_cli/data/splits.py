"""One split/contamination logic for every data set.

`data.split`:
- intra_patient (beat-wise, BeatGAN): normals are shuffled (seeded) into `folds` folds; fold `fold`
  is the test fold, the rest is training, and `val_fraction` of the training normals become
  validation. Of the anomalies not used for contamination, `val_anomaly_fraction` go to
  validation (so score weights and tau can use labels there), the rest to test.
- ecgan (emundo/ecgan "normal only" split): `train_fraction` (0.85) of the normals form
  train+validation, the other 15 % are test; train+validation normals are cut into chunks of
  ceil(n / `folds`) as ecgan cuts them (ecgan/utils/splitting.py:116-117; the last chunk is the
  smaller one) and chunk `fold` is validation. Anomalies are shared between validation and test in
  proportion to the test normals and the chunk size (splitting.py:119-124), the same for every
  fold (so validation holds labelled anomalies by construction).
- inter_patient: whole groups (records/patients) per split, never one group in two splits. Test
  groups are `test_groups` (MIT-BIH: de Chazal DS2) or, when unset, seeded group folds; the train
  groups (DS1) are divided group-wise into training and validation groups: `val_fraction` of them
  in seeded order, then the next ones in that order that hold an anomaly class validation still
  lacks (`val_required_classes`, null = every anomaly class of the train groups), as long as a
  training group is left. Validation holds every beat of its groups (`val_anomaly_fraction` is
  not used); `info` records the groups and any required class validation could not get.
- files (data=kachuee_csv): the data set's own files, named by each sample's group "train" or
  "test". The test file is the test set; of the train file, `val_fraction` of the normals (seeded)
  and `val_anomaly_fraction` of the anomalies not used for contamination go to validation, the
  other normals to training (its remaining anomalies are not used). `folds`/`fold` are not used.

`data.scale=ecgan` (data=kachuee_csv, data=mitbih): after the split, each split is min-max scaled
to [-1, 1] by its own range, as ecgan does (`ganad_cli.data.scaling`).

Contamination (Lambda = `contamination`, the survey's definition): the share of anomalies in the
training set, which the GAN treats as normal: round(Lambda / (1 - Lambda) * training normals)
anomalies join the training normals. They come from a pool held out of validation and test, sized
for `contamination_max` (null = Lambda): the runs of one fold and seed with any Lambda up to
contamination_max share the same training normals, validation and test beats (inter_patient takes
them from the training groups' anomalies, which validation and test never see). At Lambda = 0
without contamination_max nothing is held out. The true labels stay in `Splits.train.label`;
`info` records the counts and the achieved share (`train_anomaly_share`).
"""

from __future__ import annotations

from math import ceil

import numpy as np
from omegaconf import DictConfig

from ganad_cli.config.choices import DATA_SPLITS
from ganad_cli.data.base import Samples, Splits
from ganad_cli.data.scaling import scale_each_split
from ganad_cli.errors import GanadInputError


def assign_labels(samples: Samples, normal_classes: list[str]) -> Samples:
    present = set(np.unique(samples.cls).tolist())
    normal_classes = [str(c) for c in normal_classes]
    if not present & set(normal_classes):
        raise GanadInputError(
            f"config key 'data.normal_classes' = {list(normal_classes)} names no class present "
            f"in the data; classes present: {sorted(present)}"
        )
    samples.label = (~np.isin(samples.cls, normal_classes)).astype(np.int64)
    return samples


def n_contaminating(share: float, n_normal: int) -> int:
    """Anomalies to add to n_normal training normals for an anomaly share of `share`."""
    return round(share / (1.0 - share) * n_normal)


def _contaminate(
    anomaly_idx: np.ndarray, n_train_normal: int, cfg: DictConfig, pool_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(moved into training, the anomalies left for validation and test) from already shuffled
    anomaly indices: a pool for contamination_max is held out, its first ones contaminate.
    pool_only: every anomaly is eligible and none goes to validation or test (inter_patient)."""
    share = float(cfg.contamination)
    top = cfg.get("contamination_max")
    top = share if top is None else float(top)
    if not share <= top < 1.0:
        raise GanadInputError(
            f"config key 'data.contamination_max' must be in [data.contamination={share}, 1), "
            f"got {top}"
        )
    n, n_pool = n_contaminating(share, n_train_normal), n_contaminating(top, n_train_normal)
    if pool_only:
        n_pool = n
    if n_pool > len(anomaly_idx) or (n_pool == len(anomaly_idx) > 0 and not pool_only):
        key = "data.contamination_max" if top > share and not pool_only else "data.contamination"
        where = "eligible" if pool_only else "available, and validation and test need some"
        raise GanadInputError(
            f"config key '{key}' = {top if key.endswith('max') else share}: that anomaly share "
            f"among {n_train_normal} training normals needs {n_pool} anomalies, but "
            f"{len(anomaly_idx)} are {where}; expected a smaller Lambda"
        )
    return anomaly_idx[:n], anomaly_idx[n_pool:]


def _intra_patient(samples: Samples, cfg: DictConfig, rng: np.random.Generator) -> tuple:
    normal_idx = rng.permutation(np.flatnonzero(samples.label == 0))
    anomaly_idx = rng.permutation(np.flatnonzero(samples.label == 1))
    folds = np.array_split(normal_idx, cfg.folds)
    test_normal = folds[cfg.fold]
    rest = np.concatenate([f for i, f in enumerate(folds) if i != cfg.fold])
    n_val = max(1, round(len(rest) * cfg.val_fraction))
    val_normal, train_normal = rest[:n_val], rest[n_val:]

    contam, anomaly_rest = _contaminate(anomaly_idx, len(train_normal), cfg)
    val_anom, test_anom = _val_anomalies(anomaly_rest, samples.cls, cfg)
    val, test = [val_normal, val_anom], [test_normal, test_anom]
    return train_normal, contam, len(anomaly_idx), val, test, {}


def _val_anomalies(
    anomaly_rest: np.ndarray, cls: np.ndarray, cfg: DictConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The validation and test anomalies of `anomaly_rest` (already in seeded order):
    `val_anomaly_fraction` of all of them, or, with `val_anomaly_per_class`, ceil(fraction * n)
    of each class's n (the BeatGAN authors' per-class train_test_split, ecg/data.py:71-86)."""
    fraction = cfg.val_anomaly_fraction
    if not cfg.get("val_anomaly_per_class", False):
        n_val = round(len(anomaly_rest) * fraction)
        return anomaly_rest[:n_val], anomaly_rest[n_val:]
    val, test = [], []
    for name in sorted(np.unique(cls[anomaly_rest]).tolist()):
        idx = anomaly_rest[cls[anomaly_rest] == name]
        n_val = ceil(len(idx) * fraction) if fraction > 0 else 0
        val.append(idx[:n_val])
        test.append(idx[n_val:])
    empty = np.empty(0, dtype=anomaly_rest.dtype)
    return np.concatenate(val or [empty]), np.concatenate(test or [empty])


def _ecgan(samples: Samples, cfg: DictConfig, rng: np.random.Generator) -> tuple:
    normal_idx = rng.permutation(np.flatnonzero(samples.label == 0))
    anomaly_idx = rng.permutation(np.flatnonzero(samples.label == 1))
    n_tv = ceil(len(normal_idx) * cfg.train_fraction)
    train_val, test_normal = normal_idx[:n_tv], normal_idx[n_tv:]
    per_fold = ceil(n_tv / cfg.folds)
    folds = [train_val[i : i + per_fold] for i in range(0, n_tv, per_fold)]
    if cfg.fold >= len(folds):
        raise GanadInputError(
            f"config key 'data.fold' = {cfg.fold}: data.split=ecgan cuts the {n_tv} "
            f"train+validation normals into chunks of ceil({n_tv} / {cfg.folds}) = {per_fold}, "
            f"which gives {len(folds)} folds; expected a fold below {len(folds)} or more normals"
        )
    val_normal = folds[cfg.fold]
    train_normal = np.concatenate([f for i, f in enumerate(folds) if i != cfg.fold])

    contam, anomaly_rest = _contaminate(anomaly_idx, len(train_normal), cfg)
    # ecgan's share uses the chunk size, so every fold has the same test set
    share = len(test_normal) / max(1, len(test_normal) + per_fold)
    n_test_anom = ceil(len(anomaly_rest) * share)
    test_anom, val_anom = anomaly_rest[:n_test_anom], anomaly_rest[n_test_anom:]
    info = {"train_fraction": float(cfg.train_fraction)}
    val, test = [val_normal, val_anom], [test_normal, test_anom]
    return train_normal, contam, len(anomaly_idx), val, test, info


def _files(samples: Samples, cfg: DictConfig, rng: np.random.Generator) -> tuple:
    roles = sorted(np.unique(samples.group).tolist())
    if roles != ["test", "train"]:
        raise GanadInputError(
            "config key 'data.split' = files needs beats from a train file and a test file "
            f"(data=kachuee_csv); the data's groups are {roles[:6]}"
        )
    in_train = samples.group == "train"
    normal_idx = rng.permutation(np.flatnonzero(in_train & (samples.label == 0)))
    anomaly_idx = rng.permutation(np.flatnonzero(in_train & (samples.label == 1)))
    n_val = max(1, round(len(normal_idx) * cfg.val_fraction))
    val_normal, train_normal = normal_idx[:n_val], normal_idx[n_val:]
    contam, anomaly_rest = _contaminate(anomaly_idx, len(train_normal), cfg)
    n_val_anom = round(len(anomaly_rest) * cfg.val_anomaly_fraction)
    info = {"train_file_anomalies_unused": len(anomaly_rest) - n_val_anom}
    test = np.flatnonzero(~in_train)
    return (
        train_normal,
        contam,
        len(anomaly_idx),
        [val_normal, anomaly_rest[:n_val_anom]],
        [test],
        info,
    )


def _inter_patient(samples: Samples, cfg: DictConfig, rng: np.random.Generator) -> tuple:
    present = sorted(np.unique(samples.group).tolist())
    if cfg.get("train_groups") and cfg.get("test_groups"):
        train_g = [g for g in map(str, cfg.train_groups) if g in present]
        test_g = [g for g in map(str, cfg.test_groups) if g in present]
        both = sorted(set(train_g) & set(test_g))
        if both:
            raise GanadInputError(
                f"config keys 'data.train_groups' and 'data.test_groups' share {both}; "
                "expected disjoint groups"
            )
    else:
        if len(present) < 3:
            raise GanadInputError(
                f"data.split=inter_patient needs at least 3 groups (records/patients); the data "
                f"has {present}"
            )
        folds = np.array_split(rng.permutation(present), min(cfg.folds, len(present)))
        test_g = sorted(folds[cfg.fold % len(folds)].tolist())
        train_g = [g for g in present if g not in test_g]
    if len(train_g) < 2 or not test_g:
        raise GanadInputError(
            f"data.split=inter_patient needs >= 2 training groups and >= 1 test group among the "
            f"groups present {present}; got train {train_g}, test {test_g} "
            "(check data.records, data.train_groups, data.test_groups)"
        )
    val_g, fit_g, required, missing = _validation_groups(samples, train_g, cfg, rng)

    in_fit, in_val = np.isin(samples.group, fit_g), np.isin(samples.group, val_g)
    normal, anomalous = samples.label == 0, samples.label == 1
    train_normal = np.flatnonzero(in_fit & normal)
    eligible = rng.permutation(np.flatnonzero(in_fit & anomalous))
    contam, _unused = _contaminate(eligible, len(train_normal), cfg, pool_only=True)
    test_idx = np.flatnonzero(np.isin(samples.group, test_g))
    info = {
        "groups": {"train": fit_g, "val": val_g, "test": sorted(test_g)},
        "unused_groups": sorted(set(present) - set(train_g) - set(test_g)),
        "val_required_classes": required,
        "val_missing_classes": missing,
    }
    val = [np.flatnonzero(in_val)]  # whole records: every normal and every anomaly
    return train_normal, contam, len(eligible), val, [test_idx], info


def _validation_groups(
    samples: Samples, train_g: list[str], cfg: DictConfig, rng: np.random.Generator
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(validation groups, training groups, required anomaly classes, those still missing)."""
    order = [str(g) for g in rng.permutation(train_g)]
    n_val = min(len(order) - 1, max(1, round(len(order) * cfg.val_fraction)))
    anomalous = samples.label == 1
    classes = {
        g: set(np.unique(samples.cls[anomalous & (samples.group == g)]).tolist()) for g in order
    }
    available = set().union(*classes.values())
    wanted = cfg.get("val_required_classes")
    required = sorted(available if wanted is None else set(map(str, wanted)))
    val, rest = order[:n_val], order[n_val:]
    missing = set(required) - set().union(*(classes[g] for g in val))
    while missing and len(rest) > 1:
        pick = next((g for g in rest if classes[g] & missing), None)
        if pick is None:
            break
        val.append(pick)
        rest.remove(pick)
        missing -= classes[pick]
    return sorted(val), sorted(rest), required, sorted(missing)


def _class_counts(s: Samples) -> dict[str, int]:
    names, counts = np.unique(s.cls, return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts)}


def make_splits(samples: Samples, cfg: DictConfig) -> Splits:
    split = cfg.get("split", "intra_patient")
    if split not in DATA_SPLITS:
        raise GanadInputError(
            f"config key 'data.split' must be one of {list(DATA_SPLITS)}, got {split!r}"
        )
    samples = assign_labels(samples, list(cfg.normal_classes))
    rng = np.random.default_rng(cfg.seed)
    fn = {
        "intra_patient": _intra_patient,
        "ecgan": _ecgan,
        "inter_patient": _inter_patient,
        "files": _files,
    }[split]
    train_normal, contam, n_eligible, val_parts, test_parts, extra = fn(samples, cfg, rng)

    train_idx = np.sort(np.concatenate([train_normal, contam]).astype(np.int64))
    val_idx = np.sort(np.concatenate(val_parts).astype(np.int64))
    test_idx = np.sort(np.concatenate(test_parts).astype(np.int64))
    splits = Splits(
        train=samples.subset(train_idx),
        val=samples.subset(val_idx),
        test=samples.subset(test_idx),
        info={
            "split": split,
            "fold": int(cfg.fold),
            "folds": int(cfg.folds),
            "seed": int(cfg.seed),
            "contamination": float(cfg.contamination),
            "contamination_max": cfg.get("contamination_max"),
            "train_contaminated": len(contam),
            "train_anomaly_eligible": int(n_eligible),
            "train_anomaly_share": len(contam) / max(1, len(train_idx)),
            "n_train": len(train_idx),
            "n_val": len(val_idx),
            "n_test": len(test_idx),
            **extra,
        },
    )
    splits.info["class_counts"] = {
        name: _class_counts(s)
        for name, s in (("train", splits.train), ("val", splits.val), ("test", splits.test))
    }
    if samples.image_shape is not None:
        splits.info["image_shape"] = list(samples.image_shape)
    if cfg.get("scale") == "ecgan":
        splits.info["scale"] = scale_each_split(splits)
    check_splits(splits, cfg)
    return splits


def check_splits(splits: Splits, cfg: DictConfig) -> None:
    if len(splits.train) < cfg.batch_size:
        raise GanadInputError(
            f"config key 'data.batch_size' = {cfg.batch_size} exceeds the {len(splits.train)} "
            "training samples; expected a batch size no larger than the training set"
        )
    if len(splits.val) == 0:
        raise GanadInputError(
            "the validation split is empty; check data.val_fraction and data.max_samples"
        )
    if len(splits.test) == 0 or splits.test.label.sum() == 0 or splits.test.label.min() == 1:
        raise GanadInputError(
            "the test split needs both normal and anomalous samples; check data.normal_classes, "
            "data.val_anomaly_fraction and data.contamination"
        )
