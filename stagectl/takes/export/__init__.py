"""Exporters: one module per format, each a function ``export_<format>(take, out_dir) -> list[Path]``."""
