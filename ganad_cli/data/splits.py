"""One split/contamination logic for every data set (intra-patient, beat-wise folds).

Normals are shuffled (seeded) into `folds` folds; fold `fold` is the test fold, the rest is
training, and `val_fraction` of the training normals become validation. Anomalies never enter
training except through contamination: `contamination` (Lambda) is the fraction of all anomalies
moved into the training set. Of the remaining anomalies, `val_anomaly_fraction` go to validation
(so score weights and tau can use labels there), the rest to test.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from ganad_cli.data.base import Samples, Splits
from ganad_cli.errors import GanadInputError


def assign_labels(samples: Samples, normal_classes: list[str]) -> Samples:
    present = set(np.unique(samples.cls).tolist())
    if not present & set(normal_classes):
        raise GanadInputError(
            f"config key 'data.normal_classes' = {list(normal_classes)} names no class present "
            f"in the data; classes present: {sorted(present)}"
        )
    samples.label = (~np.isin(samples.cls, list(normal_classes))).astype(np.int64)
    return samples


def make_splits(samples: Samples, cfg: DictConfig) -> Splits:
    samples = assign_labels(samples, list(cfg.normal_classes))
    rng = np.random.default_rng(cfg.seed)
    normal_idx = rng.permutation(np.flatnonzero(samples.label == 0))
    anomaly_idx = rng.permutation(np.flatnonzero(samples.label == 1))

    folds = np.array_split(normal_idx, cfg.folds)
    test_normal = folds[cfg.fold]
    rest = np.concatenate([f for i, f in enumerate(folds) if i != cfg.fold])
    n_val = max(1, round(len(rest) * cfg.val_fraction))
    val_normal, train_normal = rest[:n_val], rest[n_val:]

    n_contam = round(len(anomaly_idx) * cfg.contamination)
    contam, anomaly_rest = anomaly_idx[:n_contam], anomaly_idx[n_contam:]
    n_val_anom = round(len(anomaly_rest) * cfg.val_anomaly_fraction)
    val_anom, test_anom = anomaly_rest[:n_val_anom], anomaly_rest[n_val_anom:]

    train_idx = np.sort(np.concatenate([train_normal, contam]))
    val_idx = np.sort(np.concatenate([val_normal, val_anom]))
    test_idx = np.sort(np.concatenate([test_normal, test_anom]))
    splits = Splits(
        train=samples.subset(train_idx),
        val=samples.subset(val_idx),
        test=samples.subset(test_idx),
        info={
            "split": "intra_patient",
            "fold": int(cfg.fold),
            "folds": int(cfg.folds),
            "contamination": float(cfg.contamination),
            "train_contaminated": int(n_contam),
            "n_train": len(train_idx),
            "n_val": len(val_idx),
            "n_test": len(test_idx),
        },
    )
    check_splits(splits, cfg)
    return splits


def check_splits(splits: Splits, cfg: DictConfig) -> None:
    if len(splits.train) < cfg.batch_size:
        raise GanadInputError(
            f"config key 'data.batch_size' = {cfg.batch_size} exceeds the {len(splits.train)} "
            "training samples; expected a batch size no larger than the training set"
        )
    if len(splits.test) == 0 or splits.test.label.sum() == 0 or splits.test.label.min() == 1:
        raise GanadInputError(
            "the test split needs both normal and anomalous samples; check data.normal_classes, "
            "data.val_anomaly_fraction and data.contamination"
        )
