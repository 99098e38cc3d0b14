"""Pilot sites: baseline vs project practice, through the same calculator as everything else."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from cropmrv.api.auth import Reader
from cropmrv.api.errors import BadRequest, NotFound, bilingual, error_responses

router = APIRouter(tags=["pilot sites"])


class PilotSite(BaseModel):
    site_code: str
    name: str
    crop: str
    commune_code: str
    decision_ref: str | None
    baseline_package: str | None
    project_package: str | None
    start_year: int | None
    area_ha: float | None


class Comparison(BaseModel):
    model_config = ConfigDict(extra="allow")
    site: PilotSite
    year: int
    baseline_package: str
    project_package: str
    reduction_t_co2e: float
    reduction_pct: float | None
    rows: list[dict[str, Any]]


_SELECT = ("SELECT site_code, name, crop, commune_code, decision_ref, baseline_package, project_package, start_year, "
           "area_ha FROM pilot_site")


@router.get("/pilot-sites", response_model=list[PilotSite], responses=error_responses(400, 401),
            summary="List pilot sites")
def list_sites(request: Request, _: Reader) -> list[PilotSite]:
    with request.app.state.engine.connect() as c:
        return [PilotSite(**r._mapping) for r in c.execute(text(_SELECT + " ORDER BY site_code"))]


def _clean(v: Any) -> Any:
    import math

    return None if isinstance(v, float) and not math.isfinite(v) else v


@router.get("/pilot-sites/{site_code}/comparison", response_model=Comparison, responses=error_responses(400, 401, 404),
            summary="Baseline vs project emissions of a pilot site (t CO2e by category)")
async def comparison(
    request: Request, site_code: Annotated[str, Path(max_length=64)], _: Reader,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    baseline_package: Annotated[str | None, Query(max_length=100)] = None,
    project_package: Annotated[str | None, Query(max_length=100)] = None,
    factor_set: Annotated[str | None, Query(max_length=100)] = None,
    gwp: Annotated[str | None, Query(max_length=20)] = None,
) -> Comparison:
    from cropmrv.mrv.scenarios import package_scenario

    s = request.app.state.settings
    with request.app.state.engine.connect() as c:
        r = c.execute(text(_SELECT + " WHERE site_code = :s"), {"s": site_code}).first()
    if r is None:
        raise NotFound(bilingual(f"Không có điểm thí điểm '{site_code}'", f"no pilot site '{site_code}'"))
    site = PilotSite(**r._mapping)
    bp, pp = baseline_package or site.baseline_package, project_package or site.project_package
    if not bp or not pp:
        raise BadRequest(bilingual("Điểm thí điểm chưa có gói thực hành nền và dự án",
                                   "the pilot site has no baseline and project packages")
                         + " (baseline_package, project_package)")
    if not site.area_ha:
        raise BadRequest(bilingual("Điểm thí điểm chưa có diện tích", "the pilot site has no area_ha"))
    y = year or site.start_year or 2025
    place = {"id": site.site_code, "commune_code": site.commune_code, "crop": site.crop, "year": y,
             "area_ha": site.area_ha}
    df = await run_in_threadpool(package_scenario, place, bp, pp, factor_set or s.default_factor_set,
                                 gwp or s.default_gwp)
    rows = [{k: _clean(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]
    return Comparison(site=site, year=y, baseline_package=bp, project_package=pp,
                      reduction_t_co2e=float(df.attrs["reduction_t_co2e"]), reduction_pct=df.attrs.get("reduction_pct"),
                      rows=rows, **{k: v for k, v in df.attrs.items() if k in
                                    ("not_comparable", "unverified_factors_used", "gwp", "factor_set", "illustrative")})
