"""Which of our deliver_sm_resp the SMSC has surely read, without I/O.

An acknowledgement goes through three stages: queued (in the session's outgoing bytes), written (those
bytes were taken by :meth:`EsmeSession.data_to_send` for the socket) and confirmed. TCP keeps order, so
once the SMSC answers a request of ours that went on the wire after an acknowledgement, it has read the
acknowledgement too.

"After" is a position in the write order, not a sequence number: sequence numbers wrap at 0x7FFFFFFF,
this count of requests queued does not (a Python int).
"""

from __future__ import annotations

from collections import deque


class AckWatch:
    """The acknowledgements of one connection that carry a token, from queued to confirmed."""

    def __init__(self) -> None:
        self._requests = 0  # requests queued so far, in wire order
        self._queued: list[tuple[int, object]] = []  # (requests queued before it, token)
        self._written: deque[tuple[int, object]] = deque()  # the same, oldest first
        self._confirmed: list[object] = []

    def request_queued(self) -> int:
        """One request was queued after everything queued so far: returns its position in the write order."""
        self._requests += 1
        return self._requests

    def ack_queued(self, token: object) -> None:
        self._queued.append((self._requests, token))

    def taken(self) -> None:
        """The outgoing bytes were taken for the socket: the acks queued so far are written."""
        self._written.extend(self._queued)
        self._queued.clear()

    def answered(self, position: int) -> None:
        """The SMSC answered the request at ``position``: the acks written before it are confirmed."""
        written = self._written
        while written and written[0][0] < position:
            self._confirmed.append(written.popleft()[1])

    def take_confirmed(self) -> tuple[object, ...]:
        """The tokens confirmed since the last call, in the order their acks were written."""
        confirmed = tuple(self._confirmed)
        self._confirmed.clear()
        return confirmed

    def lost(self) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """The connection is gone: returns (uncertain, unsent), the tokens of the acks written but not
        confirmed and of those never written, each in order; and forgets them all."""
        uncertain = tuple(token for _, token in self._written)
        unsent = tuple(token for _, token in self._queued)
        self._written.clear()
        self._queued.clear()
        self._confirmed.clear()
        return uncertain, unsent
