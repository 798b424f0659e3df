"""How often a part left unanswered may be sent again (sans-IO, like the session)."""

from __future__ import annotations


class ResendBudget:
    """How many times each part left unanswered may be sent again, across connections: a link keeps one.

    A part is unanswered when its submit_sm expired (:class:`SubmitExpired`) or was still outstanding when
    the connection ended (:meth:`EsmeSession.connection_lost`). Throttling is an answer: it does not count.
    """

    def __init__(self, max_resends: int) -> None:
        self.max_resends = max_resends
        self._resends: dict[int, int] = {}

    def unanswered(self, ref: int) -> bool:
        """One more copy of ``ref`` went unanswered: whether it may be sent again (False: give it up)."""
        resends = self._resends.pop(ref, 0) + 1
        if resends > self.max_resends:
            return False
        self._resends[ref] = resends
        return True

    def forget(self, ref: int) -> None:
        """The part is settled (or given up): its count goes."""
        self._resends.pop(ref, None)
