"""stagectl's version (one place; the package and every sender's ``productVersion`` read it)."""

__version__ = "0.1.0"
