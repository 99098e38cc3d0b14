"""Files rendered from a stored inventory snapshot: canonical JSON, long CSV, XLSX, and a manifest.

Every file is made from the snapshot's stored bytes (``ExportInfo.payload``), never from the live
tables, so a file made today and one made next year from the same snapshot carry the same numbers.
The JSON file *is* the stored bytes. Beside each file go ``FILE.sha256`` (``sha256sum -c`` format)
and ``FILE.manifest.json`` (snapshot id, payload SHA-256, file SHA-256, size, created_at).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from cropmrv.mrv.inventory import SCHEMA_ID, ExportInfo

FORMATS = ("json", "csv", "xlsx")
CSV_COLUMNS = ["province_code", "inventory_year", "crt_category", "crt_category_label", "crf2013_category",
               "ipcc2006_category", "classification", "measure", "gas", "unit", "value", "notation_key",
               "notation_key_bits", "nk_explanation", "method", "ef_type", "is_calculated", "gwp_metric",
               "crt_variable_uid", "qa_status", "source"]


def _cell(v: Any) -> Any:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else v


def csv_bytes(doc: dict[str, Any]) -> bytes:
    """Long CSV (INVENTORY_FORMAT.md §5.4): UTF-8, '.' decimals, notation keys in their own column."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in doc["records"]:
        w.writerow([_cell(r.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8")


def _flat(prefix: str, obj: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(obj, dict):
        for k in sorted(obj):
            _flat(f"{prefix}.{k}" if prefix else k, obj[k], out)
    else:
        out.append((prefix, _cell(obj)))


def xlsx_bytes(doc: dict[str, Any], info: ExportInfo) -> bytes:
    """Sheets ``data`` (the records; numbers as numbers), ``categories``, ``metadata``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(CSV_COLUMNS)
    for r in doc["records"]:
        row = [_cell(r.get(c)) for c in CSV_COLUMNS]
        if r["value"] is not None:
            row[CSV_COLUMNS.index("value")] = float(Decimal(r["value"]))
        ws.append(row)
    value_col = ws.cell(row=1, column=CSV_COLUMNS.index("value") + 1).column_letter
    for cell in ws[value_col][1:]:
        cell.number_format = "0.000000000"
    cs = wb.create_sheet("categories")
    cols = ["crt_category", "crf2013_category", "ipcc2006_category", "label_vi", "label_en", "gases", "co2e_kt",
            "area_ha", "notation_key", "method", "ef_type", "records", "not_estimated_records",
            "unverified_factor_records"]
    cs.append(cols)
    for c in doc["categories"]:
        row = [_cell(c.get(k)) for k in cols]
        for k in ("co2e_kt", "area_ha"):
            if c.get(k) is not None:
                row[cols.index(k)] = float(Decimal(c[k]))
        cs.append(row)
    ms = wb.create_sheet("metadata")
    pairs: list[tuple[str, Any]] = []
    _flat("dataset", doc["dataset"], pairs)
    _flat("totals", {k: v for k, v in doc["totals"].items() if k != "uncertainty"}, pairs)
    pairs += [("snapshot.id", info.id), ("snapshot.sha256", info.sha256),
              ("snapshot.created_at", info.created_at.isoformat()), ("schema", SCHEMA_ID)]
    for k, v in pairs:
        ms.append([k, v])
    for sheet in (ws, cs):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(info: ExportInfo, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"Định dạng '{fmt}' không hỗ trợ / unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if fmt == "json":
        return info.payload
    doc = json.loads(info.payload)
    return csv_bytes(doc) if fmt == "csv" else xlsx_bytes(doc, info)


def manifest(info: ExportInfo, name: str, body: bytes, fmt: str) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "export_id": info.id, "province_code": info.province_code, "year": info.year,
            "run_id": info.run_id, "payload_sha256": info.sha256, "created_at": info.created_at.isoformat(),
            "idempotency_key": info.idempotency_key(),
            "files": [{"name": name, "format": fmt, "bytes": len(body),
                       "sha256": hashlib.sha256(body).hexdigest()}]}


def write_export(info: ExportInfo, path: Path, fmt: str | None = None) -> dict[str, Any]:
    """Write the snapshot as ``fmt`` (default: from the suffix) with its ``.sha256`` and manifest."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "json").lower()
    body = render(info, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    m = manifest(info, path.name, body, fmt)
    Path(f"{path}.sha256").write_text(f"{m['files'][0]['sha256']}  {path.name}\n", encoding="utf-8")
    Path(f"{path}.manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    return m
