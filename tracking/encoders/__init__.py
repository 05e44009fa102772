"""Lens encoders on their own wire (Cooke /i, FIZ lines) and their serial source."""
