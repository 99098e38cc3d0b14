"""CQL2 (text or JSON) → parameterised SQL over a collection's whitelisted columns.

The ``cql2`` package parses and validates both encodings into the JSON AST. Its own ``to_sql()``
inlines literals into the SQL string and quotes any property name it is given, so it is not safe
for user input; this module walks the AST instead and emits only:

* column names from the collection's whitelist (unknown properties are a 400),
* operators from the fixed tables below,
* ``:pN`` bind parameters for every literal (geometries through ``ST_GeomFromGeoJSON``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import cql2

from cropmrv.api.errors import BadRequest, bilingual
from cropmrv.api.ogc.params import Crs

COMPARE = {"=": "=", "<>": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
ARITH = {"+": "+", "-": "-", "*": "*", "/": "/"}
SPATIAL = {"s_intersects": "ST_Intersects", "s_equals": "ST_Equals", "s_disjoint": "ST_Disjoint",
           "s_touches": "ST_Touches", "s_within": "ST_Within", "s_overlaps": "ST_Overlaps",
           "s_crosses": "ST_Crosses", "s_contains": "ST_Contains"}
GEOJSON_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
                 "GeometryCollection"}


def parse(text_or_json: str, lang: str | None) -> dict[str, Any]:
    """Parse a filter in ``cql2-text`` or ``cql2-json``; the result is the validated JSON AST."""
    lang = (lang or "cql2-text").lower()
    try:
        if lang == "cql2-json":
            expr = cql2.Expr(json.loads(text_or_json))
        elif lang == "cql2-text":
            expr = cql2.parse_text(text_or_json)
        else:
            raise BadRequest(bilingual(f"filter-lang '{lang}' không được hỗ trợ", f"unsupported filter-lang '{lang}'")
                             + " (cql2-text, cql2-json)")
        expr.validate()
        ast = expr.to_json()
    except BadRequest:
        raise
    except Exception as exc:  # cql2.ParseError, ValidationError, json errors: all user input
        first = str(exc).strip().splitlines()
        raise BadRequest(bilingual("Biểu thức lọc CQL2 không hợp lệ", "invalid CQL2 filter")
                         + f": {' '.join(x.strip() for x in first[:4])[:300]}") from None
    if not isinstance(ast, dict):
        raise BadRequest(bilingual("Biểu thức lọc phải là một điều kiện", "the filter must be a boolean expression"))
    return ast


class Compiler:
    """Compile one AST. ``columns`` maps queryable names to SQL expressions (from code only)."""

    def __init__(self, columns: Mapping[str, str], geometry: str, filter_crs: Crs, prefix: str = "f"):
        self.columns = columns
        self.geometry = geometry
        self.crs = filter_crs
        self.params: dict[str, Any] = {}
        self.prefix = prefix

    def bind(self, value: Any, cast: str | None = None) -> str:
        name = f"{self.prefix}{len(self.params)}"
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        self.params[name] = value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"

    def property(self, name: Any) -> str:
        if name in ("geometry", "geom"):
            return self.geometry
        if not isinstance(name, str) or name not in self.columns:
            raise BadRequest(bilingual(f"Thuộc tính '{name}' không có trong lớp này", f"unknown property '{name}'")
                             + "; queryables: " + ", ".join(sorted(self.columns)))
        return self.columns[name]

    def geometry_literal(self, g: Mapping[str, Any]) -> str:
        if "bbox" in g:
            b = [float(x) for x in g["bbox"]]
            x1, y1, x2, y2 = (b[0], b[1], b[2], b[3]) if len(b) == 4 else (b[0], b[1], b[3], b[4])
            if self.crs.flip:
                x1, y1, x2, y2 = y1, x1, y2, x2
            env = f"ST_MakeEnvelope({self.bind(x1)}, {self.bind(y1)}, {self.bind(x2)}, {self.bind(y2)}, {self.crs.srid:d})"
            return env if self.crs.srid == 4326 else f"ST_Transform({env}, 4326)"
        geom = f"ST_SetSRID(ST_GeomFromGeoJSON({self.bind(json.dumps(dict(g)))}), {self.crs.srid:d})"
        if self.crs.flip:
            geom = f"ST_FlipCoordinates({geom})"
        return geom if self.crs.srid == 4326 else f"ST_Transform({geom}, 4326)"

    def value(self, node: Any) -> str:
        if isinstance(node, bool) or node is None:
            return {True: "TRUE", False: "FALSE", None: "NULL"}[node]
        if isinstance(node, int | float | str):
            return self.bind(node)
        if isinstance(node, list):
            return "(" + ", ".join(self.value(v) for v in node) + ")"
        if isinstance(node, Mapping):
            if "property" in node:
                return self.property(node["property"])
            if "date" in node:
                return self.bind(str(node["date"]), "date")
            if "timestamp" in node:
                return self.bind(str(node["timestamp"]), "timestamptz")
            if "bbox" in node or node.get("type") in GEOJSON_TYPES:
                return self.geometry_literal(node)
            if "op" in node:
                return self.expr(node)
        raise BadRequest(bilingual("Giá trị không được hỗ trợ trong bộ lọc", "unsupported value in filter")
                         + f": {json.dumps(node)[:120]}")

    def expr(self, node: Mapping[str, Any]) -> str:
        op = str(node.get("op", "")).lower()
        args = list(node.get("args", []))
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.expr(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.expr(args[0])})"
        if op in COMPARE:
            return f"({self.value(args[0])} {COMPARE[op]} {self.value(args[1])})"
        if op in ARITH:
            return f"({self.value(args[0])} {ARITH[op]} {self.value(args[1])})"
        if op == "like":
            return f"(CAST({self.value(args[0])} AS text) LIKE {self.value(args[1])})"
        if op == "between":
            return f"({self.value(args[0])} BETWEEN {self.value(args[1])} AND {self.value(args[2])})"
        if op == "in":
            items = args[1] if isinstance(args[1], list) else [args[1]]
            if not items:
                return "FALSE"
            return f"({self.value(args[0])} IN ({', '.join(self.value(v) for v in items)}))"
        if op == "isnull":
            return f"({self.value(args[0])} IS NULL)"
        if op == "casei":
            return f"lower(CAST({self.value(args[0])} AS text))"
        if op in SPATIAL:
            return f"{SPATIAL[op]}({self.value(args[0])}, {self.value(args[1])})"
        raise BadRequest(bilingual(f"Toán tử '{op}' không được hỗ trợ", f"unsupported operator '{op}'"))


def compile_filter(ast: Mapping[str, Any], columns: Mapping[str, str], geometry: str,
                   filter_crs: Crs) -> tuple[str, dict[str, Any]]:
    c = Compiler(columns, geometry, filter_crs)
    return c.expr(ast), c.params
