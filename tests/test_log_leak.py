"""The logs of a full conversation run never show a whole phone number, a password, an ID number, a PUK code
or a recharge card's serial."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path

from gateway.converse.parse import parse_file
from gateway.converse.report import details
from gateway.converse.runner import Result, run_conversation
from gateway.converse.script import Send
from gateway.logs import setup_logging

CONVERSATIONS = Path(__file__).parent / "conversations"


async def test_no_seeded_msisdn_password_or_id_number_reaches_the_logs() -> None:
    scripts = [parse_file(path) for path in sorted(CONVERSATIONS.glob("*.conv"))]
    msisdns = {f.msisdn for s in scripts for f in s.fixtures} | {
        step.subscriber for s in scripts for step in s.steps if isinstance(step, Send)
    }
    secrets = (
        {f.password for s in scripts for f in s.fixtures if f.password}
        | {f.id_number for s in scripts for f in s.fixtures if f.id_number}
        | {f.puk for s in scripts for f in s.fixtures if f.puk}
        | {card[0] for s in scripts for f in s.fixtures for card in f.cards}
    )
    typed = {  # what subscribers typed into 502/503 dialogs: old and new passwords, ID numbers
        step.text
        for s in scripts
        for step in s.steps
        if isinstance(step, Send) and re.fullmatch(r"\d{6}|\d{17}[\dXx]", step.text)
    }
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    captured = io.StringIO()
    setup_logging("debug", "json", stream=captured)
    try:
        gate = asyncio.Semaphore(8)  # mostly waiting on clocks and answers: eight at a time keep two cores busy

        async def run(script: object) -> Result:
            async with gate:
                return await run_conversation(script)  # type: ignore[arg-type]

        results = await asyncio.gather(*(run(s) for s in scripts))
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    failed = [details(r) for r in results if not r.passed]
    assert not failed, "\n".join(failed)
    logs = captured.getvalue()
    assert len(logs.splitlines()) > 100  # the run did log (masked numbers included)
    assert re.search(r"1\d{2}\*{4}\d{4}", logs)  # and numbers appear masked
    assert len(msisdns) >= 5 and len(secrets) >= 8 and len(typed) >= 5
    leaked = sorted(x for x in msisdns | secrets | typed if x in logs)
    assert leaked == []
