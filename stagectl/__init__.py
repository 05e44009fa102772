"""stagectl: the headless core of the stage controller. Never imports Qt."""

__version__ = "0.1.0"
