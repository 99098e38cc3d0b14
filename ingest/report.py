"""The validation report of one load: per feature what was wrong and what was done, as JSON
(stored on the dataset row and written with ``--report``) and as readable text in Vietnamese and
English for the GIS officer who has to fix the file.

Every problem has a stable ``code`` (for machines and tests), an ``action`` (rejected, repaired,
assigned, flagged, changed) and a short ``detail`` with the values involved; the sentences come
from one catalogue so both languages always say the same thing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: code → (Vietnamese, English) sentence; ``{detail}`` is filled in.
MESSAGES: dict[str, tuple[str, str]] = {
    "empty_geometry": ("hình học rỗng hoặc không có", "empty or missing geometry"),
    "wrong_geometry_type": ("sai kiểu hình học cho lớp này ({detail})", "wrong geometry type for this layer ({detail})"),
    "invalid_geometry": ("hình học không hợp lệ, không sửa được ({detail})", "invalid geometry that could not be repaired ({detail})"),
    "repaired": ("hình học không hợp lệ đã được sửa bằng make_valid ({detail})", "invalid geometry repaired with make_valid ({detail})"),
    "dropped_z": ("bỏ tọa độ Z/M, giữ 2D", "Z/M coordinates dropped to 2D"),
    "outside_province": ("nằm ngoài tỉnh", "outside the province"),
    "outside_commune": ("nằm ngoài xã {detail}", "outside commune {detail}"),
    "crosses_communes": ("cắt qua nhiều xã ({detail})", "crosses communes ({detail})"),
    "commune_assigned": ("gán mã xã theo diện tích chồng lấn lớn nhất: {detail}", "commune assigned by majority area: {detail}"),
    "unknown_commune": ("mã xã không có trong tỉnh ({detail})", "commune code not in the province ({detail})"),
    "other_commune": ("thuộc xã khác với xã đang nạp ({detail})", "belongs to another commune than the one being loaded ({detail})"),
    "duplicate_identity": ("trùng định danh thửa (xã, tờ, thửa) với đối tượng {detail}", "duplicate parcel identity (commune, map sheet, parcel) with feature {detail}"),
    "area_mismatch": ("diện tích ghi khác diện tích hình học quá ngưỡng ({detail})", "stated area differs from the geometry's area beyond the tolerance ({detail})"),
    "unknown_land_use": ("mã loại đất không có trong Thông tư 08/2024/TT-BTNMT ({detail})", "land-use code not in Circular 08/2024/TT-BTNMT ({detail})"),
    "missing_value": ("thiếu giá trị bắt buộc ({detail})", "missing required value ({detail})"),
    "bad_value": ("giá trị không hợp lệ ({detail})", "invalid value ({detail})"),
}
ACTIONS_VI = {"rejected": "loại bỏ", "repaired": "đã sửa", "assigned": "đã gán", "flagged": "đánh dấu, vẫn nạp",
              "changed": "đã đổi"}
STATUS_TEXT = {
    "loaded": ("đã nạp", "loaded"),
    "dry_run": ("chạy thử, không ghi gì", "dry run, nothing written"),
    "unchanged": ("tệp giống hệt lần nạp trước, không làm gì", "identical to the active load, nothing done"),
    "refused": ("từ chối, không dòng nào thay đổi", "refused, no row changed"),
}
#: Per-feature issues kept in the dataset row (the --report file always has all of them).
MAX_STORED_ISSUES = 10_000


@dataclass
class Issue:
    feature: int | None
    code: str
    action: str
    detail: str = ""

    def sentence(self, lang: str, rows: bool = False) -> str:
        vi, en = MESSAGES.get(self.code, (self.code, self.code))
        text = (vi if lang == "vi" else en).format(detail=self.detail)
        act = ACTIONS_VI.get(self.action, self.action) if lang == "vi" else self.action
        noun = ("dòng" if lang == "vi" else "row") if rows else ("đối tượng" if lang == "vi" else "feature")
        who = "" if self.feature is None else f"{noun} {self.feature}: "
        return f"{who}{text} → {act}"


@dataclass
class IngestReport:
    source: str
    layer: str
    province_code: str
    commune_code: str | None = None
    status: str = "refused"
    sha256: str | None = None
    dataset_id: int | None = None
    supersedes: int | None = None
    features_read: int = 0
    features_loaded: int = 0
    rejected: int = 0
    crs_in: str | None = None
    crs_source: str | None = None
    crs_operation: str | None = None
    crs_message: str | None = None
    encoding_in: str | None = None
    encoding_reason: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    attributes_kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    issues: list[Issue] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    # -- building --------------------------------------------------------------------------------
    def add(self, feature: int | None, code: str, action: str, detail: str = "") -> None:
        self.issues.append(Issue(None if feature is None else int(feature), code, action, detail))

    def add_many(self, features, code: str, action: str, details=None) -> None:
        if details is None:
            self.issues.extend(Issue(int(f), code, action, "") for f in features)
        else:
            self.issues.extend(Issue(int(f), code, action, str(d)) for f, d in zip(features, details, strict=True))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- reading ---------------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """code → action → number of features."""
        out: dict[str, Counter] = {}
        for i in self.issues:
            out.setdefault(i.code, Counter())[i.action] += 1
        return {k: dict(v) for k, v in sorted(out.items())}

    def rejected_features(self) -> set[int]:
        return {i.feature for i in self.issues if i.action == "rejected" and i.feature is not None}

    def sort(self) -> None:
        """Issues in feature order (file-wide notes first), as a GIS user reads an attribute table."""
        self.issues.sort(key=lambda i: (-1 if i.feature is None else i.feature))

    def to_dict(self, max_issues: int | None = None) -> dict:
        d = asdict(self)
        d["counts"] = self.counts()
        if max_issues is not None and len(self.issues) > max_issues:
            d["issues"] = d["issues"][:max_issues]
            d["issues_truncated"] = len(self.issues) - max_issues
        return d

    def to_json(self, max_issues: int | None = None) -> str:
        return json.dumps(self.to_dict(max_issues), ensure_ascii=False, indent=1, default=str)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    def to_text(self, lang: str = "both", max_lines: int = 50) -> str:
        """A readable account; ``lang`` is "vi", "en" or "both" (Vietnamese first)."""
        langs = ("vi", "en") if lang == "both" else (lang,)
        blocks = [self._text(lg, max_lines) for lg in langs]
        return "\n\n".join(blocks)

    def _text(self, lang: str, max_lines: int) -> str:
        vi = lang == "vi"
        st = STATUS_TEXT.get(self.status, (self.status, self.status))[0 if vi else 1]
        L = [
            (f"Tệp {self.source} → lớp {self.layer}" if vi else f"File {self.source} → layer {self.layer}")
            + (f" (xã {self.commune_code})" if vi and self.commune_code else
               f" (commune {self.commune_code})" if self.commune_code else "")
            + f": {st}",
        ]
        if self.error:
            L.append(("Lỗi: " if vi else "Error: ") + self.error)
        L.append(f"Đọc {self.features_read} đối tượng, nạp {self.features_loaded}, loại {self.rejected}." if vi else
                  f"Read {self.features_read} features, loaded {self.features_loaded}, rejected {self.rejected}.")
        if self.crs_in:
            L.append(f"Hệ tọa độ nguồn: {self.crs_in} ({self.crs_source}); phép chuyển: {self.crs_operation}" if vi
                      else f"Source CRS: {self.crs_in} ({self.crs_source}); operation: {self.crs_operation}")
        if self.encoding_in:
            L.append(("Bảng mã: " if vi else "Encoding: ") + self.encoding_in)
        if self.dataset_id:
            L.append((f"Bộ dữ liệu số {self.dataset_id}" if vi else f"Dataset {self.dataset_id}")
                     + (f" (thay bộ {self.supersedes})" if vi and self.supersedes else
                        f" (supersedes {self.supersedes})" if self.supersedes else ""))
        for n in self.notes:
            L.append("• " + n)
        counts = self.counts()
        if counts:
            L.append("Tổng hợp:" if vi else "Summary:")
            for code, acts in counts.items():
                vi_s, en_s = MESSAGES.get(code, (code, code))
                label = (vi_s if vi else en_s).split(" ({detail})")[0].replace("{detail}", "").strip()
                parts = ", ".join(f"{n} {ACTIONS_VI.get(a, a) if vi else a}" for a, n in acts.items())
                L.append(f"  - {label}: {parts}")
            L.append("Chi tiết:" if vi else "Details:")
            for i in self.issues[:max_lines]:
                L.append("  " + i.sentence(lang, rows=self.layer in ("activity", "irrigation_service")))
            if len(self.issues) > max_lines:
                more = len(self.issues) - max_lines
                L.append(f"  … và {more} dòng nữa (xem --report)" if vi else f"  … and {more} more (see --report)")
        return "\n".join(L)


class IngestError(ValueError):
    """A load refused as a whole; carries the report so the caller can still write it."""

    def __init__(self, message: str, report: IngestReport | None = None):
        super().__init__(message)
        self.report = report
