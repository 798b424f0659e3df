"""The commands subscribers send, one module per family, listed in :mod:`commands.registry`."""
