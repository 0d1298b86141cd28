"""One LightningModule per model family; pure networks live in ganad_cli.nets."""

from ganad_cli.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
