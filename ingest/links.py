"""``cropmrv ingest links``: which crop zones each irrigation work serves, and with what share.

Irrigation companies keep this as a table, not a map: ``MaCT | MaVung | TyLe`` (work code, crop
zone code, share of the zone the work serves), CSV or XLSX, Vietnamese or English headers. These
links feed the irrigation map (AWD candidates: continuously flooded rice *inside a service area or
linked to a work*) and the water-management analyses.

Rules, checked per row with the spreadsheet row number:

* the work (``irrigation_asset.asset_code``) and the zone (``crop_zone.zone_code``) must be loaded
  in the province — links are joined on codes, so an unknown code would silently link nothing;
* ``share`` in (0, 1] (empty = 1, ``40%`` = 0.4); one row per (work, zone);
* the shares of one zone, over this file and the links of works *not* in the file, at most 1.

A file with any bad row is refused as a whole and changes nothing: a load replaces **all** links
of the works it names, so a half-loaded file would drop links. The replacement, the dataset row and
its report are one transaction. The same file again (sha256) is a no-op.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from cropmrv.db.engine import raw_connection
from cropmrv.ingest import datasets
from cropmrv.ingest.activity import read_table
from cropmrv.ingest.profiles import fold
from cropmrv.ingest.readers import sha256_paths
from cropmrv.ingest.report import IngestError, IngestReport
from cropmrv.settings import Settings

LAYER = "irrigation_service"
#: Column aliases (folded: case, accents, separators ignored).
COLUMNS = {
    "asset_code": ["asset_code", "ma_cong_trinh", "MaCT", "MaCongTrinh", "MaCTTL", "work_code"],
    "zone_code": ["zone_code", "ma_vung", "MaVung", "MaVungTrong", "ma_vung_trong"],
    "share": ["share", "ty_le", "TyLe", "TyLePhucVu", "ty_le_phuc_vu"],
}
#: float tolerance on the sum of a zone's shares
SHARE_EPS = 1e-9


def _columns(df: pd.DataFrame, name: str, rep: IngestReport) -> pd.DataFrame:
    """Rename aliased headers to ``asset_code, zone_code, share``; every cell stripped text."""
    by_fold = {fold(c): c for c in df.columns}
    rename = {}
    for target, aliases in COLUMNS.items():
        hit = next((by_fold[fold(a)] for a in aliases if fold(a) in by_fold), None)
        if hit is not None:
            rename[hit] = target
            rep.mapping[target] = str(hit)
    df = df.rename(columns=rename)
    missing = [c for c in ("asset_code", "zone_code") if c not in df.columns]
    if missing:
        wanted = "; ".join(f"{c}: {', '.join(COLUMNS[c])}" for c in missing)
        raise IngestError(f"{name}: thiếu cột {', '.join(missing)} (các cột: {', '.join(map(str, df.columns))}) / "
                          f"missing column {', '.join(missing)} (accepted headers: {wanted})", rep)
    if "share" not in df.columns:
        df["share"] = ""
        rep.note("không có cột tỷ lệ: mỗi liên kết phục vụ toàn bộ vùng (1) / no share column: every link serves "
                 "the whole zone (1)")
    out = df[["asset_code", "zone_code", "share"]].astype(str).apply(lambda s: s.str.strip())
    out["row"] = range(2, len(out) + 2)
    return out


def parse_share(value: str) -> float | None:
    """``""`` → 1; ``0,4`` / ``0.4`` / ``40%`` → 0.4; None when it is not a number."""
    v = value.strip().replace(" ", "")
    if v == "":
        return 1.0
    pct = v.endswith("%")
    v = v.rstrip("%")
    if v.count(",") == 1 and "." not in v:
        v = v.replace(",", ".")
    try:
        x = float(v)
    except ValueError:
        return None
    return x / 100 if pct else x


def validate(sa, df: pd.DataFrame, province: str, rep: IngestReport) -> pd.DataFrame:
    """The rows that pass, as ``asset_code, zone_code, share``; every problem goes to ``rep``."""
    assets = set(sa.execute(text("SELECT asset_code FROM irrigation_asset WHERE province_code = :p "
                                 "AND asset_code IS NOT NULL"), {"p": province}).scalars())
    zones = set(sa.execute(text("SELECT zone_code FROM crop_zone WHERE province_code = :p AND zone_code IS NOT NULL"),
                           {"p": province}).scalars())
    seen: dict[tuple[str, str], int] = {}
    good = []
    for r in df.itertuples(index=False):
        def bad(detail: str, code: str = "bad_value", row: int = r.row) -> None:
            rep.add(row, code, "rejected", detail)

        if not r.asset_code or not r.zone_code:
            bad("mã công trình / asset code" if not r.asset_code else "mã vùng / zone code", "missing_value")
            continue
        if r.asset_code not in assets:
            bad(f"mã công trình {r.asset_code!r} chưa có trong lớp công trình thủy lợi / asset code {r.asset_code!r} "
                "is not a loaded irrigation work")
            continue
        if r.zone_code not in zones:
            bad(f"mã vùng {r.zone_code!r} chưa có trong lớp vùng trồng / zone code {r.zone_code!r} is not a loaded "
                "crop zone")
            continue
        share = parse_share(r.share)
        if share is None or not (0 < share <= 1):
            bad(f"tỷ lệ {r.share!r} phải trong (0, 1], ví dụ 0.4 hoặc 40% / share {r.share!r} must be in (0, 1], "
                "e.g. 0.4 or 40%")
            continue
        key = (r.asset_code, r.zone_code)
        if key in seen:
            bad(f"liên kết {key[0]} → {key[1]} lặp lại dòng {seen[key]} / link {key[0]} → {key[1]} repeats row "
                f"{seen[key]}")
            continue
        seen[key] = r.row
        good.append({"row": r.row, "asset_code": r.asset_code, "zone_code": r.zone_code, "share": share})
    rows = pd.DataFrame(good, columns=["row", "asset_code", "zone_code", "share"])
    if rows.empty:
        return rows
    # links of works not in the file stay, so they count in a zone's total
    kept = pd.DataFrame(sa.execute(text(
        "SELECT zone_code, sum(share) AS share FROM irrigation_service WHERE zone_code = ANY(:z) "
        "AND NOT asset_code = ANY(:a) GROUP BY zone_code"),
        {"z": sorted(set(rows["zone_code"])), "a": sorted(set(df["asset_code"]))}).all(),
        columns=["zone_code", "share"])
    total = rows.groupby("zone_code")["share"].sum().add(kept.set_index("zone_code")["share"], fill_value=0)
    over = total[total > 1 + SHARE_EPS]
    for r in rows[rows["zone_code"].isin(over.index)].itertuples(index=False):
        other = kept.set_index("zone_code")["share"].get(r.zone_code, 0.0)
        rep.add(r.row, "bad_value", "rejected",
                f"tổng tỷ lệ phục vụ vùng {r.zone_code} là {over[r.zone_code]:.3g} > 1 (công trình khác đã nạp: "
                f"{other:.3g}) / the shares of zone {r.zone_code} sum to {over[r.zone_code]:.3g} > 1 (other works "
                f"already loaded: {other:.3g})")
    return rows[~rows["zone_code"].isin(over.index)]


def ingest_service_links(path: str | Path, *, settings: Settings, engine: Engine, dry_run: bool = False,
                         loaded_by: str | None = None) -> IngestReport:
    """Validate a work → zone links table and replace the links of the works it names, atomically.

    Returns the report (status loaded / dry_run / unchanged); raises :class:`IngestError` carrying
    the report when any row is bad or the file cannot be read — then no row has changed."""
    path = Path(path)
    t0 = time.perf_counter()
    rep = IngestReport(source=path.name, layer=LAYER, province_code=settings.province_code)
    try:
        raw = read_table(path)
    except IngestError as exc:
        rep.error = str(exc)
        exc.report = rep
        raise
    rep.sha256 = sha256_paths([path])
    rep.features_read = len(raw)
    df = _columns(raw, path.name, rep)
    with engine.connect() as sa, datasets.load_transaction(sa, rep, path.name) as tx:
        active = datasets.active_dataset(sa, LAYER, settings.province_code, None)
        if active and active["sha256"] == rep.sha256:
            rep.status, rep.dataset_id, rep.features_loaded = "unchanged", active["id"], active["feature_count"]
            rep.note(f"tệp giống hệt bộ dữ liệu {active['id']} đang dùng / identical to active dataset {active['id']}")
            tx.rollback()
            return rep
        rows = validate(sa, df, settings.province_code, rep)
        rep.sort()
        rep.rejected = len(rep.rejected_features())
        if rep.rejected:
            raise IngestError(f"{path.name}: {rep.rejected} dòng sai, không nạp liên kết nào (một lần nạp thay mọi "
                              f"liên kết của các công trình trong tệp) / {rep.rejected} bad rows: no link loaded "
                              "(a load replaces all links of the works in the file)", rep)
        if rows.empty:
            raise IngestError(f"{path.name}: không có dòng nào / no row to load", rep)
        rep.features_loaded = len(rows)
        if dry_run:
            rep.status = "dry_run"
            tx.rollback()
            return rep
        pg = raw_connection(sa)
        datasets.register(sa, pg, layer=LAYER, table=None, province=settings.province_code, commune=None,
                          year=None, source=path, sha256=rep.sha256, rep=rep, loaded_by=loaded_by)
        works = sorted(set(rows["asset_code"]))
        # the links they replace move to history, marked with this load (as the layers' rows do)
        gone = pg.execute(
            "WITH gone AS (DELETE FROM irrigation_service WHERE asset_code = ANY(%s) "
            "RETURNING asset_code, zone_code, share, dataset_id) "
            "INSERT INTO irrigation_service_history (asset_code, zone_code, share, dataset_id, replaced_by) "
            "SELECT asset_code, zone_code, share, dataset_id, %s FROM gone", (works, rep.dataset_id)).rowcount
        with pg.cursor().copy("COPY irrigation_service (asset_code, zone_code, share, dataset_id) FROM STDIN") as cp:
            for r in rows.itertuples(index=False):
                cp.write_row([r.asset_code, r.zone_code, float(r.share), rep.dataset_id])
        rep.note(f"{len(works)} công trình: thay {gone} liên kết cũ bằng {len(rows)} liên kết / {len(works)} works: "
                 f"{gone} previous links replaced by {len(rows)}")
        datasets.store_report(pg, rep)
        return datasets.commit_load(tx, rep, t0)
