"""Legacy Vietnamese text encodings as real Python codecs: ``tcvn3`` and ``vni``.

Why this module exists: commune GIS offices still hand over shapefiles whose DBF text was typed
with the ABC (TCVN3, ``.VnTime`` fonts) or VNI-Windows font encodings, and nothing in the file says
so (no ``.cpg``). Neither encoding is in the Python standard library, glibc's ``TCVN5712-1`` is not
reachable from Python without a subprocess, and no maintained PyPI library provides them as codecs,
so the tables are written here by hand. They were checked against public sources: glibc's
TCVN5712-1 converter (byte for byte over 0xA0-0xFF, see ``tests/test_codecs.py``) and public
Unicode <-> VNI / TCVN3 conversion tables used by Vietnamese font converters.

Decoded text is always NFC. After :func:`register` (run on import, idempotent) the codecs work with
the usual machinery: ``b.decode("tcvn3")``, ``s.encode("vni")``, ``open(..., encoding="vni")``.

TCVN3 (TCVN 5712:1993, table VN3) is a single-byte charset with codes for the 67 lower-case
Vietnamese letters but only the 7 upper-case *base* letters Ă Â Ê Ô Ơ Ư Đ. The ABC convention
writes upper-case toned letters with the *lower-case* code and shows them in an upper-case font
(``.VnTimeH``), so case is lost in the bytes. Consequently:

* decoding gives lower-case toned letters (the bytes do not say otherwise);
* ``encode`` with ``errors="strict"`` refuses an upper-case toned letter with a clear message;
  ``errors="tcvn3-lower"`` applies the ABC convention (writes the lower-case code);
* decoding also accepts the upper-case codes of the larger VN1 table in 0x80-0xFF (a superset used
  by some tools) so such files still read; the C0 control range is left as ASCII on purpose because
  control bytes in a DBF are far more often garbage than VN1 capitals.

VNI-Windows writes a Vietnamese letter as a base ASCII letter followed by one "diacritic" byte
(for example ``a`` + 0xF9 = á, ``a`` + 0xE1 = ấ); ơ ư đ ĩ ỉ ị ì í ỵ have single bytes. Upper-case
letters use a separate set of diacritic bytes (0xC0-0xDC). Decoding is lenient about the case of
the diacritic byte (the letter's case wins); encoding writes the canonical form.

Windows-1258 (``cp1258``) is in Python already, but it stores most tones as combining marks, so
:func:`decode` normalises it to NFC and :func:`encode` first rewrites text into the form the
code page can hold (:func:`to_cp1258_form`).
"""

from __future__ import annotations

import codecs
import contextlib
import re
import unicodedata

import numpy as np

__all__ = [
    "CODEC_NAMES",
    "VIETNAMESE_LETTERS",
    "decode",
    "encode",
    "from_cp1258_bytes",
    "register",
    "to_cp1258_form",
]

# --------------------------------------------------------------------------------------------
# The Vietnamese alphabet, built rather than typed so that the tables below can be checked.
_TONES = {"grave": "\u0300", "hook": "\u0309", "tilde": "\u0303", "acute": "\u0301", "dot": "\u0323"}
_TONE_ORDER = ("grave", "hook", "tilde", "acute", "dot")
_BASE_VOWELS = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")


def _toned(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + _TONES[tone])


_LOWER_LETTERS = [_toned(v, t) for v in _BASE_VOWELS for t in _TONE_ORDER] + list("ăâêôơư") + ["đ"]
#: The 134 letters with diacritics (67 lower + 67 upper case), NFC.
VIETNAMESE_LETTERS: tuple[str, ...] = tuple(_LOWER_LETTERS + [c.upper() for c in _LOWER_LETTERS])

# --------------------------------------------------------------------------------------------
# TCVN3 (VN3). Byte codes of each base vowel's tones, in _TONE_ORDER (grave hook tilde acute dot).
_TCVN3_TONED = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_PLAIN = {
    "ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE,
    "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7,
}  # fmt: skip
# Upper-case codes of the VN1 table (TCVN 5712:1993) in 0x80-0xFF: decode only (see module doc).
_TCVN_VN1_UPPER = dict(
    zip(
        [*range(0x80, 0xA0), 0xAF, 0xBA, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xCD, 0xD9, 0xDA, 0xDB,
         0xE0, 0xF0, 0xFF],
        "ÀẢÃÁẠẶẬÈẺẼÉẸỆÌỈĨÍỊÒỎÕÓỌỘỜỞỠỚỢÙỦŨ" "ẰẲẴẮẦẨẪẤỀỂỄẾỒỔỖỐ",
        strict=True,
    )
)
_TCVN_VN1_MARKS = {0xB0: "\u0300", 0xB1: "\u0309", 0xB2: "\u0303", 0xB3: "\u0301", 0xB4: "\u0323"}


def _tcvn3_tables() -> tuple[str, dict[int, int]]:
    to_uni = {b: chr(b) for b in range(0x80)} | {0xA0: "\u00a0"}
    encode_map: dict[int, int] = {b: b for b in range(0x80)} | {0xA0: 0xA0}
    for base, codes in _TCVN3_TONED.items():
        for tone, code in zip(_TONE_ORDER, codes, strict=True):
            ch = _toned(base, tone)
            to_uni[code] = ch
            encode_map[ord(ch)] = code
    for ch, code in _TCVN3_PLAIN.items():
        to_uni[code] = ch
        encode_map[ord(ch)] = code
    to_uni |= _TCVN_VN1_UPPER | _TCVN_VN1_MARKS
    # "\ufffe" marks an undefined byte for codecs.charmap_decode (it calls the error handler).
    decoding_table = "".join(to_uni.get(b, "\ufffe") for b in range(256))
    return decoding_table, encode_map


_TCVN3_DECODING_TABLE, _TCVN3_ENCODE_MAP = _tcvn3_tables()
# codecs.charmap_encode accepts a plain {code point: byte} dict as its encoding table.
_TCVN3_ENCODING_TABLE = _TCVN3_ENCODE_MAP

# --------------------------------------------------------------------------------------------
# VNI-Windows. Diacritic bytes written after a lower-case base letter (upper case: see _VNI_UPPER).
_VNI_TONE_LOWER = {"grave": "ø", "hook": "û", "tilde": "õ", "acute": "ù", "dot": "ï"}
_VNI_CIRC_LOWER = {"": "â", "grave": "à", "hook": "å", "tilde": "ã", "acute": "á", "dot": "ä"}
_VNI_BREVE_LOWER = {"": "ê", "grave": "è", "hook": "ú", "tilde": "ü", "acute": "é", "dot": "ë"}
# Letters that VNI writes as one byte (lower case; the upper-case byte is the Latin-1 upper case).
_VNI_SINGLE_LOWER = {"đ": "ñ", "ơ": "ô", "ư": "ö", "ì": "ì", "í": "í", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î"}


def _vni_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Return (unicode letter -> VNI text, VNI text -> unicode letter); VNI text is Latin-1."""
    enc: dict[str, str] = {}
    for base in _BASE_VOWELS:
        for tone in ("", *_TONE_ORDER):
            letter = _toned(base, tone) if tone else base
            if letter in _VNI_SINGLE_LOWER:
                seq = _VNI_SINGLE_LOWER[letter]
            elif base in "âêô":
                seq = unicodedata.normalize("NFD", base)[0] + _VNI_CIRC_LOWER[tone]
            elif base == "ă":
                seq = "a" + _VNI_BREVE_LOWER[tone]
            elif base in "ơư":
                seq = _VNI_SINGLE_LOWER[base] + (_VNI_TONE_LOWER[tone] if tone else "")
            else:
                seq = base + (_VNI_TONE_LOWER[tone] if tone else "")
            if seq != letter:
                enc[letter] = seq
    enc["đ"] = _VNI_SINGLE_LOWER["đ"]
    # Upper case: upper-case base and the upper-case diacritic byte (Latin-1 upper = lower - 0x20).
    for letter, seq in list(enc.items()):
        enc[letter.upper()] = seq.upper()
    dec = {seq: letter for letter, seq in enc.items()}
    # Lenient decoding: a diacritic byte of the other case, and the non-canonical i/y spellings.
    lenient: dict[str, str] = {}
    for seq, letter in dec.items():
        if len(seq) == 2:
            base, mark = seq
            other = mark.lower() if mark.isupper() else mark.upper()
            lenient.setdefault(base + other, letter)
    for base in "iyIY":
        for tone in _TONE_ORDER:
            mark = _VNI_TONE_LOWER[tone]
            letter = _toned(base.lower(), tone)
            letter = letter.upper() if base.isupper() else letter
            lenient.setdefault(base + mark, letter)
            lenient.setdefault(base + mark.upper(), letter)
    dec = lenient | dec
    return enc, dec


_VNI_ENCODE, _VNI_DECODE = _vni_tables()
# Bytes that VNI uses for diacritics or letters; any other byte >= 0x80 passes through as Latin-1.
_VNI_SPECIAL = frozenset(ch for seq in _VNI_ENCODE.values() for ch in seq if ord(ch) >= 0x80)
# VNI fonts are Windows fonts: 0x80-0x9F hold the Windows-1252 punctuation (’ “ ” – …).
_VNI_C1 = {}
for _b in range(0x80, 0xA0):
    with contextlib.suppress(UnicodeDecodeError):  # 0x81 0x8D 0x8F 0x90 0x9D are unassigned
        _VNI_C1[chr(_b)] = bytes([_b]).decode("cp1252")
_VNI_C1_DECODE = {ord(k): v for k, v in _VNI_C1.items()}
_VNI_ENCODE_TRANS = {ord(c): s for c, s in _VNI_ENCODE.items()} | {ord(v): k for k, v in _VNI_C1.items()}
# A character is encodable if it is ASCII, a Vietnamese letter, Windows-1252 punctuation, or
# Latin-1 outside VNI's own bytes.
_VNI_UNENCODABLE_RE = re.compile(
    "[^\x00-\x7f"
    + re.escape("".join(_VNI_ENCODE))
    + re.escape("".join(_VNI_C1.values()))
    + re.escape("".join(chr(b) for b in range(0xA0, 0x100) if chr(b) not in _VNI_SPECIAL))
    + "]"
)
# Decoding works on whole byte arrays with two lookup tables (no per-character Python): a pair
# table (base byte, diacritic byte) -> letter, and a single-byte table for everything else. No
# diacritic byte is ever a base, so pairs cannot overlap; a diacritic byte that no pair consumed
# stands alone, which VNI text never does, and goes to the error handler.
_VNI_PAIR_TABLE = np.zeros((256, 256), dtype=np.uint32)
for _seq, _letter in _VNI_DECODE.items():
    if len(_seq) == 2:
        _VNI_PAIR_TABLE[ord(_seq[0]), ord(_seq[1])] = ord(_letter)
_VNI_IS_MARK = np.zeros(256, dtype=bool)
_VNI_IS_MARK[[ord(s[1]) for s in _VNI_DECODE if len(s) == 2]] = True
_VNI_SINGLE_TABLE = np.arange(256, dtype=np.uint32)
for _seq, _letter in (_VNI_DECODE | _VNI_C1).items():
    if len(_seq) == 1:
        _VNI_SINGLE_TABLE[ord(_seq)] = ord(_letter)


def _vni_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    raw = bytes(data)
    if raw.isascii():
        return raw.decode("ascii"), len(raw)
    a = np.frombuffer(raw, dtype=np.uint8)
    out = _VNI_SINGLE_TABLE[a]
    composed = _VNI_PAIR_TABLE[a[:-1], a[1:]]
    starts = composed != 0
    out[:-1][starts] = composed[starts]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] &= ~starts
    stray = np.flatnonzero(_VNI_IS_MARK[a] & keep)

    def text(lo: int, hi: int) -> str:
        return out[lo:hi][keep[lo:hi]].astype("<u4").tobytes().decode("utf-32-le")

    if len(stray) == 0:
        return text(0, len(a)), len(raw)
    handler = codecs.lookup_error(errors)
    parts: list[str] = []
    pos = 0
    for i in stray:
        if i < pos:
            continue
        parts.append(text(pos, int(i)))
        exc = UnicodeDecodeError("vni", raw, int(i), int(i) + 1, "VNI diacritic byte without a letter")
        repl, pos = handler(exc)
        parts.append(repl)
    parts.append(text(pos, len(a)))
    return "".join(parts), len(raw)


def _vni_encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    text = unicodedata.normalize("NFC", text)
    bad = _VNI_UNENCODABLE_RE.search(text)
    if bad is None:  # fast path: the whole string is encodable
        return text.translate(_VNI_ENCODE_TRANS).encode("latin-1"), len(text)
    handler = codecs.lookup_error(errors)
    out: list[str] = []
    pos = 0
    while bad is not None:
        out.append(text[pos : bad.start()].translate(_VNI_ENCODE_TRANS))
        exc = UnicodeEncodeError("vni", text, bad.start(), bad.end(), "character has no VNI-Windows code")
        repl, pos = handler(exc)
        if isinstance(repl, bytes):
            repl = repl.decode("latin-1")
        elif _VNI_UNENCODABLE_RE.search(repl):
            raise exc
        else:
            repl = repl.translate(_VNI_ENCODE_TRANS)
        out.append(repl)
        bad = _VNI_UNENCODABLE_RE.search(text, pos)
    out.append(text[pos:].translate(_VNI_ENCODE_TRANS))
    return "".join(out).encode("latin-1"), len(text)


# --------------------------------------------------------------------------------------------
# TCVN3 encode/decode on the C charmap codec (fast), plus the documented error handlers.
_UPPER_TONED = frozenset(c for c in VIETNAMESE_LETTERS[67:] if ord(c) not in _TCVN3_ENCODE_MAP)


def _tcvn3_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    text, n = codecs.charmap_decode(data, errors, _TCVN3_DECODING_TABLE)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text, n


def _tcvn3_encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    text = unicodedata.normalize("NFC", text)
    try:
        return codecs.charmap_encode(text, errors, _TCVN3_ENCODING_TABLE)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        if errors == "strict" and any(c in _UPPER_TONED for c in bad):
            raise UnicodeEncodeError(
                "tcvn3", exc.object, exc.start, exc.end,
                f"TCVN3 (ABC/VN3) has no code for upper-case toned letter {bad!r}; use "
                "errors='tcvn3-lower' for the ABC convention (lower-case code, upper-case font) / "
                "TCVN3 không có mã cho chữ hoa có dấu",
            ) from None
        raise


def _tcvn3_lower_handler(exc: UnicodeError) -> tuple[str, int]:
    """``errors="tcvn3-lower"``: write upper-case toned letters with their lower-case code (ABC)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    if all(c in _UPPER_TONED for c in bad):
        return bad.lower(), exc.end
    raise exc


# --------------------------------------------------------------------------------------------
# Codec plumbing (stateless codec, buffered incremental decoder for VNI's two-byte letters).
class _Tcvn3IncrementalDecoder(codecs.IncrementalDecoder):
    def decode(self, input: bytes, final: bool = False) -> str:
        return _tcvn3_decode(input, self.errors)[0]


class _Tcvn3IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, input: str, final: bool = False) -> bytes:
        return _tcvn3_encode(input, self.errors)[0]


class _VniIncrementalDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, input: bytes, errors: str, final: bool) -> tuple[str, int]:
        # Hold back a trailing ASCII letter: its diacritic byte may come in the next chunk.
        keep = 1 if (not final and input and chr(input[-1]).isalpha() and input[-1] < 0x80) else 0
        text, _ = _vni_decode(input[: len(input) - keep], errors)
        return text, len(input) - keep


class _VniIncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, input: str, final: bool = False) -> bytes:
        return _vni_encode(input, self.errors)[0]


def _codec_info(name: str) -> codecs.CodecInfo:
    if name == "tcvn3":
        enc, dec, ienc, idec = _tcvn3_encode, _tcvn3_decode, _Tcvn3IncrementalEncoder, _Tcvn3IncrementalDecoder
    else:
        enc, dec, ienc, idec = _vni_encode, _vni_decode, _VniIncrementalEncoder, _VniIncrementalDecoder

    class _Writer(codecs.StreamWriter):
        def encode(self, input: str, errors: str = "strict") -> tuple[bytes, int]:
            return enc(input, errors)

    class _Reader(codecs.StreamReader):
        def decode(self, input: bytes, errors: str = "strict") -> tuple[str, int]:
            return dec(input, errors)

    return codecs.CodecInfo(
        name=name, encode=enc, decode=dec, incrementalencoder=ienc, incrementaldecoder=idec,
        streamreader=_Reader, streamwriter=_Writer,
    )


_ALIASES = {
    "tcvn3": "tcvn3", "tcvn_3": "tcvn3", "abc": "tcvn3", "vn3": "tcvn3", "tcvn5712_vn3": "tcvn3",
    "vni": "vni", "vni_windows": "vni", "vniwin": "vni",
}  # fmt: skip
#: Names :func:`decode` / :func:`encode` accept (besides any Python codec name).
CODEC_NAMES = ("tcvn3", "vni", "cp1258", "utf-8")
_registered = False


def _search(name: str) -> codecs.CodecInfo | None:
    key = _ALIASES.get(name.lower().replace("-", "_").replace(" ", "_"))
    return _codec_info(key) if key else None


def register() -> None:
    """Register the ``tcvn3`` and ``vni`` codecs and the ``tcvn3-lower`` error handler (idempotent)."""
    global _registered
    if _registered:
        return
    codecs.register(_search)
    codecs.register_error("tcvn3-lower", _tcvn3_lower_handler)
    _registered = True


# --------------------------------------------------------------------------------------------
# Windows-1258 helpers.
_CP1258_TONE_MARKS = frozenset(_TONES.values())


def to_cp1258_form(text: str) -> str:
    """Rewrite NFC text into the decomposition Windows-1258 can hold.

    cp1258 has precomposed ă â ê ô ơ ư đ and a few toned Latin-1 letters (à á é ...), but the other
    tones only as combining marks. Each character that has no cp1258 code is split into its base
    (with circumflex, breve or horn kept) plus one combining tone mark, which is how Windows writes it.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ch)
            continue
        try:
            ch.encode("cp1258")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        nfd = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in nfd if c in _CP1258_TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _CP1258_TONE_MARKS))
        out.append(base + tones)
    return "".join(out)


def from_cp1258_bytes(data: bytes, errors: str = "strict") -> str:
    """Decode Windows-1258 bytes to NFC (Python's codec leaves the combining tone marks apart)."""
    return unicodedata.normalize("NFC", bytes(data).decode("cp1258", errors))


# --------------------------------------------------------------------------------------------
def decode(data: bytes, name: str, errors: str = "strict") -> str:
    """Decode ``data`` with ``name`` (``tcvn3``, ``vni``, ``cp1258`` or any Python codec) into NFC."""
    register()
    if codecs.lookup(name).name == "cp1258":
        return from_cp1258_bytes(data, errors)
    return unicodedata.normalize("NFC", bytes(data).decode(name, errors))


def encode(text: str, name: str, errors: str = "strict") -> bytes:
    """Encode ``text`` with ``name``; for ``cp1258`` the text is first put in :func:`to_cp1258_form`."""
    register()
    if codecs.lookup(name).name == "cp1258":
        return to_cp1258_form(text).encode("cp1258", errors)
    return unicodedata.normalize("NFC", text).encode(name, errors)


register()
