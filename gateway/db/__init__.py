"""The persistence package: the only place that talks to a database driver (issue 14 moves the rest here)."""
