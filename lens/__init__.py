"""Lens data: lens files, FIZ encoders and calibration (arrives with the lens issue, S3)."""
