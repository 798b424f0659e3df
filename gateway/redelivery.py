"""Which arriving MOs may be the SMSC delivering an earlier one again, after its acknowledgement was lost.

SMPP gives an MO no id of its own: an SMSC that did not read our ``deliver_sm_resp`` delivers the same
PDU again, on the next bind, before the sender's newer MOs. So an MO is *expected again* when its
acknowledgement may not have reached the SMSC, by its content (sender, service number, text):

- **surely** when the acknowledgement was never written (the connection had closed): the next copy is
  the redelivery, and is acknowledged and dropped without being stored;
- **perhaps** when it was written but the SMSC answered nothing written after it before the link went, or
  the gateway crashed: the next copy is stored and marked as a possible redelivery, and the responder
  decides once it knows what the first one did (:meth:`gateway.db.store.Store.redelivered`).

An expectation is met at most once; it ends when the sender's next MO has other content (the SMSC
delivers again before newer MOs), and ``window`` seconds after the link is bound again (the SMSC
delivers again within seconds of the bind). While the link is down it does not run out.
"""

from __future__ import annotations

from dataclasses import dataclass

MoKey = tuple[str, str, str]  # source_addr, destination_addr, text
Sender = tuple[str, str]  # source_addr, destination_addr


@dataclass(frozen=True, slots=True)
class Expected:
    mo_id: int  # the stored MO this content was
    since: float  # when its acknowledgement became uncertain
    sure: bool  # the acknowledgement was never written


class Redeliveries:
    def __init__(self, window: float) -> None:
        self._window = window
        self._expected: dict[MoKey, Expected] = {}
        self._by_sender: dict[Sender, list[MoKey]] = {}
        self._bound_at: float | None = None

    def __len__(self) -> int:
        return len(self._expected)

    def expect(self, key: MoKey, mo_id: int, now: float, *, sure: bool) -> None:
        earlier = self._expected.get(key)
        if earlier is None:
            self._by_sender.setdefault((key[0], key[1]), []).append(key)
        elif earlier.mo_id == mo_id:
            sure = sure or earlier.sure  # its ack could not be written once: still so
        self._expected[key] = Expected(mo_id=mo_id, since=now, sure=sure)

    def arrived(self, key: MoKey) -> Expected | None:
        """An MO with this content arrived: the expectation it meets (then gone), if any. An MO of the same
        sender with other content ends that sender's expectations."""
        sender = (key[0], key[1])
        keys = self._by_sender.get(sender)
        if not keys:
            return None
        found = self._expected.pop(key, None)
        if found is None:
            for other in keys:
                del self._expected[other]
            del self._by_sender[sender]
            return None
        keys.remove(key)
        if not keys:
            del self._by_sender[sender]
        return found

    def link_bound(self, bound: bool, now: float) -> None:
        self._bound_at = now if bound else None

    def expire(self, now: float) -> None:
        """End the expectations ``window`` seconds past the later of their start and the last bind."""
        if self._bound_at is None:
            return  # the SMSC cannot deliver anything again before we are bound
        bound_at = self._bound_at
        for key, expected in list(self._expected.items()):
            if now - max(expected.since, bound_at) >= self._window:
                del self._expected[key]
                sender = (key[0], key[1])
                keys = self._by_sender[sender]
                keys.remove(key)
                if not keys:
                    del self._by_sender[sender]
