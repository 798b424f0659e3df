"""What fits one USSD screen, and cutting menus and answers into screens.

A USSD string is at most 160 octets: 182 characters in the GSM 7-bit alphabet (packed), or 80 UTF-16
units in UCS2, so a Chinese screen holds 80 characters (``ussd.screen_gsm`` / ``ussd.screen_ucs2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.smpp.text import gsm_encode

BREAKS = ("，", "；", "。", "：", ",", ";", ".", " ")
GSM_SCREEN = 182
UCS2_SCREEN = 80


@dataclass(frozen=True, slots=True)
class Screen:
    gsm: int = GSM_SCREEN  # septets
    ucs2: int = UCS2_SCREEN  # UTF-16 code units

    def fits(self, text: str) -> bool:
        septets = gsm_encode(text)
        if septets is not None:
            return len(septets) <= self.gsm
        return len(text.encode("utf-16-be")) // 2 <= self.ucs2

    def pages(self, lines: Sequence[str], *, head: str, more: str, tail: str) -> list[list[str]]:
        """``lines`` cut into pages of whole lines: each page is ``head``, its lines, then ``more`` (on every
        page but the last) and ``tail``, and fits the screen. A line too long for any page is cut."""
        pages: list[list[str]] = []
        current: list[str] = []
        for line in lines:
            while not self.fits(_join(head, [*current, line], more, tail)):
                if current:
                    pages.append(current)
                    current = []
                    continue
                line = self._cut(line, head, more, tail)  # alone it does not fit: shorten it
            current.append(line)
        pages.append(current)
        return pages

    def _cut(self, line: str, head: str, more: str, tail: str) -> str:
        while line and not self.fits(_join(head, [line], more, tail)):
            line = line[:-1]
        return line

    def chunks(self, text: str, *, more: str) -> list[str]:
        """A long answer cut into screens: every screen but the last ends with ``more``."""
        if self.fits(text):
            return [text]
        out = []
        rest = text
        while not self.fits(rest):
            size = len(rest)
            while size > 1 and not self.fits(rest[:size] + "\n" + more):
                size -= 1
            # End the screen after a punctuation mark when one is in its second half, not inside a figure.
            cut = _last_break(rest, size)
            size = cut if cut > size // 2 else size
            out.append(rest[:size])
            rest = rest[size:]
        out.append(rest)
        return out


def _last_break(text: str, end: int) -> int:
    """Where ``text[:end]`` can be cut: just after its last break mark that is not inside a figure (the
    "." of 30.00MB, the "," of 1,000), or 0 when there is none."""
    for at in range(end - 1, -1, -1):
        inside_figure = text[at - 1 : at].isdigit() and text[at + 1 : at + 2].isdigit()
        if text[at] in BREAKS and not inside_figure:
            return at + 1
    return 0


def _join(head: str, lines: Sequence[str], more: str, tail: str) -> str:
    return "\n".join(x for x in (head, *lines, more, tail) if x)
