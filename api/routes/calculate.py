"""POST /api/v1/calculate: the same calculation as `cropmrv calc`, JSON in and JSON out.

Nothing is written: it is a pure function of the records, the factor set and the GWP set, so any
reader may call it. Invalid records are reported per record (bilingual), not fatal.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from cropmrv.api.auth import Reader
from cropmrv.api.errors import error_responses

router = APIRouter(tags=["MRV"])


class CalculateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    records: list[dict[str, Any]] = Field(min_length=1, max_length=200_000,
                                          description="Activity records (mrv/schemas/calc-input.schema.json)")
    factor_set: str | None = Field(default=None, min_length=1, max_length=100,
                                   description="Factor set code; the province default when omitted")
    gwp: str | None = Field(default=None, min_length=1, max_length=20, description="GWP set (ar5, ar6, ar4)")


class CalculateOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    records: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    total_co2e_kg: float


@router.post("/calculate", response_model=CalculateOut, responses=error_responses(400, 401),
             summary="Calculate emissions for activity records (same as `cropmrv calc`)")
async def calculate(request: Request, body: CalculateIn, _: Reader) -> Any:
    from cropmrv.mrv.calculate import calculate_json

    s = request.app.state.settings
    return await run_in_threadpool(calculate_json, body.records, body.factor_set or s.default_factor_set,
                                   body.gwp or s.default_gwp)
