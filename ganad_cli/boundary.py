"""The error boundary: which exceptions are the user's doing, and their one-line message.

Everything a command does runs inside this boundary (ganad_cli.cli.apps, ganad_cli.cli). An
exception
of a user-caused class (config and interpolation errors, Lightning's misconfiguration errors,
unreadable files, text that is not UTF-8, allocation failures, missing wandb credentials) becomes
a GanadInputError naming the key or file: one `ganad: error:` line, exit 2, and the half-made
output folder removed. Anything else is a bug in ganad and keeps its traceback.
"""

from __future__ import annotations

import errno
import re
from typing import Any

from ganad_cli.errors import GanadInputError

# config keys that decide how much memory a run needs, named when an allocation fails
MEMORY_KEYS = (
    "model.latent_dim",
    "model.base_channels",
    "data.batch_size",
    "inversion.batch_size",
    "data.max_samples",
)
# Lightning Trainer arguments: a misconfiguration message naming one names that trainer key
TRAINER_KEYS = ("accelerator", "strategy", "devices", "precision", "max_epochs", "max_steps")
# errno values that mean "this output cannot be written here"
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST}
# errno values that say "this path cannot be read or opened" (not: the disk is full)
UNREADABLE = {
    errno.ELOOP: "is a symlink loop",
    errno.EACCES: "is not accessible (permission denied)",
    errno.EPERM: "is not accessible (operation not permitted)",
    errno.ENOENT: "does not exist",
    errno.EISDIR: "is a folder, not a file",
    errno.ENAMETOOLONG: "is too long a path",
    errno.EIO: "could not be read (I/O error)",
}


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def config_error(exc: BaseException) -> GanadInputError:
    """An OmegaConf error (bad type, unset or failing interpolation) naming its key."""
    key = getattr(exc, "full_key", None)
    detail = _first_line(exc)
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause).splitlines()[0] not in detail:
        detail += ": " + str(cause).splitlines()[0]
    where = f"config key '{key}'" if key else "config"
    return GanadInputError(f"{where}: {detail}")


def _cfg_value(cfg: Any, key: str) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.select(cfg, key, default=None)
    except Exception:  # noqa: BLE001 - an unresolvable value: just leave it out
        return None


def memory_error(exc: BaseException, cfg: Any = None) -> GanadInputError:
    settings = ""
    if cfg is not None:
        values = [(k, _cfg_value(cfg, k)) for k in MEMORY_KEYS]
        settings = " (" + ", ".join(f"{k}={v}" for k, v in values if v is not None) + ")"
    detail = _first_line(exc).split("DefaultCPUAllocator: ")[-1][:200]
    return GanadInputError(
        f"out of memory: {detail}; expected settings that fit in this machine's memory{settings}: "
        "lower model.latent_dim, model.base_channels or the batch sizes"
    )


def describe_os_error(exc: OSError) -> str | None:
    """One line for a write that failed for lack of space or permission, else None."""
    where = exc.filename or "an output file"
    if exc.errno in NO_SPACE:
        return (
            f"cannot write {where}: {exc.strerror} (disk full or file size limit); expected free "
            "space there (or choose another hydra.run.dir / output); no result was written"
        )
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):  # mkdir where a file is in the way
        return (
            f"cannot create a folder at {where}: a file is in the way; expected a writable "
            "location (check hydra.run.dir / output)"
        )
    if exc.errno in NOT_WRITABLE:
        return (
            f"cannot write {where}: {exc.strerror}; expected a writable location (check "
            "hydra.run.dir / output)"
        )
    return None


def os_error(exc: OSError) -> GanadInputError | None:
    """A file that cannot be read (or written: no space, no permission), naming it."""
    where = exc.filename or "a file"
    if exc.errno in UNREADABLE and exc.errno not in (errno.EACCES, errno.EPERM):
        return GanadInputError(f"{where} {UNREADABLE[exc.errno]}; expected a readable file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return GanadInputError(
            f"{where} {UNREADABLE[exc.errno]}; expected a readable input and a writable output"
        )
    message = describe_os_error(exc)
    return GanadInputError(message) if message else None


def _is_allocation_failure(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


def _is_misconfiguration(exc: BaseException) -> bool:
    try:
        from lightning_fabric.utilities.exceptions import MisconfigurationException
    except ImportError:  # pragma: no cover - Lightning without its fabric package
        return False
    return isinstance(exc, MisconfigurationException)


def _is_wandb_credentials(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("wandb") and type(exc).__name__ in (
        "UsageError",
        "AuthenticationError",
        "CommError",
    )


def trainer_error(exc: BaseException) -> GanadInputError:
    """A Lightning misconfiguration: name the trainer key its message mentions."""
    detail = _first_line(exc)
    key = next((k for k in TRAINER_KEYS if k in detail), None)
    where = f"config key 'trainer.{key}'" if key else "config group 'trainer'"
    return GanadInputError(f"{where}: {detail}")


# Lightning's messages when a monitored metric was never logged (EarlyStopping, ModelCheckpoint)
_UNLOGGED_MONITOR = re.compile(
    r"^(?:Early stopping conditioned on metric `(?P<es>[^`]+)` which is not available"
    r"|`ModelCheckpoint\(monitor='(?P<mc>[^']+)'\)` could not find the monitored key)"
)


def monitor_error(exc: BaseException, cfg: Any = None) -> GanadInputError | None:
    """A callback's monitor that training never logged: name the callbacks entry."""
    m = _UNLOGGED_MONITOR.match(str(exc))
    if m is None:
        return None
    metric = m.group("es") or m.group("mc")
    entries = (cfg.get("callbacks") if cfg is not None else None) or {}
    entry = next(
        (k for k, v in entries.items() if v is not None and v.get("monitor") == metric), "<entry>"
    )
    return GanadInputError(
        f"config key 'callbacks.{entry}.monitor': {metric!r} is not logged by this model during "
        f"training ({_first_line(exc)})"
    )


def as_input_error(exc: BaseException, cfg: Any = None) -> GanadInputError | None:
    """The GanadInputError a user-caused exception stands for; None for anything else (a bug)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, GanadInputError):
        return exc
    if isinstance(exc, OmegaConfBaseException):
        return config_error(exc)
    if isinstance(exc, HydraException):
        return GanadInputError(_first_line(exc))
    monitored = monitor_error(exc, cfg)
    if monitored is not None:
        return monitored
    if _is_misconfiguration(exc):
        return trainer_error(exc)
    if _is_wandb_credentials(exc):
        return GanadInputError(
            f"config key 'logger.mode': wandb refused to start ({_first_line(exc)}); expected "
            "credentials for logger.mode=online (wandb login, or WANDB_API_KEY), or "
            "logger.mode=offline"
        )
    if isinstance(exc, UnicodeDecodeError):
        return GanadInputError(
            f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); expected "
            "UTF-8 or ASCII text"
        )
    if _is_allocation_failure(exc):
        return memory_error(exc, cfg)
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from"):
        return GanadInputError(f"{str(exc)[len('Symlink loop from ') :]} is a symlink loop")
    if isinstance(exc, OSError):
        return os_error(exc)
    return None
