"""Mapping x to (z, x_hat): AnoGAN latent search or an encoder's forward pass."""

from ganad_cli.inversion.anogan import InversionResult, anogan_invert, distance, prior_starts
from ganad_cli.inversion.run import invert

__all__ = ["InversionResult", "anogan_invert", "distance", "invert", "prior_starts"]
