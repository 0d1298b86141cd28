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

EPOCH_SELECTION = ("last", "best_val_auroc")

# model.output_activation (the generator's last layer), model.init (weight initialisation),
# model.update_order (BeatGAN: which network steps first on each batch)
OUTPUT_ACTIVATIONS = ("none", "tanh", "sigmoid")
WEIGHT_INITS = ("default", "beatgan", "dcgan")
UPDATE_ORDERS = ("g_first", "d_first")

# backbones whose discriminator trunk has BatchNorm: a gradient penalty (model.loss=wgan_gp) is
# defined per sample, and BatchNorm couples the samples of a batch, so the two do not go
# together (Gulrajani et al. 2017, section 4: "no critic batch normalization")
BATCHNORM_CRITIC_BACKBONES = ("dcgan1d",)
