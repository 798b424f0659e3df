"""Named parameters for the values of an ``IN (...)`` list."""

from __future__ import annotations

from collections.abc import Sequence


def named_list(values: Sequence[object], prefix: str = "m") -> tuple[str, dict[str, object]]:
    """The list's marks (``":m0, :m1"``) and their parameters (``{"m0": ..., "m1": ...}``)."""
    params = {f"{prefix}{n}": value for n, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params
