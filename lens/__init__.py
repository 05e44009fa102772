"""Lens data: lens files (model, solve, interchange) and calibration.

* lens files: ``lens.lensfile`` (model, load, save, calibrations; validation in
  ``lens.lensfile_check``), ``lens.solve`` (``LensSolver``: raw counts -> ``LensValues`` per
  sample), ``lens.interpolate``, ``lens.interchange`` (OpenTrackIO, Unreal) and
  ``lens.table_csv`` (a CSV table for people); the format is docs/lens-files.md;
* calibration from board images: ``lens.calibrate``, ``lens.synthetic``.

The package never imports Qt.
"""
