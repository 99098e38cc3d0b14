"""Guess the text encoding of a DBF (or any legacy file) by how Vietnamese the decoded text reads.

Why: shapefiles from commune offices rarely carry a ``.cpg``, and TCVN3, VNI and Windows-1258 all
put Vietnamese letters in the same 0x80-0xFF bytes, so byte statistics alone cannot tell them
apart. Each candidate decoding is scored instead (share of well-formed Vietnamese syllables among
words with diacritics, share of non-ASCII characters that are Vietnamese letters, common syllables,
and penalties for decode errors, control characters and stray symbols); the best one wins and the
margin to the runner-up is the confidence.

The ingest reader reads DBF text with pyogrio ``encoding="latin1"``, which keeps every byte as the
code point of the same value; :func:`latin1_to_bytes` gets the bytes back and
:func:`decode_frame_columns` re-decodes whole columns once the encoding is known.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cropmrv.ingest import codecs as vcodecs
from cropmrv.ingest.vietnamese import COMMON_SYLLABLES, VIETNAMESE_CHARS, is_syllable

__all__ = [
    "ASCII_COMPATIBLE",
    "CANDIDATES",
    "EncodingGuess",
    "codec_for",
    "decode_frame_columns",
    "detect_encoding",
    "detect_frame_encoding",
    "latin1_to_bytes",
    "samples_from_frame",
]

#: Encodings considered, in the order used to break exact ties (most common first).
CANDIDATES: tuple[str, ...] = ("utf-8", "cp1258", "tcvn3", "vni")
#: The answer when every sample is plain ASCII: any candidate reads it the same; treat as UTF-8.
ASCII_COMPATIBLE = "ascii-compatible"

_WORD_RE = re.compile(r"[^\W\d_]+")
_MAX_SAMPLES = 2000


@dataclass(frozen=True)
class EncodingGuess:
    """The chosen encoding, how sure we are (0-1), every candidate's score, and why."""

    encoding: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    @property
    def codec(self) -> str:
        """A Python codec name to decode with (``ascii-compatible`` reads as UTF-8)."""
        return codec_for(self.encoding)


def codec_for(encoding: str) -> str:
    """Map an :class:`EncodingGuess` encoding name to a Python codec name."""
    return "utf-8" if encoding in (ASCII_COMPATIBLE, "ascii") else encoding


def latin1_to_bytes(s: str) -> bytes:
    """Undo a byte-preserving ``latin1`` read: every code point 0-255 back to its byte."""
    return s.encode("latin-1")


def _pick_samples(samples: Iterable[bytes], limit: int = _MAX_SAMPLES) -> list[bytes]:
    """Distinct non-ASCII samples, evenly spread if there are more than ``limit``."""
    seen = list(dict.fromkeys(b for b in samples if b and not b.isascii()))
    if len(seen) <= limit:
        return seen
    idx = np.linspace(0, len(seen) - 1, limit).round().astype(int)
    return [seen[i] for i in idx]


def _plausibility(texts: Sequence[str], n_errors: int) -> tuple[float, str]:
    """Score decoded texts as Vietnamese; return (score, a short account of it)."""
    non_ascii = bad = controls = 0
    words = valid = common = 0
    for text in texts:
        for ch in text:
            if ch < "\x80":
                if ch < " " and ch not in "\t\n\r":
                    controls += 1
                continue
            non_ascii += 1
            if ch not in VIETNAMESE_CHARS:
                bad += 1
                if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Mn"):
                    controls += 1
        for word in _WORD_RE.findall(text):
            if word.isascii():
                continue
            words += 1
            valid += is_syllable(word)
            common += word.lower() in COMMON_SYLLABLES
    n = max(len(texts), 1)
    valid_share = valid / words if words else 0.0
    common_share = common / words if words else 0.0
    bad_share = bad / non_ascii if non_ascii else 0.0
    score = valid_share + 0.3 * common_share - bad_share - 2.0 * n_errors / n - min(1.0, controls / n)
    why = (
        f"{valid}/{words} words with diacritics are valid syllables, {common} common; "
        f"{bad}/{non_ascii} non-ASCII characters are not Vietnamese letters; "
        f"{n_errors}/{n} samples failed to decode"
    )
    return round(score, 4), why


def detect_encoding(samples: list[bytes], candidates: Sequence[str] = CANDIDATES) -> EncodingGuess:
    """Choose among ``candidates`` (default utf-8, cp1258, tcvn3, vni) the one that reads as Vietnamese.

    ``samples`` are raw text values (for example every string cell of a DBF). Only distinct values
    with bytes >= 0x80 matter; if there are none the answer is ``ascii-compatible`` (read as UTF-8).
    """
    picked = _pick_samples(samples)
    if not picked:
        return EncodingGuess(
            ASCII_COMPATIBLE, 1.0, dict.fromkeys(candidates, 0.0),
            "all text is plain ASCII: every candidate reads it the same / văn bản chỉ có ký tự ASCII",
        )  # fmt: skip
    scores: dict[str, float] = {}
    why: dict[str, str] = {}
    for name in candidates:
        texts, n_errors = [], 0
        for raw in picked:
            try:
                texts.append(vcodecs.decode(raw, name))
            except UnicodeDecodeError:
                n_errors += 1
                texts.append(vcodecs.decode(raw, name, errors="replace"))
        scores[name], why[name] = _plausibility(texts, n_errors)
    ranked = sorted(candidates, key=lambda c: (-scores[c], candidates.index(c)))
    best = ranked[0]
    runner = scores[ranked[1]] if len(ranked) > 1 else -3.0
    margin = scores[best] - runner
    confidence = round(float(np.clip(scores[best], 0, 1) * min(1.0, margin / 0.3)), 3)
    reason = (
        f"{best}: {why[best]}; runner-up {ranked[1] if len(ranked) > 1 else '-'} "
        f"scored {runner:.2f} vs {scores[best]:.2f} ({len(picked)} distinct non-ASCII samples)"
    )
    return EncodingGuess(best, confidence, scores, reason)


def _object_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object and c != getattr(df, "_geometry_column_name", None)]


def samples_from_frame(df: pd.DataFrame, limit: int = _MAX_SAMPLES) -> list[bytes]:
    """Raw bytes of the distinct non-ASCII strings in a frame read with ``encoding="latin1"``."""
    out: list[bytes] = []
    for col in _object_columns(df):
        values = pd.unique(df[col].dropna())
        out.extend(latin1_to_bytes(v) for v in values if isinstance(v, str) and not v.isascii())
        if len(out) >= 4 * limit:
            break
    return _pick_samples(out, limit)


def detect_frame_encoding(df: pd.DataFrame) -> EncodingGuess:
    """:func:`detect_encoding` over every text column of a frame read with ``encoding="latin1"``."""
    return detect_encoding(samples_from_frame(df))


def _decode_many(values: list[str], codec: str, errors: str, column: str) -> list[str]:
    """Decode many latin1 strings in one call (joined on NUL, which no codec here touches)."""
    joined = "\x00".join(values)
    if joined.count("\x00") == len(values) - 1:
        try:
            out = vcodecs.decode(latin1_to_bytes(joined), codec, errors).split("\x00")
            if len(out) == len(values):
                return out
        except UnicodeDecodeError:
            pass  # find the value at fault below
    result = []
    for v in values:
        try:
            result.append(vcodecs.decode(latin1_to_bytes(v), codec, errors))
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"column {column!r}: value {v!r} is not valid {codec} text ({exc.reason}) / "
                f"cột {column!r}: giá trị {v!r} không đọc được bằng bảng mã {codec}"
            ) from exc
    return result


def decode_frame_columns(df: pd.DataFrame, encoding: str, errors: str = "strict") -> pd.DataFrame:
    """Re-decode every text column of a latin1-read frame with ``encoding``, into NFC.

    Only distinct non-ASCII values are decoded (DBF columns repeat a lot, and ASCII reads the same
    in every candidate), in one codec call per column, then mapped back. Returns a copy; non-text
    columns and the geometry are untouched. A value that does not decode raises ``ValueError``
    naming the column and the value (unless ``errors`` is "replace" or another handler).
    """
    codec = codec_for(encoding)
    out = df.copy()
    for col in _object_columns(df):
        s = df[col]
        raw = s.to_numpy(dtype=object)
        mask = np.fromiter((isinstance(v, str) and not v.isascii() for v in raw), bool, len(raw))
        if not mask.any():
            continue
        codes, uniques = pd.factorize(raw[mask])
        decoded = np.empty(len(uniques), dtype=object)
        decoded[:] = _decode_many(list(uniques), codec, errors, str(col))
        values = raw.copy()
        values[mask] = decoded[codes]
        out[col] = pd.Series(values, index=s.index, dtype=object)
    return out
