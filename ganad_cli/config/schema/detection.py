"""Schemas of the detector's groups: `inversion`, `score`, `threshold`, and `bench`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class InversionConfig:
    name: str = MISSING
    eps: float = 0.05
    n_max: int = 100
    lr: float = 0.05
    batch_size: int = 256
    similarity: str = "l1"
    rbf_bandwidth: float = 1.0
    # similarity=schlegl: (1 - lambda) * residual + lambda * feature loss (Schlegl et al. 2017)
    schlegl_lambda: float = 0.1
    restarts: int = 1
    init: str = "prior"
    restriction: str = "none"
    chi_weight: float = 0.0
    seed: int = 0
    # optimiser on z (torch.optim): adam | sgd | rmsprop; momentum for sgd/rmsprop
    optimizer: str = "adam"
    momentum: float = 0.0
    # learning-rate schedule over the n_max steps: constant | cosine | exponential (lr * gamma^t)
    lr_schedule: str = "constant"
    lr_gamma: float = 0.98
    # a sample's lr is divided by lr_drop_factor once its dissimilarity < lr_drop_below
    # (ecgan's ADAPT_LR: 0.05 and 10); null = never
    lr_drop_below: float | None = None
    lr_drop_factor: float = 10.0
    # restriction=clamp: every |z_i| <= truncation (the truncated prior region)
    truncation: float = 2.0
    # data-driven eps (ganad_cli.inversion.run.calibrate_eps): eps = this quantile of the
    # dissimilarities of validation normals at `eps_reference` (start: the initial z; search: after
    # a full n_max search); null = use eps as given. Never looks at test data.
    eps_quantile: float | None = None
    eps_reference: str = "start"
    eps_calibration_n: int = 512
    # null = wherever the model is; cpu | cuda moves the model before inverting
    device: str | None = None
    # AnoGAN: steps between host reads of "is any sample still searching?" (only ends a batch
    # early; results do not depend on it)
    check_every: int = 10
    # AnoGAN: at a check, cut the batch down to the samples still searching once they are at most
    # this fraction of it (0 = never: pure masking, finished samples keep passing through G)
    compact_below: float = 0.5
    # G (and E) under torch.autocast: none | bf16 (CPU and CUDA) | fp16 (CUDA only)
    amp: str = "none"
    # CUDA: allow TF32 matmuls and convolutions while inverting
    tf32: bool = False


@dataclass
class BenchConfig:
    """`ganad bench`: timing grid over inversion x eps x n_max x batch on n test samples."""

    name: str = MISSING
    n: int = 256
    inversions: list[str] = field(default_factory=lambda: ["anogan", "encoder"])
    eps: list[float] = field(default_factory=lambda: [0.005, 0.05])
    n_max: list[int] = field(default_factory=lambda: [100, 500, 1000])
    batch: list[int] = field(default_factory=lambda: [1, 64, 512])
    min_timings: int = 3
    warmup_steps: int = 5
    # extra inversion keys applied on top of the run's own inversion settings (lr, similarity, ...)
    inversion: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


# ---------------------------------------------------------------------------- score, threshold


@dataclass
class ScoreConfig:
    name: str = MISSING
    components: list[str] = field(default_factory=lambda: ["residual", "discriminator"])
    residual_norm: str = "l1"
    combine: str = "weighted"
    grid_step: float = 0.05
    objective: str = "auroc"
    standardize: bool = True
    # rbf residual: 1 - exp(-mean((x - x_hat)^2) / (2 bandwidth^2))
    rbf_bandwidth: float = 1.0
    # feature_matching layer: -1 = the features the discriminator returns, k >= 0 = output of
    # its k-th conv/linear/recurrent layer (scoring.components.feature_layers)
    feature_layer: int = -1
    # feature_matching distance: l1 = mean |f(x) - f(x_hat)|, l2 = mean squared (f-AnoGAN)
    feature_norm: str = "l1"
    # combine=fixed: one weight per component (f-AnoGAN: [1, kappa]); unused otherwise
    weights: list[float] | None = None
    # discriminator centring on validation normals (f-AnoGAN): none, mean (shift), abs (|d - mean|)
    discriminator_center: str = "none"
    # combine=svm: SVC(C, gamma) with validation labels, OneClassSVM(nu, gamma) without
    svm_c: float = 1.0
    svm_nu: float = 0.1
    svm_gamma: Any = "scale"
    # combine=svm: its inputs standardised on validation normals (standard) or min-max scaled
    # by the whole validation set's range (minmax, ecgan); ignored by the other combines
    svm_scaling: str = "standard"
    # latent_norm's centre: auto (chi mode for a searched z, validation normals' median norm
    # for encoder codes) or ecgan_mode (signed, training codes' histogram mode; inversion=encoder)
    latent_center: str = "auto"
    # latent_knn: mean distance to the knn_k nearest training codes; at most knn_max_train codes
    # (a seeded subsample beyond), each needing one inversion of a training beat
    knn_k: int = 1
    knn_max_train: int = 100_000


@dataclass
class ThresholdConfig:
    name: str = MISSING
    beta: float = 1.0
    quantile: float = 0.95
    value: float | None = None
