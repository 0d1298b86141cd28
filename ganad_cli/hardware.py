"""The machine: is the hardware a trainer config asks for here (checked by the preflight, before
Hydra makes a run folder, so `trainer=gpu` on a CPU-only machine is one `ganad: error:` line), and
what a result was measured on and with (runtime.json, bench.md, scripts/reproduce.py: the
machine and the git commit).

torch is imported only when needed (a CPU config error stays torch-free and fast)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from ganad_cli import __version__
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


# ------------------------------------------------------------------- what results ran on


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def hardware() -> dict:
    """runtime.json's `hardware`: where a run trained and was scored."""
    import torch

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "ganad": __version__,
        "device": "cpu",
    }
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
    return info


def device_info(device: str) -> dict:
    """bench.csv/bench.md's `hardware`: the device a bench timed, and the machine's load."""
    import torch

    name = platform.processor() or platform.machine()
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
    return {
        "device": device,
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "load_average": load_average(),
    }


def machine_line(threads: int | str | None = None) -> str:
    """The machine in one line, for every results file (reproduce.py and the bench scripts):
    CPU model and count, torch version and intra-op threads (this process's when not given),
    the GPU if any."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    shown = torch.get_num_threads() if threads is None else threads
    return (
        f"CPU {cpu_model()} ({os.cpu_count()} logical cores), torch {torch.__version__} with "
        f"{shown} intra-op threads; GPU: {gpu}"
    )


def machine_summary(torch_threads: list[int]) -> str:
    """scripts/reproduce.py's Hardware line: `machine_line` with the torch threads the runs saw
    (this process's when none were recorded) and the load average now."""
    shown = ", ".join(map(str, torch_threads)) or None
    return f"{machine_line(shown)}; load average at the end {load_average()}"


def git_commit(repo: Path, outputs: tuple[str, ...] = ()) -> str:
    """The checkout's HEAD, marked when tracked files have uncommitted changes; changes under
    `outputs` (paths the caller itself writes, e.g. scripts/results) do not count."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = git(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            *(f":(exclude){o}" for o in outputs),
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (with uncommitted changes)" if dirty else "")
