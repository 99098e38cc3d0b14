"""The collections the API serves, described as data: table, id, properties, geometry, time.

Each collection is a SQL *source*: ``SELECT <id> AS _fid, <properties>, <geom> AS _geom FROM ...``.
Property names are the only identifiers a user can reach (CQL2, equality filters), so the source
is the whitelist. All SQL text comes from this module and ``emission_layers``; user values are
always bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from cropmrv.api.ogc import emission_layers

# JSON-schema type of each SQL type used below.
JSON_TYPES = {"text": "string", "int": "integer", "float": "number", "date": "string", "timestamptz": "string",
              "bool": "boolean"}


@dataclass(frozen=True)
class Prop:
    name: str
    sql: str
    type: str = "text"  # text | int | float | date | timestamptz | bool
    tile: bool = False  # also carried in vector tiles
    title: str | None = None


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    from_sql: str  # FROM ... [WHERE ...] with alias b
    id_sql: str
    id_type: str  # int | text
    props: tuple[Prop, ...]
    geometry_type: str = "MultiPolygon"
    geom_sql: str = "b.geom"
    time: tuple[str, str] | None = None  # SQL for the start and end instants of a feature
    version_sql: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    layer: str | None = None  # dataset.layer
    simple: bool = True  # one table: pages can be cut on the primary key alone (index-only scan)

    def source(self) -> str:
        cols = [f"{self.id_sql} AS _fid"] + [f'{p.sql} AS "{p.name}"' for p in self.props]
        if self.time:
            cols += [f"{self.time[0]} AS _t0", f"{self.time[1]} AS _t1"]
        cols.append(f"{self.geom_sql} AS _geom")
        return f"SELECT {', '.join(cols)} FROM {self.from_sql}"

    @property
    def columns(self) -> dict[str, str]:
        """Queryable name → column of the source subquery (aliased t)."""
        return {p.name: f't."{p.name}"' for p in self.props}

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def version(self, conn: Connection) -> str:
        return str(conn.execute(text(self.version_sql), dict(self.params)).scalar() or "0")


def _layer_version(layer: str, table: str) -> str:
    # A reload always makes a new dataset row (ids are never reused), and rows only enter the table
    # with a dataset, so these three numbers change whenever the served rows do.
    return (f"SELECT concat_ws(':', (SELECT max(id) FROM dataset WHERE layer = '{layer}'), "
            f"(SELECT count(*) FROM dataset WHERE layer = '{layer}' AND status = 'active'), "
            f"(SELECT max(id) FROM {table}))")


def _layer(cid: str, table: str, title: str, description: str, props: list[Prop], **kw: Any) -> Collection:
    base = [Prop("province_code", "b.province_code"), Prop("dataset_id", "b.dataset_id", "int"),
            Prop("commune_code", "b.commune_code", tile=True)]
    return Collection(id=cid, title=title, description=description, from_sql=f"{table} b", id_sql="b.id",
                      id_type="int", props=tuple(base + props), version_sql=_layer_version(cid, table),
                      layer=cid, **kw)


STATIC: dict[str, Collection] = {c.id: c for c in [
    Collection(
        id="communes", title="Xã/phường — communes",
        description="Commune-level administrative units after the 1 July 2025 reform (admin_unit level=commune).",
        from_sql="admin_unit b WHERE b.level = 'commune'", id_sql="b.code", id_type="text",
        props=(Prop("code", "b.code", tile=True), Prop("name", "b.name", tile=True), Prop("full_name", "b.full_name"),
               Prop("name_en", "b.name_en"), Prop("kind", "b.kind", tile=True), Prop("parent_code", "b.parent_code"),
               Prop("province_code", "b.province_code"), Prop("area_km2", "b.area_km2", "float"),
               Prop("population", "b.population", "int"), Prop("valid_from", "b.valid_from", "date")),
        version_sql="SELECT concat_ws(':', (SELECT max(id) FROM dataset WHERE layer = 'admin_units'), "
                    "(SELECT count(*) FROM admin_unit), (SELECT max(valid_from) FROM admin_unit))",
        layer="admin_units"),
    _layer("parcels", "parcel", "Thửa đất — cadastral parcels", "Cadastral parcels (tờ bản đồ, số thửa).",
           [Prop("map_sheet", "b.map_sheet", tile=True), Prop("parcel_no", "b.parcel_no", tile=True),
            Prop("land_use_code", "b.land_use_code", tile=True), Prop("area_m2", "b.area_m2", "float")]),
    _layer("crop_zones", "crop_zone", "Vùng trồng — crop zones",
           "Crop zones with crop, season, year and practice; time is the crop year.",
           [Prop("zone_code", "b.zone_code", tile=True), Prop("planting_code", "b.planting_code"),
            Prop("crop", "b.crop", tile=True), Prop("season", "b.season", tile=True), Prop("year", "b.year", "int", True),
            Prop("area_ha", "b.area_ha", "float", True), Prop("practice_code", "b.practice_code"),
            Prop("planted_year", "b.planted_year", "int"), Prop("irrigation_method", "b.irrigation_method", tile=True),
            Prop("water_regime", "b.water_regime")],
           time=("make_timestamptz(b.year, 1, 1, 0, 0, 0, 'UTC')",
                 "make_timestamptz(b.year, 12, 31, 23, 59, 59.999, 'UTC')")),
    _layer("planning_zones", "planning_zone", "Quy hoạch sử dụng đất — planning zones",
           "Land-use planning zones (Circular 08/2024/TT-BTNMT codes).",
           [Prop("zone_code", "b.zone_code", tile=True), Prop("plan_name", "b.plan_name"),
            Prop("plan_period", "b.plan_period"), Prop("land_use_code", "b.land_use_code", tile=True)]),
    _layer("irrigation_assets", "irrigation_asset", "Công trình thủy lợi — irrigation assets",
           "Reservoirs, canals, pump stations, drip systems (any geometry type).",
           [Prop("asset_code", "b.asset_code", tile=True), Prop("kind", "b.kind", tile=True), Prop("name", "b.name", tile=True),
            Prop("design_area_ha", "b.design_area_ha", "float"), Prop("status", "b.status")],
           geometry_type="Geometry"),
    _layer("irrigation_service_areas", "irrigation_service_area", "Vùng phục vụ tưới — irrigation service areas",
           "The area an irrigation asset serves.",
           [Prop("asset_code", "b.asset_code", tile=True)]),
    _layer("pilot_sites", "pilot_site", "Điểm thí điểm — pilot sites",
           "Extension pilot sites: baseline vs low-emission practice packages.",
           [Prop("site_code", "b.site_code", tile=True), Prop("name", "b.name", tile=True), Prop("crop", "b.crop", tile=True),
            Prop("decision_ref", "b.decision_ref"), Prop("baseline_package", "b.baseline_package"),
            Prop("project_package", "b.project_package"), Prop("start_year", "b.start_year", "int"),
            Prop("area_ha", "b.area_ha", "float")]),
    Collection(
        id="planning_reviews", title="Rà soát quy hoạch — planning reviews",
        description="Reviews of crop zones against planning zones, with the proposed adjustment geometry "
                    "(reviews without a proposed geometry have a null geometry).",
        from_sql="planning_review b", id_sql="b.id", id_type="int",
        props=(Prop("province_code", "b.province_code"), Prop("commune_code", "b.commune_code", tile=True),
               Prop("planning_zone_id", "b.planning_zone_id", "int"), Prop("crop_zone_id", "b.crop_zone_id", "int"),
               Prop("reviewer", "b.reviewer"), Prop("reviewed_at", "b.reviewed_at", "timestamptz"),
               Prop("status", "b.status", tile=True), Prop("finding", "b.finding"), Prop("decision", "b.decision"),
               Prop("updated_at", "b.updated_at", "timestamptz")),
        geom_sql="b.proposed_geom", time=("b.reviewed_at", "b.reviewed_at"),
        version_sql="SELECT concat_ws(':', (SELECT max(updated_at) FROM planning_review), "
                    "(SELECT count(*) FROM planning_review))"),
]}

_EMISSION_ID = re.compile(r"^emissions_(communes|crop_zones)_(\d{4})$")


def emission_collection(kind: str, year: int, province: str) -> Collection:
    src = emission_layers.COMMUNES if kind == "communes" else emission_layers.CROP_ZONES
    props = tuple(Prop(name, sql, typ, tile) for name, sql, typ, tile in src["props"])
    return Collection(
        id=f"emissions_{kind}_{year}", title=src["title"].format(year=year),
        description=src["description"].format(year=year), from_sql=src["from"], id_sql=src["id"],
        id_type=src["id_type"], props=props, version_sql=emission_layers.VERSION,
        params={"year": year, "province": province}, simple=False)


def emission_years(conn: Connection, province: str) -> list[int]:
    return [r[0] for r in conn.execute(text(emission_layers.YEARS), {"province": province})]


def all_collections(conn: Connection, province: str) -> list[Collection]:
    out = list(STATIC.values())
    for y in emission_years(conn, province):
        out += [emission_collection("communes", y, province), emission_collection("crop_zones", y, province)]
    return out


def get_collection(conn: Connection, cid: str, province: str) -> Collection | None:
    if cid in STATIC:
        return STATIC[cid]
    m = _EMISSION_ID.match(cid)
    if m and int(m.group(2)) in emission_years(conn, province):
        return emission_collection(m.group(1), int(m.group(2)), province)
    return None
