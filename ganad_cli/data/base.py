"""The arrays every data set produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Samples:
    """Fixed-length windows with their class and source.

    x: float32 (n, channels, length); cls: class name per sample (e.g. AAMI 'N', 'V');
    group: source of each sample (record, patient, file) for patient-wise splits;
    label: 1 = anomalous, 0 = normal (set by the split from `normal_classes`);
    image_shape: (height, width) when each window is a row-major image (height*width == length).
    context: per-sample side features, float32 (n, k), or None; for beats the RR features of
    `ganad_cli.data.rhythm.RR_FEATURES`, computed from the record's beat positions.
    """

    x: np.ndarray
    cls: np.ndarray
    group: np.ndarray
    label: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    context: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.x)
        if self.x.ndim != 3:
            raise ValueError(f"x must be (n, channels, length), got shape {self.x.shape}")
        if len(self.cls) != n or len(self.group) != n:
            raise ValueError("x, cls and group must have the same length")
        if self.image_shape is not None and int(np.prod(self.image_shape)) != self.x.shape[2]:
            raise ValueError(f"image_shape {self.image_shape} != length {self.x.shape[2]}")
        if self.context is not None and len(self.context) != n:
            raise ValueError("context must have one row per sample")

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, idx: np.ndarray) -> Samples:
        return Samples(
            x=self.x[idx],
            cls=self.cls[idx],
            group=self.group[idx],
            label=None if self.label is None else self.label[idx],
            image_shape=self.image_shape,
            context=None if self.context is None else self.context[idx],
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, length) of one window."""
        return int(self.x.shape[1]), int(self.x.shape[2])


@dataclass
class Splits:
    """train holds what the GAN sees (normals, plus contamination); val fits scores and tau."""

    train: Samples
    val: Samples
    test: Samples
    info: dict
