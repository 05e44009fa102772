"""stagectl: the headless core of the stage controller. Never imports Qt."""

from stagectl.core.version import __version__

__all__ = ["__version__"]
