"""What a result was measured on: CPU, threads, torch, GPU (runtime.json, bench.md, reproduce)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from ganad_cli import __version__


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
