"""What a detector.pt must hold: its format, finite weights and fitted values, and the metadata
(model, window shape, sampling rate) it is checked against its run folder and inputs with."""

from __future__ import annotations

from pathlib import Path

import torch

from ganad_cli.errors import GanadInputError

FORMAT = "ganad-detector"
FORMAT_VERSION = 1
# MIT-BIH records are sampled at 360 Hz; beatgan windows keep that rate
MITBIH_FS = 360.0


def sampling_rate_hz(data: dict) -> float | None:
    """The sampling rate of the windows a data config makes; None where the data has no
    physical rate (synthetic beats, CSV/NPY/UCR windows)."""
    if data.get("name") != "mitbih":
        return None
    if data.get("preprocess", "beatgan") == "beatgan":
        return MITBIH_FS
    fs = float(data.get("kachuee_fs", 125))
    if data.get("resample_length"):
        fs *= float(data["resample_length"]) / float(data.get("kachuee_length", 187))
    return fs


def expected_shape(data: dict) -> tuple[int, int] | None:
    """(channels, length) a data config makes, where the config alone says (else None)."""
    name = data.get("name")
    if name == "synthetic_ecg":
        return 1, int(data.get("length", 128))
    if name == "mitbih":
        channels = 2 if data.get("two_leads") else 1
        if data.get("preprocess", "beatgan") == "beatgan":
            before = int(data.get("beatgan_before", 140))
            after = int(data.get("beatgan_after", 180))
            return channels, before + after
        return channels, int(data.get("resample_length") or data.get("kachuee_length", 187))
    return None


def check_blob(blob: dict, path: Path) -> dict:
    """Finite weights, threshold and score parameters; the metadata (detectors written before
    it existed get it from their model config, shape and data config)."""
    import math

    for key, tensor in blob["state_dict"].items():
        if torch.is_tensor(tensor) and tensor.is_floating_point() and not tensor.isfinite().all():
            raise GanadInputError(
                f"detector file {path} has NaN or inf weights (first in {key!r}); expected the "
                "weights of a trained model"
            )
    threshold = blob["threshold"]
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise GanadInputError(
            f"detector file {path} has threshold {threshold!r}; expected a finite number"
        )
    from ganad_cli.config import check_finite

    try:
        check_finite(blob["score"], "score")
    except GanadInputError as exc:
        raise GanadInputError(
            f"detector file {path}: its fitted {str(exc)[len('config key ') :]}"
        ) from exc
    meta = blob.get("metadata")
    if meta is None:  # written before detectors carried metadata
        meta = {
            "model_name": str(blob["model_cfg"]["name"]),
            "input_shape": list(blob["shape"]),
            "sampling_rate_hz": sampling_rate_hz(blob["data"]),
        }
    if not isinstance(meta, dict) or set(meta) != {"model_name", "input_shape", "sampling_rate_hz"}:
        raise GanadInputError(
            f"detector file {path} has metadata {meta!r}; expected model_name, input_shape and "
            "sampling_rate_hz"
        )
    return meta
