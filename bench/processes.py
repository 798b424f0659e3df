"""The processes a benchmark runs beside itself: the simulator with gateway instances bound to it, each its
own ``python -m gateway run``, on a ledger that is a new SQLite file or a database on a PostgreSQL 16 started
for the run (``pgserver``, the test extra); all stopped after."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from bench import mo_reply
from gateway.smsc import SmscSimulator


@asynccontextmanager
async def gateways_on(
    subscribers: int,
    *,
    engine: str,
    instances: int = 1,
    event_loop: str = "asyncio",
    extra: dict[str, str] | None = None,
) -> AsyncIterator[SmscSimulator]:
    """A simulator and, bound to it, ``instances`` gateway processes on one new ledger of ``subscribers``
    (the simulator hands each MO to the next bind in turn)."""
    if instances > 1 and engine != "postgres":
        raise SystemExit("several instances share a PostgreSQL ledger: --engine postgres")
    with tempfile.TemporaryDirectory(prefix="bench-") as folder, ledger_in(folder, engine) as path:
        print(f"seeded {subscribers} subscribers in {await mo_reply.seed(path, subscribers):.1f} s")
        sim = SmscSimulator(port=0)
        await sim.start()
        processes: list[asyncio.subprocess.Process] = []
        try:
            for i in range(instances):
                name = f"bench-{i + 1}"
                gateway = await mo_reply.start_gateway(
                    sim.port, path, event_loop=event_loop, instance=name, extra=extra
                )
                processes.append(gateway)
            await sim.wait_bound(15.0, count=instances)
            yield sim
        finally:
            for process in processes:
                await stop(process)
            await sim.stop()


@contextmanager
def ledger_in(folder: str, engine: str) -> Iterator[str]:
    """Where the gateway's ledger is: a SQLite file in ``folder``, or a database on a PostgreSQL 16 started
    there (the ``pgserver`` package of the test extra), stopped after."""
    if engine == "sqlite":
        yield f"{folder}/bench.db"
        return
    try:
        import pgserver
    except ImportError:
        raise SystemExit("bench --engine postgres needs pgserver: pip install -e '.[test]'") from None
    server = pgserver.get_server(f"{folder}/postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        server.psql("CREATE DATABASE bench;")
        yield server.get_uri(database="bench")
    finally:
        server.cleanup()


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
