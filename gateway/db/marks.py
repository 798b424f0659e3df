"""Named parameters for the values of an ``IN (...)`` list, and lists cut to a size a statement takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 500  # values in one ``IN (…)`` or rows in one ``VALUES …``: well under either engine's limit of parameters


def chunks(values: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """``values`` in runs of at most ``size``, in order."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def named_list(values: Sequence[object], prefix: str = "m") -> tuple[str, dict[str, object]]:
    """The list's marks (``":m0, :m1"``) and their parameters (``{"m0": ..., "m1": ...}``)."""
    params = {f"{prefix}{n}": value for n, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params
