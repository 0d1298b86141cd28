"""Is the hardware a trainer config asks for on this machine? Checked by the preflight, before
Hydra makes a run folder, so `trainer=gpu` on a CPU-only machine is one `ganad: error:` line.

torch is imported only when the config asks for an accelerator other than the CPU (a CPU config
error stays torch-free and fast)."""

from __future__ import annotations

from typing import Any

from ganad_cli.errors import GanadInputError

# accelerators that need no device count check: the CPU always exists, `auto` picks what is here
_ALWAYS = ("cpu", "auto")


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available() -> str:
    """What this machine offers, as the error message names it."""
    parts = ["cpu"]
    cuda = _cuda_count()
    if cuda:
        parts.append(f"gpu/cuda ({cuda} device{'s' if cuda > 1 else ''})")
    if _mps_available():
        parts.append("mps (1 device)")
    return ", ".join(parts)


def _wanted_devices(devices: Any) -> int | None:
    """How many devices `trainer.devices` asks for (the highest index + 1 for a list of ids);
    None for `auto` / -1 (as many as there are)."""
    if isinstance(devices, str):
        text = devices.strip().lower()
        if text in ("auto", "-1"):
            return None
        if "," in text:
            ids = [int(t) for t in text.split(",") if t.strip()]
            return max(ids) + 1 if ids else None
        try:
            return int(text)
        except ValueError:
            return None  # Lightning names the bad value itself
    if isinstance(devices, (list, tuple)) or hasattr(devices, "__iter__"):
        ids = [int(d) for d in devices]
        return max(ids) + 1 if ids else None
    if isinstance(devices, int) and devices >= 0:
        return devices
    return None


def check_hardware(trainer: Any) -> None:
    """Refuse an accelerator this machine lacks, or more devices than it has."""
    accel = str(trainer.get("accelerator", "cpu")).lower()
    if accel in _ALWAYS:
        return
    if accel in ("gpu", "cuda"):
        have = _cuda_count() or (1 if accel == "gpu" and _mps_available() else 0)
    elif accel == "mps":
        have = 1 if _mps_available() else 0
    else:
        return  # tpu, hpu, ...: Lightning checks those itself
    if have == 0:
        raise GanadInputError(
            f"config key 'trainer.accelerator': {accel!r} is not available on this machine; "
            f"available: {available()} (expected e.g. trainer=cpu)"
        )
    wanted = _wanted_devices(trainer.get("devices", 1))
    if wanted is not None and wanted > have:
        raise GanadInputError(
            f"config key 'trainer.devices': {trainer.get('devices')!r} asks for {wanted} "
            f"{accel} device(s), this machine has {have}; available: {available()}"
        )
