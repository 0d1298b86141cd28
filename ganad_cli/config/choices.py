"""Allowed names of config values, importable without torch.

Config checks (`ganad_cli.config`) run before any run folder exists; keeping these lists here
keeps a bad value's error fast (no torch import). The modules that implement each choice import
the same names, and tests/test_config.py checks that the two never drift apart.
"""

from __future__ import annotations

MODEL_NAMES = (
    "gan",
    "wgan",
    "wgan_gp",
    "fanogan",
    "bigan",
    "alad",
    "ganomaly",
    "beatgan",
    "beta_vaegan",
    "autoencoder",
)
ENCODER_MODELS = (
    "alad",
    "autoencoder",
    "beatgan",
    "beta_vaegan",
    "bigan",
    "fanogan",
    "ganomaly",
)
# models without a discriminator (the non-adversarial ablation)
MODELS_WITHOUT_DISCRIMINATOR = ("autoencoder",)
# score components computed with the discriminator
DISCRIMINATOR_COMPONENTS = ("discriminator", "feature_matching")

INVERSIONS = ("anogan", "encoder", "encoder_then_anogan")
# inversions that run the model's encoder (inversion.init=encoder does too)
ENCODER_INVERSIONS = ("encoder", "encoder_then_anogan")
# inversions that search the latent space (the rest map with the encoder alone)
SEARCH_INVERSIONS = tuple(i for i in INVERSIONS if i != "encoder")
INVERSION_INITS = ("prior", "encoder")
# inversion.amp: the networks under torch.autocast while inverting (fp16: CUDA only)
INVERSION_AMPS = ("none", "bf16", "fp16")
INVERSION_OPTIMIZERS = ("adam", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine", "exponential")
RESTRICTIONS = ("none", "clamp", "chi")

COMPONENTS = (
    "residual",
    "discriminator",
    "feature_matching",
    "latent_norm",
    "latent_residual",
    "rr_density",  # rhythm, not the model: ganad_cli.scoring.rhythm
    "template",  # the beat against its record's neighbours, not the model: ganad_cli.scoring.rhythm
    "latent_knn",  # the code's distance to the training codes: ganad_cli.scoring.latent_knn
)
# components computed from the beat's record (positions and neighbours), not from the networks
CONTEXT_COMPONENTS = ("rr_density", "template")
# components fitted on the training beats when the detector is fitted (not on validation)
TRAINING_FITTED_COMPONENTS = ("rr_density", "latent_knn")
RESIDUAL_NORMS = ("l1", "l2", "rbf")
# equal: standardised components with equal weights, no label used (the label-free variant)
# fixed: raw components (or standardised, with score.standardize) weighted by score.weights, as
# a paper's own score is (f-AnoGAN: residual + kappa * feature MSE); nothing is fitted on labels
COMBINES = ("weighted", "svm", "single", "equal", "fixed")
# score.feature_norm: mean |f(x) - f(x_hat)| (l1) or mean (f(x) - f(x_hat))^2 (l2, f-AnoGAN)
FEATURE_NORMS = ("l1", "l2")
CENTERINGS = ("none", "mean", "abs")
# score.latent_center: where latent_norm is centred (ganad_cli.scoring.latent_center).
# auto: |norm - c|, c the prior's chi mode for a searched z, the validation normals' median norm
# for encoder codes; ecgan_mode: norm - c, signed, c the left edge of the modal bin of a 50-bin
# histogram of the training beats' code norms (ecgan encoder_gan_module.py:269-275)
LATENT_CENTERS = ("auto", "ecgan_mode")
# score.svm_scaling (combine=svm only): the SVM's inputs standardised on the validation normals
# (standard), or min-max scaled to [0, 1] by the whole validation set's range (ecgan
# encoder_gan_module.py:196-202, 275)
SVM_SCALINGS = ("standard", "minmax")

EPOCH_SELECTION = ("last", "best_val_auroc")
# trainer.val_batchnorm: the epoch-selection validation pass in eval mode or, as BeatGAN's
# code runs it, in training mode on shuffled batches
VAL_BATCHNORM = ("running", "batch")

# model.output_activation (the generator's last layer), model.init (weight initialisation),
# model.update_order (BeatGAN: which network steps first on each batch)
OUTPUT_ACTIVATIONS = ("none", "tanh", "sigmoid")
WEIGHT_INITS = ("default", "beatgan", "dcgan")
UPDATE_ORDERS = ("g_first", "d_first")

# backbones whose discriminator trunk has BatchNorm: a gradient penalty (model.loss=wgan_gp) is
# defined per sample, and BatchNorm couples the samples of a batch, so the two do not go
# together (Gulrajani et al. 2017, section 4: "no critic batch normalization")
BATCHNORM_CRITIC_BACKBONES = ("dcgan1d",)

# inversion.similarity, threshold.name, optimized_metric's metric, logger.mode
SIMILARITIES = ("l1", "l2", "rbf", "cosine", "schlegl", "ecgan_rbf")
THRESHOLDS = ("val_fbeta", "val_mcc", "normal_quantile", "fixed")
OBJECTIVES = ("auroc", "auprc", "f1", "mcc")
LOGGER_MODES = ("offline", "online")
# model.backbone, model.prior, model.loss
BACKBONES = ("conv1d", "dcgan1d", "mlp", "lstm", "conv2d")
PRIORS = ("normal", "uniform", "truncated_normal")
GAN_LOSSES = ("bce", "wasserstein", "wgan_gp")

# data.split (ganad_cli.data.splits)
# files: the data set's own train and test files (data=kachuee_csv)
DATA_SPLITS = ("intra_patient", "ecgan", "inter_patient", "files")
# data.scale of data=kachuee_csv (ganad_cli.data.kachuee; ecgan: ganad_cli.data.scaling)
KACHUEE_SCALES = ("none", "ecgan", "global", "beat")
# data.scale of data=mitbih (ecgan needs data.preprocess=kachuee)
MITBIH_SCALES = ("none", "ecgan")
# data.preprocess of data=mitbih (ganad_cli.data.mitbih)
MITBIH_PRESETS = ("beatgan", "kachuee")
# data.normal_r_filter (ganad_cli.data.rpeaks), besides null
R_FILTERS = ("biosppy", "biosppy_ecg")
# data.normalize of tabular data (ganad_cli.data.tabular)
NORMALIZATIONS = ("none", "zscore", "minmax")
# `ganad detect` beats= (ganad_cli.data.recording)
BEAT_SOURCES = ("auto", "annotations", "xqrs", "gqrs")
# `ganad detect` tau=: the run's tau, or a label-free one per record
DETECT_TAUS = ("run", "quantile", "mad")


def uses_encoder(inversion) -> bool:
    """Does this inversion config (a mapping) run the model's encoder?"""
    return inversion["name"] in ENCODER_INVERSIONS or inversion.get("init") == "encoder"
