"""The one place that prints `ganad: error:` lines."""

from __future__ import annotations

import sys


def debug() -> bool:
    """GANAD_DEBUG=1: show the traceback behind a `ganad: error:` line (and Hydra's in full)."""
    import os

    return os.environ.get("GANAD_DEBUG", "").lower() not in ("", "0", "false", "no")


def error(message: str, code: int = 2) -> int:
    if debug() and sys.exc_info()[0] is not None:
        import traceback

        traceback.print_exc()
    print(f"ganad: error: {message}", file=sys.stderr)
    return code
