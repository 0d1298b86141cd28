"""ganad: config-driven GAN-based anomaly detection experiments."""

__version__ = "0.1.0"
