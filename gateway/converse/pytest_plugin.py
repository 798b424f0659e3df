"""Plain ``pytest`` collects ``*.conv`` files as tests, one item per conversation, with the same report.

Enabled by importing :func:`pytest_collect_file` into a ``conftest.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.converse.cli import SUFFIX
from gateway.converse.parse import parse_file
from gateway.converse.report import details
from gateway.converse.runner import Result, run_conversation


class ConversationFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(details(result))
        self.result = result


class ConversationItem(pytest.Item):
    def runtest(self) -> None:
        result = asyncio.run(run_conversation(parse_file(self.path)))
        if not result.passed:
            raise ConversationFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConversationFailed):
            return details(excinfo.value.result)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"conversation {self.path.name}"


class ConversationFile(pytest.File):
    def collect(self) -> Iterator[ConversationItem]:
        yield ConversationItem.from_parent(self, name=self.path.stem)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ConversationFile | None:
    if file_path.suffix == SUFFIX:
        return ConversationFile.from_parent(parent, path=file_path)
    return None
