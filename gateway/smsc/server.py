"""The asyncio side of the SMSC simulator: a TCP server whose protocol only moves bytes and timers.

Every decision is taken by :mod:`gateway.smsc.core`; :class:`SmscSimulator` is the handle tests, the
demo and the CLI use (start/stop, sending MOs and receipts, waiting for MTs, injecting faults).
"""

from __future__ import annotations

import asyncio
import signal
from collections import deque
from collections.abc import Callable, Sequence
from typing import cast

from gateway.smpp.codec import ShortMessage
from gateway.smpp.constants import CommandId, DataCoding, Tag
from gateway.smpp.text import gsm_encode
from gateway.smsc.control import ControlServer
from gateway.smsc.core import (
    Answered,
    Close,
    Faults,
    Output,
    Send,
    Session,
    SmscConnection,
    SmscState,
    SubmitAnswer,
)
from gateway.smsc.messages import convert_message_id, mo_parts, receipt
from gateway.smsc.mts import Mt

_CLOSE_TIMEOUT = 5.0


class _EsmeProtocol(asyncio.Protocol):
    """One ESME connection: feeds bytes to its SmscConnection and carries out the outputs."""

    def __init__(self, simulator: SmscSimulator, connection: SmscConnection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self._simulator = simulator
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._waiters: dict[int, asyncio.Future[int]] = {}
        self._answers: deque[tuple[float, SubmitAnswer]] = deque()
        self._answer_timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol hooks: move bytes, nothing else ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without being its subclass
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        self._simulator._attach(self)

    def data_received(self, data: bytes) -> None:
        for output in self.connection.receive_data(data):
            self._apply(output)
        self._simulator._changed()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        self._answers.clear()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("the ESME connection was closed"))
        self._waiters.clear()
        if not self.closed.done():
            self.closed.set_result(None)
        self._simulator._detach(self)

    # --- carrying out the core's outputs ---

    def _apply(self, output: Output) -> None:
        if isinstance(output, Send):
            self.write(output.data)
        elif isinstance(output, SubmitAnswer):
            self._answers.append((self._loop.time() + output.delay, output))
            if self._answer_timer is None:
                self._write_due_answers()
        elif isinstance(output, Answered):
            waiter = self._waiters.pop(output.sequence_number, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(output.command_status)
        elif isinstance(output, Close) and self.transport is not None:
            self.transport.close()

    def _write_due_answers(self) -> None:
        """Write the submit_sm_resp whose time has come, in arrival order, and wait for the next one."""
        self._answer_timer = None
        now = self._loop.time()
        while self._answers and self._answers[0][0] <= now:
            _, answer = self._answers.popleft()
            self.write(answer.data)
            if answer.receipt_for is not None:
                self._simulator._send_auto_receipt(answer.receipt_for)
        if self._answers:
            self._answer_timer = self._loop.call_at(self._answers[0][0], self._write_due_answers)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self, *, abort: bool = False) -> None:
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    async def request(self, command_id: CommandId, body: ShortMessage | None, timeout: float) -> int:
        """Send a request of ours and return the command_status of the ESME's answer."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the ESME connection is closing")
        sequence, data = self.connection.request(command_id, body)
        waiter: asyncio.Future[int] = self._loop.create_future()
        self._waiters[sequence] = waiter
        self.transport.write(data)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            raise TimeoutError(f"no answer to {command_id.name} #{sequence} within {timeout} s") from None
        finally:
            if self._waiters.pop(sequence, None) is not None:
                self.connection.forget(sequence)


class SmscSimulator:
    """A real SMPP 3.4 SMSC over TCP, for tests, the demo and people trying the gateway out."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "gateway",
        password: str = "secret",
        control_port: int | None = None,
        message_id_format: str = "hex",
    ) -> None:
        self.host = host
        self.port = port
        self.control_port = control_port
        self.control_url: str | None = None
        self.auto_receipt_failures = 0
        self._state = SmscState(system_id=system_id, password=password, message_id_format=message_id_format)
        self._server: asyncio.Server | None = None
        self._control: ControlServer | None = None
        self._protocols: dict[int, _EsmeProtocol] = {}
        self._last_connection_id = 0
        self._round_robin = 0
        self.last_receiver: int | None = None  # the connection id the last deliver_sm was sent on
        self._change: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[int]] = set()

    # --- lifecycle ---

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.control_port is not None:
            self._control = ControlServer(self)
            try:
                self.control_url = await self._control.start(self.control_port)
            except BaseException:
                await self.stop()
                raise

    async def stop(self) -> None:
        if self._control is not None:
            await self._control.stop()
            self._control = None
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_connections(abort=False)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _new_protocol(self) -> _EsmeProtocol:
        self._last_connection_id += 1
        return _EsmeProtocol(self, SmscConnection(self._state, self._last_connection_id))

    def _attach(self, protocol: _EsmeProtocol) -> None:
        self._protocols[protocol.connection.connection_id] = protocol

    def _detach(self, protocol: _EsmeProtocol) -> None:
        self._protocols.pop(protocol.connection.connection_id, None)
        self._changed()

    async def _close_connections(self, *, abort: bool) -> None:
        protocols = list(self._protocols.values())
        for protocol in protocols:
            protocol.close(abort=abort)
        closing = [protocol.closed for protocol in protocols]
        if not closing:
            return
        _done, pending = await asyncio.wait(closing, timeout=_CLOSE_TIMEOUT)
        for protocol in protocols:
            if protocol.closed in pending:
                protocol.close(abort=True)
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_TIMEOUT)

    # --- state, as the tests read it ---

    @property
    def faults(self) -> Faults:
        return self._state.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._state.faults = faults

    @property
    def auto_receipts(self) -> bool:
        return self._state.auto_receipts

    @auto_receipts.setter
    def auto_receipts(self, value: bool) -> None:
        self._state.auto_receipts = value

    @property
    def mts(self) -> list[Mt]:
        return self._state.mts

    @property
    def submits(self) -> int:
        return self._state.submits

    @property
    def swallowed(self) -> int:
        """submit_sm never answered because of ``faults.swallow_to``."""
        return self._state.swallowed

    @property
    def bind_attempts(self) -> int:
        return self._state.bind_attempts

    @property
    def binds(self) -> int:
        return self._state.binds

    @property
    def received_unbinds(self) -> int:
        return self._state.received_unbinds

    @property
    def generic_nacks_received(self) -> int:
        return self._state.generic_nacks_received

    @property
    def unexpected_responses(self) -> int:
        """Responses from the ESME that answer nothing we sent (wrong sequence number or command)."""
        return self._state.unexpected_responses

    @property
    def sessions(self) -> list[Session]:
        return [p.connection.session for p in self._protocols.values() if p.connection.session is not None]

    # --- waiting ---

    def _changed(self) -> None:
        if self._change is not None:
            self._change.set()
            self._change = None

    async def _wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not ready():
                    if self._change is None:
                        self._change = asyncio.Event()
                    await self._change.wait()
        except TimeoutError:
            raise TimeoutError(f"{what} within {timeout} s") from None

    async def wait_bound(self, timeout: float = 5.0, *, count: int = 1) -> None:
        await self._wait_until(lambda: len(self.sessions) >= count, timeout, f"no {count} bound session(s)")

    async def wait_for_mts(self, count: int, *, destination_addr: str | None = None, timeout: float = 5.0) -> list[Mt]:
        def matching() -> list[Mt]:
            return [mt for mt in self.mts if destination_addr is None or mt.destination_addr == destination_addr]

        await self._wait_until(lambda: len(matching()) >= count, timeout, f"fewer than {count} MTs")
        return matching()[:count]

    # --- sending to the ESME ---

    def _bound(self) -> list[_EsmeProtocol]:
        return [p for p in self._protocols.values() if p.connection.session is not None]

    def _next_receiver(self) -> _EsmeProtocol:
        receivers = [p for p in self._bound() if p.connection.session and p.connection.session.bind_type.can_receive]
        if not receivers:
            raise ConnectionError("no ESME is bound as receiver or transceiver")
        self._round_robin += 1
        chosen = receivers[self._round_robin % len(receivers)]
        self.last_receiver = chosen.connection.connection_id
        return chosen

    async def send_deliver(self, message: ShortMessage, timeout: float = 5.0) -> int:
        """Send one deliver_sm to a bound receiver; the command_status of its deliver_sm_resp."""
        return await self._next_receiver().request(CommandId.deliver_sm, message, timeout)

    async def send_mo(
        self,
        source_addr: str,
        destination_addr: str,
        text: str,
        *,
        concat: str = "udh8",
        drop_parts: Sequence[int] = (),
        reference: int | None = None,
        data_coding: int | None = None,
        timeout: float = 5.0,
    ) -> list[int]:
        """Send ``text`` as one or more deliver_sm (leaving out ``drop_parts``); the status of each sent."""
        parts = mo_parts(
            source_addr=source_addr,
            destination_addr=destination_addr,
            text=text,
            concat=concat,
            reference=self._state.next_reference() if reference is None else reference,
            data_coding=data_coding,
        )
        statuses: list[int] = []
        for seqno, part in enumerate(parts, 1):
            if seqno not in drop_parts:
                statuses.append(await self.send_deliver(part, timeout))
        return statuses

    async def send_ussd(
        self,
        source_addr: str,
        destination_addr: str,
        text: str,
        *,
        op: int,
        session: int,
        sequence: int = 0,
        end: bool = False,
        timeout: float = 5.0,
    ) -> int:
        """A USSD deliver_sm: ``ussd_service_op`` = ``op`` (1: the subscriber dialled ``text``, 18: their
        answer to a menu) and ``its_session_info`` (session number; sequence number and end-of-session bit,
        set when the subscriber aborts or the network releases the session). The deliver_sm_resp status."""
        septets = gsm_encode(text)
        coding, payload = (
            (DataCoding.SMSC_DEFAULT, septets) if septets is not None else (DataCoding.UCS2, text.encode("utf-16-be"))
        )
        message = ShortMessage(
            service_type="USSD",
            source_addr=source_addr,
            destination_addr=destination_addr,
            data_coding=coding,
            short_message=payload,
            tlvs=(
                (Tag.ussd_service_op, bytes([op])),
                (Tag.its_session_info, bytes([session & 0xFF, ((sequence & 0x7F) << 1) | int(end)])),
            ),
        )
        return await self.send_deliver(message, timeout)

    async def send_receipt(
        self,
        message_id: str,
        *,
        stat: str = "DELIVRD",
        id_format: str = "hex",
        use_tlv: bool = True,
        timeout: float = 5.0,
    ) -> int:
        """Send a delivery receipt for one of our message ids, shown in ``id_format``."""
        submitted = self._state.submitted.get(message_id)
        now = self._state.wall_clock()
        body = receipt(
            message_id=convert_message_id(message_id, from_format=self._state.message_id_format, to_format=id_format),
            stat=stat,
            source_addr=submitted.destination_addr if submitted else "",
            destination_addr=submitted.source_addr if submitted else "",
            submitted_at=submitted.submitted_at if submitted else now,
            done_at=now,
            use_tlv=use_tlv,
        )
        return await self.send_deliver(body, timeout)

    def _send_auto_receipt(self, message_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.send_receipt(message_id))
        self._tasks.add(task)
        task.add_done_callback(self._auto_receipt_done)

    def _auto_receipt_done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.auto_receipt_failures += 1

    async def send_enquire_link(self, timeout: float = 5.0) -> None:
        """enquire_link to every bound ESME; raises if one of them does not answer in time."""
        results = await asyncio.gather(
            *(p.request(CommandId.enquire_link, None, timeout) for p in self._bound()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def send_garbage(self, data: bytes) -> None:
        for protocol in self._bound():
            protocol.write(data)

    async def drop_connections(self) -> None:
        """Close every ESME connection at once, without unbind."""
        await self._close_connections(abort=True)

    async def drop_connection(self, connection_id: int) -> None:
        """Close one ESME connection (see :attr:`last_receiver`), without unbind; the others stay."""
        protocol = self._protocols.get(connection_id)
        if protocol is not None:
            protocol.close(abort=True)
            await asyncio.wait_for(asyncio.shield(protocol.closed), _CLOSE_TIMEOUT)


async def run_simulator(host: str, port: int, control_port: int | None, system_id: str, password: str) -> None:
    """Run a simulator until cancelled (``gateway smsc-sim``)."""
    simulator = SmscSimulator(host=host, port=port, control_port=control_port, system_id=system_id, password=password)
    await simulator.start()
    control = f", control API on {simulator.control_url}" if simulator.control_url else ""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a clean stop, exit 0
        loop.add_signal_handler(sig, stop.set)
    print(f"SMSC simulator: SMPP on {host}:{simulator.port}{control}", flush=True)
    try:
        await stop.wait()
    finally:
        await simulator.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
