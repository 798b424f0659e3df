"""``gateway`` and its subcommands: what a person runs (the entry-point layer, above everything else)."""

from gateway.cli.main import main

__all__ = ["main"]
