"""Data sets: each loader returns `Samples`; `splits.make_splits` turns them into train/val/test."""

from ganad_cli.data.base import Samples, Splits
from ganad_cli.data.registry import load_samples

__all__ = ["Samples", "Splits", "load_samples"]
