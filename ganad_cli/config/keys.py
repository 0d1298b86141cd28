"""Config keys by role: what a train config holds, where data lives, what makes a model itself.

One home for these lists: the checks of new configs (config.applied), of saved run folders
(runs.untrusted), of resumes (cli.resume), ensembles and scripts/reproduce.py read them here.
"""

from __future__ import annotations

# the top-level keys of a train config (conf/train.yaml), besides its groups
TOP_LEVEL_KEYS = ("seed", "optimized_metric", "plots", "quiet", "resume", "threads")
# the config groups of a train config
TRAIN_GROUPS = (
    "data",
    "inversion",
    "score",
    "model",
    "threshold",
    "trainer",
    "logger",
    "callbacks",
)
# trainer keys that are ganad's, not Lightning Trainer arguments: they stay in the config and are
# taken out before hydra.utils.instantiate builds the Trainer from `trainer`
GANAD_TRAINER_KEYS = ("select_epoch", "finite_check_every", "val_batchnorm")
# the groups a saved run's overrides may choose: a train config's, and an experiment preset
# (hparams_search sets a sweeper: not accepted)
RUN_GROUPS = (*TRAIN_GROUPS, "experiment")
# the groups whose choices make a configuration (a row) of `ganad report`
REPORT_GROUPS = ("model", "inversion", "score", "threshold", "data")
# data keys that say where the data lives, not which data: a resume may change them, runs of an
# ensemble may differ in them
DATA_LOCATION_KEYS = ("root", "download", "cache", "cache_dir", "num_workers")
# model keys that fix the networks' shapes or the method: a resume may not change them
MODEL_IDENTITY_KEYS = (
    "name",
    "backbone",
    "latent_dim",
    "base_channels",
    "prior",
    "loss",
    "spectral_norm",
    "d_hidden",
)
