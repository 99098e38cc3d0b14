"""``cropmrv ingest activity``: activity tables (fertiliser, water regime, yields…) from CSV or XLSX.

Two shapes are accepted, because commune offices fill both:

* **long** — one row per item: ``MaXa | MaVung | Vu | CayTrong | ChiTieu | GiaTri | DonVi`` (or the
  English ``commune_code | zone_code | season | crop | item | amount | unit``);
* **wide** — one row per zone (or commune, crop, season) and one column per item, the unit in
  brackets when it is not the item's own: ``MaVung | urea_kg | n_synthetic_kg [kg/ha] | yield_t_ha``.

Rows are keyed to a crop zone (``zone_code``, which must exist) or to a commune (``commune_code``,
5-digit GSO code of a current commune, or ``old_commune_code`` of a pre-2025 unit, carried by the
lineage). Every row is checked and every problem reported with its spreadsheet row number; the
load is atomic and versioned per (commune, year) like the vector layers.

The item vocabulary belongs to the emission engine (``cropmrv.mrv.items.ITEMS``); the ``ingest``
room may not import ``mrv``, so the caller passes it in (the CLI does). Without it, item names are
only checked for being present.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from cropmrv.db import locks
from cropmrv.db.engine import raw_connection
from cropmrv.ingest import datasets
from cropmrv.ingest.profiles import fold
from cropmrv.ingest.readers import sha256_paths
from cropmrv.ingest.report import IngestError, IngestReport
from cropmrv.settings import Settings

#: Column aliases (folded: case, accents, separators ignored).
COLUMNS = {
    "commune_code": ["commune_code", "MaXa", "Ma_Xa", "MaDVHC", "ma xa"],
    "old_commune_code": ["old_commune_code", "MaXaCu", "Ma_Xa_Cu"],
    "zone_code": ["zone_code", "MaVung", "Ma_Vung", "MaVungTrong"],
    "year": ["year", "Nam", "NamBaoCao"],
    "season": ["season", "Vu", "MuaVu", "Mua_Vu"],
    "crop": ["crop", "CayTrong", "Cay_Trong"],
    "item": ["item", "ChiTieu", "Chi_Tieu", "HangMuc"],
    "amount": ["amount", "GiaTri", "Gia_Tri", "SoLuong", "value"],
    "value_text": ["value_text", "MaGiaTri", "code"],
    "unit": ["unit", "DonVi", "Don_Vi"],
    "source": ["source", "Nguon", "NguonSoLieu"],
}
KEYS = ("commune_code", "old_commune_code", "zone_code", "year", "season", "crop", "source")


def read_table(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """A CSV (UTF-8, with or without BOM; ``;`` or ``,``) or an XLSX sheet, every cell as text."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileNotFoundError(f"{path}: không tìm thấy tệp / file not found")
    if path.stat().st_size == 0:
        raise IngestError(f"{path.name}: tệp rỗng / the file is empty")
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            txt = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path.name}: tệp CSV phải là UTF-8 / the CSV must be UTF-8 ({exc})") from exc
        sep = ";" if txt.split("\n", 1)[0].count(";") > txt.split("\n", 1)[0].count(",") else ","
        return pd.read_csv(io.StringIO(txt), sep=sep, dtype=str, keep_default_na=False)
    if suffix in (".xlsx", ".xlsm"):
        try:
            return pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False, engine="openpyxl")
        except ValueError as exc:
            raise IngestError(f"{path.name}: {exc} / không đọc được trang tính") from exc
    raise IngestError(f"{path.name}: định dạng '{suffix}' không hỗ trợ (dùng .csv hoặc .xlsx) / unsupported "
                      f"format '{suffix}' (use .csv or .xlsx)")


def _split_unit(header: str) -> tuple[str, str | None]:
    """``urea_kg [kg/ha]`` or ``urea_kg (t)`` → (``urea_kg``, unit)."""
    for o, c in (("[", "]"), ("(", ")")):
        if header.rstrip().endswith(c) and o in header:
            name, _, unit = header.rstrip()[:-1].partition(o)
            return name.strip(), unit.strip()
    return header.strip(), None


def to_long(df: pd.DataFrame, vocabulary: Mapping | None = None) -> tuple[pd.DataFrame, str, list[str]]:
    """Normalise either shape to the long form; returns (frame, "long"|"wide", unknown wide columns).
    The frame keeps ``row``: the spreadsheet row number (header = 1)."""
    by_fold = {fold(c): c for c in df.columns}
    rename = {}
    for target, aliases in COLUMNS.items():
        for a in aliases:
            if fold(a) in by_fold and by_fold[fold(a)] not in rename:
                rename[by_fold[fold(a)]] = target
                break
    df = df.rename(columns=rename)
    df["row"] = np.arange(2, len(df) + 2)
    if "item" in df.columns:
        for c in ("amount", "value_text", "unit"):
            if c not in df.columns:
                df[c] = ""
        return df, "long", []
    keys = [c for c in df.columns if c in KEYS or c == "row"]
    items = [c for c in df.columns if c not in keys]
    vocab = {fold(k): k for k in (vocabulary or {})}
    unknown = [c for c in items if vocabulary is not None and fold(_split_unit(c)[0]) not in vocab]
    parts = []
    for col in items:
        if col in unknown:
            continue
        name, unit = _split_unit(col)
        name = vocab.get(fold(name), name)
        kind = getattr((vocabulary or {}).get(name), "kind", None)
        vals = df[col].astype(str).str.strip()
        part = df[keys].copy()
        part["item"] = name
        part["unit"] = unit or ""
        part["amount"] = "" if kind == "code" else vals
        part["value_text"] = vals if kind == "code" else ""
        parts.append(part[vals != ""])
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, "item", "unit", "amount",
                                                                                  "value_text"])
    return long.sort_values("row", kind="stable").reset_index(drop=True), "wide", unknown


def _accepted_unit(item, unit: str) -> bool:
    u = (unit or "").strip()
    return u == "" or u == item.unit or u in item.units or u.lower() in item.units


def ingest_activity(
    path: str | Path,
    year: int,
    *,
    settings: Settings,
    engine: Engine,
    commune: str | None = None,
    sheet: str | None = None,
    vocabulary: Mapping | None = None,
    dry_run: bool = False,
    max_rejects: int | None = None,
    loaded_by: str | None = None,
) -> IngestReport:
    """Validate and load an activity table for ``year``; atomic, versioned per (province, commune, year)."""
    path = Path(path)
    t0 = time.perf_counter()
    rep = IngestReport(source=path.name, layer="activity", province_code=settings.province_code, commune_code=commune)
    try:
        raw = read_table(path, sheet)
    except IngestError as exc:
        rep.error = str(exc)
        exc.report = rep
        raise
    rep.sha256 = sha256_paths([path])
    df, shape, unknown = to_long(raw, vocabulary)
    rep.note(f"bảng dạng {'dài' if shape == 'long' else 'rộng'} / {shape} table")
    rep.features_read = len(raw)
    if unknown:
        raise IngestError(f"{path.name}: cột không phải chỉ tiêu đã biết: {', '.join(unknown)} / columns that are "
                          f"not known items: {', '.join(unknown)}", rep)
    if "commune_code" not in df.columns and "zone_code" not in df.columns and "old_commune_code" not in df.columns:
        raise IngestError(f"{path.name}: cần cột mã xã (MaXa) hoặc mã vùng (MaVung) / needs a commune code (MaXa) "
                          "or zone code (MaVung) column", rep)
    for c in KEYS:
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].astype(str).str.strip()
    with engine.connect() as sa, datasets.load_transaction(sa, rep, path.name) as tx:
        if datasets.active_dataset(sa, "activity", settings.province_code, commune, year) and \
                datasets.active_dataset(sa, "activity", settings.province_code, commune, year)["sha256"] == rep.sha256:
            rep.status = "unchanged"
            tx.rollback()
            return rep
        rows = _validate(sa, df, year, settings, commune, vocabulary, rep)
        rep.rejected = len(rep.rejected_features())
        rep.features_loaded = len(rows)
        if max_rejects is not None and rep.rejected > max_rejects:
            raise IngestError(f"{path.name}: {rep.rejected} dòng bị loại, vượt --max-rejects {max_rejects}; không "
                              f"dòng nào thay đổi / {rep.rejected} rows rejected, more than --max-rejects "
                              f"{max_rejects}: no row changed", rep)
        if rows.empty:
            raise IngestError(f"{path.name}: không còn dòng hợp lệ nào / no valid row to load", rep)
        hits = locks.approved(sa, {*rows["commune_code"], *([commune] if commune else [])}, [year])
        if hits:
            raise IngestError(f"{path.name}: " + locks.locked_message(*hits[0])
                              + "".join(f"; xã/commune {c} {y}" for c, y in hits[1:])
                              + "; không dòng nào thay đổi / no row changed", rep)
        rep.sort()
        if dry_run:
            rep.status = "dry_run"
            tx.rollback()
            return rep
        pg = raw_connection(sa)
        datasets.register(sa, pg, layer="activity", table="activity", province=settings.province_code,
                          commune=commune, year=year, source=path, sha256=rep.sha256, rep=rep, loaded_by=loaded_by)
        cols = ["province_code", "dataset_id", "commune_code", "old_commune_code", "zone_code", "year", "season",
                "crop", "item", "amount", "value_text", "unit", "source"]
        with pg.cursor().copy(f"COPY activity ({', '.join(cols)}) FROM STDIN") as cp:
            for r in rows.itertuples(index=False):
                vals = [r.commune_code, r.old_commune_code, r.zone_code, year, r.season, r.crop, r.item,
                        r.amount, r.value_text, r.unit, r.source]
                cp.write_row([settings.province_code, rep.dataset_id,
                              *(None if (v is None or (isinstance(v, float) and v != v)) else v for v in vals)])
        datasets.store_report(pg, rep)
        return datasets.commit_load(tx, rep, t0)


def _none(v: str) -> str | None:
    return v if v else None


def _validate(sa, df: pd.DataFrame, year: int, settings: Settings, commune: str | None, vocabulary, rep) -> pd.DataFrame:
    communes = set(sa.execute(text("SELECT code FROM admin_unit WHERE level='commune' AND province_code=:p"),
                              {"p": settings.province_code}).scalars())
    lineage = dict(sa.execute(text(
        "SELECT DISTINCT ON (old_code) old_code, new_code FROM admin_lineage ORDER BY old_code, area_share DESC"
    )).all())
    zones = dict(sa.execute(text(
        "SELECT z.zone_code, z.commune_code FROM crop_zone z WHERE z.province_code=:p AND z.zone_code IS NOT NULL"),
        {"p": settings.province_code}).all())
    out = []
    for r in df.to_dict("records"):
        row = int(r["row"])
        code = r["commune_code"].zfill(5) if r["commune_code"].isdigit() else r["commune_code"]
        old = r["old_commune_code"].zfill(5) if r["old_commune_code"].isdigit() else r["old_commune_code"]
        zone = r["zone_code"]

        def bad(what: str, code_: str = "bad_value", row=row) -> None:
            rep.add(row, code_, "rejected", what)

        if r["year"] and r["year"] != str(year):
            bad(f"năm/year {r['year']} ≠ --year {year}")
            continue
        if old:
            if old not in lineage:
                bad(f"mã xã cũ/old commune code {old} not in the 2025 lineage", "unknown_commune")
                continue
            code = code or lineage[old]
        if zone:
            if zone not in zones:
                bad(f"mã vùng/zone code {zone!r} is not a loaded crop zone", "bad_value")
                continue
            if code and zones[zone] and code != zones[zone]:
                bad(f"zone {zone} lies in commune {zones[zone]}, not {code}", "other_commune")
                continue
            code = code or zones[zone]
        if not code:
            bad("thiếu mã xã hoặc mã vùng / no commune or zone code", "missing_value")
            continue
        if code not in communes:
            bad(f"{code}", "unknown_commune")
            continue
        if commune and code != commune:
            bad(f"{code} ≠ {commune}", "other_commune")
            continue
        item = r["item"].strip()
        if not item:
            bad("thiếu chỉ tiêu / no item", "missing_value")
            continue
        spec = None
        if vocabulary is not None:
            names = {fold(k): k for k in vocabulary}
            if fold(item) not in names:
                bad(f"chỉ tiêu/item {item!r} unknown (items: {', '.join(vocabulary)})")
                continue
            item = names[fold(item)]
            spec = vocabulary[item]
        unit = r["unit"].strip()
        if spec is not None and not _accepted_unit(spec, unit):
            bad(f"đơn vị/unit {unit!r} not accepted for {item} (use {spec.unit or '-'}"
                f"{', ' + ', '.join(spec.units) if spec.units else ''})")
            continue
        amount, value_text = None, _none(str(r.get("value_text", "")).strip())
        a = str(r.get("amount", "")).strip().replace(",", ".") if str(r.get("amount", "")).count(",") == 1 and \
            "." not in str(r.get("amount", "")) else str(r.get("amount", "")).strip()
        if getattr(spec, "kind", None) == "code":
            value_text = value_text or _none(a)
        elif a:
            try:
                amount = float(a)
            except ValueError:
                if spec is None:
                    value_text = a
                else:
                    bad(f"{item}={a!r} không phải số / is not a number")
                    continue
            if amount is not None and (amount < 0 or not np.isfinite(amount)):
                bad(f"{item}={a} âm hoặc không hợp lệ / negative or not finite")
                continue
        if amount is None and value_text is None:
            bad(f"{item}: thiếu giá trị / no value", "missing_value")
            continue
        out.append({"commune_code": code, "old_commune_code": old or None, "zone_code": zone or None,
                    "season": _none(r["season"]), "crop": _none(r["crop"]), "item": item, "amount": amount,
                    "value_text": value_text, "unit": unit or (spec.unit if spec is not None and spec.unit else None),
                    "source": _none(r["source"])})
    return pd.DataFrame(out)
