-- cropmrv schema, first cut (see ARCHITECTURE.md "Data model").
-- Conventions:
--  * geometries are EPSG:4326, valid, with a GiST index;
--  * the large tables carry province_code so they can be LIST-partitioned (or distributed with Citus)
--    when the platform serves the whole country;
--  * layer rows are never updated in place by a load: a reload moves the previous rows to the
--    layer's *_history table (same ids) and the previous dataset is marked superseded;
--  * ids of layer rows are never reused, so reviews and estimates may point at history rows;
--  * emission masses are stored as integer grams so commune and province sums are exact.

CREATE EXTENSION IF NOT EXISTS postgis;

-- EPSG:9218 (VN-2000 / TM-3 108-30, the province's official grid) is newer than PostGIS 3.3's
-- spatial_ref_sys; the API serves it (OGC crs=...EPSG/0/9218), so it is registered here.
INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) VALUES (9218, 'EPSG', 9218,
  'PROJCS["VN-2000 / TM-3 108-30",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],TOWGS84[-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278],AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",108.5],PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","9218"]]',
  '+proj=tmerc +lat_0=0 +lon_0=108.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs')
ON CONFLICT (srid) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Provenance of every load
CREATE TABLE dataset (
    id              bigserial PRIMARY KEY,
    layer           text NOT NULL CHECK (layer IN ('admin_units','parcels','crop_zones','activity',
                        'planning_zones','irrigation_assets','irrigation_service_areas','pilot_sites',
                        'raster','plan_targets','irrigation_service')),
    province_code   text NOT NULL,
    commune_code    text,
    source_name     text NOT NULL,
    source_path     text,
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    crs_in          text,
    crs_operation   text,
    encoding_in     text,
    feature_count   integer NOT NULL DEFAULT 0 CHECK (feature_count >= 0),
    rejected_count  integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    report          jsonb,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active','superseded')),
    supersedes      bigint REFERENCES dataset(id),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- activity data are versioned per reporting year: loading 2025 must not supersede 2024
    year            integer CHECK (year BETWEEN 1990 AND 2100),
    -- what kind of the layer this is when one layer holds several (raster: dem, slope, landcover, other)
    variant         text,
    loaded_by       text NOT NULL DEFAULT current_user,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dataset_one_active ON dataset (layer, province_code, coalesce(commune_code, ''),
    coalesce(year, 0), coalesce(variant, '')) WHERE status = 'active';
CREATE INDEX dataset_sha ON dataset (sha256);

-- ---------------------------------------------------------------------------------------------
-- Administrative units after the 1 July 2025 reform, and the lineage of the pre-reform units
CREATE TABLE admin_unit (
    code            text PRIMARY KEY CHECK (code ~ '^[0-9]{2,5}$'),
    name            text NOT NULL,
    full_name       text,
    name_en         text,
    level           text NOT NULL CHECK (level IN ('province','commune')),
    kind            text NOT NULL CHECK (kind IN ('tinh','thanh_pho','xa','phuong','dac_khu')),
    parent_code     text REFERENCES admin_unit(code),
    province_code   text NOT NULL,
    area_km2        double precision CHECK (area_km2 >= 0),
    population      integer CHECK (population >= 0),
    valid_from      date NOT NULL DEFAULT DATE '2025-07-01',
    valid_to        date,
    dataset_id      bigint REFERENCES dataset(id),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    CHECK (level = 'province' OR parent_code IS NOT NULL)
);
CREATE INDEX admin_unit_geom ON admin_unit USING gist (geom);
CREATE INDEX admin_unit_province ON admin_unit (province_code, level);

CREATE TABLE admin_unit_old (
    code            text PRIMARY KEY CHECK (code ~ '^[0-9]{5}$'),
    name            text NOT NULL,
    district_code   text,
    district_name   text,
    province_code   text NOT NULL,
    valid_to        date NOT NULL DEFAULT DATE '2025-06-30'
);

CREATE TABLE admin_lineage (
    old_code        text NOT NULL REFERENCES admin_unit_old(code),
    new_code        text NOT NULL REFERENCES admin_unit(code),
    kind            text NOT NULL CHECK (kind IN ('full','partial')),
    area_share      double precision NOT NULL CHECK (area_share > 0 AND area_share <= 1),
    share_method    text NOT NULL CHECK (share_method IN ('whole','equal_split','area')),
    PRIMARY KEY (old_code, new_code)
);

-- ---------------------------------------------------------------------------------------------
-- Layers
CREATE TABLE parcel (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    commune_code    text REFERENCES admin_unit(code),
    map_sheet       text,
    parcel_no       text,
    land_use_code   text,
    area_m2         double precision CHECK (area_m2 >= 0),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX parcel_geom ON parcel USING gist (geom);
CREATE INDEX parcel_commune ON parcel (commune_code);
CREATE INDEX parcel_dataset ON parcel (dataset_id);

CREATE TABLE practice_package (
    code            text PRIMARY KEY,
    crop            text NOT NULL,
    name            text NOT NULL,
    name_vi         text,
    inputs          jsonb NOT NULL,
    source          text NOT NULL,
    illustrative    boolean NOT NULL DEFAULT false
);

CREATE TABLE crop_zone (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    commune_code    text REFERENCES admin_unit(code),
    zone_code       text,
    planting_code   text,
    crop            text NOT NULL CHECK (crop IN ('coffee','pepper','durian','rice','sugarcane','cassava',
                        'maize','cashew','rubber','tea','fruit_other','vegetables','other_annual',
                        'other_perennial')),
    season          text NOT NULL DEFAULT 'perennial' CHECK (season IN ('dong_xuan','he_thu','mua',
                        'thu_dong','annual','perennial')),
    year            integer CHECK (year BETWEEN 1990 AND 2100),
    area_ha         double precision CHECK (area_ha >= 0),
    practice_code   text,
    planted_year    integer CHECK (planted_year BETWEEN 1900 AND 2100),
    irrigation_method text CHECK (irrigation_method IN ('none','rainfed','flood','furrow','sprinkler',
                        'drip','awd','continuous_flooding','other')),
    water_regime    text,
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX crop_zone_geom ON crop_zone USING gist (geom);
CREATE INDEX crop_zone_commune ON crop_zone (commune_code, crop);
CREATE INDEX crop_zone_code ON crop_zone (zone_code);

-- Activity data: per crop zone (zone_code) or per commune without geometry.
CREATE TABLE activity (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    commune_code    text NOT NULL REFERENCES admin_unit(code),
    -- data keyed to a pre-2025 unit: its old code (commune_code then holds the new commune with the
    -- largest lineage share); estimates carry it to the new communes by admin_lineage.area_share.
    old_commune_code text REFERENCES admin_unit_old(code),
    zone_code       text,
    year            integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    season          text,
    crop            text,
    item            text NOT NULL,   -- vocabulary: cropmrv.mrv.items.ITEMS
    amount          double precision CHECK (amount >= 0),
    value_text      text,
    unit            text,
    source          text,
    CHECK (amount IS NOT NULL OR value_text IS NOT NULL)
);
CREATE INDEX activity_key ON activity (year, commune_code, zone_code);

CREATE TABLE planning_zone (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    commune_code    text REFERENCES admin_unit(code),
    zone_code       text,
    plan_name       text,
    plan_period     text,
    land_use_code   text NOT NULL,
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX planning_zone_geom ON planning_zone USING gist (geom);
CREATE INDEX planning_zone_commune ON planning_zone (commune_code);

CREATE TABLE planning_review (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    commune_code    text NOT NULL REFERENCES admin_unit(code),
    planning_zone_id bigint,
    crop_zone_id    bigint,
    reviewer        text NOT NULL,
    reviewed_at     timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL CHECK (status IN ('open','conforming','conflict','adjustment_proposed',
                        'resolved')),
    finding         text,
    decision        text,
    proposed_geom   geometry(MultiPolygon, 4326) CHECK (proposed_geom IS NULL OR ST_IsValid(proposed_geom)),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX planning_review_commune ON planning_review (commune_code);

-- Derived, not loaded: the planning-review overlay (crop zone × planning zone pairs whose planned use
-- does not allow the crop, with the overlap), computed by cropmrv.maps.planning once per data version
-- of the province's crop-zone and planning layers (`version`), so no page pays the intersections.
CREATE TABLE planning_conflict_state (
    province_code   text PRIMARY KEY,
    version         text NOT NULL,
    pairs           integer NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE planning_conflict (
    province_code   text NOT NULL,
    crop_zone_id    bigint NOT NULL,
    planning_zone_id bigint NOT NULL,
    commune_code    text NOT NULL,
    land_use_code   text NOT NULL,
    reason          text NOT NULL,
    share           double precision NOT NULL,
    overlap_ha      double precision NOT NULL,
    PRIMARY KEY (province_code, crop_zone_id, planning_zone_id)
);

CREATE TABLE irrigation_asset (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    commune_code    text REFERENCES admin_unit(code),
    asset_code      text,
    kind            text NOT NULL CHECK (kind IN ('reservoir','dam','weir','canal','pipeline',
                        'pump_station','drip_system','sprinkler_system','other')),
    name            text,
    design_area_ha  double precision CHECK (design_area_ha >= 0),
    status          text,
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(Geometry, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX irrigation_asset_geom ON irrigation_asset USING gist (geom);
CREATE INDEX irrigation_asset_code ON irrigation_asset (asset_code);

-- The area an asset serves: a polygon, and/or the crop zones it serves with a share.
CREATE TABLE irrigation_service_area (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    asset_code      text NOT NULL,
    commune_code    text REFERENCES admin_unit(code),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX irrigation_service_area_geom ON irrigation_service_area USING gist (geom);

CREATE TABLE irrigation_service (
    asset_code      text NOT NULL,
    zone_code       text NOT NULL,
    share           double precision NOT NULL DEFAULT 1 CHECK (share > 0 AND share <= 1),
    -- the load (``cropmrv ingest links``) that wrote the link; NULL for links written by hand
    dataset_id      bigint REFERENCES dataset(id),
    PRIMARY KEY (asset_code, zone_code)
);

CREATE TABLE pilot_site (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint REFERENCES dataset(id),
    site_code       text NOT NULL UNIQUE,
    name            text NOT NULL,
    crop            text NOT NULL,
    decision_ref    text,
    commune_code    text NOT NULL REFERENCES admin_unit(code),
    baseline_package text REFERENCES practice_package(code),
    project_package text REFERENCES practice_package(code),
    start_year      integer CHECK (start_year BETWEEN 1990 AND 2100),
    area_ha         double precision CHECK (area_ha >= 0),
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX pilot_site_geom ON pilot_site USING gist (geom);

CREATE TABLE raster (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    dataset_id      bigint NOT NULL REFERENCES dataset(id),
    kind            text NOT NULL CHECK (kind IN ('dem','slope','landcover','other')),
    path            text NOT NULL,
    crs             text NOT NULL,
    nodata          double precision,
    width           integer NOT NULL CHECK (width > 0),
    height          integer NOT NULL CHECK (height > 0),
    resolution      double precision NOT NULL CHECK (resolution > 0),
    footprint       geometry(Polygon, 4326) NOT NULL
);

-- History tables: superseded layer rows, same ids and columns, no constraints beyond types.
CREATE TABLE parcel_history (LIKE parcel);
CREATE TABLE crop_zone_history (LIKE crop_zone);
CREATE TABLE activity_history (LIKE activity);
CREATE TABLE planning_zone_history (LIKE planning_zone);
CREATE TABLE irrigation_asset_history (LIKE irrigation_asset);
CREATE TABLE irrigation_service_area_history (LIKE irrigation_service_area);
CREATE TABLE pilot_site_history (LIKE pilot_site);
CREATE INDEX parcel_history_dataset ON parcel_history (dataset_id);
CREATE INDEX crop_zone_history_dataset ON crop_zone_history (dataset_id);

-- ---------------------------------------------------------------------------------------------
-- Emission factors and runs
CREATE TABLE gwp_set (
    code            text PRIMARY KEY,
    co2             double precision NOT NULL CHECK (co2 > 0),
    ch4             double precision NOT NULL CHECK (ch4 > 0),
    n2o             double precision NOT NULL CHECK (n2o > 0),
    source          text NOT NULL
);

CREATE TABLE factor_set (
    code            text NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    digest          text NOT NULL,
    description     text,
    source          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    locked          boolean NOT NULL DEFAULT false,
    definition      jsonb,                         -- the canonical set; sha256 of it is the digest
    PRIMARY KEY (code, version)
);

CREATE TABLE factor (
    set_code        text NOT NULL,
    set_version     integer NOT NULL,
    key             text NOT NULL,
    value           double precision NOT NULL,
    unit            text NOT NULL,
    low             double precision,
    high            double precision,
    source          jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('verified','unverified','proxy')),
    applicability   jsonb NOT NULL DEFAULT '{}'::jsonb,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,   -- evidence tag, tier, proxy, origin, note
    PRIMARY KEY (set_code, set_version, key),
    FOREIGN KEY (set_code, set_version) REFERENCES factor_set(code, version)
);

-- A factor set used by a run is locked: its factors can no longer change (a change is a new version).
CREATE FUNCTION cropmrv_factor_locked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s text := CASE WHEN TG_OP = 'INSERT' THEN NEW.set_code ELSE OLD.set_code END;
    v integer := CASE WHEN TG_OP = 'INSERT' THEN NEW.set_version ELSE OLD.set_version END;
BEGIN
    IF EXISTS (SELECT 1 FROM factor_set f WHERE f.code = s AND f.version = v AND f.locked) THEN
        RAISE EXCEPTION 'factor set %/% is used by an estimate run and cannot be changed; make a new version',
            s, v USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER factor_locked BEFORE INSERT OR UPDATE OR DELETE ON factor
    FOR EACH ROW EXECUTE FUNCTION cropmrv_factor_locked();

-- A locked set row keeps its identity and digest, and stays locked.
CREATE FUNCTION cropmrv_factor_set_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.locked AND (TG_OP = 'DELETE' OR NOT NEW.locked OR NEW.code <> OLD.code
                       OR NEW.version <> OLD.version OR NEW.digest <> OLD.digest
                       OR NEW.definition IS DISTINCT FROM OLD.definition) THEN
        RAISE EXCEPTION 'factor set %/% is used by an estimate run and cannot be changed; make a new version',
            OLD.code, OLD.version USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER factor_set_locked BEFORE UPDATE OR DELETE ON factor_set
    FOR EACH ROW EXECUTE FUNCTION cropmrv_factor_set_locked();

CREATE TABLE estimate_run (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    year            integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    scenario        text NOT NULL CHECK (scenario IN ('baseline','project')),
    factor_set_code text NOT NULL,
    factor_set_version integer NOT NULL,
    gwp_set         text NOT NULL REFERENCES gwp_set(code),
    code_version    text NOT NULL,
    inputs_digest   text NOT NULL,
    run_digest      text NOT NULL,
    record_count    integer NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    unverified_factors text[] NOT NULL DEFAULT '{}',
    warnings        jsonb NOT NULL DEFAULT '[]'::jsonb,
    params          jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    FOREIGN KEY (factor_set_code, factor_set_version) REFERENCES factor_set(code, version)
);
CREATE INDEX estimate_run_year ON estimate_run (year, scenario);

CREATE TABLE estimate (
    run_id          bigint NOT NULL REFERENCES estimate_run(id) ON DELETE CASCADE,
    province_code   text NOT NULL,
    record_id       text NOT NULL,
    crop_zone_id    bigint,
    commune_code    text NOT NULL,
    crop            text,
    category        text NOT NULL,
    gas             text NOT NULL CHECK (gas IN ('CO2','CH4','N2O')),
    mass_g          bigint NOT NULL,
    co2e_g          bigint NOT NULL,
    area_ha         double precision,
    tier            text NOT NULL,
    flags           text[] NOT NULL DEFAULT '{}'
) PARTITION BY LIST (run_id);
-- One partition per run (estimate_r<id>), written by cropmrv.mrv.runs: COPY FREEZE into a fresh table,
-- rows sorted by commune, then attached. No per-row index or foreign-key work while a million-record
-- run is written; the foreign key is validated once, in bulk, when the partition is attached, and a
-- run's rows are found by partition pruning. Rows written any other way land in the default partition.
CREATE TABLE estimate_default PARTITION OF estimate DEFAULT;
CREATE INDEX estimate_commune ON estimate USING brin (commune_code);

CREATE TABLE estimate_uncertainty (
    run_id          bigint NOT NULL REFERENCES estimate_run(id) ON DELETE CASCADE,
    scope           text NOT NULL,                 -- 'total', a category, or 'commune:<code>'
    gas             text NOT NULL DEFAULT 'CO2e',
    approach        integer NOT NULL CHECK (approach IN (1, 2)),
    mean_kg         double precision NOT NULL,
    low95_kg        double precision NOT NULL,
    high95_kg       double precision NOT NULL,
    PRIMARY KEY (run_id, scope, gas, approach)
);

-- A finished run and its results are immutable (a new run is made instead).
CREATE FUNCTION cropmrv_run_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'estimate_run' THEN
        IF OLD.finished_at IS NULL THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% rows of a finished estimate run are immutable; make a new run', TG_TABLE_NAME
        USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER estimate_run_immutable BEFORE UPDATE ON estimate_run
    FOR EACH ROW EXECUTE FUNCTION cropmrv_run_immutable();
CREATE TRIGGER estimate_immutable BEFORE UPDATE ON estimate
    FOR EACH ROW EXECUTE FUNCTION cropmrv_run_immutable();
CREATE TRIGGER estimate_uncertainty_immutable BEFORE UPDATE ON estimate_uncertainty
    FOR EACH ROW EXECUTE FUNCTION cropmrv_run_immutable();

-- ---------------------------------------------------------------------------------------------
-- Reporting
CREATE TABLE submission (
    commune_code    text NOT NULL REFERENCES admin_unit(code),
    year            integer NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','submitted','returned',
                        'approved')),
    comment         text,
    run_id          bigint REFERENCES estimate_run(id),
    updated_by      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    submitted_at    timestamptz,
    approved_at     timestamptz,
    PRIMARY KEY (commune_code, year)
);

-- Approved data are locked until the province reopens them (issue 6 §1), for every writer: the
-- loaders, the API and raw SQL. Statement-level with transition tables, so a 200k-row COPY pays one
-- set-based check, not one per row; ENABLE ALWAYS so it also fires under session_replication_role
-- = replica (the loaders' fast foreign-key path). A crop zone without a year counts in every year
-- from its planting year on (as the estimate reads it), so it is locked by any such approved year.
CREATE FUNCTION cropmrv_submission_locked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hit record;
BEGIN
    IF TG_TABLE_NAME = 'activity' THEN
        SELECT s.commune_code, s.year INTO hit FROM submission s
        WHERE s.status = 'approved'
          AND EXISTS (SELECT 1 FROM changed c WHERE c.commune_code = s.commune_code AND c.year = s.year)
        ORDER BY s.commune_code, s.year LIMIT 1;
    ELSE
        SELECT s.commune_code, s.year INTO hit FROM submission s
        WHERE s.status = 'approved'
          AND EXISTS (SELECT 1 FROM changed c WHERE c.commune_code = s.commune_code
                      AND (c.year = s.year OR (c.year IS NULL AND coalesce(c.planted_year, 0) <= s.year)))
        ORDER BY s.commune_code, s.year LIMIT 1;
    END IF;
    IF hit IS NOT NULL THEN
        RAISE EXCEPTION 'dữ liệu xã % năm % đã được phê duyệt và bị khoá đến khi tỉnh mở lại (%) / the % data of '
            'commune % are approved and locked until the province reopens them (%)',
            hit.commune_code, hit.year, TG_TABLE_NAME, hit.year, hit.commune_code, TG_TABLE_NAME
            USING ERRCODE = 'check_violation', CONSTRAINT = 'submission_approved_lock',
                  HINT = 'cropmrv submission reopen ' || hit.commune_code || ' --year ' || hit.year;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER activity_lock_insert AFTER INSERT ON activity REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER activity_lock_delete AFTER DELETE ON activity REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER activity_lock_update AFTER UPDATE ON activity REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER activity_lock_update_new AFTER UPDATE ON activity REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER crop_zone_lock_insert AFTER INSERT ON crop_zone REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER crop_zone_lock_delete AFTER DELETE ON crop_zone REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER crop_zone_lock_update AFTER UPDATE ON crop_zone REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
CREATE TRIGGER crop_zone_lock_update_new AFTER UPDATE ON crop_zone REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION cropmrv_submission_locked();
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_lock_insert;
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_lock_delete;
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_lock_update;
ALTER TABLE activity ENABLE ALWAYS TRIGGER activity_lock_update_new;
ALTER TABLE crop_zone ENABLE ALWAYS TRIGGER crop_zone_lock_insert;
ALTER TABLE crop_zone ENABLE ALWAYS TRIGGER crop_zone_lock_delete;
ALTER TABLE crop_zone ENABLE ALWAYS TRIGGER crop_zone_lock_update;
ALTER TABLE crop_zone ENABLE ALWAYS TRIGGER crop_zone_lock_update_new;

CREATE TABLE submission_event (
    id              bigserial PRIMARY KEY,
    commune_code    text NOT NULL,
    year            integer NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    comment         text,
    actor           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_target (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    indicator       text NOT NULL,
    label_vi        text,
    label_en        text,
    year            integer NOT NULL,
    target_value    double precision NOT NULL,
    unit            text NOT NULL,
    source          text,
    UNIQUE (province_code, indicator, year)
);

CREATE TABLE inventory_export (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    year            integer NOT NULL,
    run_id          bigint REFERENCES estimate_run(id),
    sha256          text NOT NULL,
    payload         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text
);

CREATE FUNCTION cropmrv_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable snapshots', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER inventory_export_immutable BEFORE UPDATE OR DELETE ON inventory_export
    FOR EACH ROW EXECUTE FUNCTION cropmrv_immutable();

CREATE TABLE sync_log (
    id              bigserial PRIMARY KEY,
    province_code   text NOT NULL,
    year            integer NOT NULL,
    export_id       bigint REFERENCES inventory_export(id),
    endpoint        text NOT NULL,
    idempotency_key text NOT NULL,
    payload_sha256  text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    status          text NOT NULL CHECK (status IN ('accepted','duplicate','retry','failed','skipped')),
    http_status     integer,
    response        text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_log_key ON sync_log (idempotency_key, status);

-- ---------------------------------------------------------------------------------------------
-- Users, keys, audit
CREATE TABLE app_user (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('province_admin','commune_officer','land_reviewer',
                        'irrigation_reviewer','gis_loader','national_sync','viewer')),
    commune_code    text REFERENCES admin_unit(code),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'commune_officer' OR commune_code IS NOT NULL)
);

CREATE TABLE api_key (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    prefix          text NOT NULL,
    key_hash        text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    actor           text NOT NULL,
    action          text NOT NULL,
    table_name      text,
    row_id          text,
    detail          jsonb,
    at              timestamptz NOT NULL DEFAULT now()
);
