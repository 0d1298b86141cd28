#!/usr/bin/env bash
# Create .venv and install ganad into it. Idempotent; safe to re-run.
#   GANAD_TORCH   torch requirement installed first (default torch==2.13.0, a CPU wheel here;
#                 e.g. GANAD_TORCH="torch==2.5.1" or "torch" for your own build).
#   GANAD_EXTRAS  extras to install (default dev,sweep,cluster,baselines,beatgan,tensorboard,wandb,
#                 edf; baselines = PyOD for scripts/side_by_side.py; beatgan = biosppy for
#                 data.normal_r_filter, which experiment=beatgan_mitbih uses; edf = pyedflib for
#                 ganad detect on EDF files).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q "${GANAD_TORCH:-torch==2.13.0}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e ".[${GANAD_EXTRAS:-dev,sweep,cluster,baselines,beatgan,tensorboard,wandb,edf}]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, ganad_cli; print('ganad', ganad_cli.__version__, 'torch', torch.__version__)"
