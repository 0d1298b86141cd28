"""Structured config schemas (Hydra ConfigStore) and value checks.

Every YAML in conf/<group>/ starts with a defaults entry pointing at one of the schemas stored here
(`/schema/<group>/<name>@_here_`), so Hydra rejects unknown keys and wrong types while composing.
Range checks that types cannot express live in `validate_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from ganad_cli.choices import (
    BATCHNORM_CRITIC_BACKBONES,
    CENTERINGS,
    COMBINES,
    COMPONENTS,
    DISCRIMINATOR_COMPONENTS,
    ENCODER_MODELS,
    EPOCH_SELECTION,
    FEATURE_NORMS,
    INVERSION_OPTIMIZERS,
    LR_SCHEDULES,
    MODEL_NAMES,
    MODELS_WITHOUT_DISCRIMINATOR,
    OUTPUT_ACTIVATIONS,
    RESIDUAL_NORMS,
    RESTRICTIONS,
    UPDATE_ORDERS,
    WEIGHT_INITS,
)
from ganad_cli.errors import GanadInputError

# ----------------------------------------------------------------------------------------- data


@dataclass
class DataConfig:
    """Fields every data set shares: labels, splits, contamination, loading."""

    name: str = MISSING
    root: str | None = None
    normal_classes: list[str] = field(default_factory=lambda: ["N"])
    split: str = "intra_patient"
    folds: int = 5
    fold: int = 0
    val_fraction: float = 0.1
    val_anomaly_fraction: float = 0.0
    # the survey's Lambda: the share of anomalies in the training set
    contamination: float = 0.0
    # the largest Lambda compared: its anomalies are held out of validation and test for every
    # Lambda, so those stay the same beats (null = contamination)
    contamination_max: float | None = None
    # split=ecgan: fraction of normals in train+validation (the rest is test), as in ecgan
    train_fraction: float = 0.85
    # split=inter_patient: groups (records/patients) for train+validation and for test;
    # null = seeded group-wise folds (`folds`, `fold`)
    train_groups: list[str] | None = None
    test_groups: list[str] | None = None
    # split=inter_patient: anomaly classes the validation groups must hold (more groups are
    # taken until they do); null = every anomaly class of the train groups
    val_required_classes: list[str] | None = None
    max_samples: int | None = None
    batch_size: int = 64
    num_workers: int = 0
    seed: int = 0


@dataclass
class SyntheticECGConfig(DataConfig):
    name: str = "synthetic_ecg"
    n_normal: int = 4000
    n_per_anomaly: int = 120
    length: int = 128
    noise: float = 0.02
    anomaly_types: list[str] = field(
        default_factory=lambda: ["pvc", "premature", "inverted_t", "st_shift", "noise_burst"]
    )


@dataclass
class MitbihConfig(DataConfig):
    """MIT-BIH Arrhythmia Database via wfdb (root: data.root, $GANAD_MITDB or data/mitdb)."""

    name: str = "mitbih"
    download: bool = True
    records: list[int] | None = None
    preprocess: str = "beatgan"
    lead: str = "MLII"
    two_leads: bool = False
    bandpass: list[float] | None = None
    missing_lead: str = "skip"
    exclude_paced: bool | None = None
    beatgan_before: int = 140
    beatgan_after: int = 180
    kachuee_fs: int = 125
    kachuee_window_s: float = 10.0
    kachuee_length: int = 187
    resample_length: int | None = None
    # aami (EC57) | beatgan (the BeatGAN authors' lists: e and j are S)
    class_mapping: str = "aami"
    # null | biosppy | biosppy_ecg: N beats kept only near a detected R peak (BeatGAN's code)
    normal_r_filter: str | None = None
    cache: bool = True
    cache_dir: str | None = None


@dataclass
class UCRConfig(DataConfig):
    """UCR-archive .tsv files (label in column 0) in data.root."""

    name: str = "ucr"
    dataset: str | None = None
    normalize: str = "none"


@dataclass
class CSVConfig(DataConfig):
    """One window per row of data.root (a .csv file); optional label column."""

    name: str = "csv"
    label_column: int | None = None
    header: bool = False
    delimiter: str = ","
    normalize: str = "none"


@dataclass
class NPYConfig(DataConfig):
    """Windows (n, length) or (n, channels, length) in data.root (a .npy file)."""

    name: str = "npy"
    labels: str | None = None
    normalize: str = "none"


@dataclass
class DigitsConfig(DataConfig):
    """scikit-learn's 8x8 digits; data.normal_classes names the normal digit(s)."""

    name: str = "digits"
    normalize: str = "minmax"


# ---------------------------------------------------------------------------------------- model


@dataclass
class ModelConfig:
    """Fields every model shares."""

    name: str = MISSING
    backbone: str = "conv1d"
    latent_dim: int = 32
    base_channels: int = 32
    prior: str = "normal"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    spectral_norm: bool = False
    # the generator's last layer: none | tanh | sigmoid
    output_activation: str = "none"
    # default (PyTorch's) | beatgan (the BeatGAN authors' weights_init) | dcgan (N(0, 0.02))
    init: str = "default"
    # false: dcgan1d without the biases the BeatGAN authors' layers lack
    bias: bool = True


@dataclass
class GANConfig(ModelConfig):
    """GAN family: `loss` is bce (non-saturating), wasserstein (weight clipping) or wgan_gp."""

    name: str = "gan"
    loss: str = "bce"
    n_critic: int = 1
    gp_weight: float = 10.0
    clip_value: float = 0.01


@dataclass
class WGANConfig(GANConfig):
    name: str = "wgan"
    loss: str = "wasserstein"
    n_critic: int = 5


@dataclass
class WGANGPConfig(GANConfig):
    name: str = "wgan_gp"
    loss: str = "wgan_gp"
    n_critic: int = 5
    gp_weight: float = 10.0


@dataclass
class FAnoGANConfig(WGANGPConfig):
    """WGAN-GP for the first `gan_fraction` of training batches, then the izif encoder."""

    name: str = "fanogan"
    gan_fraction: float = 0.7
    kappa: float = 1.0
    lr_e: float = 1e-3


@dataclass
class BiGANConfig(ModelConfig):
    name: str = "bigan"
    d_hidden: int = 128
    d_dropout: float = 0.2


@dataclass
class ALADConfig(BiGANConfig):
    name: str = "alad"


@dataclass
class GANomalyConfig(ModelConfig):
    name: str = "ganomaly"
    w_adv: float = 1.0
    w_con: float = 50.0
    w_enc: float = 1.0


@dataclass
class BeatGANConfig(ModelConfig):
    name: str = "beatgan"
    w_adv: float = 1.0
    # re-initialise D when its loss falls below this (BeatGAN's code: 5e-6); 0 = never
    d_reset_below: float = 0.0
    # g_first (ganad's default) | d_first (BeatGAN's code: D, then G, on each batch)
    update_order: str = "g_first"


@dataclass
class AutoencoderConfig(ModelConfig):
    """BeatGAN's encoder and generator trained on reconstruction only (no discriminator).
    `w_adv`, `d_reset_below` and `update_order` are BeatGAN's keys, accepted (and unused) so
    that every BeatGAN preset composes with model=autoencoder."""

    name: str = "autoencoder"
    w_adv: float = 0.0
    d_reset_below: float = 0.0
    update_order: str = "g_first"  # BeatGAN's key (no discriminator here: nothing to order)


@dataclass
class BetaVAEGANConfig(ModelConfig):
    name: str = "beta_vaegan"
    beta: float = 0.01
    kl_warmup: float = 0.0
    w_adv: float = 1.0
    # ecgan: D steps before G on each batch
    update_order: str = "d_first"


# ------------------------------------------------------------------------------------ inversion


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


# ------------------------------------------------------------------------------ trainer, logger


@dataclass
class TrainerConfig:
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    precision: str = "32-true"
    max_epochs: int = 15
    max_steps: int = -1
    limit_train_batches: float | None = None
    log_every_n_steps: int = 10
    deterministic: bool = True
    enable_progress_bar: bool = True
    # which epoch's weights the detector uses: "last", or "best_val_auroc" (encoder models; the
    # reconstruction-error AUROC on the validation split after every epoch, as BeatGAN does)
    select_epoch: str = "last"
    # training batches between host reads of "was any loss non-finite?" (the step of the first
    # one is kept on the device, so the error names it whatever this is; epoch ends always check)
    finite_check_every: int = 50


@dataclass
class LoggerConfig:
    name: str = MISSING
    project: str = "ganad"
    # wandb: offline unless the user has credentials and sets mode=online
    mode: str = "offline"
    # wandb group (null: the experiment, and a sweep's date and time; ganad_cli.tracking)
    group: str | None = None
    tags: list[str] = field(default_factory=list)


SCHEMAS: dict[str, dict[str, type]] = {
    "data": {
        "base": DataConfig,
        "synthetic_ecg": SyntheticECGConfig,
        "mitbih": MitbihConfig,
        "ucr": UCRConfig,
        "csv": CSVConfig,
        "npy": NPYConfig,
        "digits": DigitsConfig,
    },
    "model": {
        "base": ModelConfig,
        "gan": GANConfig,
        "wgan": WGANConfig,
        "wgan_gp": WGANGPConfig,
        "fanogan": FAnoGANConfig,
        "bigan": BiGANConfig,
        "alad": ALADConfig,
        "ganomaly": GANomalyConfig,
        "beatgan": BeatGANConfig,
        "beta_vaegan": BetaVAEGANConfig,
        "autoencoder": AutoencoderConfig,
    },
    "inversion": {"base": InversionConfig},
    "bench": {"base": BenchConfig},
    "score": {"base": ScoreConfig},
    "threshold": {"base": ThresholdConfig},
    "trainer": {"base": TrainerConfig},
    "logger": {"base": LoggerConfig},
}


def register_configs() -> None:
    cs = ConfigStore.instance()
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=f"schema/{group}", name=name, node=node)


# ------------------------------------------------------------------------------- value checks

SIMILARITIES = ("l1", "l2", "rbf", "cosine", "schlegl", "ecgan_rbf")
THRESHOLDS = ("val_fbeta", "val_mcc", "normal_quantile", "fixed")
OBJECTIVES = ("auroc", "auprc", "f1", "mcc")


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise GanadInputError(f"config key '{key}' must be {expected}, got {value!r}")


# numpy and torch take seeds in [0, 2**32)
SEED_MAX = 2**32 - 1
# the top-level keys of conf/train.yaml have no schema: their types are checked here
TOP_LEVEL_TYPES: dict[str, tuple[type, ...]] = {
    "seed": (int,),
    "optimized_metric": (str,),
    "plots": (bool,),
    "quiet": (bool,),
}
TYPE_NAMES = {int: "an integer", str: "a string", bool: "true or false"}
LOGGER_MODES = ("offline", "online")


def check_finite(node: Any, prefix: str) -> None:
    """Every float under `node` (a config node or plain container) is finite: NaN or inf in a
    config is never meant (it only turns into NaN scores or a threshold no score passes)."""
    import math

    if isinstance(node, DictConfig):
        node = OmegaConf.to_container(node, resolve=True)
    if isinstance(node, dict):
        for key, value in node.items():
            check_finite(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            check_finite(value, f"{prefix}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        raise GanadInputError(f"config key '{prefix}' must be a finite number, got {node!r}")


def check_seed(value: Any, key: str) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= SEED_MAX,
        key,
        f"an integer in [0, {SEED_MAX}]",
        value,
    )


def _count(value: Any, key: str, low: int, allow_null: bool = False) -> None:
    """An integer >= low (or null where allowed)."""
    ok = (allow_null and value is None) or (
        isinstance(value, int) and not isinstance(value, bool) and value >= low
    )
    _check(ok, key, f"{'null or ' if allow_null else ''}an integer >= {low}", value)


def _check_top_level(cfg: DictConfig) -> None:
    for key, types in TOP_LEVEL_TYPES.items():
        if key not in cfg:
            continue
        value = cfg[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        _check(ok, key, " or ".join(TYPE_NAMES[t] for t in types), value)
    check_seed(cfg.seed, "seed")


def _check_data(d: DictConfig) -> None:
    """Data ranges beyond the shared split checks."""
    check_seed(d.seed, "data.seed")
    _count(d.num_workers, "data.num_workers", 0)
    _count(d.max_samples, "data.max_samples", 1, allow_null=True)
    if d.name == "synthetic_ecg":
        _count(d.n_normal, "data.n_normal", 1)
        _count(d.n_per_anomaly, "data.n_per_anomaly", 0)
        _count(d.length, "data.length", 16)
        # noise std relative to the R wave (amplitude 1): beyond 10 the beats are noise alone
        _check(0 <= d.noise <= 10, "data.noise", "in [0, 10]", d.noise)
    if d.name == "mitbih":
        _count(d.beatgan_before, "data.beatgan_before", 0)
        _count(d.beatgan_after, "data.beatgan_after", 1)
        _count(d.kachuee_fs, "data.kachuee_fs", 1)
        _check(d.kachuee_window_s > 0, "data.kachuee_window_s", "> 0", d.kachuee_window_s)
        _count(d.kachuee_length, "data.kachuee_length", 1)
        _count(d.resample_length, "data.resample_length", 16, allow_null=True)


BACKBONES = ("conv1d", "dcgan1d", "mlp", "lstm", "conv2d")
PRIORS = ("normal", "uniform", "truncated_normal")
GAN_LOSSES = ("bce", "wasserstein", "wgan_gp")


def _check_model(m: DictConfig) -> None:
    """Model-specific ranges (model zoo)."""
    _check(m.backbone in BACKBONES, "model.backbone", f"one of {BACKBONES}", m.backbone)
    _check(m.prior in PRIORS, "model.prior", f"one of {PRIORS}", m.prior)
    _check(m.base_channels >= 1, "model.base_channels", ">= 1", m.base_channels)
    _check(0.0 <= m.beta1 < 1.0, "model.beta1", "in [0, 1)", m.beta1)
    _check(0.0 <= m.beta2 < 1.0, "model.beta2", "in [0, 1)", m.beta2)
    if "d_reset_below" in m:
        _check(m.d_reset_below >= 0, "model.d_reset_below", ">= 0", m.d_reset_below)
    if "loss" in m:
        _check(m.loss in GAN_LOSSES, "model.loss", f"one of {GAN_LOSSES}", m.loss)
        if m.loss == "wgan_gp" and m.backbone in BATCHNORM_CRITIC_BACKBONES:
            raise GanadInputError(
                f"config key 'model.backbone' = {m.backbone} has a BatchNorm critic, which breaks "
                "the per-sample gradient penalty of model.loss=wgan_gp; expected a backbone "
                "without it (conv1d, mlp, lstm, conv2d) or model.loss=wasserstein/bce"
            )
    if "clip_value" in m:
        _check(m.clip_value > 0, "model.clip_value", "> 0", m.clip_value)
    if "gan_fraction" in m:
        _check(0.0 < m.gan_fraction < 1.0, "model.gan_fraction", "in (0, 1)", m.gan_fraction)
    if "kl_warmup" in m:
        _check(0.0 <= m.kl_warmup <= 1.0, "model.kl_warmup", "in [0, 1]", m.kl_warmup)
    for key in ("gp_weight", "kappa", "beta", "w_adv", "w_con", "w_enc", "lr_e"):
        if key in m:
            _check(m[key] >= 0, f"model.{key}", ">= 0", m[key])
    if "d_dropout" in m:
        _check(0.0 <= m.d_dropout < 1.0, "model.d_dropout", "in [0, 1)", m.d_dropout)
    for key, allowed in (
        ("output_activation", OUTPUT_ACTIVATIONS),
        ("init", WEIGHT_INITS),
        ("update_order", UPDATE_ORDERS),
    ):
        if key in m:
            _check(m[key] in allowed, f"model.{key}", f"one of {allowed}", m[key])


def validate_config(cfg: DictConfig) -> None:
    """Range checks that types cannot express. Raises GanadInputError naming the key."""
    d, m, inv, th, sc = cfg.data, cfg.model, cfg.inversion, cfg.threshold, cfg.score
    for group in ("data", "model", "inversion", "score", "threshold", "trainer", "logger"):
        if group in cfg:
            check_finite(cfg[group], group)
    _check_top_level(cfg)
    _check_data(d)
    _check(d.batch_size >= 1, "data.batch_size", ">= 1", d.batch_size)
    _check(0.0 <= d.contamination < 1.0, "data.contamination", "in [0, 1)", d.contamination)
    _check(d.folds >= 2, "data.folds", ">= 2", d.folds)
    _check(0 <= d.fold < d.folds, "data.fold", f"in [0, data.folds={d.folds})", d.fold)
    _check(0.0 < d.val_fraction < 1.0, "data.val_fraction", "in (0, 1)", d.val_fraction)
    _check(
        0.0 <= d.val_anomaly_fraction < 1.0,
        "data.val_anomaly_fraction",
        "in [0, 1)",
        d.val_anomaly_fraction,
    )
    _check(len(d.normal_classes) >= 1, "data.normal_classes", "a non-empty list", d.normal_classes)
    data_splits = ("intra_patient", "ecgan", "inter_patient")
    _check(d.split in data_splits, "data.split", f"one of {data_splits}", d.split)
    _check(0.0 < d.train_fraction < 1.0, "data.train_fraction", "in (0, 1)", d.train_fraction)
    if d.name == "mitbih":
        _check(
            d.preprocess in ("beatgan", "kachuee"),
            "data.preprocess",
            "one of ('beatgan', 'kachuee')",
            d.preprocess,
        )
    _check(m.latent_dim >= 1, "model.latent_dim", ">= 1", m.latent_dim)
    _check(m.lr_g > 0, "model.lr_g", "> 0", m.lr_g)
    _check(m.lr_d > 0, "model.lr_d", "> 0", m.lr_d)
    if "n_critic" in m:
        _check(m.n_critic >= 1, "model.n_critic", ">= 1", m.n_critic)
    _check_model(m)
    _check(inv.eps > 0, "inversion.eps", "> 0", inv.eps)
    _check(inv.n_max >= 1, "inversion.n_max", ">= 1", inv.n_max)
    _check(inv.batch_size >= 1, "inversion.batch_size", ">= 1", inv.batch_size)
    _check(inv.restarts >= 1, "inversion.restarts", ">= 1", inv.restarts)
    _check(inv.lr > 0, "inversion.lr", "> 0", inv.lr)
    _check(
        inv.similarity in SIMILARITIES,
        "inversion.similarity",
        f"one of {SIMILARITIES}",
        inv.similarity,
    )
    threads = cfg.get("threads")
    _check(
        threads is None or (isinstance(threads, int) and threads >= 1),
        "threads",
        "null or an integer >= 1",
        threads,
    )
    validate_inversion(inv)
    check_encoder_available(inv, m.name)
    check_discriminator_available(sc, m.name)
    if inv.similarity == "schlegl" and m.name in MODELS_WITHOUT_DISCRIMINATOR:
        raise GanadInputError(
            f"config key 'inversion.similarity': schlegl compares discriminator features, and "
            f"model {m.name!r} has none; expected l1, l2, rbf or cosine"
        )
    check_epoch_selection(cfg)
    validate_scoring(sc, th)
    _check(
        cfg.trainer.max_epochs >= 1 or cfg.trainer.max_steps > 0,
        "trainer.max_epochs",
        ">= 1",
        cfg.trainer.max_epochs,
    )
    _check_trainer_logger(cfg)


def _check_trainer_logger(cfg: DictConfig) -> None:
    t = cfg.trainer
    _count(t.log_every_n_steps, "trainer.log_every_n_steps", 1)
    lim = t.limit_train_batches
    _check(lim is None or lim > 0, "trainer.limit_train_batches", "null or > 0", lim)
    if "logger" in cfg and cfg.logger.get("name") == "wandb":
        mode = cfg.logger.mode
        _check(mode in LOGGER_MODES, "logger.mode", f"one of {LOGGER_MODES}", mode)


def check_epoch_selection(cfg: DictConfig) -> None:
    """`trainer.select_epoch=best_val_auroc` scores G(E(x)) on validation anomalies each epoch."""
    every = cfg.trainer.get("finite_check_every", 50)
    _check(
        isinstance(every, int) and every >= 1, "trainer.finite_check_every", "an int >= 1", every
    )
    rule = cfg.trainer.get("select_epoch", "last")
    _check(rule in EPOCH_SELECTION, "trainer.select_epoch", f"one of {EPOCH_SELECTION}", rule)
    if rule == "last":
        return
    _check(
        cfg.model.name in ENCODER_MODELS,
        "trainer.select_epoch",
        f"'last' for model {cfg.model.name!r} (best_val_auroc needs an encoder model: "
        f"{list(ENCODER_MODELS)})",
        rule,
    )
    _check(
        cfg.data.val_anomaly_fraction > 0,
        "data.val_anomaly_fraction",
        "> 0 with trainer.select_epoch=best_val_auroc (validation needs anomalies)",
        cfg.data.val_anomaly_fraction,
    )


def check_encoder_available(inv: DictConfig, model_name: str) -> None:
    """Before training: an encoder inversion needs a model with an encoder."""
    if inv.name in ("encoder", "encoder_then_anogan") or inv.get("init") == "encoder":
        if model_name in MODEL_NAMES and model_name not in ENCODER_MODELS:
            raise GanadInputError(
                f"config key 'inversion.name': model {model_name!r} has no encoder; models with "
                f"one: {', '.join(ENCODER_MODELS)}"
            )


def check_discriminator_available(sc: DictConfig, model_name: str) -> None:
    """Before training: discriminator components need a model that has one."""
    needs_d = [c for c in sc.components if c in DISCRIMINATOR_COMPONENTS]
    if needs_d and model_name in MODELS_WITHOUT_DISCRIMINATOR:
        raise GanadInputError(
            f"config key 'score.components': {', '.join(needs_d)} need(s) a discriminator, and "
            f"model {model_name!r} has none; expected components without it (e.g. score=residual)"
        )


def validate_inversion(inv: DictConfig) -> None:
    """Range checks of the inversion node beyond those in validate_config."""
    # runs trained before a field existed lack it: check the schema default then
    inv = OmegaConf.merge(OmegaConf.structured(InversionConfig), inv)

    names = ("anogan", "encoder", "encoder_then_anogan")
    _check(inv.name in names, "inversion.name", f"one of {names}", inv.name)
    _check(inv.init in ("prior", "encoder"), "inversion.init", "prior or encoder", inv.init)
    opts = INVERSION_OPTIMIZERS
    _check(inv.optimizer in opts, "inversion.optimizer", f"one of {opts}", inv.optimizer)
    _check(inv.momentum >= 0, "inversion.momentum", ">= 0", inv.momentum)
    _check(
        inv.lr_schedule in LR_SCHEDULES,
        "inversion.lr_schedule",
        f"one of {LR_SCHEDULES}",
        inv.lr_schedule,
    )
    _check(0 < inv.lr_gamma <= 1, "inversion.lr_gamma", "in (0, 1]", inv.lr_gamma)
    _check(
        inv.restriction in RESTRICTIONS,
        "inversion.restriction",
        f"one of {RESTRICTIONS}",
        inv.restriction,
    )
    _check(inv.truncation > 0, "inversion.truncation", "> 0", inv.truncation)
    _check(inv.chi_weight >= 0, "inversion.chi_weight", ">= 0", inv.chi_weight)
    _check(inv.rbf_bandwidth > 0, "inversion.rbf_bandwidth", "> 0", inv.rbf_bandwidth)
    lam = inv.schlegl_lambda
    _check(0.0 <= lam <= 1.0, "inversion.schlegl_lambda", "in [0, 1]", lam)
    check_finite(inv, "inversion")
    check_seed(inv.seed, "inversion.seed")
    q = inv.eps_quantile
    _check(q is None or 0 < q < 1, "inversion.eps_quantile", "null or in (0, 1)", q)
    refs = ("start", "search")
    ref, n_cal = inv.eps_reference, inv.eps_calibration_n
    _check(ref in refs, "inversion.eps_reference", f"one of {refs}", ref)
    _check(n_cal >= 1, "inversion.eps_calibration_n", ">= 1", n_cal)
    devices = (None, "cpu", "cuda")
    _check(inv.device in devices, "inversion.device", "null, cpu or cuda", inv.device)
    _check(inv.check_every >= 1, "inversion.check_every", ">= 1", inv.check_every)
    cb = inv.compact_below
    _check(0 <= cb <= 1, "inversion.compact_below", "in [0, 1]", cb)
    amps = ("none", "bf16", "fp16")
    _check(inv.amp in amps, "inversion.amp", f"one of {amps}", inv.amp)
    _check(
        inv.amp != "fp16" or inv.device == "cuda",
        "inversion.amp",
        "none or bf16 unless inversion.device=cuda (fp16 autocast is CUDA only)",
        inv.amp,
    )


def validate_scoring(sc: DictConfig, th: DictConfig) -> None:
    """Range checks of the score and threshold nodes (also used by `ganad evaluate`)."""
    check_finite(sc, "score")
    check_finite(th, "threshold")
    _check(th.name in THRESHOLDS, "threshold.name", f"one of {THRESHOLDS}", th.name)
    _check(th.beta > 0, "threshold.beta", "> 0", th.beta)
    _check(0.0 < th.quantile < 1.0, "threshold.quantile", "in (0, 1)", th.quantile)
    if th.name == "fixed":
        _check(th.value is not None, "threshold.value", "a number for threshold=fixed", th.value)
    comps = list(sc.components)
    _check(
        len(comps) >= 1 and set(comps) <= set(COMPONENTS) and len(set(comps)) == len(comps),
        "score.components",
        f"a non-empty list of distinct names from {COMPONENTS}",
        comps,
    )
    _check(sc.combine in COMBINES, "score.combine", f"one of {COMBINES}", sc.combine)
    if sc.combine == "single":
        _check(len(comps) == 1, "score.components", "one component for combine=single", comps)
    _check(sc.objective in OBJECTIVES, "score.objective", f"one of {OBJECTIVES}", sc.objective)
    _check(0.0 < sc.grid_step <= 1.0, "score.grid_step", "in (0, 1]", sc.grid_step)
    _check(
        sc.residual_norm in RESIDUAL_NORMS,
        "score.residual_norm",
        f"one of {RESIDUAL_NORMS}",
        sc.residual_norm,
    )
    _check(sc.rbf_bandwidth > 0, "score.rbf_bandwidth", "> 0", sc.rbf_bandwidth)
    _check(sc.feature_layer >= -1, "score.feature_layer", ">= -1", sc.feature_layer)
    _check(
        sc.get("feature_norm", "l1") in FEATURE_NORMS,
        "score.feature_norm",
        f"one of {FEATURE_NORMS}",
        sc.get("feature_norm"),
    )
    w = sc.get("weights")
    if sc.combine == "fixed":
        _check(
            w is not None and len(w) == len(comps) and all(float(v) >= 0 for v in w),
            "score.weights",
            f"{len(comps)} weights >= 0 (one per score.components) for combine=fixed",
            w,
        )
    _check(
        sc.discriminator_center in CENTERINGS,
        "score.discriminator_center",
        f"one of {CENTERINGS}",
        sc.discriminator_center,
    )
    _check(sc.svm_c > 0, "score.svm_c", "> 0", sc.svm_c)
    _check(0.0 < sc.svm_nu <= 1.0, "score.svm_nu", "in (0, 1]", sc.svm_nu)
    _check(sc.knn_k >= 1, "score.knn_k", ">= 1", sc.knn_k)
    _check(sc.knn_max_train >= sc.knn_k, "score.knn_max_train", ">= score.knn_k", sc.knn_max_train)
    g = sc.svm_gamma
    _check(
        g in ("scale", "auto")
        or (isinstance(g, (int, float)) and not isinstance(g, bool) and g > 0),
        "score.svm_gamma",
        "'scale', 'auto' or a number > 0",
        g,
    )


def to_plain(cfg: DictConfig) -> dict:
    """A resolved, JSON-safe copy of a config node."""
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
