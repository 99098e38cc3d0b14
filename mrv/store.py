"""Factor sets and GWP sets in the database: loaded from the YAML register, frozen once used.

Why the database holds a copy of what the YAML already says: an estimate run must point at the exact
numbers it used, and those numbers must outlive edits to the repository. ``sync_factor_sets`` copies
every set of ``mrv/factors/`` into ``factor_set``/``factor`` (with the canonical definition whose
SHA-256 is the set's digest), and refuses a set whose code and version are already stored with a
different digest: a published set is never edited, a change is a new version. A run locks the set it
used (``lock_factor_set``); the triggers ``cropmrv_factor_locked`` and ``cropmrv_factor_set_locked``
then forbid inserting, editing or deleting its factors, even by hand in psql.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.mrv.factors import FactorError, FactorSet, list_factor_sets, load_factor_set
from cropmrv.mrv.gwp import GwpSet, gwp_codes, load_gwp


class FactorSetConflict(FactorError):
    """The database holds the same set code and version with other numbers."""


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def ensure_gwp_set(conn: Connection, gwp: GwpSet) -> str:
    """Insert a GWP set if missing; ``'inserted'`` or ``'present'``. Different stored values are an error."""
    row = conn.execute(text("SELECT co2, ch4, n2o FROM gwp_set WHERE code = :c"), {"c": gwp.code}).first()
    values = (gwp["CO2"], gwp["CH4"], gwp["N2O"])
    if row is None:
        conn.execute(
            text("INSERT INTO gwp_set (code, co2, ch4, n2o, source) VALUES (:c, :co2, :ch4, :n2o, :src)"),
            {"c": gwp.code, "co2": values[0], "ch4": values[1], "n2o": values[2],
             "src": _json({"title": gwp.title, **dict(gwp.source), "digest": gwp.digest})},
        )
        return "inserted"
    if tuple(row) != values:
        raise FactorSetConflict(
            f"Bộ GWP '{gwp.code}' trong cơ sở dữ liệu có giá trị {tuple(row)} khác với tệp {values}; "
            f"hãy đặt mã mới / GWP set '{gwp.code}' is stored with values {tuple(row)}, the register says "
            f"{values}: give the changed set a new code"
        )
    return "present"


def ensure_factor_set(conn: Connection, fs: FactorSet) -> str:
    """Insert a factor set and its factors if missing; ``'inserted'`` or ``'present'``.

    Raises :class:`FactorSetConflict` when the same code and version are stored with another digest."""
    row = conn.execute(
        text("SELECT digest, locked FROM factor_set WHERE code = :c AND version = :v"),
        {"c": fs.code, "v": fs.version},
    ).first()
    if row is not None:
        if row.digest != fs.digest:
            state = "đã khoá bởi một lần tính / locked by a run" if row.locked else "chưa khoá / not locked"
            raise FactorSetConflict(
                f"Bộ hệ số {fs.code}@{fs.version} trong cơ sở dữ liệu ({state}) có digest {row.digest[:12]}… "
                f"khác với tệp mrv/factors ({fs.digest[:12]}…): không sửa bộ đã công bố, hãy tăng 'version' "
                f"trong tệp YAML / factor set {fs.code}@{fs.version} is stored with digest "
                f"{row.digest[:12]}… but mrv/factors gives {fs.digest[:12]}…: a published set is never "
                f"edited — bump 'version' in its YAML file"
            )
        return "present"
    conn.execute(
        text(
            "INSERT INTO factor_set (code, version, digest, description, source, definition) "
            "VALUES (:c, :v, :d, :title, :src, CAST(:defn AS jsonb))"
        ),
        {"c": fs.code, "v": fs.version, "d": fs.digest, "title": fs.title,
         "src": _json(dict(fs.documents)), "defn": _json(fs.canonical())},
    )
    rows = []
    for r in fs.to_rows():
        details = {k: r[k] for k in ("evidence", "tier", "proxy", "origin", "note")}
        rows.append({
            "sc": fs.code, "sv": fs.version, "key": r["key"], "value": r["value"], "unit": r["unit"],
            "low": r["low"], "high": r["high"], "source": _json(r["source"]), "status": r["status"],
            "app": _json(r["applicability"]), "details": _json(details),
        })
    conn.execute(
        text(
            "INSERT INTO factor (set_code, set_version, key, value, unit, low, high, source, status, "
            "applicability, details) VALUES (:sc, :sv, :key, :value, :unit, :low, :high, "
            "CAST(:source AS jsonb), :status, CAST(:app AS jsonb), CAST(:details AS jsonb))"
        ),
        rows,
    )
    return "inserted"


def sync_factor_sets(conn: Connection) -> list[dict[str, Any]]:
    """Load every GWP set and every factor set of ``mrv/factors/`` into the database (idempotent).

    Returns one ``{kind, code, version, digest, status}`` per set, status ``inserted`` or ``present``.
    Concurrent callers (two first runs through the API) queue on a transaction-level advisory lock."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('cropmrv.reference_data'))"))
    out: list[dict[str, Any]] = []
    for code in gwp_codes():
        g = load_gwp(code)
        out.append({"kind": "gwp", "code": g.code, "version": None, "digest": g.digest,
                    "status": ensure_gwp_set(conn, g)})
    for meta in list_factor_sets():
        fs = load_factor_set(meta["code"], meta["version"])
        out.append({"kind": "factors", "code": fs.code, "version": fs.version, "digest": fs.digest,
                    "status": ensure_factor_set(conn, fs)})
    return out


def lock_factor_set(conn: Connection, code: str, version: int) -> None:
    """Mark a set as used by a run: from now on its factors cannot change (database triggers)."""
    conn.execute(text("UPDATE factor_set SET locked = true WHERE code = :c AND version = :v AND NOT locked"),
                 {"c": code, "v": version})


def stored_factor_sets(conn: Connection) -> list[dict[str, Any]]:
    """The sets in the database: code, version, digest, locked, factor count, unverified count."""
    rows = conn.execute(text(
        "SELECT s.code, s.version, s.digest, s.locked, s.description, count(f.key) AS factors, "
        "count(f.key) FILTER (WHERE f.status <> 'verified') AS unverified "
        "FROM factor_set s LEFT JOIN factor f ON f.set_code = s.code AND f.set_version = s.version "
        "GROUP BY s.code, s.version ORDER BY s.code, s.version"
    )).mappings().all()
    return [dict(r) for r in rows]


def sync_packages(conn: Connection) -> int:
    """Copy the practice-package catalogue (``mrv/packages/*.yaml``) into ``practice_package``.

    Pilot sites reference packages by code (foreign key), so this must run before they are loaded.
    Packages are not versioned like factor sets: a run's inputs digest covers the numbers a package
    filled in, so a changed package gives a different run, never a silently different one."""
    from cropmrv.mrv.packages import load_packages

    rows = []
    for p in load_packages().values():
        d = p.to_dict()
        rows.append({"code": p.code, "crop": p.crop, "name": p.name_en, "name_vi": p.name_vi,
                     "inputs": _json({"per_ha": d["per_ha"], "practice": d["practice"],
                                      "assumptions": d["assumptions"]}),
                     "source": _json(d["source"]), "illustrative": p.illustrative})
    if rows:
        conn.execute(text(
            "INSERT INTO practice_package (code, crop, name, name_vi, inputs, source, illustrative) VALUES "
            "(:code, :crop, :name, :name_vi, CAST(:inputs AS jsonb), :source, :illustrative) ON CONFLICT (code) DO "
            "UPDATE SET crop = EXCLUDED.crop, name = EXCLUDED.name, name_vi = EXCLUDED.name_vi, "
            "inputs = EXCLUDED.inputs, source = EXCLUDED.source, illustrative = EXCLUDED.illustrative"), rows)
    return len(rows)


def sync_reference_data(conn: Connection) -> list[dict[str, Any]]:
    """Factor sets, GWP sets and practice packages, in one call (idempotent)."""
    out = sync_factor_sets(conn)
    out.append({"kind": "packages", "code": None, "version": None, "digest": None, "status": sync_packages(conn)})
    return out
