"""The SMSC simulator, driven over real TCP by a minimal raw ESME written here, and by smpplib's client."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest
import smpplib.client
import smpplib.consts

from gateway.smpp.codec import (
    HEADER,
    Bind,
    BindResp,
    Body,
    Empty,
    MessageIdResp,
    Pdu,
    PduReader,
    ShortMessage,
    decode_pdu,
    encode_pdu,
)
from gateway.smpp.constants import CommandId, DataCoding, EsmClass, Status, Tag
from gateway.smpp.text import Concat, InPart, decode_payload, join_parts, read_short_message, split_text
from gateway.smsc import BindType, Faults, Mt, SmscSimulator, run_simulator

READ_TIMEOUT = 3.0
CHINESE = "您好，您本月的话费余额为一百二十三元四角五分，流量剩余二点五GB。" * 5  # 165 characters: 3 UCS2 parts
SERVICE = "10086"
SUBSCRIBER = "13800138000"


class RawEsme:
    """The smallest ESME that can talk to the simulator: send PDUs, read PDUs, nothing automatic."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = 0
        self._frames = PduReader()

    @classmethod
    async def connect(cls, port: int) -> RawEsme:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, command_id: CommandId, body: Body | None = None, *, sequence: int | None = None) -> int:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        self.writer.write(encode_pdu(Pdu(command_id=command_id, sequence_number=sequence, body=body or Empty())))
        await self.writer.drain()
        return sequence

    async def answer(self, request: Pdu, status: int = 0) -> None:
        resp_id = CommandId(request.command_id | 0x80000000)
        body: Body = MessageIdResp() if request.command_id == CommandId.deliver_sm else Empty()
        pdu = Pdu(command_id=resp_id, sequence_number=request.sequence_number, command_status=status, body=body)
        self.writer.write(encode_pdu(pdu))
        await self.writer.drain()

    async def write_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self, within: float = READ_TIMEOUT) -> bytes:
        async with asyncio.timeout(within):
            while (frame := self._frames.next_frame()) is None:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("closed by the simulator")
                self._frames.feed(data)
        return frame

    async def read(self, within: float = READ_TIMEOUT) -> Pdu:
        return decode_pdu(await self.read_frame(within))

    async def request(self, command_id: CommandId, body: Body | None = None) -> Pdu:
        sequence = await self.send(command_id, body)
        resp = await self.read()
        assert resp.sequence_number == sequence
        return resp

    async def bind(
        self,
        command_id: CommandId = CommandId.bind_transceiver,
        *,
        system_id: str = "gateway",
        password: str = "secret",
    ) -> Pdu:
        return await self.request(command_id, Bind(system_id=system_id, password=password))

    async def submit(self, text: str = "hello", *, registered_delivery: int = 0) -> Pdu:
        body = ShortMessage(
            source_addr=SERVICE,
            destination_addr=SUBSCRIBER,
            registered_delivery=registered_delivery,
            short_message=text.encode("ascii"),
        )
        return await self.request(CommandId.submit_sm, body)

    async def at_eof(self, within: float = READ_TIMEOUT) -> bool:
        """True once the simulator has closed the connection (whatever it sent before is skipped)."""
        async with asyncio.timeout(within):
            while await self.reader.read(65536):
                pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    simulator = SmscSimulator(control_port=0)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def esme(sim: SmscSimulator) -> AsyncIterator[RawEsme]:
    client = await RawEsme.connect(sim.port)
    try:
        yield client
    finally:
        await client.close()


BoundEsme = Callable[..., Awaitable[RawEsme]]


@pytest.fixture
async def bound_esme(sim: SmscSimulator) -> AsyncIterator[BoundEsme]:
    """Connects and binds more ESMEs; all are closed at the end of the test."""
    clients: list[RawEsme] = []

    async def connect(command_id: CommandId = CommandId.bind_transceiver) -> RawEsme:
        client = await RawEsme.connect(sim.port)
        clients.append(client)
        resp = await client.bind(command_id)
        assert resp.command_status == Status.ESME_ROK
        return client

    try:
        yield connect
    finally:
        for client in clients:
            await client.close()


async def answer_delivers(esme: RawEsme, statuses: Sequence[int]) -> list[Pdu]:
    """Read one deliver_sm per status and answer it with that status."""
    received = []
    for status in statuses:
        pdu = await esme.read()
        assert pdu.command_id == CommandId.deliver_sm
        received.append(pdu)
        await esme.answer(pdu, status)
    return received


def ucs2_parts(concat: Concat, reference: int = 0x1234) -> list[ShortMessage]:
    return [
        ShortMessage(
            source_addr=SERVICE,
            destination_addr=SUBSCRIBER,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            short_message=part.short_message,
            tlvs=part.tlvs,
            registered_delivery=1,
        )
        for part in split_text(CHINESE, reference=reference, concat=concat)
    ]


# --- binding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command_id", "bind_type"),
    [
        (CommandId.bind_transmitter, BindType.TRANSMITTER),
        (CommandId.bind_receiver, BindType.RECEIVER),
        (CommandId.bind_transceiver, BindType.TRANSCEIVER),
    ],
)
async def test_bind_is_accepted(sim: SmscSimulator, esme: RawEsme, command_id: CommandId, bind_type: BindType) -> None:
    resp = await esme.bind(command_id)

    assert resp.command_id == CommandId(command_id | 0x80000000)
    assert resp.command_status == Status.ESME_ROK
    assert resp.body == BindResp(system_id="smsc-sim", tlvs=((Tag.sc_interface_version, b"\x34"),))
    await sim.wait_bound(timeout=1)
    assert [(s.system_id, s.bind_type) for s in sim.sessions] == [("gateway", bind_type)]
    assert (sim.bind_attempts, sim.binds) == (1, 1)


@pytest.mark.parametrize(
    ("system_id", "password", "expected"),
    [("gateway", "wrong", Status.ESME_RINVPASWD), ("nobody", "secret", Status.ESME_RINVSYSID)],
)
async def test_bind_with_wrong_credentials_is_refused(
    sim: SmscSimulator, esme: RawEsme, system_id: str, password: str, expected: Status
) -> None:
    resp = await esme.bind(system_id=system_id, password=password)

    assert resp.command_status == expected
    assert resp.body == BindResp()  # no body on error; decoded as the empty body
    assert sim.sessions == []
    assert (sim.bind_attempts, sim.binds) == (1, 0)


async def test_refuse_binds_counts_down_then_accepts(sim: SmscSimulator, esme: RawEsme) -> None:
    sim.faults.refuse_binds = 2
    sim.faults.refuse_status = Status.ESME_RBINDFAIL

    statuses = [(await esme.bind()).command_status for _ in range(3)]

    assert statuses == [Status.ESME_RBINDFAIL, Status.ESME_RBINDFAIL, Status.ESME_ROK]
    assert sim.faults.refuse_binds == 0
    assert (sim.bind_attempts, sim.binds) == (3, 1)


async def test_second_bind_on_a_bound_connection_is_refused(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    assert (await esme.bind()).command_status == Status.ESME_RALYBND
    assert len(sim.sessions) == 1


async def test_wait_bound_times_out_without_enough_sessions(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    await sim.wait_bound(timeout=1, count=1)

    with pytest.raises(TimeoutError):
        await sim.wait_bound(timeout=0.2, count=2)


async def test_unbind_is_answered_and_the_connection_closed(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    resp = await esme.request(CommandId.unbind)

    assert (resp.command_id, resp.command_status) == (CommandId.unbind_resp, Status.ESME_ROK)
    assert await esme.at_eof()
    assert sim.received_unbinds == 1
    assert sim.sessions == []


# --- submit_sm ----------------------------------------------------------------------------------


async def test_submit_is_accepted_with_hex_message_ids(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    resps = [await esme.submit(f"hello {n}") for n in range(17)]

    assert {r.command_status for r in resps} == {Status.ESME_ROK}
    assert [r.body for r in resps][-2:] == [MessageIdResp(message_id="10"), MessageIdResp(message_id="11")]
    assert [mt.text for mt in sim.mts] == [f"hello {n}" for n in range(17)]
    first = sim.mts[0]
    assert (first.source_addr, first.destination_addr, first.message_ids, first.parts) == (
        SERVICE,
        SUBSCRIBER,
        ("1",),
        1,
    )
    assert sim.submits == 17


async def test_message_ids_can_be_decimal() -> None:
    simulator = SmscSimulator(message_id_format="decimal")
    await simulator.start()
    try:
        client = await RawEsme.connect(simulator.port)
        try:
            await client.bind()
            resps = [await client.submit() for _ in range(11)]
        finally:
            await client.close()
    finally:
        await simulator.stop()

    assert resps[-1].body == MessageIdResp(message_id="11")


@pytest.mark.parametrize("command_id", [None, CommandId.bind_receiver])
async def test_submit_without_transmitter_bind_is_refused(
    sim: SmscSimulator, esme: RawEsme, command_id: CommandId | None
) -> None:
    if command_id is not None:
        await esme.bind(command_id)

    resp = await esme.submit()

    assert (resp.command_id, resp.command_status) == (CommandId.submit_sm_resp, Status.ESME_RINVBNDSTS)
    assert sim.mts == []
    assert sim.submits == 1


@pytest.mark.parametrize("concat", list(Concat))
async def test_concatenated_mt_is_joined(sim: SmscSimulator, esme: RawEsme, concat: Concat) -> None:
    await esme.bind()
    parts = ucs2_parts(concat)
    assert len(parts) == 3

    resps = [await esme.request(CommandId.submit_sm, part) for part in parts]

    assert [r.command_status for r in resps] == [0, 0, 0]
    [mt] = await sim.wait_for_mts(1, timeout=1)
    assert mt == Mt(
        source_addr=SERVICE,
        destination_addr=SUBSCRIBER,
        text=CHINESE,
        message_ids=("1", "2", "3"),
        parts=3,
        data_coding=DataCoding.UCS2,
        registered_delivery=1,
        received_at=mt.received_at,
    )


async def test_incomplete_concatenated_mt_is_not_reported(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    first, _second, third = ucs2_parts(Concat.UDH8)

    await esme.request(CommandId.submit_sm, first)
    await esme.request(CommandId.submit_sm, third)

    assert sim.mts == []
    with pytest.raises(TimeoutError):
        await sim.wait_for_mts(1, timeout=0.1)


async def test_throttle_every_third_submit(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    sim.faults.throttle_every = 3

    statuses = [(await esme.submit(str(n))).command_status for n in range(6)]

    assert statuses == [0, 0, Status.ESME_RTHROTTLED, 0, 0, Status.ESME_RTHROTTLED]
    assert [mt.text for mt in sim.mts] == ["0", "1", "3", "4"]
    assert sim.submits == 6


async def test_reject_status_refuses_every_submit(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    sim.faults = Faults(reject_status=Status.ESME_RINVDSTADR)

    resp = await esme.submit()

    assert resp.command_status == Status.ESME_RINVDSTADR
    assert sim.mts == []


async def test_held_submits_are_never_answered_but_reading_goes_on(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    sim.faults.hold_submits = True

    await esme.send(CommandId.submit_sm, ShortMessage(destination_addr=SUBSCRIBER, short_message=b"x"))
    resp = await esme.request(CommandId.enquire_link)  # answered first: the submit is held

    assert resp.command_id == CommandId.enquire_link_resp
    with pytest.raises(TimeoutError):
        await esme.read(within=0.2)
    assert (sim.submits, sim.mts) == (1, [])


async def test_delayed_answers_keep_their_order(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    sim.faults.respond_delay = 0.3
    slow = await esme.send(CommandId.submit_sm, ShortMessage(short_message=b"slow"))
    first_link = await esme.request(CommandId.enquire_link)  # the simulator has read the slow one
    sim.faults.respond_delay = 0.0
    fast = await esme.send(CommandId.submit_sm, ShortMessage(short_message=b"fast"))
    second_link = await esme.request(CommandId.enquire_link)  # answered at once, unlike the fast submit

    answers = [await esme.read(), await esme.read()]

    assert first_link.command_id == second_link.command_id == CommandId.enquire_link_resp
    assert [(a.command_id, a.sequence_number) for a in answers] == [
        (CommandId.submit_sm_resp, slow),
        (CommandId.submit_sm_resp, fast),
    ]


# --- broken input -------------------------------------------------------------------------------


async def test_unknown_command_gets_generic_nack_and_the_link_stays(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    await esme.write_raw(HEADER.pack(16, 0x00000099, 0, 77))
    nack = await esme.read()
    link = await esme.request(CommandId.enquire_link)

    assert (nack.command_id, nack.command_status, nack.sequence_number) == (
        CommandId.generic_nack,
        Status.ESME_RINVCMDID,
        77,
    )
    assert link.command_id == CommandId.enquire_link_resp


async def test_undecodable_submit_gets_generic_nack(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    body = b"\x00\x00\x00abc"  # service_type, ton, npi, then source_addr without its NUL

    await esme.write_raw(HEADER.pack(16 + len(body), CommandId.submit_sm, 0, 5) + body)
    nack = await esme.read()

    assert (nack.command_id, nack.command_status, nack.sequence_number) == (
        CommandId.generic_nack,
        Status.ESME_RINVMSGLEN,
        5,
    )
    assert sim.submits == 0


async def test_framing_error_closes_the_connection(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    await esme.write_raw(b"\x00\x00\x00\x03garbage!")

    assert await esme.at_eof()
    assert sim.sessions == []


async def test_generic_nack_from_the_esme_is_counted(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    garbage = HEADER.pack(16, 0x00000099, 0, 4242)
    await sim.send_garbage(garbage)
    passed_through = await esme.read_frame()
    await esme.send(CommandId.generic_nack, sequence=4242)
    await esme.request(CommandId.enquire_link)  # the nack has been read by now

    assert passed_through == garbage
    assert sim.generic_nacks_received == 1
    assert sim.unexpected_responses == 1  # it answered nothing the simulator had sent


async def test_drop_connections_closes_without_unbind(sim: SmscSimulator, bound_esme: BoundEsme) -> None:
    first = await bound_esme()
    second = await bound_esme(CommandId.bind_receiver)
    await sim.wait_bound(count=2)

    await sim.drop_connections()

    assert sim.sessions == []
    for client in (first, second):
        with contextlib.suppress(ConnectionResetError):
            assert await client.at_eof()


# --- MOs, receipts, enquire_link ----------------------------------------------------------------


async def test_send_mo_returns_the_status_of_each_part(sim: SmscSimulator, bound_esme: BoundEsme) -> None:
    client = await bound_esme(CommandId.bind_receiver)
    esme_side = asyncio.create_task(answer_delivers(client, [0, Status.ESME_RX_T_APPN]))

    statuses = await sim.send_mo(SUBSCRIBER, SERVICE, CHINESE, drop_parts=[2], reference=7)
    received = await esme_side

    assert statuses == [0, Status.ESME_RX_T_APPN]
    parts = []
    for pdu in received:
        assert isinstance(pdu.body, ShortMessage)
        assert (pdu.body.source_addr, pdu.body.destination_addr) == (SUBSCRIBER, SERVICE)
        parts.append(_read_part(pdu.body))
    assert [(p.concat.reference, p.concat.total, p.concat.seqno) for p in parts if p.concat] == [
        (7, 3, 1),
        (7, 3, 3),
    ]
    assert {p.data_coding for p in parts} == {DataCoding.UCS2}


@pytest.mark.parametrize(
    ("text", "concat", "data_coding", "expected_coding"),
    [
        ("hello", "udh8", None, DataCoding.SMSC_DEFAULT),
        ("你好", "udh8", None, DataCoding.UCS2),
        ("hello", "udh8", DataCoding.UCS2, DataCoding.UCS2),
        ("hello " * 40, "payload", None, DataCoding.SMSC_DEFAULT),
        ("你好" * 100, "payload", None, DataCoding.UCS2),
    ],
)
async def test_send_mo_encodes_one_deliver_sm(
    sim: SmscSimulator,
    bound_esme: BoundEsme,
    text: str,
    concat: str,
    data_coding: int | None,
    expected_coding: int,
) -> None:
    client = await bound_esme()
    esme_side = asyncio.create_task(answer_delivers(client, [0]))

    statuses = await sim.send_mo(SUBSCRIBER, SERVICE, text, concat=concat, data_coding=data_coding)
    [pdu] = await esme_side

    assert statuses == [0]
    assert isinstance(pdu.body, ShortMessage)
    part = _read_part(pdu.body)
    assert (part.data_coding, part.concat) == (expected_coding, None)
    assert decode_payload(part.data_coding, part.payload) == text
    assert (pdu.body.short_message == b"") is (concat == "payload")


@pytest.mark.parametrize(
    ("text", "concat", "data_coding", "expected_parts"),
    [
        (CHINESE, "udh8", None, 3),
        (CHINESE, "udh16", None, 3),
        (CHINESE, "sar", None, 3),
        ("abc" * 100, "udh16", None, 2),
        ("abc" * 100, "udh8", DataCoding.UCS2, 5),
        ("abc" * 100, "sar", DataCoding.LATIN1, 3),
    ],
)
async def test_send_mo_splits_long_texts(
    sim: SmscSimulator,
    bound_esme: BoundEsme,
    text: str,
    concat: str,
    data_coding: int | None,
    expected_parts: int,
) -> None:
    client = await bound_esme()
    esme_side = asyncio.create_task(answer_delivers(client, [0] * expected_parts))

    statuses = await sim.send_mo(SUBSCRIBER, SERVICE, text, concat=concat, reference=300, data_coding=data_coding)
    received = await esme_side

    assert statuses == [0] * expected_parts
    parts = [_read_part(pdu.body) for pdu in received if isinstance(pdu.body, ShortMessage)]
    assert [(p.concat.total, p.concat.seqno) for p in parts if p.concat] == [
        (expected_parts, n) for n in range(1, expected_parts + 1)
    ]
    assert {p.concat.reference for p in parts if p.concat} == {300 if concat != "udh8" else 300 & 0xFF}
    payload, missing = join_parts(((n, p.payload) for n, p in enumerate(parts, 1)), expected_parts)
    assert missing == []
    assert decode_payload(parts[0].data_coding, payload) == text


async def test_send_mo_without_a_receiver_raises(sim: SmscSimulator, bound_esme: BoundEsme) -> None:
    await bound_esme(CommandId.bind_transmitter)

    with pytest.raises(ConnectionError):
        await sim.send_mo(SUBSCRIBER, SERVICE, "hi")


async def test_send_mo_unanswered_times_out(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()

    with pytest.raises(TimeoutError):
        await sim.send_mo(SUBSCRIBER, SERVICE, "hi", timeout=0.2)
    late = await esme.read()
    await esme.answer(late)
    await esme.request(CommandId.enquire_link)

    assert sim.unexpected_responses == 1


async def test_receipt_format_with_decimal_id(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    for _ in range(31):
        message_id = (await esme.submit()).body
    assert message_id == MessageIdResp(message_id="1f")
    esme_side = asyncio.create_task(answer_delivers(esme, [0]))

    status = await sim.send_receipt("1f", id_format="decimal")
    [pdu] = await esme_side

    assert status == 0
    body = pdu.body
    assert isinstance(body, ShortMessage)
    assert (body.esm_class, body.source_addr, body.destination_addr) == (
        EsmClass.DELIVERY_RECEIPT,
        SUBSCRIBER,
        SERVICE,
    )
    assert re.fullmatch(
        rb"id:31 sub:001 dlvrd:001 submit date:\d{10} done date:\d{10} stat:DELIVRD err:000 text:",
        body.short_message,
    )
    assert body.tlvs == ((Tag.receipted_message_id, b"31\0"), (Tag.message_state, b"\x02"))


async def test_receipt_without_tlvs_and_undelivered(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    esme_side = asyncio.create_task(answer_delivers(esme, [0]))

    await sim.send_receipt("abc", stat="UNDELIV", use_tlv=False)
    [pdu] = await esme_side

    assert isinstance(pdu.body, ShortMessage)
    assert pdu.body.short_message.startswith(b"id:abc sub:001 dlvrd:000 ")
    assert b" stat:UNDELIV err:000 text:" in pdu.body.short_message
    assert pdu.body.tlvs == ()


async def test_auto_receipt_follows_the_submit_answer(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    sim.auto_receipts = True

    resp = await esme.submit(registered_delivery=1)
    receipt = await esme.read()
    await esme.answer(receipt)

    assert resp.body == MessageIdResp(message_id="1")
    assert isinstance(receipt.body, ShortMessage)
    assert receipt.body.tlvs == ((Tag.receipted_message_id, b"1\0"), (Tag.message_state, b"\x02"))
    await esme.submit(registered_delivery=0)
    with pytest.raises(TimeoutError):
        await esme.read(within=0.2)


async def test_enquire_link_must_be_answered(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.bind()
    esme_side = asyncio.create_task(esme.read())

    sending = asyncio.create_task(sim.send_enquire_link(timeout=2))
    link = await esme_side
    await esme.answer(link)
    await sending

    assert link.command_id == CommandId.enquire_link
    with pytest.raises(TimeoutError):
        await sim.send_enquire_link(timeout=0.2)


# --- HTTP control API ---------------------------------------------------------------------------


async def test_control_api(sim: SmscSimulator, bound_esme: BoundEsme) -> None:
    client = await bound_esme()
    assert sim.control_url is not None
    assert sim.control_url.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession(sim.control_url, timeout=aiohttp.ClientTimeout(total=5)) as http:

        async def call(method: str, path: str, json: object = None) -> tuple[int, object]:
            async with http.request(method, path, json=json) as resp:
                return resp.status, await resp.json()

        assert await call("GET", "/status") == (200, {"bound": 1, "submits": 0, "mts": 0, "binds": 1})

        await client.submit("to A")
        await client.request(CommandId.submit_sm, ShortMessage(destination_addr="B", short_message=b"to B"))
        status, listing = await call("GET", "/mt?destination_addr=B")
        assert status == 200
        assert isinstance(listing, dict)
        assert [mt["text"] for mt in listing["mts"]] == ["to B"]
        assert listing["mts"][0]["message_ids"] == ["2"]
        assert listing["next"] == 2
        assert await call("GET", "/mt?since=2") == (200, {"mts": [], "next": 2})

        faults = {"throttle_every": 5, "respond_delay": 0.5, "hold_submits": True}
        status, current = await call("POST", "/faults", faults)
        assert status == 200 and isinstance(current, dict)
        assert {name: current[name] for name in faults} == faults
        assert current["throttle_status"] == Status.ESME_RTHROTTLED
        assert (sim.faults.throttle_every, sim.faults.hold_submits) == (5, True)
        status, error = await call("POST", "/faults", {"throttle_every": "often"})
        assert (status, error) == (400, {"code": "bad_field", "message": "throttle_every must be int"})
        status, error = await call("POST", "/faults", {"nonsense": 1})
        assert status == 400 and isinstance(error, dict) and error["code"] == "unknown_field"
        await call("POST", "/faults", {"throttle_every": 0, "respond_delay": 0, "hold_submits": False})

        esme_side = asyncio.create_task(answer_delivers(client, [0, 0]))
        mo = {"source_addr": SUBSCRIBER, "destination_addr": SERVICE, "text": "ye"}
        assert await call("POST", "/mo", mo) == (200, {"statuses": [0]})
        assert await call("POST", "/receipt", {"message_id": "1", "stat": "DELIVRD"}) == (200, {"status": 0})
        await esme_side
        status, error = await call("POST", "/mo", {"text": "no addresses"})
        assert (status, error) == (400, {"code": "missing_field", "message": "source_addr is required"})

        status, error = await call("POST", "/garbage", {"hex": "zz"})
        assert status == 400 and isinstance(error, dict) and error["code"] == "bad_field"
        assert await call("POST", "/garbage", {"hex": "00000010"}) == (200, {})
        assert await call("POST", "/drop", {}) == (200, {})
        assert await client.at_eof()
        assert await call("GET", "/status") == (200, {"bound": 0, "submits": 2, "mts": 2, "binds": 1})
        status, error = await call("POST", "/mo", mo)
        assert status == 400 and isinstance(error, dict) and error["code"] == "not_connected"
        async with http.post("/faults", data=b"{not json") as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == "bad_json"


# --- an independent ESME: smpplib ---------------------------------------------------------------


async def test_smpplib_client_submits_and_receives(sim: SmscSimulator) -> None:
    received: list[Any] = []
    sent: list[Any] = []
    client = smpplib.client.Client("127.0.0.1", sim.port, timeout=5, allow_unknown_opt_params=True)
    client.set_message_received_handler(lambda pdu: received.append(pdu))
    client.set_message_sent_handler(lambda pdu: sent.append(pdu))

    def bind_and_submit() -> None:
        client.connect()
        client.bind_transceiver(system_id="gateway", password="secret")
        client.send_message(
            source_addr=SERVICE,
            destination_addr=SUBSCRIBER,
            short_message="余额100元".encode("utf-16-be"),
            data_coding=smpplib.consts.SMPP_ENCODING_ISO10646,
            registered_delivery=1,
        )
        client.read_once()  # submit_sm_resp → message_sent_handler

    def unbind() -> None:
        client.unbind()
        client.disconnect()

    try:
        await asyncio.wait_for(asyncio.to_thread(bind_and_submit), 10)
        [mt] = await sim.wait_for_mts(1, timeout=2)
        assert (mt.source_addr, mt.destination_addr, mt.text) == (SERVICE, SUBSCRIBER, "余额100元")
        assert [pdu.message_id for pdu in sent] == [b"1"]

        mo = asyncio.create_task(sim.send_mo(SUBSCRIBER, SERVICE, "ye", timeout=5))
        await asyncio.wait_for(asyncio.to_thread(client.read_once), 10)  # deliver_sm → handler + resp
        assert await mo == [0]
        [pdu] = received
        fields = (
            pdu.source_addr,
            pdu.destination_addr,
            pdu.short_message,
        )
        assert fields == (SUBSCRIBER.encode(), SERVICE.encode(), b"ye")
        assert pdu.data_coding == DataCoding.SMSC_DEFAULT
    finally:
        await asyncio.wait_for(asyncio.to_thread(unbind), 10)
    assert sim.received_unbinds == 1


def _read_part(body: ShortMessage) -> InPart:
    return read_short_message(body)


async def test_run_simulator_prints_its_ports_and_runs_until_cancelled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = asyncio.create_task(run_simulator("127.0.0.1", 0, 0, "gateway", "secret"))
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            while not (line := capsys.readouterr().out):
                await asyncio.sleep(0.01)
        match = re.fullmatch(
            r"SMSC simulator: SMPP on 127\.0\.0\.1:(\d+), control API on (http://127\.0\.0\.1:\d+)\n", line
        )
        assert match is not None, line
        client = await RawEsme.connect(int(match[1]))
        try:
            assert (await client.bind()).command_status == Status.ESME_ROK
        finally:
            await client.close()
        async with aiohttp.ClientSession() as http, http.get(f"{match[2]}/status") as resp:
            assert (await resp.json())["binds"] == 1
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
