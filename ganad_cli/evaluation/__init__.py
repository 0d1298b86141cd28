"""Evaluation: the detector fitted on validation and applied to splits, windows and recordings."""
