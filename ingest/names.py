"""Vietnamese name normalisation (placeholder until the full module lands; keep the signature)."""

from __future__ import annotations

import unicodedata

# Old-style ("oà", "uỷ") and new-style ("òa", "ủy") tone placement, folded to the new style.
_OLD_TO_NEW = {}
for _tone in ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323"):
    for _a, _b in (("o", "a"), ("o", "e"), ("u", "y")):
        _OLD_TO_NEW[unicodedata.normalize("NFC", _a + _b + _tone)] = unicodedata.normalize("NFC", _a + _tone + _b)


def name_key(s: str) -> str:
    """A key for matching names whatever the tone-mark placement, case or spacing."""
    s = " ".join(unicodedata.normalize("NFC", s).casefold().split())
    for old, new in _OLD_TO_NEW.items():
        s = s.replace(old, new)
    return s
