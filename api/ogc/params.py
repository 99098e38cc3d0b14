"""Parsing of the OGC query parameters that are not plain numbers: CRS URIs, bbox, datetime.

Everything here is a pure function that raises ``BadRequest`` with a bilingual message, so the
routes stay thin and nothing malformed reaches SQL.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cropmrv.api.errors import BadRequest, bilingual

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int  # always an integer: ST_Transform with a text CRS is ~100x slower (PEERS.md)
    flip: bool  # axis order of the CRS is northing/latitude first
    geographic: bool

    @property
    def digits(self) -> int:
        return 7 if self.geographic else 3


SUPPORTED_CRS: dict[str, Crs] = {
    CRS84: Crs(CRS84, 4326, False, True),
    "http://www.opengis.net/def/crs/EPSG/0/4326": Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, True),
    "http://www.opengis.net/def/crs/EPSG/0/3857": Crs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, False),
    "http://www.opengis.net/def/crs/EPSG/0/9218": Crs("http://www.opengis.net/def/crs/EPSG/0/9218", 9218, False, False),
}
_ALIASES = {"crs84": CRS84, "ogc:crs84": CRS84, "[ogc:crs84]": CRS84}
for _uri in list(SUPPORTED_CRS):
    _code = _uri.rsplit("/", 1)[-1]
    if _code.isdigit():
        _ALIASES[f"epsg:{_code}"] = _uri
        _ALIASES[f"[epsg:{_code}]"] = _uri
        _ALIASES[f"https://www.opengis.net/def/crs/epsg/0/{_code}"] = _uri
_ALIASES["https://www.opengis.net/def/crs/ogc/1.3/crs84"] = CRS84


def parse_crs(value: str | None, param: str = "crs") -> Crs:
    if value is None or value == "":
        return SUPPORTED_CRS[CRS84]
    v = value.strip()
    if v in SUPPORTED_CRS:
        return SUPPORTED_CRS[v]
    uri = _ALIASES.get(v.lower())
    if uri is None and v.lower().startswith("http://www.opengis.net/def/crs/"):
        uri = next((u for u in SUPPORTED_CRS if u.lower() == v.lower()), None)
    if uri is None:
        raise BadRequest(bilingual(f"Hệ tọa độ '{value}' (tham số {param}) không được hỗ trợ",
                                   f"unsupported CRS '{value}' in '{param}'")
                         + "; supported: " + ", ".join(SUPPORTED_CRS))
    return SUPPORTED_CRS[uri]


_NUM = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def parse_bbox(value: str | None, crs: Crs) -> tuple[float, float, float, float] | None:
    """bbox=minx,miny,maxx,maxy (or 6 values with heights) in the axis order of ``bbox-crs``;
    returned as x/y (lon/lat or easting/northing) order."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6) or not all(_NUM.match(p) for p in parts):
        raise BadRequest(bilingual(f"bbox '{value}' không hợp lệ: cần 4 hoặc 6 số cách nhau bởi dấu phẩy",
                                   f"invalid bbox '{value}': expected 4 or 6 comma-separated numbers"))
    n = [float(p) for p in parts]
    if not all(math.isfinite(x) for x in n):
        raise BadRequest(bilingual(f"bbox '{value}' có giá trị không hữu hạn", f"bbox '{value}' has non-finite values"))
    a, b, c, d = (n[0], n[1], n[2], n[3]) if len(n) == 4 else (n[0], n[1], n[3], n[4])
    if crs.flip:  # EPSG:4326 is lat/lon
        a, b, c, d = b, a, d, c
    if a > c or b > d:
        raise BadRequest(bilingual(f"bbox '{value}': giá trị nhỏ nhất lớn hơn giá trị lớn nhất",
                                   f"bbox '{value}': a minimum is larger than its maximum"))
    if crs.geographic and (a < -180 or c > 180 or b < -90 or d > 90):
        raise BadRequest(bilingual(f"bbox '{value}' nằm ngoài phạm vi kinh/vĩ độ",
                                   f"bbox '{value}' is outside longitude/latitude limits"))
    return a, b, c, d


def _instant(s: str, end: bool) -> datetime | None:
    s = s.strip()
    if s in ("..", ""):
        return None
    try:
        if len(s) == 10:
            d = date.fromisoformat(s)
            t = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return t.replace(hour=23, minute=59, second=59, microsecond=999999) if end else t
        t = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(bilingual(f"Thời điểm '{s}' không đúng RFC 3339", f"'{s}' is not an RFC 3339 date-time")) from None


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """datetime=instant | start/end with '..' for open ends (RFC 3339). Returns (start, end)."""
    if value is None:
        return None
    if "/" in value:
        parts = value.split("/")
        if len(parts) != 2 or parts == ["..", ".."] or (parts[0] in ("", "..") and parts[1] in ("", "..")):
            raise BadRequest(bilingual(f"Khoảng thời gian '{value}' không hợp lệ", f"invalid interval '{value}'"))
        start, end = _instant(parts[0], False), _instant(parts[1], True)
        if start and end and start > end:
            raise BadRequest(bilingual(f"Khoảng thời gian '{value}' bắt đầu sau khi kết thúc",
                                       f"interval '{value}' starts after it ends"))
        return start, end
    t = _instant(value, False)
    if t is None:
        raise BadRequest(bilingual(f"Thời điểm '{value}' không hợp lệ", f"invalid datetime '{value}'"))
    return t, (_instant(value, True) if len(value.strip()) == 10 else t)
