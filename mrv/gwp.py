"""GWP-100 sets (AR5 default, AR6, AR4), versioned apart from the emission factors.

Why apart: emissions are computed in kg of each gas and converted to CO2e only at the end, so the
same run can be reported under the ETF's AR5 and a carbon standard's AR6 without touching a factor
(the GWP double-counting pitfall of VM0051, DOMAIN.md §2.f).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import yaml

from cropmrv.mrv.factors import FACTOR_DIR, FactorError, sha256_of

GASES = ("CO2", "CH4", "N2O")


@dataclass(frozen=True)
class GwpSet:
    code: str
    title: str
    values: Mapping[str, float]
    source: Mapping[str, Any]
    status: str
    digest: str

    def __getitem__(self, gas: str) -> float:
        return self.values[gas]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "values": dict(self.values),
                "source": dict(self.source), "status": self.status, "digest": self.digest}


@lru_cache
def _sets() -> dict[str, dict[str, Any]]:
    with (FACTOR_DIR / "gwp.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["sets"]


def gwp_codes() -> list[str]:
    return sorted(_sets())


@lru_cache
def load_gwp(code: str = "ar5") -> GwpSet:
    """The GWP set ``code`` (``ar5``, ``ar6`` or ``ar4``)."""
    sets = _sets()
    key = code.lower()
    if key not in sets:
        raise FactorError(
            f"Không có bộ GWP '{code}' / unknown GWP set '{code}' (known: {', '.join(sorted(sets))})"
        )
    raw = sets[key]
    values = {g: float(raw["values"][g]) for g in GASES}
    body = {"code": key, "values": values, "source": raw["source"]}
    return GwpSet(
        code=key,
        title=raw["title"],
        values=MappingProxyType(values),
        source=MappingProxyType(dict(raw["source"])),
        status=raw["status"],
        digest=sha256_of(body),
    )
