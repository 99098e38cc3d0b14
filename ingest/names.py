"""Keys for matching Vietnamese place names written in different ways.

Why: the same commune is "Tuy Hoà" in the boundary file and "Tuy Hòa" in the GSO list (13 of the
102 Đắk Lắk units differ only so), "Phường  Buôn Ma Thuột" carries a double space, and "Cư M'gar"
comes with a typographic apostrophe elsewhere. Two tone-mark placements are both in use for the
open rimes oa, oe, uy ("hoà"/"hòa", "thuỷ"/"thủy"); Unicode normalisation does not fold them
because they are different letters. Codes are the join key; names are matched only to cross-check
or to help a user, and then through :func:`name_key`.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["canonical_tone_placement", "name_key", "strip_accents"]

_TONES = frozenset("\u0300\u0309\u0303\u0301\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_MARKED = frozenset("ăâêôơư")  # vowels with a shape mark: the tone goes on them
_APOSTROPHES = str.maketrans(dict.fromkeys("’‘ʼʹ`´′", "'"))
_WORD_RE = re.compile(r"[^\W\d_]+")


def _tone_index(word: str) -> int | None:
    """Index in the toneless lower-case ``word`` of the vowel that carries the tone."""
    start = 0
    if word.startswith("qu") or (word.startswith("gi") and len(word) > 2 and word[2] in _VOWELS):
        start = 2  # the u of qu and the i of gi belong to the onset
    while start < len(word) and word[start] not in _VOWELS:
        start += 1
    end = start
    while end < len(word) and word[end] in _VOWELS:
        end += 1
    if start == end:
        if word[:2] == "gi":  # "gì", "gìn": the i of gi is the only vowel
            return 1
        return None
    cluster = word[start:end]
    marked = [i for i, c in enumerate(cluster) if c in _MARKED]
    if marked:
        return start + marked[-1]  # ươ -> ơ, uyê -> ê
    if len(cluster) == 1:
        return start
    if end < len(word):  # a final consonant: the last vowel (hoàng, thuyết, khuếch)
        return start + len(cluster) - 1
    if len(cluster) == 3:  # oai, oay, uyu: the middle one
        return start + 1
    # open two-vowel rimes (ai, ao, ia, ua, oa, oe, uy ...): the first one. For oa, oe and uy this is
    # the traditional placement ("hòa", "thủy"); the other style ("hoà", "thuỷ") folds onto it.
    return start


def canonical_tone_placement(word: str) -> str:
    """Put the tone mark of one syllable on the vowel the traditional rules give (NFC out)."""
    nfd = unicodedata.normalize("NFD", word)
    tones = [c for c in nfd if c in _TONES]
    if len(tones) != 1:
        return unicodedata.normalize("NFC", word)
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONES))
    idx = _tone_index(base.lower())
    if idx is None:
        return unicodedata.normalize("NFC", word)
    return unicodedata.normalize("NFC", base[: idx + 1] + tones[0] + base[idx + 1 :])


def name_key(s: str) -> str:
    """A matching key: NFC, case-folded, one space between words, one apostrophe, one tone placement.

    >>> name_key("Phường  Tuy Hoà") == name_key("phường tuy hòa")
    True
    """
    s = unicodedata.normalize("NFC", s).translate(_APOSTROPHES).casefold()
    s = " ".join(s.split())
    return _WORD_RE.sub(lambda m: canonical_tone_placement(m.group()) if not m.group().isascii() else m.group(), s)


def strip_accents(s: str) -> str:
    """Remove every diacritic (tones, shape marks, and đ -> d), for loose matching only, never display.

    >>> strip_accents("Đắk Lắk")
    'Dak Lak'
    """
    nfd = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in nfd if unicodedata.category(c) != "Mn"))
