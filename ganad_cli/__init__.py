"""ganad: config-driven GAN-based anomaly detection experiments."""

__version__ = "0.1.0"

# before anything imports torch: idle OpenMP threads sleep instead of spinning (ganad_cli.threads)
from ganad_cli.threads import set_wait_policy as _set_wait_policy  # noqa: E402

_set_wait_policy()
