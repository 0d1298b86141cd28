"""Value checks a schema's types cannot express (ranges, choices, combinations), run on the
composed config before any run folder exists."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganad_cli.config.checks import (
    TOP_LEVEL_TYPES,
    TYPE_NAMES,
    _check,
    check_finite,
    check_seed,
)
from ganad_cli.config.choices import (
    BACKBONES,
    BATCHNORM_CRITIC_BACKBONES,
    DATA_SPLITS,
    DISCRIMINATOR_COMPONENTS,
    ENCODER_MODELS,
    EPOCH_SELECTION,
    GAN_LOSSES,
    KACHUEE_SCALES,
    LOGGER_MODES,
    MITBIH_PRESETS,
    MITBIH_SCALES,
    MODEL_NAMES,
    MODELS_WITHOUT_DISCRIMINATOR,
    OUTPUT_ACTIVATIONS,
    PRIORS,
    SIMILARITIES,
    UPDATE_ORDERS,
    VAL_BATCHNORM,
    WEIGHT_INITS,
    uses_encoder,
)
from ganad_cli.config.validate_detector import (
    check_latent_center,
    validate_inversion,
    validate_scoring,
)
from ganad_cli.errors import GanadInputError


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
        _check(d.scale in MITBIH_SCALES, "data.scale", f"one of {MITBIH_SCALES}", d.scale)
        _check(
            d.scale != "ecgan" or d.preprocess == "kachuee",
            "data.scale",
            "none with data.preprocess=beatgan (its beats are each min-max scaled to [-1, 1]; "
            "ecgan needs data.preprocess=kachuee)",
            d.scale,
        )
    if d.name == "kachuee_csv":
        _count(d.resample_length, "data.resample_length", 16, allow_null=True)
        _check(d.scale in KACHUEE_SCALES, "data.scale", f"one of {KACHUEE_SCALES}", d.scale)
    _check(
        d.split != "files" or d.name == "kachuee_csv",
        "data.split",
        "intra_patient, ecgan or inter_patient ('files' needs data=kachuee_csv: a train file and "
        "a test file)",
        d.split,
    )


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
    _check(d.split in DATA_SPLITS, "data.split", f"one of {DATA_SPLITS}", d.split)
    _check(0.0 < d.train_fraction < 1.0, "data.train_fraction", "in (0, 1)", d.train_fraction)
    if d.name == "mitbih":
        _check(
            d.preprocess in MITBIH_PRESETS,
            "data.preprocess",
            f"one of {MITBIH_PRESETS}",
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
    check_latent_center(sc, inv)
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
    bn = cfg.trainer.get("val_batchnorm", "running")
    _check(bn in VAL_BATCHNORM, "trainer.val_batchnorm", f"one of {VAL_BATCHNORM}", bn)
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
    if uses_encoder(inv):
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


def to_plain(cfg: DictConfig) -> dict:
    """A resolved, JSON-safe copy of a config node."""
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
