"""Per-chunk validation: from a raw :class:`~cropmrv.ingest.readers.Chunk` to the rows to stage,
with every problem written to the report. Vectorised: Python loops touch only the features with
a problem (a few in a thousand in real files).

Order matters and follows what a GIS officer would check by hand: text decoding, geometry
(null/empty, Z/M, type, validity and repair), stated area vs geometry area (in the source's metric
CRS, before reprojection), reprojection to EPSG:4326, commune placement, then the attribute values
(codes, numbers, enumerations, required columns). Identity duplicates are found later in SQL over
the whole staging table, because they can span chunks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
import shapely

from cropmrv.geo.crs import reproject_to_wgs84, transformer_to_wgs84
from cropmrv.geo.geometry import area_ha_geodesic, validate_and_repair
from cropmrv.ingest.communes import Communes, place
from cropmrv.ingest.encoding import decode_frame_columns
from cropmrv.ingest.profiles import LAYER_COLUMNS, NUMERIC, REQUIRED, Profile, unknown_land_use
from cropmrv.ingest.report import IngestReport
from cropmrv.ingest.stage import ANY_GEOMETRY_LAYERS, make_stager, stage_polygons

#: Enumerations of the schema (db/migrations/versions/0001_schema.sql CHECK constraints).
ENUMS = {
    "crop": ("coffee", "pepper", "durian", "rice", "sugarcane", "cassava", "maize", "cashew", "rubber", "tea",
             "fruit_other", "vegetables", "other_annual", "other_perennial"),
    "season": ("dong_xuan", "he_thu", "mua", "thu_dong", "annual", "perennial"),
    "irrigation_method": ("none", "rainfed", "flood", "furrow", "sprinkler", "drip", "awd",
                          "continuous_flooding", "other"),
    "kind": ("reservoir", "dam", "weir", "canal", "pipeline", "pump_station", "drip_system",
             "sprinkler_system", "other"),
}
#: Stated-area columns and their unit in square metres.
AREA_COLUMNS = {"area_m2": 1.0, "area_ha": 1e4}


@dataclass
class Context:
    """Everything fixed for one load."""

    layer: str
    profile: Profile
    colmap: dict[str, str]  # target column → source column
    extra: list[str]  # source columns kept in ``attributes``
    epsg: int
    communes: Communes
    commune: str | None = None
    codec: str | None = None  # re-decode latin1-read text with this codec; None: text is already Unicode
    native: bool = False  # GDAL decoded the text itself (a .cpg saying UTF-8)
    repair: bool = True
    area_tolerance: float = 0.1
    area_min_m2: float = 5.0
    metric: bool = field(init=False)
    #: hash of (commune, map sheet, parcel) → first feature with it; spans chunks (8 bytes + a fid each)
    identities: dict[int, int] = field(default_factory=dict)
    _transformer: pyproj.Transformer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.metric = self.epsg != 4326 and pyproj.CRS.from_epsg(self.epsg).is_projected

    def stager(self):
        """``chunk → None`` staging the geometry in the reader's stage thread (None: not a polygon layer)."""
        return make_stager(self.layer, self.epsg)

    @property
    def transformer(self) -> pyproj.Transformer:
        """The recorded source → EPSG:4326 operation (lon/lat order), made once per load."""
        if self._transformer is None:
            self._transformer = transformer_to_wgs84(self.epsg)[0]
        return self._transformer


def _nfc(df: pd.DataFrame) -> pd.DataFrame:
    """NFC for text that did not go through a legacy codec (GeoPackage/GeoJSON): distinct values only."""
    for col in df.columns:
        if df[col].dtype == object:
            uniq = pd.unique(df[col].to_numpy(object))  # nulls fall out below (not str); no dropna copy
            fix = {v: unicodedata.normalize("NFC", v) for v in uniq
                   if isinstance(v, str) and not v.isascii() and unicodedata.normalize("NFC", v) != v}
            if fix:
                df[col] = df[col].map(lambda v, f=fix: f.get(v, v) if isinstance(v, str) else v)
    return df


def _by_unique(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` (one value → value) to the distinct values only: DBF columns repeat a lot, and a
    Python call per distinct value is cheaper than pandas string methods on a few hundred."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    done = np.empty(len(uniques) + 1, dtype=object)  # the last slot answers code -1 (missing): None
    done[:-1] = [fn(u) for u in uniques]
    return pd.Series(done[codes], index=values.index, dtype=object)


_TRAILING_ZEROS = re.compile(r"\.0+$")
_UP_TO_FIVE_DIGITS = re.compile(r"\d{1,5}")


def _code_one(v: object) -> str | None:
    s = _TRAILING_ZEROS.sub("", str(v).strip())
    if not s:
        return None
    return s.zfill(5) if _UP_TO_FIVE_DIGITS.fullmatch(s) else s


def _text_one(v: object) -> str | None:
    return str(v).strip() or None


def _float_text_one(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _clean_code(values: pd.Series) -> pd.Series:
    """Commune codes as 5-digit strings (DBF numbers lose the leading zero; floats gain '.0')."""
    return _by_unique(values, _code_one)


def _as_text(values: pd.Series) -> pd.Series:
    """Text as stored: stripped, blanks missing; whole floats without their '.0' (a DBF number)."""
    return _by_unique(values, _float_text_one if pd.api.types.is_float_dtype(values) else _text_one)


def process_chunk(chunk, ctx: Context, report: IngestReport) -> pd.DataFrame:
    """Validate one chunk; return the rows to stage (``fid``, target columns, extras, ``flags``, ``geom``)."""
    attrs = chunk.attrs
    attrs = decode_frame_columns(attrs, ctx.codec) if ctx.codec else _nfc(attrs)
    fids = chunk.fids
    n = len(fids)
    keep = np.ones(n, dtype=bool)
    flags: dict[int, list[str]] = {}  # sparse: a few features in a thousand carry a flag

    def _details(details, idx):
        if details is None:
            return None
        if callable(details):  # built only for the features concerned (a few), not the whole chunk
            return [details(i) for i in idx]
        return np.asarray(details)[idx]

    def reject(mask: np.ndarray, code: str, details=None) -> None:
        idx = np.flatnonzero(mask & keep)
        if len(idx):
            report.add_many(fids[idx], code, "rejected", _details(details, idx))
            keep[idx] = False

    def flag(mask: np.ndarray, code: str, details=None) -> None:
        idx = np.flatnonzero(mask & keep)
        if len(idx):
            report.add_many(fids[idx], code, "flagged", _details(details, idx))
            for i in idx.tolist():
                flags.setdefault(i, []).append(code)

    # -- geometry -------------------------------------------------------------------------------
    if ctx.layer not in ANY_GEOMETRY_LAYERS:
        geoms, wkb_out, geom_m2 = _polygons(chunk, ctx, report, fids, reject)
    else:
        geoms = _geometry(chunk.geoms, ctx, report, fids, reject)
        geom_m2 = np.where(keep, shapely.area(geoms), np.nan) if ctx.metric else None
        if ctx.epsg != 4326:
            live = np.flatnonzero(keep)
            g, st, why = revalidate(reproject_to_wgs84(geoms[live], ctx.epsg), None)
            geoms[live] = g
            fixed = st == "repaired"
            if ctx.repair:
                report.add_many(fids[live[fixed]], "repaired", "repaired", why[fixed])
            else:
                st[fixed] = "rejected"
            reject(_at(n, live[st == "rejected"]), "invalid_geometry", lambda i: "invalid after reprojection")
        wkb_out = None
    stated_m2 = None
    for col, unit in AREA_COLUMNS.items():
        if col in ctx.colmap:
            stated_m2 = pd.to_numeric(attrs[ctx.colmap[col]], errors="coerce").to_numpy(float) * unit
    if stated_m2 is not None and geom_m2 is None:
        geom_m2 = np.full(n, np.nan)
        geom_m2[keep] = area_ha_geodesic(geoms[keep]) * 1e4
    if stated_m2 is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = np.abs(stated_m2 - geom_m2)
            bad = (diff > ctx.area_min_m2) & (diff > ctx.area_tolerance * geom_m2)
        bad &= np.isfinite(stated_m2) & np.isfinite(geom_m2)
        flag(bad, "area_mismatch", lambda i: f"stated {stated_m2[i]:.1f} m², geometry {geom_m2[i]:.1f} m²")

    # -- communes -------------------------------------------------------------------------------
    commune_code = _communes(geoms, attrs, ctx, report, fids, keep, reject, flag)

    # -- attributes -----------------------------------------------------------------------------
    out = pd.DataFrame({"fid": fids})
    for target in LAYER_COLUMNS[ctx.layer]:
        if target == "commune_code":
            out[target] = commune_code
            continue
        src = ctx.colmap.get(target)
        if src is None:
            out[target] = None
            continue
        raw = attrs[src]
        if target in NUMERIC:
            num = pd.to_numeric(raw, errors="coerce")
            bad = (num.isna() & raw.notna()).to_numpy(bool)  # then only those: is it more than blanks?
            if bad.any():
                bad[bad] = (raw[bad].astype(str).str.strip().str.len() > 0).to_numpy(bool)
            flag(bad, "bad_value", lambda i, r=raw, c=src: f"{c}={r.iloc[i]!r} is not a number")
            num = num.where(num >= 0)
            if NUMERIC[target] is int:
                out[target] = num.round().astype("Int64").astype(object).where(num.notna(), None)
            else:
                out[target] = num.astype(object).where(num.notna(), None)
            continue
        vals = _as_text(raw)
        if ctx.profile.values.get(target):
            vals = vals.map(lambda v, t=target: ctx.profile.normalise_value(t, v))
        if target in ENUMS:
            bad = (vals.notna() & ~vals.isin(ENUMS[target])).to_numpy(bool)
            reject(bad, "bad_value", lambda i, v=vals, c=src, t=target:
                   f"{c}={v.iloc[i]!r}, expected one of {', '.join(ENUMS[t])}")
        if target == "land_use_code":
            vals = _by_unique(vals, str.upper)
            codes, uniques = pd.factorize(vals)
            bad_u = np.array([bool(unknown_land_use(v)) for v in uniques] + [False], dtype=bool)
            unk = bad_u[np.where(codes >= 0, codes, len(uniques))]
            flag(unk, "unknown_land_use", lambda i, v=vals, c=src: f"{c}={v.iloc[i]!r}")
        out[target] = vals
    for col in REQUIRED.get(ctx.layer, ()):
        if col == "commune_code":
            continue
        missing = out[col].isna().to_numpy(bool)
        reject(missing, "missing_value", lambda i, c=col: f"{c} ({ctx.colmap.get(c, 'not mapped')})")
    if ctx.layer == "parcels":
        _duplicates(out, ctx, keep, reject)
    for i, col in enumerate(ctx.extra):
        s = attrs[col]
        out[f"a{i}"] = s.astype(object).where(s.notna(), None) if s.dtype == object else s
    flag_col = np.full(n, None, dtype=object)
    for i, f in flags.items():
        flag_col[i] = "{" + ",".join(f) + "}"
    out["flags"] = flag_col
    out["geom"] = geoms
    if wkb_out is not None:
        out["wkb"] = wkb_out
    return out[keep].reset_index(drop=True)


def _polygons(chunk, ctx: Context, report: IngestReport, fids: np.ndarray, reject):
    """Polygon layers: (EPSG:4326 geometries, their MultiPolygon WKB for COPY, planar area in the
    source CRS or None).

    Fast path, nearly every feature of a real file: :func:`stage_polygons` (usually already run in
    the reader thread). Everything else (null, empty, Z/M, collections, invalid before or only
    after reprojection) goes through :func:`validate_and_repair` in the source CRS, is reprojected
    by shapely, and is checked and repaired again in EPSG:4326 if reprojection broke it.
    """
    st0 = chunk.stage
    if st0 is None or st0.epsg != ctx.epsg:  # not staged ahead, or staged with a CRS the data did not confirm
        st0 = stage_polygons(chunk, ctx.epsg, ctx.transformer.transform if ctx.epsg != 4326 else None, ctx.metric)
    geoms, out, area, fast = st0.geoms, st0.wkb, st0.area, st0.fast
    n = len(fast)
    if fast.all():
        return geoms, out, area
    slow = np.flatnonzero(~fast)
    mended: list[int] = []  # positions in ``slow`` whose open rings were closed on reading
    rr = validate_and_repair(chunk.source_geoms(slow, mended), "polygon")
    st = np.full(n, "ok", dtype=object)
    st[slow] = rr.status
    notes = np.full(n, "", dtype=object)
    notes[slow] = rr.notes
    for j in mended:
        if rr.kept[j]:
            i = slow[j]
            st[i] = "repaired"
            notes[i] = "ring not closed: closed on reading" + (f"; {notes[i]}" if notes[i] else "")
    g = rr.geoms
    kept = rr.kept
    if area is not None:
        area[slow] = np.where(kept, shapely.area(g), np.nan)
    if ctx.epsg != 4326 and kept.any():
        ki = np.flatnonzero(kept)
        g[ki], again, why = revalidate(reproject_to_wgs84(g[ki], ctx.epsg), "polygon")
        broke = again != "ok"
        if broke.any():
            bi = slow[ki[broke]]
            st[bi] = np.where(again[broke] == "rejected", "rejected_empty", "repaired")
            notes[bi] = [f"{(x + '; ') if x else ''}{w}" for x, w in zip(notes[bi], why[broke], strict=True)]
    geoms[slow] = g
    out[slow] = [shapely.to_wkb(x, byte_order=1) if x is not None else None for x in g]
    _report_repairs(ctx, report, fids, reject, st, notes, int((rr.dropped_z | rr.dropped_m).sum()),
                    int(rr.extracted.sum()))
    return geoms, out, area


def revalidate(geoms: np.ndarray, expected: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check geometries again after reprojection; repair the ones it broke.

    A feature valid in its source CRS can come out invalid in EPSG:4326 (rounding at a narrow neck
    or two nearly touching rings). Returns (geometries, status "ok"/"repaired"/"rejected", note).
    What leaves here is what the database stores, so this is the loader's validity guarantee.
    """
    st = np.full(len(geoms), "ok", dtype=object)
    why = np.full(len(geoms), "", dtype=object)
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        reason = shapely.is_valid_reason(geoms[bad])
        if expected is None:
            fixed = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
            gone = shapely.is_empty(fixed) | ~shapely.is_valid(fixed)
            notes = np.full(len(fixed), "", dtype=object)
        else:
            rr = validate_and_repair(geoms[bad], expected)
            fixed, gone, notes = rr.geoms, ~rr.kept, rr.notes
        geoms = geoms.copy()
        geoms[bad] = np.where(gone, None, fixed)
        st[bad] = np.where(gone, "rejected", "repaired")
        why[bad] = [f"invalid after reprojection to EPSG:4326 ({r}){'; ' + x if x else ''}"
                    for r, x in zip(reason, notes, strict=True)]
    return geoms, st, why


def _at(n: int, idx: np.ndarray) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m


def _geometry(raw: np.ndarray, ctx: Context, report: IngestReport, fids: np.ndarray, reject) -> np.ndarray:
    """Layers of any geometry kind (irrigation works: points, lines, polygons): null/empty
    rejected, Z/M dropped, invalid repaired (or rejected with ``--no-repair``), in the source CRS.
    Polygon layers take :func:`_polygons` instead."""
    geoms = raw.copy()
    miss = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reject(miss, "empty_geometry")
    zm = ~miss & (shapely.has_z(geoms) | shapely.has_m(geoms))
    if zm.any():
        geoms[zm] = shapely.force_2d(geoms[zm])
        report.note(f"{int(zm.sum())} đối tượng có Z/M, đã bỏ về 2D / {int(zm.sum())} features had Z/M "
                    "coordinates, dropped to 2D")
    inv = ~miss & ~shapely.is_valid(geoms)
    if inv.any():
        reasons = np.full(len(geoms), "", dtype=object)
        reasons[inv] = shapely.is_valid_reason(geoms[inv])
        if ctx.repair:
            geoms[inv] = shapely.make_valid(geoms[inv], method="structure", keep_collapsed=False)
            report.add_many(fids[inv], "repaired", "repaired", reasons[inv])
        else:
            reject(inv, "invalid_geometry", reasons)
    return geoms


def _report_repairs(ctx, report, fids, reject, st, notes, nz: int, ne: int) -> None:
    reject(np.isin(st, ("rejected_null", "rejected_empty")), "empty_geometry")
    reject(st == "rejected_wrong_type", "wrong_geometry_type", notes)
    rep = st == "repaired"
    if ctx.repair:
        idx = np.flatnonzero(rep)
        report.add_many(fids[idx], "repaired", "repaired", notes[idx])
    else:
        reject(rep, "invalid_geometry", notes)
    if nz:
        report.note(f"{nz} đối tượng có tọa độ Z/M, đã bỏ về 2D / {nz} features had Z/M coordinates, dropped to 2D")
    if ne:
        report.note(f"{ne} GeometryCollection: chỉ giữ phần đa giác / {ne} GeometryCollections: polygon parts kept")


def _communes(geoms, attrs, ctx: Context, report, fids, keep, reject, flag) -> np.ndarray:
    n = len(geoms)
    code = np.full(n, None, dtype=object)
    live = np.flatnonzero(keep)
    if not len(live):
        return code
    pl = place(geoms[live], ctx.communes)
    spatial = np.full(n, None, dtype=object)
    spatial[live] = pl.code
    crosses = np.zeros(n, dtype=bool)
    crosses[live] = pl.crosses
    crossing = np.full(n, "", dtype=object)
    crossing[live] = pl.crossing_codes
    outside = keep & (spatial == None)  # noqa: E711
    reject(outside, "outside_province")
    stated = _clean_code(attrs[ctx.colmap["commune_code"]]).to_numpy(object) if "commune_code" in ctx.colmap \
        else np.full(n, None, dtype=object)
    has = pd.notna(stated)
    known = pd.Series(stated).isin(set(ctx.communes.codes)).to_numpy(bool)
    unknown = keep & has & ~known
    if unknown.any():
        report.add_many(fids[unknown], "unknown_commune", "assigned",
                        [f"{s} → {p}" for s, p in zip(stated[unknown], spatial[unknown], strict=True)])
    use_stated = keep & has & known
    # A stated commune the feature does not even touch: the code or the geometry is wrong.
    if use_stated.any():
        idx = np.flatnonzero(use_stated & (stated != spatial))
        if len(idx):
            ci = np.array([ctx.communes.index_of(s) for s in stated[idx]])
            touch = shapely.intersects(ctx.communes.geoms[ci], geoms[idx])
            bad = np.zeros(n, dtype=bool)
            bad[idx[~touch]] = True
            reject(bad, "outside_commune", lambda i: f"{stated[i]} (lies in {spatial[i]})")
    code[keep] = np.where(use_stated[keep], stated[keep], spatial[keep])
    missing = int((keep & ~has).sum())
    if missing:
        report.note(f"{missing} đối tượng không có mã xã: đã gán theo diện tích chồng lấn lớn nhất / {missing} "
                    "features had no commune code: assigned by majority area")
    flag(crosses, "crosses_communes", lambda i: crossing[i])
    if ctx.commune is not None:
        reject(keep & (code != ctx.commune), "other_commune", lambda i: f"{code[i]} ≠ {ctx.commune}")
    return code


def _duplicates(out: pd.DataFrame, ctx: Context, keep: np.ndarray, reject) -> None:
    """Cadastral identity (commune, map sheet, parcel number) must be unique; later copies are
    rejected, naming the first. Hashes, not tuples, are remembered, so 2M parcels cost ~150 MB
    (Python's 64-bit hash of the identity tuple: one false duplicate in ~10¹² loads of 2M)."""
    cols = [out[c].to_numpy(object) for c in ("commune_code", "map_sheet", "parcel_no")]
    live = keep & pd.notna(cols[1]) & pd.notna(cols[2])
    if not live.any():
        return
    hashes = list(map(hash, zip(*(c[live].tolist() for c in cols), strict=True)))
    fids = out["fid"].to_numpy()[live]
    seen = ctx.identities
    # the first fid of each identity, the dict's C loop driven by map (no Python-level loop body)
    first = np.fromiter(map(seen.setdefault, hashes, fids.tolist()), dtype=np.int64, count=len(hashes))
    dup = np.zeros(len(out), dtype=bool)
    where = np.flatnonzero(live)
    dup[where[first != fids]] = True
    firsts = np.zeros(len(out), dtype=np.int64)
    firsts[where] = first
    reject(dup, "duplicate_identity", lambda i: f"{firsts[i]} ({out.at[i, 'commune_code']}, tờ/sheet "
           f"{out.at[i, 'map_sheet']}, thửa/parcel {out.at[i, 'parcel_no']})")
