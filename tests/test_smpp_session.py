"""gateway.smpp.session: the ESME session fed with the SMSC's octets, checked by what it sends back.

The SMSC's PDUs are built with encode_pdu; what the session writes is parsed with decode_pdu and
compared field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from gateway.errors import LocalProtocolError
from gateway.smpp.codec import (
    Bind,
    BindResp,
    Body,
    Empty,
    MessageIdResp,
    Opaque,
    Pdu,
    PduReader,
    ShortMessage,
    decode_pdu,
    encode_pdu,
)
from gateway.smpp.constants import CommandId, Status, Tag
from gateway.smpp.events import (
    AcksConfirmed,
    BindRejected,
    Bound,
    ConnectionLost,
    DeliverReceived,
    Event,
    LinkFailed,
    PeerError,
    SubmitAccepted,
    SubmitExpired,
    SubmitRejected,
    Unbound,
)
from gateway.smpp.resends import ResendBudget
from gateway.smpp.session import BindMode, BindState, EsmeSession, SessionConfig

T0 = 1000.0
CONFIG = SessionConfig(system_id="gw01", password="secret", system_type="USSD")
MO = ShortMessage(
    service_type="USSD",
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr="8613800138000",
    destination_addr="*100#",
    short_message=b"*100#",
    tlvs=((Tag.ussd_service_op, b"\x01"), (Tag.its_session_info, b"\x07\x00")),
)
EMPTY = Empty()
MT = ShortMessage(source_addr="10086", dest_addr_ton=1, dest_addr_npi=1, destination_addr="8613800138000")


def pdu(command_id: CommandId, sequence_number: int, command_status: int = 0, body: Body = EMPTY) -> Pdu:
    return Pdu(command_id=command_id, sequence_number=sequence_number, command_status=command_status, body=body)


def smsc(*pdus: Pdu) -> bytes:
    """What the SMSC writes."""
    return b"".join(encode_pdu(p) for p in pdus)


def sent(session: EsmeSession) -> list[Pdu]:
    """What the session wrote since the last call, as PDUs."""
    return parse(session.data_to_send())


def lost(*unanswered: int, uncertain: tuple[object, ...] = (), unsent: tuple[object, ...] = ()) -> ConnectionLost:
    """What connection_lost should return."""
    return ConnectionLost(unanswered=unanswered, acks_uncertain=uncertain, acks_unsent=unsent)


def parse(octets: bytes) -> list[Pdu]:
    reader = PduReader()
    reader.feed(octets)
    frames = []
    while (frame := reader.next_frame()) is not None:
        frames.append(decode_pdu(frame))
    assert reader.buffered == 0
    return frames


# --- sessions in each state, reached by driving them ------------------------------------------


def open_session(config: SessionConfig = CONFIG) -> EsmeSession:
    return EsmeSession(config, now=T0)


def binding_session(config: SessionConfig = CONFIG) -> EsmeSession:
    session = open_session(config)
    session.bind(T0)
    assert [p.command_id for p in sent(session)] == [config.mode.value]
    return session


def bound_session(config: SessionConfig = CONFIG) -> EsmeSession:
    """Bound with seq 1 used by the bind; our next request gets seq 2."""
    session = binding_session(config)
    resp = CommandId(config.mode.value | 0x80000000)
    events = session.receive_data(smsc(pdu(resp, 1, body=BindResp(system_id="SMSC"))), T0)
    assert events == [Bound(system_id="SMSC")]
    assert sent(session) == []
    return session


def unbinding_session(config: SessionConfig = CONFIG) -> EsmeSession:
    session = bound_session(config)
    session.unbind(T0)
    assert sent(session) == [pdu(CommandId.unbind, 2)]
    return session


SETUPS: dict[BindState, Callable[[], EsmeSession]] = {
    BindState.OPEN: open_session,
    BindState.BINDING: binding_session,
    BindState.BOUND_TX: lambda: bound_session(SessionConfig(mode=BindMode.TRANSMITTER)),
    BindState.BOUND_RX: lambda: bound_session(SessionConfig(mode=BindMode.RECEIVER)),
    BindState.BOUND_TRX: bound_session,
    BindState.UNBINDING: unbinding_session,
}


# --- the bind-state rules as a table ----------------------------------------------------------

Action = Callable[[EsmeSession], list[Event] | None]


def receive(*pdus: Pdu) -> Action:
    return lambda s: s.receive_data(smsc(*pdus), T0)


def receive_octets(octets: bytes) -> Action:
    return lambda s: s.receive_data(octets, T0)


def submit(ref: int) -> Action:
    return lambda s: s.submit(ref, MT, T0)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    state: BindState
    action: Action
    sends: list[Pdu] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    then: BindState | None = None
    """State afterwards; None means unchanged."""
    raises: bool = False
    """The action raises LocalProtocolError with ESME_RINVBNDSTS and changes nothing."""


def refused(command: str, state: BindState, status: int = Status.ESME_RINVBNDSTS) -> PeerError:
    return PeerError(reason=f"{command} refused in state {state.value}", command_status=status)


GARBAGE = bytes.fromhex("00000010 00000099 00000000 00000021")  # valid length, unknown command_id

RULES = [
    Rule(
        "bind sends bind_transceiver",
        BindState.OPEN,
        lambda s: s.bind(T0),
        sends=[
            pdu(
                CommandId.bind_transceiver,
                1,
                body=Bind(system_id="gw01", password="secret", system_type="USSD"),
            )
        ],
        then=BindState.BINDING,
    ),
    Rule(
        "bind_transceiver_resp OK",
        BindState.BINDING,
        receive(pdu(CommandId.bind_transceiver_resp, 1, body=BindResp(system_id="SMSC"))),
        events=[Bound(system_id="SMSC")],
        then=BindState.BOUND_TRX,
    ),
    Rule(
        "bind_transceiver_resp ESME_RINVPASWD without body",
        BindState.BINDING,
        receive(pdu(CommandId.bind_transceiver_resp, 1, Status.ESME_RINVPASWD)),
        events=[BindRejected(command_status=Status.ESME_RINVPASWD)],
        then=BindState.OPEN,
    ),
    Rule(
        "generic_nack to the bind",
        BindState.BINDING,
        receive(pdu(CommandId.generic_nack, 1, Status.ESME_RINVCMDID)),
        events=[BindRejected(command_status=Status.ESME_RINVCMDID)],
        then=BindState.OPEN,
    ),
    Rule("bind while binding", BindState.BINDING, lambda s: s.bind(T0), raises=True),
    Rule("bind while bound", BindState.BOUND_TRX, lambda s: s.bind(T0), raises=True),
    Rule("submit while open", BindState.OPEN, submit(1), raises=True),
    Rule("submit while binding", BindState.BINDING, submit(1), raises=True),
    Rule("submit while bound as receiver", BindState.BOUND_RX, submit(1), raises=True),
    Rule("submit while unbinding", BindState.UNBINDING, submit(1), raises=True),
    Rule(
        "submit while bound as transceiver",
        BindState.BOUND_TRX,
        submit(1),
        sends=[pdu(CommandId.submit_sm, 2, body=MT)],
    ),
    Rule(
        "submit while bound as transmitter",
        BindState.BOUND_TX,
        submit(1),
        sends=[pdu(CommandId.submit_sm, 2, body=MT)],
    ),
    *(
        Rule(
            f"deliver_sm refused while {state.value}",
            state,
            receive(pdu(CommandId.deliver_sm, 77, body=MO)),
            sends=[pdu(CommandId.deliver_sm_resp, 77, Status.ESME_RINVBNDSTS)],
            events=[refused("deliver_sm", state)],
        )
        for state in (BindState.OPEN, BindState.BINDING, BindState.BOUND_TX, BindState.UNBINDING)
    ),
    *(
        Rule(
            f"deliver_sm while {state.value} waits for answer_deliver",
            state,
            receive(pdu(CommandId.deliver_sm, 77, body=MO)),
            events=[DeliverReceived(sequence_number=77, message=MO)],
        )
        for state in (BindState.BOUND_RX, BindState.BOUND_TRX)
    ),
    *(
        Rule(
            f"enquire_link while {state.value}",
            state,
            receive(pdu(CommandId.enquire_link, 0x7FFFFFFF)),
            sends=[pdu(CommandId.enquire_link_resp, 0x7FFFFFFF)],
        )
        for state in SETUPS
    ),
    Rule(
        "unknown command_id is nacked and the link stays",
        BindState.BOUND_TRX,
        receive_octets(GARBAGE),
        sends=[pdu(CommandId.generic_nack, 0x21, Status.ESME_RINVCMDID)],
        events=[PeerError(reason="unknown command_id 0x00000099", command_status=Status.ESME_RINVCMDID)],
    ),
    Rule(
        "body that does not decode is nacked",
        BindState.BOUND_TRX,
        receive_octets(bytes.fromhex("00000011 00000015 00000000 00000022 00")),
        sends=[pdu(CommandId.generic_nack, 0x22, Status.ESME_RINVMSGLEN)],
        events=[
            PeerError(
                reason="enquire_link body does not decode: 1 octets left over after the last field",
                command_status=Status.ESME_RINVMSGLEN,
            )
        ],
    ),
    Rule(
        "impossible command_length",
        BindState.BOUND_TRX,
        receive_octets(bytes.fromhex("0000000c 00000015 00000000 00000023")),
        events=[
            LinkFailed(reason="stream lost its framing: command_length 12 is impossible"),
        ],
        then=BindState.CLOSED,
    ),
    Rule(
        "data_sm is a known request we do not support",
        BindState.BOUND_TRX,
        receive(pdu(CommandId.data_sm, 0x24, body=Opaque(raw=b"\x00\x01\x01\x31\x00"))),
        sends=[pdu(CommandId.data_sm_resp, 0x24, Status.ESME_RINVCMDID, body=Opaque(raw=b""))],
        events=[refused("data_sm", BindState.BOUND_TRX, Status.ESME_RINVCMDID)],
    ),
    Rule(
        "data_sm before bind",
        BindState.OPEN,
        receive(pdu(CommandId.data_sm, 0x25, body=Opaque(raw=b""))),
        sends=[pdu(CommandId.data_sm_resp, 0x25, Status.ESME_RINVCMDID, body=Opaque(raw=b""))],
        events=[refused("data_sm", BindState.OPEN, Status.ESME_RINVCMDID)],
    ),
    Rule(
        "outbind has no response: generic_nack",
        BindState.BOUND_TRX,
        receive(pdu(CommandId.outbind, 0x26, body=Opaque(raw=b""))),
        sends=[pdu(CommandId.generic_nack, 0x26, Status.ESME_RINVCMDID)],
        events=[refused("outbind", BindState.BOUND_TRX, Status.ESME_RINVCMDID)],
    ),
    Rule(
        "alert_notification is never answered",
        BindState.BOUND_TRX,
        receive(pdu(CommandId.alert_notification, 0x27, body=Opaque(raw=b""))),
        events=[refused("alert_notification", BindState.BOUND_TRX, Status.ESME_RINVCMDID)],
    ),
    Rule(
        "response to nothing we sent",
        BindState.BOUND_TRX,
        receive(pdu(CommandId.submit_sm_resp, 0x28, body=MessageIdResp(message_id="x"))),
        events=[PeerError(reason="submit_sm_resp for unknown seq 40", command_status=Status.ESME_ROK)],
    ),
    Rule(
        "peer unbind",
        BindState.BOUND_TRX,
        receive(pdu(CommandId.unbind, 0x29)),
        sends=[pdu(CommandId.unbind_resp, 0x29)],
        events=[Unbound(by_peer=True)],
        then=BindState.CLOSED,
    ),
    Rule(
        "peer unbind while we unbind too",
        BindState.UNBINDING,
        receive(pdu(CommandId.unbind, 0x2A)),
        sends=[pdu(CommandId.unbind_resp, 0x2A)],
        events=[Unbound(by_peer=True)],
        then=BindState.CLOSED,
    ),
    Rule(
        "peer unbind before bind",
        BindState.OPEN,
        receive(pdu(CommandId.unbind, 0x2B)),
        sends=[pdu(CommandId.unbind_resp, 0x2B, Status.ESME_RINVBNDSTS)],
        events=[refused("unbind", BindState.OPEN)],
    ),
    Rule(
        "our unbind",
        BindState.BOUND_TRX,
        lambda s: s.unbind(T0),
        sends=[pdu(CommandId.unbind, 2)],
        then=BindState.UNBINDING,
    ),
    Rule("our unbind while open does nothing", BindState.OPEN, lambda s: s.unbind(T0)),
    Rule(
        "unbind_resp",
        BindState.UNBINDING,
        receive(pdu(CommandId.unbind_resp, 2)),
        events=[Unbound(by_peer=False)],
        then=BindState.CLOSED,
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_bind_state_rule(rule: Rule) -> None:
    session = SETUPS[rule.state]()
    assert session.state is rule.state
    if rule.raises:
        with pytest.raises(LocalProtocolError) as info:
            rule.action(session)
        assert info.value.command_status == Status.ESME_RINVBNDSTS
        events: list[Event] | None = None
    else:
        events = rule.action(session)
    octets = session.data_to_send()
    assert parse(octets) == parse(smsc(*rule.sends))  # field by field, as decode_pdu reads them
    assert octets == smsc(*rule.sends)  # and octet for octet (header-only error responses stay so)
    assert (events or []) == rule.events
    assert session.state is (rule.then or rule.state)


def test_bind_rejected_names_its_status() -> None:
    session = binding_session()
    [event] = session.receive_data(smsc(pdu(CommandId.bind_transceiver_resp, 1, Status.ESME_RINVPASWD)), T0)
    assert isinstance(event, BindRejected)
    assert event.status_name == "ESME_RINVPASWD"
    assert not session.bound
    assert session.submit_ready_at(T0) is None


@pytest.mark.parametrize(
    ("mode", "command_id", "state"),
    [
        (BindMode.TRANSMITTER, CommandId.bind_transmitter, BindState.BOUND_TX),
        (BindMode.RECEIVER, CommandId.bind_receiver, BindState.BOUND_RX),
        (BindMode.TRANSCEIVER, CommandId.bind_transceiver, BindState.BOUND_TRX),
    ],
)
def test_bind_mode(mode: BindMode, command_id: CommandId, state: BindState) -> None:
    session = open_session(SessionConfig(mode=mode, system_id="a", password="b"))
    session.bind(T0)
    assert sent(session) == [pdu(command_id, 1, body=Bind(system_id="a", password="b"))]
    session.receive_data(smsc(pdu(CommandId(command_id | 0x80000000), 1, body=BindResp(system_id="S"))), T0)
    assert session.state is state
    assert session.bound


# --- deliver_sm -------------------------------------------------------------------------------


def test_deliver_sm_is_answered_only_by_answer_deliver() -> None:
    session = bound_session()
    events = session.receive_data(
        smsc(pdu(CommandId.deliver_sm, 77, body=MO), pdu(CommandId.deliver_sm, 78, body=MT)), T0
    )
    assert events == [
        DeliverReceived(sequence_number=77, message=MO),
        DeliverReceived(sequence_number=78, message=MT),
    ]
    assert session.data_to_send() == b""
    session.answer_deliver(78)
    assert sent(session) == [pdu(CommandId.deliver_sm_resp, 78, body=MessageIdResp())]
    session.answer_deliver(77, Status.ESME_RX_T_APPN)
    assert sent(session) == [pdu(CommandId.deliver_sm_resp, 77, Status.ESME_RX_T_APPN, body=MessageIdResp())]


def test_deliver_sm_fed_byte_by_byte() -> None:
    session = bound_session()
    octets = smsc(pdu(CommandId.deliver_sm, 77, body=MO))
    events: list[Event] = []
    for i in range(len(octets)):
        events += session.receive_data(octets[i : i + 1], T0)
    assert events == [DeliverReceived(sequence_number=77, message=MO)]


def test_answer_deliver_after_the_connection_is_gone_writes_nothing() -> None:
    session = bound_session()
    session.receive_data(smsc(pdu(CommandId.deliver_sm, 77, body=MO)), T0)
    assert session.connection_lost() == lost()
    session.answer_deliver(77, token="mo-77")
    assert session.data_to_send() == b""
    assert session.connection_lost() == lost()


# --- enquire_link and response timeouts -------------------------------------------------------


def test_idle_link_sends_one_enquire_link_then_fails_without_answer() -> None:
    config = SessionConfig(enquire_link_interval=30.0, response_timeout=10.0)
    session = bound_session(config)
    assert session.next_deadline() == T0 + 30.0
    assert session.timer(T0 + 29.5) == []
    assert sent(session) == []
    assert session.timer(T0 + 30.0) == []
    assert sent(session) == [pdu(CommandId.enquire_link, 2)]
    assert session.next_deadline() == T0 + 40.0  # the response deadline, not the keepalive already due
    assert session.timer(T0 + 35.0) == []
    assert sent(session) == []  # no second enquire_link while one is outstanding
    assert session.timer(T0 + 40.0) == [
        LinkFailed(reason="response timeout: no enquire_link_resp within 10s (seq 2) and nothing else from the SMSC")
    ]
    assert session.state is BindState.CLOSED
    assert sent(session) == []


def test_enquire_link_resp_restarts_the_idle_clock() -> None:
    config = SessionConfig(enquire_link_interval=30.0, response_timeout=10.0)
    session = bound_session(config)
    session.timer(T0 + 30.0)
    assert sent(session) == [pdu(CommandId.enquire_link, 2)]
    assert session.receive_data(smsc(pdu(CommandId.enquire_link_resp, 2)), T0 + 31.0) == []
    assert session.next_deadline() == T0 + 61.0
    assert session.timer(T0 + 60.0) == []
    assert sent(session) == []
    session.timer(T0 + 61.0)
    assert sent(session) == [pdu(CommandId.enquire_link, 3)]


def test_any_received_data_counts_as_life() -> None:
    session = bound_session(SessionConfig(enquire_link_interval=30.0))
    session.receive_data(smsc(pdu(CommandId.enquire_link, 5)), T0 + 20.0)
    assert sent(session) == [pdu(CommandId.enquire_link_resp, 5)]
    assert session.next_deadline() == T0 + 50.0
    assert session.timer(T0 + 30.0) == []
    assert sent(session) == []


SILENT = "response timeout: no enquire_link_resp within 10s (seq 3) and nothing else from the SMSC"


def test_a_submit_unanswered_on_a_silent_link_asks_with_enquire_link_then_fails_the_link() -> None:
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0))
    session.submit(5, MT, T0 + 1.0)
    assert sent(session) == [pdu(CommandId.submit_sm, 2, body=MT)]
    assert session.next_deadline() == T0 + 11.0
    assert session.timer(T0 + 10.9) == []
    assert session.timer(T0 + 11.0) == []  # nothing from the SMSC since the submit_sm: is it there?
    assert sent(session) == [pdu(CommandId.enquire_link, 3)]
    assert session.next_deadline() == T0 + 21.0  # the enquire_link's verdict, not the submit's past deadline
    assert session.timer(T0 + 20.9) == []
    assert sent(session) == []
    assert session.timer(T0 + 21.0) == [LinkFailed(reason=SILENT)]
    assert session.state is BindState.CLOSED
    assert session.connection_lost() == lost(5)


def test_a_submit_unanswered_on_a_silent_link_expires_once_the_enquire_link_is_answered() -> None:
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0))
    session.submit(5, MT, T0 + 1.0)
    sent(session)
    session.timer(T0 + 11.0)
    assert sent(session) == [pdu(CommandId.enquire_link, 3)]
    assert session.receive_data(smsc(pdu(CommandId.enquire_link_resp, 3)), T0 + 11.5) == []
    assert session.next_deadline() == T0 + 11.0  # overdue: the timer goes at once
    assert session.timer(T0 + 11.5) == [SubmitExpired(ref=5, sequence_number=2)]
    assert (session.state, session.in_flight, sent(session)) == (BindState.BOUND_TRX, 0, [])
    assert session.next_deadline() == T0 + 71.5  # only the keepalive is left


def test_a_submit_unanswered_while_others_are_answered_expires_alone_and_goes_again() -> None:
    """The SMSC answers seq 3 and 4 but never a copy of ref 7: each copy expires by itself, no enquire_link
    is sent and the link stays; the budget (max_resends 2) lets ref 7 go twice more, then gives it up."""
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0, window=3))
    budget = ResendBudget(max_resends=2)
    now = T0
    seq = 2
    copies = []
    for copy in range(3):
        session.submit(7, MT, now)
        session.submit(100 + copy, MT, now)
        assert sent(session) == [pdu(CommandId.submit_sm, seq, body=MT), pdu(CommandId.submit_sm, seq + 1, body=MT)]
        copies.append(seq)
        answered = session.receive_data(submit_sm_resp(seq + 1, message_id=f"m{copy}"), now + 1.0)
        assert answered == [SubmitAccepted(ref=100 + copy, message_id=f"m{copy}")]
        assert session.next_deadline() == now + 10.0
        assert session.timer(now + 9.9) == []
        now += 10.0
        assert session.timer(now) == [SubmitExpired(ref=7, sequence_number=seq)]
        assert (sent(session), session.state, session.in_flight) == ([], BindState.BOUND_TRX, 0)
        seq += 2
        if copy < 2:
            assert budget.unanswered(7) is True  # sent again
    assert budget.unanswered(7) is False  # the third copy unanswered too: given up
    assert copies == [2, 4, 6]
    assert session.connection_lost() == lost()


def test_octets_that_make_no_whole_pdu_are_not_a_sign_of_life() -> None:
    """A command_length that swallows what follows: the SMSC's octets keep coming, no PDU does. The submit
    is not expired alone as if the SMSC were there; the enquire_link goes unanswered and the link fails."""
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0))
    session.submit(5, MT, T0 + 1.0)
    sent(session)
    assert session.receive_data(bytes.fromhex("00000fff 00000004"), T0 + 2.0) == []
    assert session.timer(T0 + 11.0) == []
    assert sent(session) == [pdu(CommandId.enquire_link, 3)]
    assert session.receive_data(smsc(pdu(CommandId.enquire_link_resp, 3)), T0 + 12.0) == []  # swallowed
    assert session.timer(T0 + 21.0) == [LinkFailed(reason=SILENT)]


def test_a_late_response_to_an_expired_submit_is_its_answer() -> None:
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0, window=4))
    for ref in (1, 2, 3, 4):
        session.submit(ref, MT, T0)
    sent(session)
    session.receive_data(smsc(pdu(CommandId.enquire_link, 9)), T0 + 5.0)  # the SMSC is there
    assert sent(session) == [pdu(CommandId.enquire_link_resp, 9)]
    assert session.timer(T0 + 10.0) == [SubmitExpired(ref=ref, sequence_number=ref + 1) for ref in (1, 2, 3, 4)]
    late = smsc(
        pdu(CommandId.submit_sm_resp, 2, body=MessageIdResp(message_id="late")),
        pdu(CommandId.submit_sm_resp, 3, Status.ESME_RINVDSTADR),
        pdu(CommandId.submit_sm_resp, 4, Status.ESME_RTHROTTLED),  # its copy was queued again already
        pdu(CommandId.submit_sm_resp, 2, body=MessageIdResp(message_id="twice")),
    )
    assert session.receive_data(late, T0 + 12.0) == [
        SubmitAccepted(ref=1, message_id="late"),
        SubmitRejected(ref=2, command_status=Status.ESME_RINVDSTADR, transient=False),
        PeerError(reason="submit_sm_resp for unknown seq 2", command_status=Status.ESME_ROK),
    ]
    assert (session.in_flight, sent(session)) == (0, [])


def test_an_enquire_link_unanswered_while_the_smsc_sends_other_things_is_let_go() -> None:
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=30.0))
    session.timer(T0 + 30.0)
    assert sent(session) == [pdu(CommandId.enquire_link, 2)]
    session.receive_data(smsc(pdu(CommandId.deliver_sm, 77, body=MO)), T0 + 35.0)
    assert session.timer(T0 + 40.0) == []
    assert (session.state, sent(session)) == (BindState.BOUND_TRX, [])
    assert session.next_deadline() == T0 + 65.0


def test_a_bind_unanswered_fails_the_link_even_if_the_smsc_sends_other_things() -> None:
    session = binding_session(SessionConfig(response_timeout=5.0))
    session.receive_data(smsc(pdu(CommandId.enquire_link, 9)), T0 + 1.0)
    assert sent(session) == [pdu(CommandId.enquire_link_resp, 9)]
    assert session.timer(T0 + 5.0) == [
        LinkFailed(reason="response timeout: no bind_transceiver_resp within 5s (seq 1)")
    ]
    assert session.state is BindState.CLOSED


def test_unanswered_bind_fails_the_link() -> None:
    session = binding_session(SessionConfig(response_timeout=5.0))
    assert session.next_deadline() == T0 + 5.0
    assert session.timer(T0 + 5.0) == [
        LinkFailed(reason="response timeout: no bind_transceiver_resp within 5s (seq 1) and nothing else from the SMSC")
    ]


def test_resend_budget_counts_each_part_apart_and_forgets() -> None:
    budget = ResendBudget(max_resends=1)
    assert [budget.unanswered(1), budget.unanswered(2), budget.unanswered(1)] == [True, True, False]
    assert budget.unanswered(1) is True  # given up and forgotten: a new count
    budget.forget(2)
    assert budget.unanswered(2) is True
    assert ResendBudget(max_resends=0).unanswered(3) is False


def test_open_session_has_no_deadline() -> None:
    assert open_session().next_deadline() is None


# --- window, rate and throttling --------------------------------------------------------------


def submit_sm_resp(seq: int, status: int = Status.ESME_ROK, message_id: str = "") -> bytes:
    body: Body = MessageIdResp(message_id=message_id) if status == Status.ESME_ROK else Empty()
    return smsc(pdu(CommandId.submit_sm_resp, seq, status, body))


def test_window_of_two_refuses_the_third_submit_until_a_response() -> None:
    session = bound_session(SessionConfig(window=2))
    session.submit(101, MT, T0)
    session.submit(102, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, 2, body=MT), pdu(CommandId.submit_sm, 3, body=MT)]
    assert session.in_flight == 2
    assert session.can_submit(T0) is False
    assert session.submit_ready_at(T0) is None
    with pytest.raises(LocalProtocolError):
        session.submit(103, MT, T0)
    assert sent(session) == []
    assert session.receive_data(submit_sm_resp(3, message_id="m-102"), T0 + 1) == [
        SubmitAccepted(ref=102, message_id="m-102")
    ]
    assert session.in_flight == 1
    assert session.can_submit(T0 + 1) is True
    session.submit(103, MT, T0 + 1)
    assert sent(session) == [pdu(CommandId.submit_sm, 4, body=MT)]


def test_tps_gives_the_time_of_the_next_submit() -> None:
    session = EsmeSession(SessionConfig(tps=10), now=0.0)
    session.bind(0.0)
    session.receive_data(smsc(pdu(CommandId.bind_transceiver_resp, 1, body=BindResp())), 0.0)
    assert session.submit_ready_at(0.0) == 0.0
    session.submit(1, MT, 0.0)
    assert session.can_submit(0.0) is False
    assert session.submit_ready_at(0.0) == 0.1
    assert session.submit_ready_at(0.05) == 0.1
    assert session.can_submit(0.1) is True
    session.submit(2, MT, 0.1)
    assert session.submit_ready_at(0.1) == pytest.approx(0.2)
    # A long pause does not save up a burst: the bucket holds max(1, tps / 10) tokens.
    assert session.can_submit(10.0) is True
    session.submit(3, MT, 10.0)
    assert session.can_submit(10.0) is False
    assert session.submit_ready_at(10.0) == 10.1


def test_tps_100_allows_bursts_of_ten() -> None:
    session = EsmeSession(SessionConfig(tps=100), now=0.0)
    session.bind(0.0)
    session.receive_data(smsc(pdu(CommandId.bind_transceiver_resp, 1, body=BindResp())), 0.0)
    for ref in range(10):
        session.submit(ref, MT, 0.0)
    assert session.can_submit(0.0) is False
    assert session.submit_ready_at(0.0) == 0.01


THROTTLE = SessionConfig(throttle_backoff_min=0.25, throttle_backoff_max=10.0)


def test_throttled_submit_pauses_and_backs_off() -> None:
    session = bound_session(THROTTLE)
    session.submit(1, MT, T0)
    assert session.receive_data(submit_sm_resp(2, Status.ESME_RTHROTTLED), T0) == [
        SubmitRejected(ref=1, command_status=Status.ESME_RTHROTTLED, transient=True)
    ]
    assert session.can_submit(T0) is False
    assert session.submit_ready_at(T0) == T0 + 0.25
    assert session.can_submit(T0 + 0.2) is False
    assert session.can_submit(T0 + 0.25) is True

    session.submit(1, MT, T0 + 0.25)
    session.receive_data(submit_sm_resp(3, Status.ESME_RTHROTTLED), T0 + 0.25)
    assert session.submit_ready_at(T0 + 0.25) == T0 + 0.75  # doubled to 0.5

    session.submit(1, MT, T0 + 0.75)
    assert session.receive_data(submit_sm_resp(4, message_id="ok"), T0 + 0.75) == [
        SubmitAccepted(ref=1, message_id="ok")
    ]
    assert session.can_submit(T0 + 0.75) is True

    session.submit(2, MT, T0 + 1.0)
    session.receive_data(submit_sm_resp(5, Status.ESME_RMSGQFUL), T0 + 1.0)
    assert session.submit_ready_at(T0 + 1.0) == T0 + 1.25  # reset to the minimum after the success


def test_backoff_stops_at_its_maximum() -> None:
    session = bound_session(SessionConfig(throttle_backoff_min=0.25, throttle_backoff_max=0.75))
    pauses = []
    now = T0
    for seq in range(2, 6):
        session.submit(1, MT, now)
        session.receive_data(submit_sm_resp(seq, Status.ESME_RTHROTTLED), now)
        ready = session.submit_ready_at(now)
        assert ready is not None
        pauses.append(ready - now)
        now = ready
    assert pauses == [0.25, 0.5, 0.75, 0.75]


@pytest.mark.parametrize(
    ("command_id", "status", "expected_status", "transient"),
    [
        (CommandId.submit_sm_resp, Status.ESME_RTHROTTLED, Status.ESME_RTHROTTLED, True),
        (CommandId.submit_sm_resp, Status.ESME_RMSGQFUL, Status.ESME_RMSGQFUL, True),
        (CommandId.submit_sm_resp, Status.ESME_RINVDSTADR, Status.ESME_RINVDSTADR, False),
        (CommandId.submit_sm_resp, Status.ESME_RSUBMITFAIL, Status.ESME_RSUBMITFAIL, False),
        (CommandId.generic_nack, Status.ESME_RINVCMDLEN, Status.ESME_RINVCMDLEN, False),
        (CommandId.generic_nack, Status.ESME_RSYSERR, Status.ESME_RSYSERR, False),
        (CommandId.generic_nack, Status.ESME_ROK, Status.ESME_RUNKNOWNERR, False),
    ],
    ids=[
        "throttled",
        "queue full",
        "invalid destination",
        "submit failed",
        "generic_nack",
        "generic_nack system error",
        "generic_nack with status 0",
    ],
)
def test_submit_rejections(command_id: CommandId, status: int, expected_status: int, transient: bool) -> None:
    session = bound_session(THROTTLE)
    session.submit(9, MT, T0)
    events = session.receive_data(smsc(pdu(command_id, 2, status)), T0)
    assert events == [SubmitRejected(ref=9, command_status=expected_status, transient=transient)]
    assert session.in_flight == 0
    assert session.submit_ready_at(T0) == (T0 + 0.25 if transient else T0)


# --- connection loss --------------------------------------------------------------------------


def test_connection_lost_returns_unanswered_submits_in_order() -> None:
    session = bound_session(SessionConfig(enquire_link_interval=5.0))
    for ref in (11, 12, 13, 14):
        session.submit(ref, MT, T0)
    session.timer(T0 + 5.0)  # an enquire_link (seq 6) is outstanding too
    assert [p.command_id for p in sent(session)] == [CommandId.submit_sm] * 4 + [CommandId.enquire_link]
    session.receive_data(submit_sm_resp(3, message_id="m12"), T0 + 5.0)
    assert session.connection_lost() == lost(11, 13, 14)
    assert session.state is BindState.CLOSED
    assert session.in_flight == 0
    assert session.next_deadline() is None
    assert session.submit_ready_at(T0 + 6.0) is None


# --- acknowledgements watched until the SMSC has read them ------------------------------------


def deliver_sm(*sequence_numbers: int) -> bytes:
    return smsc(*(pdu(CommandId.deliver_sm, seq, body=MO) for seq in sequence_numbers))


def deliver_sm_resp(sequence_number: int, command_status: int = Status.ESME_ROK) -> Pdu:
    return pdu(CommandId.deliver_sm_resp, sequence_number, command_status, MessageIdResp())


def test_an_ack_is_confirmed_by_the_answer_to_a_request_written_after_it_not_before() -> None:
    session = bound_session()
    session.submit(1, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, 2, body=MT)]
    assert session.receive_data(deliver_sm(77), T0) == [DeliverReceived(sequence_number=77, message=MO)]
    session.answer_deliver(77, token="mo-77")
    assert sent(session) == [deliver_sm_resp(77)]
    session.submit(2, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, 3, body=MT)]
    assert session.receive_data(submit_sm_resp(2, message_id="m1"), T0) == [SubmitAccepted(ref=1, message_id="m1")]
    assert session.receive_data(submit_sm_resp(3, message_id="m2"), T0) == [
        SubmitAccepted(ref=2, message_id="m2"),
        AcksConfirmed(tokens=("mo-77",)),
    ]
    assert session.connection_lost() == lost()


def test_within_one_write_the_order_of_the_bytes_counts() -> None:
    """Only acks with a token are watched; all confirmed by one answer come in one event, in write order."""
    session = bound_session()
    session.receive_data(deliver_sm(77, 78, 79), T0)
    session.submit(1, MT, T0)
    session.answer_deliver(77, token="mo-77")
    session.answer_deliver(78)
    session.answer_deliver(79, token="mo-79")
    session.submit(2, MT, T0)
    assert sent(session) == [
        pdu(CommandId.submit_sm, 2, body=MT),
        deliver_sm_resp(77),
        deliver_sm_resp(78),
        deliver_sm_resp(79),
        pdu(CommandId.submit_sm, 3, body=MT),
    ]
    both = submit_sm_resp(2, message_id="m1") + submit_sm_resp(3, message_id="m2")
    assert session.receive_data(both, T0) == [
        SubmitAccepted(ref=1, message_id="m1"),
        SubmitAccepted(ref=2, message_id="m2"),
        AcksConfirmed(tokens=("mo-77", "mo-79")),
    ]


def test_any_answered_request_confirms_even_an_enquire_link() -> None:
    session = bound_session(SessionConfig(enquire_link_interval=30.0))
    session.receive_data(deliver_sm(77), T0)
    session.answer_deliver(77, token="mo-77")
    assert sent(session) == [deliver_sm_resp(77)]
    session.timer(T0 + 30.0)
    assert sent(session) == [pdu(CommandId.enquire_link, 2)]
    assert session.receive_data(smsc(pdu(CommandId.enquire_link_resp, 2)), T0 + 31.0) == [
        AcksConfirmed(tokens=("mo-77",))
    ]


def test_acks_left_when_the_connection_is_lost_are_uncertain_if_taken_and_unsent_if_not() -> None:
    session = bound_session()
    session.receive_data(deliver_sm(77, 78, 79), T0)
    session.answer_deliver(77, token="mo-77")
    session.submit(5, MT, T0)
    assert sent(session) == [deliver_sm_resp(77), pdu(CommandId.submit_sm, 2, body=MT)]
    session.answer_deliver(78, token="mo-78")
    session.answer_deliver(79, Status.ESME_RX_T_APPN, token="mo-79")
    assert session.connection_lost() == lost(5, uncertain=("mo-77",), unsent=("mo-78", "mo-79"))
    assert session.data_to_send() == b""  # the connection is gone: nothing is left to write
    assert session.connection_lost() == lost()


def test_an_answer_to_a_request_not_written_yet_confirms_no_ack_not_written_either() -> None:
    """The SMSC cannot have read what was never taken, whatever sequence number it answers."""
    session = bound_session()
    session.receive_data(deliver_sm(77), T0)
    session.answer_deliver(77, token="mo-77")
    session.submit(5, MT, T0)
    assert session.receive_data(submit_sm_resp(2, message_id="guessed"), T0) == [
        SubmitAccepted(ref=5, message_id="guessed")
    ]
    assert sent(session) == [deliver_sm_resp(77), pdu(CommandId.submit_sm, 2, body=MT)]
    assert session.connection_lost() == lost(uncertain=("mo-77",))


def test_a_late_answer_to_an_expired_submit_confirms_the_acks_written_before_it() -> None:
    session = bound_session(SessionConfig(response_timeout=10.0, enquire_link_interval=60.0))
    session.receive_data(deliver_sm(77), T0)
    session.answer_deliver(77, token="mo-77")
    session.submit(1, MT, T0)
    assert sent(session) == [deliver_sm_resp(77), pdu(CommandId.submit_sm, 2, body=MT)]
    session.receive_data(smsc(pdu(CommandId.enquire_link, 9)), T0 + 5.0)  # the SMSC is there
    assert sent(session) == [pdu(CommandId.enquire_link_resp, 9)]
    assert session.timer(T0 + 10.0) == [SubmitExpired(ref=1, sequence_number=2)]
    assert session.receive_data(submit_sm_resp(2, message_id="late"), T0 + 12.0) == [
        SubmitAccepted(ref=1, message_id="late"),
        AcksConfirmed(tokens=("mo-77",)),
    ]


LAST = 0x7FFFFFFF  # the highest sequence number; the next is 1


def session_bound_at(first_sequence: int) -> EsmeSession:
    """Bound with ``first_sequence`` used by the bind."""
    session = EsmeSession(CONFIG, now=T0, first_sequence=first_sequence)
    session.bind(T0)
    bind = Bind(system_id="gw01", password="secret", system_type="USSD")
    assert sent(session) == [pdu(CommandId.bind_transceiver, first_sequence, body=bind)]
    resp = pdu(CommandId.bind_transceiver_resp, first_sequence, body=BindResp(system_id="SMSC"))
    assert session.receive_data(smsc(resp), T0) == [Bound(system_id="SMSC")]
    return session


def test_across_the_sequence_wrap_only_a_request_written_after_the_ack_confirms_it() -> None:
    """Our requests go out as LAST, 1, ack, 2. The answers to LAST and 1 were written before the ack and
    do not confirm it (a highest-sequence-answered mark would take LAST for later than anything); the
    answer to 2 does."""
    session = session_bound_at(LAST - 1)
    session.submit(1, MT, T0)
    session.submit(2, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, LAST, body=MT), pdu(CommandId.submit_sm, 1, body=MT)]
    session.receive_data(deliver_sm(77), T0)
    session.answer_deliver(77, token="mo-77")
    assert sent(session) == [deliver_sm_resp(77)]
    session.submit(3, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, 2, body=MT)]
    assert session.receive_data(submit_sm_resp(LAST, message_id="m1"), T0) == [SubmitAccepted(ref=1, message_id="m1")]
    assert session.receive_data(deliver_sm(78), T0) == [DeliverReceived(sequence_number=78, message=MO)]
    assert session.receive_data(submit_sm_resp(1, message_id="m2"), T0) == [SubmitAccepted(ref=2, message_id="m2")]
    assert session.receive_data(submit_sm_resp(2, message_id="m3"), T0) == [
        SubmitAccepted(ref=3, message_id="m3"),
        AcksConfirmed(tokens=("mo-77",)),
    ]
    assert session.connection_lost() == lost()


def test_across_the_sequence_wrap_unanswered_submits_keep_their_order_and_the_ack_stays_uncertain() -> None:
    session = session_bound_at(LAST - 1)
    for ref in (1, 2, 3):
        session.submit(ref, MT, T0)
    assert sent(session) == [pdu(CommandId.submit_sm, seq, body=MT) for seq in (LAST, 1, 2)]
    session.receive_data(deliver_sm(77), T0)
    session.answer_deliver(77, token="mo-77")
    assert sent(session) == [deliver_sm_resp(77)]
    assert session.receive_data(submit_sm_resp(1, message_id="m2"), T0) == [SubmitAccepted(ref=2, message_id="m2")]
    assert session.connection_lost() == lost(1, 3, uncertain=("mo-77",))


@pytest.mark.parametrize("first_sequence", [0, LAST + 1])
def test_first_sequence_outside_the_range_is_refused(first_sequence: int) -> None:
    with pytest.raises(ValueError, match="first_sequence"):
        EsmeSession(CONFIG, now=T0, first_sequence=first_sequence)
