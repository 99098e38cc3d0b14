-- 0002: geometry validity of the five loaded layers moves from a CHECK to a trigger.
--
-- Why: the bulk loader (ingest/load.py) checks, with GEOS through shapely, the validity of exactly
-- the EPSG:4326 bytes it then COPYs, repairing or rejecting each feature with a report line
-- (ingest/stage.py, ingest/checks.py: revalidate). On its superuser fast path
-- (session_replication_role = replica, as pg_restore --disable-triggers) this trigger is skipped
-- like the per-row foreign-key triggers, sparing the server a second ST_IsValid per row (200k
-- parcels: 0.46 s of the server's 1.1 s COPY). Every other writer — the loader as an ordinary
-- role, the API, raw SQL — is checked here; WHEN keeps valid rows out of PL/pgSQL, so for them the
-- cost is the ST_IsValid call the CHECK made. Other geometry columns (admin units, service areas,
-- review proposals) keep their CHECK: nothing bulk-loads them on that path.

CREATE FUNCTION cropmrv_geom_invalid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invalid geometry in %: % / hình học không hợp lệ', TG_TABLE_NAME, ST_IsValidReason(NEW.geom)
        USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_NAME;
END $$;

ALTER TABLE parcel DROP CONSTRAINT parcel_geom_check;
ALTER TABLE crop_zone DROP CONSTRAINT crop_zone_geom_check;
ALTER TABLE planning_zone DROP CONSTRAINT planning_zone_geom_check;
ALTER TABLE irrigation_asset DROP CONSTRAINT irrigation_asset_geom_check;
ALTER TABLE pilot_site DROP CONSTRAINT pilot_site_geom_check;

CREATE TRIGGER parcel_geom_valid BEFORE INSERT OR UPDATE OF geom ON parcel
    FOR EACH ROW WHEN (NOT ST_IsValid(NEW.geom)) EXECUTE FUNCTION cropmrv_geom_invalid();
CREATE TRIGGER crop_zone_geom_valid BEFORE INSERT OR UPDATE OF geom ON crop_zone
    FOR EACH ROW WHEN (NOT ST_IsValid(NEW.geom)) EXECUTE FUNCTION cropmrv_geom_invalid();
CREATE TRIGGER planning_zone_geom_valid BEFORE INSERT OR UPDATE OF geom ON planning_zone
    FOR EACH ROW WHEN (NOT ST_IsValid(NEW.geom)) EXECUTE FUNCTION cropmrv_geom_invalid();
CREATE TRIGGER irrigation_asset_geom_valid BEFORE INSERT OR UPDATE OF geom ON irrigation_asset
    FOR EACH ROW WHEN (NOT ST_IsValid(NEW.geom)) EXECUTE FUNCTION cropmrv_geom_invalid();
CREATE TRIGGER pilot_site_geom_valid BEFORE INSERT OR UPDATE OF geom ON pilot_site
    FOR EACH ROW WHEN (NOT ST_IsValid(NEW.geom)) EXECUTE FUNCTION cropmrv_geom_invalid();
