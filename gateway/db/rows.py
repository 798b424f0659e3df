"""Rows mapped to frozen dataclasses by column name, never by position.

A repository names the columns it reads once, as a :class:`Columns`, and uses the same object for the
``SELECT`` list and for the mapping, so adding or reordering a column cannot shift a value into the wrong
field::

    HOLDER = Columns("msisdn", "name", "status")
    rows = await reads.fetch(f"SELECT {HOLDER} FROM subscriber WHERE msisdn = :msisdn", {"msisdn": m})
    found = [HOLDER.to(Subscriber, row) for row in rows]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class Columns:
    """The columns a query reads, in order; ``str()`` is the ``SELECT`` list (``"a, b, c"``)."""

    def __init__(self, *names: str, table: str = "") -> None:
        self.names = names
        prefix = f"{table}." if table else ""
        self._sql = ", ".join(prefix + name for name in names)

    def __str__(self) -> str:
        return self._sql

    def mapping(self, row: Sequence[Any]) -> dict[str, Any]:
        """The row as ``{column: value}``."""
        if len(row) != len(self.names):
            raise ValueError(f"a row of {len(row)} values for the {len(self.names)} columns {self._sql}")
        return dict(zip(self.names, row, strict=True))

    def to(self, make: Callable[..., T], row: Sequence[Any], **more: Any) -> T:
        """``make(column=value, ..., **more)``: a dataclass (or any keyword constructor) from the row."""
        return make(**self.mapping(row), **more)
