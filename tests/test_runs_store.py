"""Factor sets in the database: loaded from the register, idempotent, frozen once locked."""

from __future__ import annotations

import json

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from cropmrv.mrv.factors import load_factor_set, sha256_of
from cropmrv.mrv.store import (
    FactorSetConflict,
    lock_factor_set,
    stored_factor_sets,
    sync_factor_sets,
)


def test_sync_loads_every_set_and_is_idempotent(conn):
    first = sync_factor_sets(conn)
    assert {r["status"] for r in first} == {"inserted"}
    assert {(r["kind"], r["code"]) for r in first} >= {("gwp", "ar5"), ("gwp", "ar6"),
                                                      ("factors", "ipcc2019-sea"), ("factors", "vn-central-t2")}
    again = sync_factor_sets(conn)
    assert {r["status"] for r in again} == {"present"}
    fs = load_factor_set("ipcc2019-sea")
    stored = {(r["code"], r["version"]): r for r in stored_factor_sets(conn)}
    row = stored[("ipcc2019-sea", fs.version)]
    assert row["digest"] == fs.digest and row["factors"] == len(fs.factors)
    assert row["unverified"] == sum(not f.verified for f in fs.factors.values()) > 0
    # The stored definition proves the digest: sha256 of it is the digest.
    defn = conn.execute(text("SELECT definition FROM factor_set WHERE code='ipcc2019-sea'")).scalar_one()
    assert sha256_of(defn) == fs.digest
    efc = conn.execute(text("SELECT value, low, high, status, details FROM factor "
                            "WHERE set_code='ipcc2019-sea' AND key='rice.efc'")).one()
    assert (efc.value, efc.low, efc.high, efc.status) == (1.22, 0.83, 1.81, "verified")
    assert efc.details["evidence"] == "S"
    ar5 = conn.execute(text("SELECT co2, ch4, n2o FROM gwp_set WHERE code='ar5'")).one()
    assert tuple(ar5) == (1, 28, 265)


def test_same_version_with_other_numbers_is_refused(conn):
    sync_factor_sets(conn)
    conn.execute(text("UPDATE factor_set SET digest = repeat('0', 64) WHERE code = 'ipcc2019-sea'"))
    with pytest.raises(FactorSetConflict, match="bump 'version'"):
        sync_factor_sets(conn)


def test_locked_set_cannot_be_edited(conn):
    sync_factor_sets(conn)
    lock_factor_set(conn, "ipcc2019-sea", 1)
    statements = [
        "UPDATE factor SET value = 9.99 WHERE set_code = 'ipcc2019-sea' AND key = 'rice.efc'",
        "DELETE FROM factor WHERE set_code = 'ipcc2019-sea' AND key = 'rice.efc'",
        "INSERT INTO factor (set_code, set_version, key, value, unit, source, status) "
        "VALUES ('ipcc2019-sea', 1, 'rice.new', 1, '1', '{}', 'verified')",
        "UPDATE factor_set SET digest = repeat('1', 64) WHERE code = 'ipcc2019-sea'",
        "UPDATE factor_set SET locked = false WHERE code = 'ipcc2019-sea'",
    ]
    for sql in statements:
        with pytest.raises(sqlalchemy.exc.IntegrityError, match="make a new version"), conn.begin_nested():
            conn.execute(text(sql))
    value = conn.execute(text("SELECT value FROM factor WHERE set_code='ipcc2019-sea' AND key='rice.efc'"))
    assert value.scalar_one() == 1.22
    # An unlocked set (vn-central-t2 here) stays editable until a run uses it.
    conn.execute(text("UPDATE factor SET applicability = CAST(:a AS jsonb) WHERE set_code = 'vn-central-t2' "
                      "AND key = 'rice.efc'"), {"a": json.dumps({"checked": True})})
