"""Takes: the slate, the crash-safe recorder (journal + SQLite), the take store and the exporters."""
