"""What a tester reads: one line per conversation, the diff and transcript of a failure, JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from gateway.converse.runner import Result


def one_line(result: Result) -> str:
    name = str(result.conversation.path)
    if result.passed:
        return f"PASS  {name}  ({result.seconds:.1f}s)"
    if result.error is not None:
        return f"ERROR {name}  {result.error}"
    assert result.failure is not None
    return f"FAIL  {name}  line {result.failure.line}  ({result.seconds:.1f}s)"


def details(result: Result) -> str:
    """The failure (step, expected, actual, diff) and the transcript so far."""
    lines = [f"--- {result.conversation.path}: {result.conversation.title}"]
    if result.error is not None:
        lines.append(f"could not run: {result.error}")
    if result.failure is not None:
        lines.append(result.failure.explain())
    if result.transcript:
        lines.append("  transcript so far:")
        lines += [f"    {line}" for line in result.transcript]
    return "\n".join(lines)


def summary(results: Sequence[Result], seconds: float) -> str:
    """``'30 passed, 1 failed in 8.1s'``; conversations that could not run at all are errors, not failures."""
    passed = sum(r.passed for r in results)
    errors = sum(r.error is not None for r in results)
    tail = f", {errors} error{'' if errors == 1 else 's'}" if errors else ""
    return f"{passed} passed, {len(results) - passed - errors} failed{tail} in {seconds:.1f}s"


def write_junit(results: Sequence[Result], path: Path, seconds: float) -> None:
    suite = ET.Element(
        "testsuite",
        name="conversations",
        tests=str(len(results)),
        failures=str(sum(r.failure is not None for r in results)),
        errors=str(sum(r.error is not None for r in results)),
        time=f"{seconds:.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite, "testcase", classname="conversations", name=result.conversation.name, time=f"{result.seconds:.3f}"
        )
        case.set("file", str(result.conversation.path))
        if result.failure is not None:
            failure = ET.SubElement(case, "failure", message=f"line {result.failure.line}: {result.failure.what}")
            failure.text = details(result)
        elif result.error is not None:
            error = ET.SubElement(case, "error", message=result.error)
            error.text = details(result)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
