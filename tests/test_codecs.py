"""Round trips of the legacy Vietnamese codecs over the whole alphabet and the real ward names."""

from __future__ import annotations

import codecs
import io
import subprocess
import unicodedata
from pathlib import Path

import pyogrio
import pytest

from cropmrv.ingest import codecs as vcodecs
from cropmrv.ingest.codecs import VIETNAMESE_LETTERS, decode, encode, to_cp1258_form

REPO = Path(__file__).resolve().parents[1]
WARDS = REPO / "cropmrv/data/provinces/66/dak_lak_wards_2025.gpkg"
LOWER, UPPER = VIETNAMESE_LETTERS[:67], VIETNAMESE_LETTERS[67:]
TCVN3_UPPER_BASE = set("ĂÂÊÔƠƯĐ")


def ward_names() -> list[str]:
    df = pyogrio.read_dataframe(WARDS, layer="xa_phuong_2025", read_geometry=False)
    return list(df["ten"]) + list(df["ten_day_du"])


def test_alphabet_is_134_distinct_nfc_letters():
    assert len(VIETNAMESE_LETTERS) == 134 == len(set(VIETNAMESE_LETTERS))
    assert all(unicodedata.is_normalized("NFC", c) and len(c) == 1 for c in VIETNAMESE_LETTERS)
    assert [c.upper() for c in LOWER] == list(UPPER)


@pytest.mark.parametrize("name", ["vni", "cp1258"])
def test_round_trip_all_134_letters(name):
    for letter in VIETNAMESE_LETTERS:
        data = encode(letter, name)
        assert decode(data, name) == letter, (name, letter, data)
    word = "".join(VIETNAMESE_LETTERS)
    assert decode(encode(word, name), name) == word


def test_tcvn3_round_trip_every_letter_it_defines():
    defined = [c for c in VIETNAMESE_LETTERS if c in LOWER or c in TCVN3_UPPER_BASE]
    assert len(defined) == 74  # 67 lower case + Ă Â Ê Ô Ơ Ư Đ
    for letter in defined:
        data = encode(letter, "tcvn3")
        assert len(data) == 1
        assert decode(data, "tcvn3") == letter
    # 74 distinct single bytes
    assert len({encode(c, "tcvn3") for c in defined}) == 74


def test_tcvn3_upper_toned_letters_fail_clearly_or_follow_abc_convention():
    for letter in set(UPPER) - TCVN3_UPPER_BASE:
        with pytest.raises(UnicodeEncodeError, match="upper-case toned letter"):
            encode(letter, "tcvn3")
        abc = encode(letter, "tcvn3", errors="tcvn3-lower")
        assert abc == encode(letter.lower(), "tcvn3")
        assert decode(abc, "tcvn3") == letter.lower()
    assert "BUÔN MA THUỘT".encode("tcvn3", errors="tcvn3-lower").decode("tcvn3") == "BUÔN MA THUộT"


def test_tcvn3_table_matches_glibc_tcvn5712_1():
    """glibc's iconv TCVN5712-1 (VN1) is an independent implementation of the same standard."""
    for letter in VIETNAMESE_LETTERS:
        try:
            ours = encode(letter, "tcvn3")
        except UnicodeEncodeError:
            continue
        out = subprocess.run(
            ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=ours, capture_output=True, check=True
        ).stdout.decode("utf-8")
        assert unicodedata.normalize("NFC", out) == letter
    # the VN1 upper-case codes that decoding also accepts agree with glibc as well
    high = bytes(b for b in range(0x80, 0x100) if b != 0xA0)
    glibc = subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=high, capture_output=True, check=True
    ).stdout.decode("utf-8")
    ours = high.decode("tcvn3")
    assert ours == unicodedata.normalize("NFC", glibc)


def test_known_vni_and_tcvn3_spellings():
    # spellings as a VNI or ABC keyboard driver writes them
    assert encode("Xin chào các bạn", "vni") == "Xin chaøo caùc baïn".encode("latin-1")
    assert decode("Bu«n Ma Thuét".encode("latin-1"), "tcvn3") == "Buôn Ma Thuột"
    assert decode("Ph­êng".encode("latin-1"), "tcvn3") == "Phường"
    assert decode("ngöôøi Ñaék Laék".encode("latin-1"), "vni") == "người Đắk Lắk"


def test_real_ward_names_round_trip():
    names = ward_names()
    assert len(names) == 204
    for name in names:
        n = unicodedata.normalize("NFC", name)
        assert decode(encode(n, "vni"), "vni") == n
        assert decode(encode(n, "cp1258"), "cp1258") == n
        assert decode(encode(n, "utf-8"), "utf-8") == n
        # TCVN3: exact where the name has no upper-case toned letter, else case-folded per ABC
        abc = encode(n, "tcvn3", errors="tcvn3-lower")
        back = decode(abc, "tcvn3")
        assert back.lower() == n.lower()
        if not any(c in UPPER and c not in TCVN3_UPPER_BASE for c in n):
            assert back == n


def test_registered_codecs_and_streams():
    vcodecs.register()
    vcodecs.register()  # idempotent
    assert codecs.lookup("VNI-Windows").name == "vni"
    assert codecs.lookup("abc").name == "tcvn3"
    raw = encode("Hoà Sơn, Ea H'Leo\n", "vni") * 50
    # incremental decoding across chunk boundaries that split letter + diacritic byte
    dec = codecs.getincrementaldecoder("vni")()
    text = "".join(dec.decode(raw[i : i + 3]) for i in range(0, len(raw), 3)) + dec.decode(b"", final=True)
    assert text == "Hoà Sơn, Ea H'Leo\n" * 50
    assert io.TextIOWrapper(io.BytesIO(raw), encoding="vni").read() == text
    assert to_cp1258_form("ầ") == "â\u0300" and to_cp1258_form("à") == "à"


def test_error_modes():
    with pytest.raises(UnicodeDecodeError):
        b"\xf9 stray".decode("vni")
    assert b"\xf9x".decode("vni", errors="replace") == "\ufffdx"
    with pytest.raises(UnicodeEncodeError):
        "北".encode("vni")
    assert "a北".encode("vni", errors="replace") == b"a?"
    # every byte decodes in TCVN3: VN3 plus the VN1 capitals (0xE0 is VN1's Ổ)
    assert len(bytes(range(256)).decode("tcvn3")) == 256
    assert decode(b"\xe0", "tcvn3") == "Ổ"
