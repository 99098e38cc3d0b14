"""What Vietnamese text looks like: syllable structure and a small table of common syllables.

Why: legacy encodings cannot be told apart by their bytes (TCVN3, VNI and Windows-1258 all use the
same 0x80-0xFF range, with no markers), so :mod:`cropmrv.ingest.encoding` decodes a sample every
way and asks which result reads as Vietnamese. Vietnamese is written in syllables with a strict
shape (onset + rime + at most one tone), so a wrong decoding shows up as impossible syllables
("Buoõn", "Phýừèng") long before any dictionary is needed. No PyPI library checks syllable
structure (the NLP toolkits tokenise, they do not validate), hence this small module.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["COMMON_SYLLABLES", "TONE_MARKS", "VIETNAMESE_CHARS", "is_syllable", "split_tone"]

#: Combining tone marks: grave (huyền), hook (hỏi), tilde (ngã), acute (sắc), dot below (nặng).
TONE_MARKS = frozenset("\u0300\u0309\u0303\u0301\u0323")

_ONSETS = ["ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"]  # fmt: skip
# Rimes without tone. Closed rimes are built from nucleus x coda below; these are the open ones
# and those ending in a semivowel (i/y/o/u).
_OPEN_RIMES = ["a", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ia", "ua", "ưa", "oa", "oe", "uê", "uy", "uơ", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "iu", "oi", "ôi", "ơi", "ui", "ưi", "ưu", "uôi", "ươi", "ươu", "iêu", "yêu", "oai", "oay", "oao", "oeo", "uây", "uya", "uyu"]  # fmt: skip
_NUCLEI = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "oa", "oă", "oe", "uâ", "uê", "uy", "iê", "yê", "uô", "ươ", "uyê", "oo"]
# k and h are not codas of standard Vietnamese but are how the Central Highlands place names are
# written in Vietnamese letters (Đắk Lắk, Buôn Đôn, Búk, Tóh), so they are accepted here.
_CODAS_ALL = ["c", "m", "n", "ng", "p", "t", "k", "h"]
_CODAS_PALATAL = ["ch", "nh"]  # only after a, ê, i, oa, uê, uy
_PALATAL_NUCLEI = {"a", "ê", "i", "oa", "uê", "uy"}


def _rimes() -> frozenset[str]:
    rimes = set(_OPEN_RIMES)
    for nucleus in _NUCLEI:
        for coda in _CODAS_ALL:
            rimes.add(nucleus + coda)
        if nucleus in _PALATAL_NUCLEI:
            rimes.update(nucleus + coda for coda in _CODAS_PALATAL)
    # "y" and "yê" only stand alone or after a medial u ("uy", "uyê"): handled by the onset rule.
    return frozenset(rimes)


_RIMES = _rimes()
_SYLLABLE_RE = re.compile(
    "^(?:" + "|".join(sorted(_ONSETS, key=len, reverse=True)) + ")?(?P<rime>[^\\W\\d_]+)$"
)

#: Characters that occur in Vietnamese words (lower and upper case, NFC), besides ASCII letters.
VIETNAMESE_CHARS = frozenset(
    unicodedata.normalize("NFC", base + tone)
    for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    for tone in ("", *TONE_MARKS)
) | frozenset("đĐ")


def split_tone(word: str) -> tuple[str, str]:
    """Return (the word without its tone mark, the tone marks found), both NFC."""
    nfd = unicodedata.normalize("NFD", word)
    tones = "".join(c for c in nfd if c in TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONE_MARKS))
    return base, tones


def is_syllable(word: str) -> bool:
    """True if ``word`` has the shape of one Vietnamese syllable (any case, at most one tone).

    The check is structural: onset + a known rime + at most one tone, with the tone rule that
    stop codas (c, ch, p, t) take only the acute or dot tone.
    """
    base, tones = split_tone(word.lower())
    if len(tones) > 1:
        return False
    m = _SYLLABLE_RE.match(base)
    if not m:
        return False
    rime = m.group("rime")
    onset = base[: m.start("rime")]
    if onset == "gi" and rime not in _RIMES:  # "gì", "giữ": gi + rime without its i
        rime = "i" + rime
    if rime not in _RIMES:
        return False
    if rime.startswith("y") and onset in ("g", "gh", "gi", "ngh", "nh", "ng", "ch", "tr", "đ"):
        return False
    stop = rime.endswith(("c", "ch", "p", "t", "k"))
    return not (stop and tones and tones not in ("\u0301", "\u0323"))


# Common syllables: every Vietnamese syllable in the names of the 102 new and 286 old communes and
# 15 old districts of Đắk Lắk and Phú Yên (cropmrv/data/provinces/66), plus frequent words of
# land, farming and administrative records. Built once by hand from those files and checked with
# is_syllable (see tests/test_encoding.py).
_COMMON = """
xã huyện hòa hoà phường cư xuân thị an phú thành sơn buôn trấn tuy phố sông đông tây tân bình ma
thuột bông hinh hiệp năng cầu đồng nam hồ súp na lắk búk sáp quang phước bắc đôn quảng tiến
đắk phần còn lại sau khi nhập vào định nguyên lộc thọ mỹ tam đức lâm giữ kiến suối thịnh lập nhất
giang riêng ô yên trị hải hai long thạnh ninh hội phong thắng khánh thuận mốt điền cảnh đài lãnh
mỡ trai bá ly kiết đăng bao á dang kang mao phê ning liên liêng phơi ka lốp trang vụ bổn nô phương
la đa chí dân thạch nghiệp lĩnh chấn củng bạc hà cà lúi rang pa bia thứ vinh trung tâm công tự lợi
tu lan lê tờ nang đạt hiếu lạc thiện thống đoàn kết né sin ngai lai san lễ khuê ngọc hiu kênh
uy trấp hu tiêu băng tao triết loan vân chà chứ nông đinh chư
của và các có là người không một những được trong cho đã với này đất lúa phê cây trồng thôn bản
đường hộ chủ sử dụng mục đích lâu năm hàng thửa số diện tích loại rừng màu nước tưới kênh mương
hồ chứa đập trạm bơm tiêu ruộng vườn nương rẫy cao su tiêu sắn mía ngô bắp điều sầu riêng chanh
dây bơ xoài mít cam quýt bưởi chuối dừa đậu lạc rau hoa quả giống phân bón đạm lân vôi hữu
cơ vụ đông xuân hè thu mùa thu hoạch năng suất sản lượng tấn héc ta mét vuông tổ dân phố khu vực
ấp làng xóm bon đội tiểu khu đồi núi đèo suối thác hồ đầm phá biển cảng chợ trường học trạm
y tế ủy ban nhân dân tỉnh quận thành phố ghi chú tên mã đối tượng thuộc địa chỉ ngày tháng
"""
#: A small frequency table of common Vietnamese syllables (lower case, NFC).
COMMON_SYLLABLES = frozenset(unicodedata.normalize("NFC", w) for w in _COMMON.split())
