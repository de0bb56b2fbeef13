"""Command implementations of the ``sdaug`` CLI: one module per command, ``run(args) -> int``."""
