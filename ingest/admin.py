"""Load a province's administrative units and the 2025 reform lineage.

The province is configuration: the loader reads a folder holding ``*wards*.gpkg`` (or any file
named in ``province.yaml``), the province outline and the old→new crosswalk, so another province
loads the same way by pointing ``CROPMRV_PROVINCE_DIR`` and ``CROPMRV_PROVINCE_CODE`` at its files.
Names are cross-checked against the ``vietnam-provinces`` package (GSO codes); differences are
reported, never "fixed" silently, and joins use codes only.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from cropmrv.ingest.readers import open_source
from cropmrv.settings import Settings

KIND_BY_LOAI = {"xã": "xa", "phường": "phuong", "đặc khu": "dac_khu"}


@dataclass
class AdminLoadResult:
    province_code: str
    communes: int = 0
    old_units: int = 0
    lineage_rows: int = 0
    skipped: bool = False
    dataset_id: int | None = None
    name_differences: list[dict] = field(default_factory=list)
    missing_in_reference: list[str] = field(default_factory=list)
    missing_in_file: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _clean(s: object) -> str | None:
    if s is None or (isinstance(s, float) and pd.isna(s)):
        return None
    return " ".join(unicodedata.normalize("NFC", str(s)).split())


def province_files(folder: Path) -> dict[str, Path]:
    """Find the communes file, the outline and the lineage csv in a province folder."""
    files = {p.name: p for p in folder.iterdir()}
    manifest = folder / "province.yaml"
    if manifest.exists():
        import yaml

        spec = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        return {k: folder / v for k, v in spec.items() if k in ("communes", "outline", "lineage")}
    out: dict[str, Path] = {}
    for name, p in files.items():
        low = name.lower()
        if low.endswith(".gpkg") and "ward" in low:
            out["communes"] = p
        elif low.endswith(".geojson") and "province" in low:
            out["outline"] = p
        elif low.endswith(".csv") and "old_to_new" in low:
            out["lineage"] = p
    if "communes" not in out:
        raise FileNotFoundError(
            f"Không tìm thấy tệp ranh giới xã trong {folder} / No communes file (*wards*.gpkg) in {folder}"
        )
    return out


def read_communes(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf


def reference_names(province_code: str) -> dict[str, str]:
    """GSO codes → names from the ``vietnam-provinces`` package, for cross-checking."""
    from vietnam_provinces import ProvinceCode, Ward

    try:
        pc = ProvinceCode(int(province_code))
    except ValueError:
        return {}
    return {f"{int(w.code):05d}": _clean(w.name) for w in Ward.iter_by_province(pc)}


def compare_with_reference(file_names: dict[str, str], ref: dict[str, str]) -> dict:
    """Report codes missing on either side and names that differ (tone placement noted)."""
    from cropmrv.ingest.names import name_key

    diffs = []
    for code, name in sorted(file_names.items()):
        if code in ref and ref[code] != name:
            diffs.append({
                "code": code, "file": name, "reference": ref[code],
                "same_when_tone_placement_normalised": name_key(name) == name_key(ref[code]),
            })
    only_file = sorted(set(file_names) - set(ref)) if ref else []
    only_ref = sorted(set(ref) - set(file_names)) if ref else []
    by_key = {name_key(ref[c]): c for c in only_ref}
    # The same unit under two codes (the boundary source and GSO disagree): say so explicitly.
    code_mismatches = [
        {"file_code": c, "reference_code": by_key[name_key(file_names[c])], "name": file_names[c]}
        for c in only_file if name_key(file_names[c]) in by_key
    ]
    return {
        "name_differences": diffs,
        "code_mismatches": code_mismatches,
        "missing_in_reference": only_file,
        "missing_in_file": only_ref,
    }


def load_admin_units(conn: Connection, s: Settings, folder: Path | None = None, communes: Path | None = None,
                     source_layer: str | None = None) -> AdminLoadResult:
    """Load (or reload) the province, its communes and the reform lineage in one transaction.

    The caller owns the transaction. An identical communes file (same sha256) is a no-op.
    ``communes``: a communes file given directly (.gpkg, .geojson, .shp or a .zip holding one, the
    same columns: ma_xa/code, ten/name, ten_day_du, loai …) instead of the province folder's; then
    the outline is the union of the communes and the lineage is left as it is (it belongs to the
    folder's release of the units).
    """
    if communes is not None:
        with open_source(communes, source_layer) as src:  # checks the file, extracts a zip safely
            return _load(conn, s, {"communes": Path(communes)}, src.sha256,
                         lambda: _read_checked(src.data_path, src.layer, Path(communes).name))
    files = province_files(folder or s.province_data_dir)
    return _load(conn, s, files, sha256_file(files["communes"]), lambda: read_communes(files["communes"]))


def _read_checked(path: Path, layer: str | None, name: str) -> gpd.GeoDataFrame:
    """A user-given communes file: it must say its CRS and have a code and a name column."""
    gdf = gpd.read_file(path, layer=layer)
    if gdf.crs is None:
        raise ValueError(f"{name}: tệp không ghi hệ tọa độ; ranh giới xã cần .prj hoặc CRS / the file declares no "
                         "coordinate system: a communes file must carry one")
    cols = {c.lower() for c in gdf.columns}
    missing = [w for w, alts in (("ma_xa", ("ma_xa", "code")), ("ten", ("ten", "name"))) if not cols & set(alts)]
    if missing:
        raise ValueError(f"{name}: thiếu cột {', '.join(missing)} (mã xã: ma_xa hoặc code; tên: ten hoặc name) / "
                         f"missing column {', '.join(missing)} (commune code: ma_xa or code; name: ten or name); "
                         f"columns: {', '.join(map(str, gdf.columns))}")
    return gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf


def _load(conn: Connection, s: Settings, files: dict[str, Path], sha: str, read) -> AdminLoadResult:
    res = AdminLoadResult(province_code=s.province_code)
    existing = conn.execute(
        text("SELECT id FROM dataset WHERE layer='admin_units' AND province_code=:p AND status='active' "
             "AND sha256=:sha"), {"p": s.province_code, "sha": sha},
    ).scalar()
    if existing:
        res.skipped = True
        res.dataset_id = existing
        res.communes = conn.execute(
            text("SELECT count(*) FROM admin_unit WHERE province_code=:p AND level='commune'"),
            {"p": s.province_code}).scalar()
        return res

    gdf = read()
    col = {c.lower(): c for c in gdf.columns}
    code_col = col.get("ma_xa") or col.get("code")
    name_col = col.get("ten") or col.get("name")
    gdf["_code"] = gdf[code_col].astype(str).str.strip().str.zfill(5)
    gdf["_name"] = gdf[name_col].map(_clean)
    full_col = col.get("ten_day_du") or col.get("fullname")
    gdf["_full"] = gdf[full_col].map(_clean) if full_col else gdf["_name"]
    en_col = col.get("ten_en") or col.get("nameen")
    gdf["_en"] = gdf[en_col].map(_clean) if en_col else None
    loai_col = col.get("loai")
    gdf["_kind"] = (
        gdf[loai_col].map(lambda v: KIND_BY_LOAI.get(str(v).strip().lower(), "xa")) if loai_col
        else gdf["_full"].map(lambda v: "phuong" if str(v).lower().startswith("phường") else "xa")
    )
    gdf["geometry"] = shapely.force_2d(shapely.make_valid(gdf.geometry.values))
    gdf["geometry"] = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) if
                       g.geom_type == "Polygon" else shapely.MultiPolygon(
                           [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"])
                       for g in gdf.geometry.values]

    # Supersede the previous admin dataset, if any, first: one active dataset per layer and province.
    prev = conn.execute(text(
        "UPDATE dataset SET status='superseded' WHERE layer='admin_units' AND province_code=:p "
        "AND status='active' RETURNING id, version"), {"p": s.province_code}).first()
    ds_id = conn.execute(text(
        "INSERT INTO dataset (layer, province_code, source_name, source_path, sha256, crs_in, encoding_in, "
        "feature_count, report, supersedes, version) VALUES ('admin_units', :p, :name, :path, :sha, 'EPSG:4326', "
        "'utf-8', :n, CAST(:report AS jsonb), :prev, :v) RETURNING id"),
        {"p": s.province_code, "name": files["communes"].name, "path": str(files["communes"]), "sha": sha,
         "n": len(gdf), "report": "{}", "prev": prev[0] if prev else None,
         "v": prev[1] + 1 if prev else 1}).scalar()

    outline = None
    if "outline" in files:
        og = gpd.read_file(files["outline"]).to_crs(4326)
        outline = shapely.make_valid(shapely.union_all(og.geometry.values))
    else:
        outline = shapely.union_all(gdf.geometry.values)
    if outline.geom_type == "Polygon":
        outline = shapely.MultiPolygon([outline])
    conn.execute(text(
        "INSERT INTO admin_unit (code, name, full_name, level, kind, province_code, area_km2, dataset_id, geom) "
        "VALUES (:c, :n, :f, 'province', 'tinh', :c, :a, :ds, ST_GeomFromWKB(:g, 4326)) "
        "ON CONFLICT (code) DO UPDATE SET name=EXCLUDED.name, full_name=EXCLUDED.full_name, "
        "geom=EXCLUDED.geom, dataset_id=EXCLUDED.dataset_id"),
        {"c": s.province_code, "n": s.province_name, "f": f"Tỉnh {s.province_name}",
         "a": None, "ds": ds_id, "g": shapely.to_wkb(outline)})

    area_col = col.get("dien_tich_km2") or col.get("areakm2")
    pop_col = col.get("dan_so")
    extra_cols = [c for c in gdf.columns if not c.startswith("_") and c != "geometry"]
    rows = []
    for rec, geom in zip(gdf.to_dict("records"), gdf.geometry.values, strict=True):
        attrs = {c: (None if pd.isna(rec[c]) else rec[c]) for c in extra_cols}
        rows.append({
            "code": rec["_code"], "name": rec["_name"], "full": rec["_full"], "en": rec["_en"],
            "kind": rec["_kind"], "p": s.province_code,
            "area": float(rec[area_col]) if area_col and pd.notna(rec[area_col]) else None,
            "pop": int(rec[pop_col]) if pop_col and pd.notna(rec[pop_col]) else None,
            "ds": ds_id, "attrs": json.dumps(attrs, ensure_ascii=False, default=str),
            "g": shapely.to_wkb(geom),
        })
    conn.execute(text(
        "INSERT INTO admin_unit (code, name, full_name, name_en, level, kind, parent_code, province_code, "
        "area_km2, population, dataset_id, attributes, geom) VALUES (:code, :name, :full, :en, 'commune', "
        ":kind, :p, :p, :area, :pop, :ds, CAST(:attrs AS jsonb), ST_GeomFromWKB(:g, 4326)) "
        "ON CONFLICT (code) DO UPDATE SET name=EXCLUDED.name, full_name=EXCLUDED.full_name, "
        "name_en=EXCLUDED.name_en, kind=EXCLUDED.kind, area_km2=EXCLUDED.area_km2, "
        "population=EXCLUDED.population, dataset_id=EXCLUDED.dataset_id, attributes=EXCLUDED.attributes, "
        "geom=EXCLUDED.geom"), rows)
    res.communes = len(rows)

    if "lineage" in files:
        res.old_units, res.lineage_rows = _load_lineage(conn, files["lineage"])

    cmp = compare_with_reference(dict(zip(gdf["_code"], gdf["_full"], strict=True)),
                                 reference_names(s.province_code))
    res.name_differences = cmp["name_differences"]
    res.missing_in_reference = cmp["missing_in_reference"]
    res.missing_in_file = cmp["missing_in_file"]
    conn.execute(text("UPDATE dataset SET report = CAST(:r AS jsonb) WHERE id = :id"),
                 {"r": json.dumps(cmp, ensure_ascii=False), "id": ds_id})
    res.dataset_id = ds_id
    return res


def _load_lineage(conn: Connection, path: Path) -> tuple[int, int]:
    """Old → new units. An old unit split among n new units gets an equal share each (no old
    boundaries are public to do better); the method is recorded so a province can refine it."""
    df = pd.read_csv(path, dtype=str)
    df["ma_xa_cu"] = df["ma_xa_cu"].str.strip().str.zfill(5)
    df["ma_xa_moi"] = df["ma_xa_moi"].str.strip().str.zfill(5)
    old = df.drop_duplicates("ma_xa_cu")
    conn.execute(text(
        "INSERT INTO admin_unit_old (code, name, district_code, district_name, province_code) "
        "VALUES (:c, :n, :dc, :dn, :p) ON CONFLICT (code) DO UPDATE SET name=EXCLUDED.name, "
        "district_code=EXCLUDED.district_code, district_name=EXCLUDED.district_name"),
        [{"c": r.ma_xa_cu, "n": _clean(r.ten_xa_cu), "dc": r.ma_huyen_cu, "dn": _clean(r.ten_huyen_cu),
          "p": r.ma_tinh_cu} for r in old.itertuples()])
    n_new = df.groupby("ma_xa_cu")["ma_xa_moi"].transform("nunique")
    df["share"] = 1.0 / n_new
    df["method"] = ["whole" if n == 1 else "equal_split" for n in n_new]
    pairs = df.drop_duplicates(["ma_xa_cu", "ma_xa_moi"])
    conn.execute(text("DELETE FROM admin_lineage WHERE new_code = ANY(:codes)"),
                 {"codes": sorted(pairs["ma_xa_moi"].unique())})
    conn.execute(text(
        "INSERT INTO admin_lineage (old_code, new_code, kind, area_share, share_method) "
        "VALUES (:o, :n, :k, :s, :m)"),
        [{"o": r.ma_xa_cu, "n": r.ma_xa_moi, "k": r.kieu_sap_nhap if r.kieu_sap_nhap in ("full", "partial")
          else "full", "s": r.share, "m": r.method} for r in pairs.itertuples()])
    return len(old), len(pairs)
