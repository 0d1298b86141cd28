"""One writer per run folder.

`ganad train` (new runs and resumes) and `ganad bench` write into a run folder; two of them at once
would mix one run's metrics with another's config. The writer holds an OS file lock
(`filelock`, released by the OS when the process dies) on `<folder>/.ganad.lock` for as long as it
runs, and records who it is in `<folder>/.ganad.holder.json` so a refused second writer can name the
holder. The lock file stays behind (removing it would race with the next writer); the holder file
goes when the lock is released.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ganad_cli.errors import GanadInputError

LOCK_NAME = ".ganad.lock"
HOLDER_NAME = ".ganad.holder.json"


def holder(folder: Path) -> str:
    """Who holds the folder's lock, as far as its holder file says."""
    try:
        info = json.loads((folder / HOLDER_NAME).read_text())
        return f"pid {info['pid']}, '{info['command']}', since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def run_folder_lock(folder: str | Path, command: str) -> Iterator[Path]:
    """Hold the folder's write lock; GanadInputError at once if another process holds it.
    `command` (the holder's command line) is what a refused second writer is told."""
    folder = Path(folder).expanduser().absolute()
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise GanadInputError(
            f"run folder {folder} is in use by {holder(folder)}; expected a folder no other "
            "ganad process is writing (wait for it to finish, or choose another folder)"
        ) from None
    info = {
        "pid": os.getpid(),
        "command": command[:300],
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        (folder / HOLDER_NAME).write_text(json.dumps(info))
        yield folder
    finally:
        (folder / HOLDER_NAME).unlink(missing_ok=True)
        lock.release()
