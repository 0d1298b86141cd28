"""Run tests as on a fresh machine for their UCR data: ../shared hidden (GANAD_TEST_SHARED at an
empty folder, GANAD_UCR unset), the UCR/UEA archive stood in for by a loopback server serving
zips built from ../shared/data/<NAME> in the archive's layout (GANAD_UCR_URL).

    .venv/bin/python scripts/fresh_ucr_tests.py tests/test_data_loaders.py \
        tests/test_download_ucr.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ucr_source import loopback_ucr, read_tables, write_zip  # noqa: E402

NAMES = ("ECG200", "ECG5000")


def main(pytest_args: list[str]) -> int:
    source = REPO.parent / "shared" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        zips, empty = Path(tmp, "zips"), Path(tmp, "empty")
        zips.mkdir()
        empty.mkdir()
        for name in NAMES:
            write_zip(zips / f"{name}.zip", name, read_tables(source / name, name))
        with loopback_ucr(zips) as url:
            env = {**os.environ, "GANAD_TEST_SHARED": str(empty), "OMP_NUM_THREADS": "1"}
            env.pop("GANAD_UCR", None)
            print(f"../shared hidden; UCR archive at {url}", flush=True)
            cmd = [sys.executable, "-m", "pytest", "-q", "-rs", *pytest_args]
            return subprocess.call(cmd, env=env, cwd=REPO)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
