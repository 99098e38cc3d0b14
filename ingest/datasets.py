"""Dataset bookkeeping shared by every load (vector layers, activity tables, rasters).

One active dataset per (layer, province, commune, year); a new load supersedes it inside the
caller's transaction: rows of the old dataset move to ``<table>_history`` with their ids, the old
dataset is marked superseded, the new one points at it with ``version + 1``. An advisory lock per
key serialises two loads of the same thing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text

from cropmrv.db.locks import locked_message
from cropmrv.ingest.report import MAX_STORED_ISSUES, IngestError, IngestReport


def active_dataset(sa, layer: str, province: str, commune: str | None, year: int | None = None,
                   variant: str | None = None) -> dict | None:
    row = sa.execute(text(
        "SELECT id, sha256, version, feature_count FROM dataset WHERE layer = :l AND province_code = :p "
        "AND commune_code IS NOT DISTINCT FROM :c AND year IS NOT DISTINCT FROM :y "
        "AND variant IS NOT DISTINCT FROM :v AND status = 'active'"),
        {"l": layer, "p": province, "c": commune, "y": year, "v": variant}).mappings().first()
    return dict(row) if row else None


def register(sa, pg, *, layer: str, table: str | None, province: str, commune: str | None, year: int | None,
             source: Path, sha256: str, rep: IngestReport, loaded_by: str | None = None,
             variant: str | None = None) -> int:
    """Supersede the active dataset of this key (moving its rows to history) and insert the new
    dataset row; returns its id. Must run inside the load's transaction."""
    key = f"cropmrv-ingest:{layer}:{province}:{commune or ''}:{year or ''}:{variant or ''}"
    pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
    old = active_dataset(sa, layer, province, commune, year, variant)
    if old and old["sha256"] == sha256:
        raise IngestError(f"{source.name}: một lần nạp khác vừa nạp đúng tệp này / another load just loaded this "
                          "same file", rep)
    version = 1
    if old:
        version = old["version"] + 1
        if table in LOCKED_TABLES:
            refuse_locked(sa, table, old["id"], source, rep)
        if table:
            t, h = sql.Identifier(table), sql.Identifier(f"{table}_history")
            pg.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE dataset_id = %s").format(h, t), (old["id"],))
            pg.execute(sql.SQL("DELETE FROM {} WHERE dataset_id = %s").format(t), (old["id"],))
        pg.execute("UPDATE dataset SET status = 'superseded' WHERE id = %s", (old["id"],))
        rep.supersedes = old["id"]
    rep.rejected = len(rep.rejected_features())
    cols = ["layer", "province_code", "commune_code", "year", "variant", "source_name", "source_path", "sha256", "crs_in",
            "crs_operation", "encoding_in", "feature_count", "rejected_count", "supersedes", "version"]
    vals = [layer, province, commune, year, variant, source.name, str(Path(source).resolve()), sha256, rep.crs_in,
            rep.crs_operation, rep.encoding_in, rep.features_loaded, rep.rejected, old["id"] if old else None,
            version]
    if loaded_by:
        cols.append("loaded_by")
        vals.append(loaded_by)
    q = sql.SQL("INSERT INTO dataset ({}) VALUES ({}) RETURNING id").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.SQL(", ").join(sql.Placeholder() * len(vals)))
    rep.dataset_id = pg.execute(q, vals).fetchone()[0]
    return rep.dataset_id


#: tables whose rows an approved submission locks (trigger cropmrv_submission_locked, 0001_schema.sql)
LOCKED_TABLES = {
    "activity": "c.year = s.year",
    "crop_zone": "(c.year = s.year OR (c.year IS NULL AND coalesce(c.planted_year, 0) <= s.year))",
}


def refuse_locked(sa, table: str, dataset_id: int, source: Path, rep: IngestReport) -> None:
    """Refuse, before anything is written, to supersede rows of an approved (commune, year).

    The database trigger refuses it anyway; asking first gives the user one clear sentence instead of
    a constraint error, and spares the work of a load that cannot commit."""
    hits = sa.execute(text(
        f"SELECT s.commune_code, s.year FROM submission s WHERE s.status = 'approved' AND EXISTS ("
        f"SELECT 1 FROM {table} c WHERE c.dataset_id = :d AND c.commune_code = s.commune_code "
        f"AND {LOCKED_TABLES[table]}) ORDER BY 1, 2"), {"d": dataset_id}).all()
    if hits:
        raise IngestError(f"{source.name}: " + locked_message(hits[0][0], hits[0][1])
                          + (f" (+{len(hits) - 1} xã-năm khác / more commune-years)" if len(hits) > 1 else "")
                          + "; không dòng nào thay đổi / no row changed", rep)


def store_report(pg, rep: IngestReport) -> None:
    """The report (issues capped at MAX_STORED_ISSUES) on the dataset row."""
    pg.execute("UPDATE dataset SET report = %s::jsonb, feature_count = %s, rejected_count = %s, encoding_in = %s "
               "WHERE id = %s", (json.dumps(rep.to_dict(MAX_STORED_ISSUES), ensure_ascii=False, default=str),
                                 rep.features_loaded, rep.rejected, rep.encoding_in, rep.dataset_id))


@contextmanager
def load_transaction(sa, rep: IngestReport, source_name: str) -> Iterator:
    """One load = one transaction: yield it, and on any failure roll back and refuse with the report.

    A refusal our checks found (``IngestError``), a bad value a reader raised (``ValueError``) and a
    row a database constraint or trigger refused (for example the approved-submission lock) all end
    the same way: nothing changed, ``rep.status`` is 'refused', and an ``IngestError`` carrying the
    report names the file in Vietnamese and English.
    """
    tx = sa.begin()
    try:
        yield tx
    except IngestError as exc:
        tx.rollback()
        rep.status, rep.error = "refused", str(exc)
        exc.report = rep
        raise
    except ValueError as exc:  # readers' InputError and bad values
        tx.rollback()
        rep.status, rep.error = "refused", str(exc)
        raise IngestError(str(exc), rep) from exc
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        tx.rollback()
        d = exc.diag
        msg = (f"{source_name}: cơ sở dữ liệu từ chối dữ liệu, không dòng nào thay đổi / the database refused "
               f"the data, no row changed: {d.message_primary} ({d.context or d.constraint_name or ''})")
        rep.status, rep.error = "refused", msg
        raise IngestError(msg, rep) from exc
    except BaseException:
        tx.rollback()
        raise


def commit_load(tx, rep: IngestReport, t0: float) -> IngestReport:
    """Commit a load and mark its report loaded, with the total time."""
    rep.seconds["total"] = round(time.perf_counter() - t0, 3)
    tx.commit()
    rep.status = "loaded"
    return rep
