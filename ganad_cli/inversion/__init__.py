"""Mapping x to (z, x_hat): AnoGAN latent search or an encoder's forward pass."""

from ganad_cli.inversion.anogan import InversionResult, anogan_invert, prior_starts
from ganad_cli.inversion.run import invert
from ganad_cli.inversion.similarity import distance

__all__ = ["InversionResult", "anogan_invert", "distance", "invert", "prior_starts"]
