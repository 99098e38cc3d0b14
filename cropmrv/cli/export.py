"""`cropmrv export …`: files out of the platform. `layer` lives here; other areas add their own
commands to this sub-app (`inventory`, `report`) with ``app.command("name")(function)``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from cropmrv.cli.common import console, get_settings, user_errors

app = typer.Typer(help="Export layers, inventories and reports.", no_args_is_help=True)


class Format(StrEnum):
    gpkg = "gpkg"
    geojson = "geojson"
    shp = "shp"


@app.command()
def layer(
    name: str = typer.Argument(..., help="parcels, crop_zones, planning_zones, irrigation_assets, "
                               "irrigation_service_areas, pilot_sites or admin_units"),
    out: Path = typer.Option(..., "-o", "--output", help="Output file."),
    fmt: Format | None = typer.Option(None, "--format", "-f", help="Default: from the file suffix."),
    commune: str | None = typer.Option(None, "--commune", help="Only this commune (GSO code)."),
) -> None:
    """Write a layer for QGIS: attributes expanded to columns, Vietnamese text in UTF-8 (with .cpg)."""
    from cropmrv.db.engine import make_engine
    from cropmrv.ingest.export import export_layer

    s = get_settings()
    eng = make_engine(s)
    try:
        with user_errors():
            path = export_layer(eng, name, out, fmt.value if fmt else None, commune, s.province_code)
    finally:
        eng.dispose()
    console.print(f"đã ghi / written: {path}")

# Reporting commands (owned by cli/reporting.py): national inventory and annual report.
app.command("inventory")(__import__("cropmrv.cli.reporting", fromlist=["export_inventory"]).export_inventory)
app.command("report")(__import__("cropmrv.cli.reporting", fromlist=["export_report"]).export_report)
