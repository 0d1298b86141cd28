"""Range checks of the detector's groups (inversion, score, threshold), also run on the
configs `ganad evaluate` and `ganad bench` re-score a run with."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from ganad_cli.config.checks import _check, check_finite, check_seed
from ganad_cli.config.choices import (
    CENTERINGS,
    COMBINES,
    COMPONENTS,
    FEATURE_NORMS,
    INVERSION_AMPS,
    INVERSION_INITS,
    INVERSION_OPTIMIZERS,
    INVERSIONS,
    LATENT_CENTERS,
    LR_SCHEDULES,
    OBJECTIVES,
    RESIDUAL_NORMS,
    RESTRICTIONS,
    SVM_SCALINGS,
    THRESHOLDS,
)
from ganad_cli.config.schema import InversionConfig


def validate_inversion(inv: DictConfig) -> None:
    """Range checks of the inversion node beyond those in validate_config."""
    # runs trained before a field existed lack it: check the schema default then
    inv = OmegaConf.merge(OmegaConf.structured(InversionConfig), inv)

    _check(inv.name in INVERSIONS, "inversion.name", f"one of {INVERSIONS}", inv.name)
    _check(inv.init in INVERSION_INITS, "inversion.init", "prior or encoder", inv.init)
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
    drop, factor = inv.lr_drop_below, inv.lr_drop_factor
    _check(drop is None or drop > 0, "inversion.lr_drop_below", "null or > 0", drop)
    _check(factor >= 1, "inversion.lr_drop_factor", ">= 1", factor)
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
    amps = INVERSION_AMPS
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
    scaling = sc.get("svm_scaling", "standard")
    _check(scaling in SVM_SCALINGS, "score.svm_scaling", f"one of {SVM_SCALINGS}", scaling)
    center = sc.get("latent_center", "auto")
    _check(center in LATENT_CENTERS, "score.latent_center", f"one of {LATENT_CENTERS}", center)
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


def check_latent_center(sc: DictConfig, inv: DictConfig) -> None:
    """score.latent_center=ecgan_mode inverts every training beat: the encoder's codes only."""
    if "latent_norm" in sc.components and sc.get("latent_center", "auto") == "ecgan_mode":
        _check(
            inv.name == "encoder",
            "score.latent_center",
            f"auto with inversion {inv.name!r} (ecgan_mode centres on the training beats' "
            "encoder codes: inversion=encoder)",
            "ecgan_mode",
        )
