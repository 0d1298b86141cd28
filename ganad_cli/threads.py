"""torch intra-op threads decided by the config, never by the launcher.

Hydra's joblib launcher (loky) starts each job with OMP_NUM_THREADS = cores / jobs, so torch's
default differs between launchers and one seed gives different results under two of them.
`threads: N` sets N in every launcher; `threads: null` means torch's default in the `ganad`
process the user started, which the command pins in GANAD_TORCH_THREADS for the jobs it launches.
"""

from __future__ import annotations

import os

ENV = "GANAD_TORCH_THREADS"
# OpenMP worker threads that sleep when idle instead of spinning: on a shared, loaded machine
# spinning workers fight the other jobs (and each other) for the cores, and a one-minute run can
# take half an hour. libgomp reads this once, when torch loads it, so it is set at import of
# ganad_cli (before torch); a value the user set is kept.
WAIT_POLICY = "PASSIVE"


def set_wait_policy() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE unless the user chose one; False once torch is loaded (too late
    to matter in this process, but launched jobs inherit it)."""
    import sys

    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    return "torch" not in sys.modules


# torch's default in this process, read once (a run's own threads= must not become the default
# of the next command run in the same process)
_DEFAULT: list[int] = []


def pin_default_threads() -> None:
    """In the `ganad` process, before Hydra launches jobs: record torch's default thread count."""
    import torch

    if not _DEFAULT:
        _DEFAULT.append(torch.get_num_threads())
    os.environ[ENV] = str(_DEFAULT[0])


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op threads from the config (null: the pinned default); returns them."""
    import torch

    if threads is None:
        pinned = os.environ.get(ENV, "")
        threads = int(pinned) if pinned.isdigit() and int(pinned) >= 1 else torch.get_num_threads()
    torch.set_num_threads(int(threads))
    return int(threads)
