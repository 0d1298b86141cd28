"""User-facing errors: one clear line, exit code 2."""

from __future__ import annotations


class GanadInputError(Exception):
    """Bad input from the user (config value, data file, run folder).

    The message must name the file or key and say what was expected.
    """

    exit_code = 2


class ReproduceError(Exception):
    """A reproduction cannot go on (a failed ganad command, a --out that is not empty, a fold
    of another protocol): scripts/reproduce.py prints the message and exits with code 1."""
