"""Progress bars (tqdm) for long loops: on in a terminal, off in CI or with `quiet=true`."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = bool(quiet)


def enabled() -> bool:
    if _quiet or os.environ.get("CI", "").lower() in ("1", "true"):
        return False
    return sys.stderr.isatty()


def bar(total: int, desc: str, unit: str = "it") -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled(),
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )
