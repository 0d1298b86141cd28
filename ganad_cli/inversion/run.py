"""Dispatch on the `inversion` config node, and the data-driven eps.

Data-driven eps (`eps_quantile` q): eps is set to the q-quantile of the dissimilarity that
validation normals show at a reference point, so "close enough to the generator" means "as close
as a typical normal beat gets" instead of a hand-picked number that nothing may reach:
- eps_reference=start: the dissimilarity at the initial z (the encoder's z for init=encoder /
  encoder_then_anogan: one forward pass; a prior draw otherwise, which is rarely useful);
- eps_reference=search: the dissimilarity after a full search of n_max steps without stopping.
Only validation rows with label 0 are used (at most eps_calibration_n of them, a seeded subset);
test data is never looked at. `calibrate_eps` returns the config with `eps` replaced and the
calibration recorded (`eps_calibrated`), so a detector saved with it reproduces the same search.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from ganad_cli.config.choices import SEARCH_INVERSIONS, uses_encoder
from ganad_cli.errors import GanadInputError
from ganad_cli.inversion.anogan import DEFAULTS, anogan_invert
from ganad_cli.inversion.encoder import encoder_invert, require_encoder
from ganad_cli.models.base import GanadModule
from ganad_cli.types import InversionResult

SCHEMA_DEFAULTS = asdict(DEFAULTS)


def _plain(cfg: Any) -> dict:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def _move(model: GanadModule, device: str | None) -> None:
    if device is None:
        return
    if device == "cuda" and not torch.cuda.is_available():
        raise GanadInputError("config key 'inversion.device' is cuda, but CUDA is not available")
    model.to(device)


def invert(
    model: GanadModule, x: torch.Tensor, cfg: Any, z_init: torch.Tensor | None = None
) -> InversionResult:
    """cfg: the inversion config (DictConfig or dict). z_init: explicit starts for init=prior,
    (n, d) or (restarts, n, d), e.g. a slice of `prior_starts` for the whole data set."""
    cfg = {**SCHEMA_DEFAULTS, **_plain(cfg)}  # keys a plain dict leaves out: the schema's
    g = cfg.get
    if g("eps_quantile") is not None and not g("eps_calibrated"):
        raise ValueError(
            "inversion.eps_quantile is set but eps was not calibrated on validation data; "
            "call ganad_cli.inversion.run.calibrate_eps(model, x_val, label_val, cfg) first"
        )
    _move(model, g("device"))
    common = dict(
        similarity=g("similarity"),
        bandwidth=g("rbf_bandwidth"),
        eps=g("eps"),
        schlegl_lambda=g("schlegl_lambda"),
        amp=g("amp"),
        tf32=g("tf32"),
    )
    name = cfg["name"]
    if name == "encoder":
        return encoder_invert(model, x, batch_size=g("batch_size"), **common)
    if name not in SEARCH_INVERSIONS:
        raise ValueError(f"unknown inversion {name!r}")
    if uses_encoder(cfg):
        require_encoder(model)
        z_init = encoder_invert(model, x, batch_size=g("batch_size"), **common).z
    return anogan_invert(
        model,
        x,
        n_max=g("n_max"),
        lr=g("lr"),
        batch_size=g("batch_size"),
        restarts=g("restarts"),
        restriction=g("restriction"),
        chi_weight=g("chi_weight"),
        lr_schedule=g("lr_schedule"),
        seed=g("seed"),
        z_init=z_init,
        optimizer=g("optimizer"),
        momentum=g("momentum"),
        lr_gamma=g("lr_gamma"),
        truncation=g("truncation"),
        check_every=g("check_every"),
        compact_below=g("compact_below"),
        lr_drop_below=g("lr_drop_below"),
        lr_drop_factor=g("lr_drop_factor"),
        **common,
    )


def calibrate_eps(
    model: GanadModule, x_val: torch.Tensor, label_val: np.ndarray | None, cfg: Any
) -> dict:
    """The inversion config with eps set from `eps_quantile` on validation normals (a plain dict).

    Returns cfg unchanged (as a dict) when eps_quantile is null or eps is already calibrated.
    """
    c = _plain(cfg)
    q = c.get("eps_quantile")
    if q is None or c.get("eps_calibrated", False) or c["name"] == "encoder":
        return c
    rows = (
        np.arange(len(x_val)) if label_val is None else np.flatnonzero(np.asarray(label_val) == 0)
    )
    if len(rows) == 0:
        raise GanadInputError(
            "config key 'inversion.eps_quantile': the validation split holds no normal samples "
            "to calibrate eps on"
        )
    n_cal = int(c.get("eps_calibration_n", SCHEMA_DEFAULTS["eps_calibration_n"]))
    if len(rows) > n_cal:
        rows = np.sort(np.random.default_rng(c.get("seed", 0)).choice(rows, n_cal, replace=False))
    xs = x_val[torch.from_numpy(rows)]
    probe = {**c, "eps_calibrated": True}
    if c.get("eps_reference", SCHEMA_DEFAULTS["eps_reference"]) == "start":
        probe["n_max"] = 0  # dissimilarity at the initial z, no update
    probe["eps"] = float("-inf")  # never stop early: we want the reached dissimilarity
    reached = invert(model, xs, probe).similarity.detach().cpu().double().numpy()
    eps = float(np.quantile(reached, q))
    if not eps > 0:
        raise GanadInputError(
            f"config key 'inversion.eps_quantile' = {q} gives eps {eps} <= 0 on validation "
            "normals; expected a larger quantile"
        )
    return {**c, "eps": eps, "eps_calibrated": True, "eps_calibration_rows": len(rows)}
