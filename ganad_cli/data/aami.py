"""Beat annotation symbols as AAMI EC57 classes (N, S, V, F, Q), and the BeatGAN authors'
variant (`data.class_mapping`)."""

from __future__ import annotations

import numpy as np

AAMI = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
# The BeatGAN authors' symbol lists (hi-bingo/BeatGAN experiments/ecg/preprocess.py:35-39) put
# `e` (atrial escape) and `j` (nodal escape) in S; AAMI EC57 counts them as N.
BEATGAN_CLASSES = {**AAMI, "e": "S", "j": "S"}
CLASS_MAPPINGS = {"aami": AAMI, "beatgan": BEATGAN_CLASSES}
AAMI_CLASSES = ("N", "S", "V", "F", "Q")


def aami_symbols(symbols: list[str]) -> np.ndarray:
    """Mask of annotation symbols that are beats (have an AAMI class)."""
    return np.array([s in AAMI for s in symbols], dtype=bool)
