"""commands.normalize: what handsets really send, as a table, and the same codes answered over the simulator."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from conftest import StartGateway, ask
from hypothesis import given
from hypothesis import strategies as st
from support.passwords import ALICE, NEW, OLD
from support.passwords import seed as seed_passwords
from support.queries import MAIN, NOW
from support.queries import seed as seed_queries
from support.texts import ASK_NEW, ASK_OLD, ASK_REPEAT, CHANGED, MAIN_102

from commands.normalize import normalize
from gateway.clock import ManualClock
from gateway.ledger.secrets import verify_secret
from gateway.smsc import SmscSimulator

CASES: list[tuple[str, str, str]] = [
    # what it did before, kept
    ("plain", "102", "102"),
    ("full-width", "１０２", "102"),
    ("full-width letters and spaces", " ｋｔｇｐｒｓ１０ ", "KTGPRS10"),
    ("lower case", "cxye", "CXYE"),
    ("spaces and ideographic space", " cx\u3000ye ", "CXYE"),
    ("hash and plus", "+102#", "102"),
    ("tab and line breaks", "\t102\r\n", "102"),
    ("Chinese", "是", "是"),
    ("Chinese with spaces", " 确 认 ", "确认"),
    ("an ID number's X", "31010419920814215x", "31010419920814215X"),
    ("superscript (NFKC)", "10²", "102"),
    ("circled (NFKC)", "①⓪②", "102"),
    ("emoji kept", "👍🏻", "👍🏻"),
    ("empty", "", ""),
    # format characters (Cf)
    ("zero-width space", "10\u200b2", "102"),
    ("BOM first", "\ufeff102", "102"),
    ("RLM last", "102\u200f", "102"),
    ("LRM and ZWNJ", "\u200e1\u200c02", "102"),
    ("word joiner and soft hyphen", "1\u20600\u00ad2", "102"),
    ("BOM before letters", "\ufeffcxye", "CXYE"),
    ("zero-width space in Chinese", "是\u200b", "是"),
    # control characters (Cc)
    ("NUL last", "102\x00", "102"),
    ("ESC, DEL and C1", "\x1b1\x7f0\x852", "102"),
    # digits of other scripts (Nd and other digits) to ASCII
    ("Arabic-Indic", "١٠٢", "102"),
    ("Eastern Arabic-Indic", "۱۰۲", "102"),
    ("Devanagari", "१०२", "102"),
    ("Bengali", "১০২", "102"),
    ("Thai", "๑๐๒", "102"),
    ("mathematical bold (NFKC)", "𝟏𝟎𝟐", "102"),
    ("negative circled, no NFKC form", "❶⓿❷", "102"),
    ("Arabic-Indic with RLM and BOM", "\ufeff\u200f١٠٢\u200f", "102"),
    ("Arabic-Indic letter code", "ktgprs١٠", "KTGPRS10"),
    ("a six-digit password in Arabic-Indic", "٧٣٠٥١٨", "730518"),
]


@pytest.mark.parametrize(("text", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalize(text: str, code: str) -> None:
    assert normalize(text) == code
    assert normalize(code) == code


@pytest.mark.parametrize(("text", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_normalised_text_of_digits_is_ascii_digits(text: str, code: str) -> None:
    normalised = normalize(text)
    if normalised.isdigit():
        assert normalised.isascii()
        assert str(int(normalised)).zfill(len(normalised)) == normalised


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_an_ascii_text_is_normalised_as_the_general_path_would(text: str) -> None:
    """ASCII takes a short way (no NFKC, no category look-ups); it must come out the same as the long one."""
    shown = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))
    assert normalize(text) == shown.translate(str.maketrans("", "", " \t\r\n+#")).upper()


# --- over the simulator ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["102", "\ufeff102", "١٠٢", "10\u200b2", "102\u200f", "102\x00"], ids=repr)
async def test_invisible_characters_and_other_digits_get_the_102_answer(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path, text: str
) -> None:
    await seed_queries(tmp_path / "gateway.db")
    await start_gateway(clock=ManualClock(NOW))
    assert await ask(sim, MAIN, "10001", text) == MAIN_102


async def test_a_password_sent_with_a_bom_or_in_arabic_indic_digits_still_works(
    sim: SmscSimulator, start_gateway: StartGateway, tmp_path: Path
) -> None:
    await seed_passwords(tmp_path / "gateway.db")
    gateway = await start_gateway(clock=ManualClock(NOW))
    arabic_new = NEW.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for text, answer in [
        ("502", ASK_OLD),
        ("\ufeff" + OLD, ASK_NEW),
        (arabic_new, ASK_REPEAT),
        (NEW + "\u200f", CHANGED),
    ]:
        assert await ask(sim, ALICE, "10001", text) == answer
    [(stored,)] = await gateway.store.fetch("SELECT password_hash FROM subscriber WHERE msisdn = ?", (ALICE,))
    assert verify_secret(NEW, str(stored))
