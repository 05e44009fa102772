"""The stage file: its model, the checks of every table and where an error is in the file."""
