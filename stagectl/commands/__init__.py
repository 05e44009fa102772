"""The command line's command families, one module each."""
