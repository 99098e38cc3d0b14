"""Versioned emission-factor sets, loaded from the YAML register in ``mrv/factors/``.

Why data and not code: every number that turns activity into emissions must be traceable to a
published table, reviewable by someone who does not read Python, and frozen once a run has used it
(a change is a new version, never an edit). A :class:`FactorSet` is therefore immutable, carries the
source of each value, and has a ``digest`` over its canonical content so that a run can prove which
numbers it used. ``to_rows()`` gives the flat shape the database stores (one row per factor).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

FACTOR_DIR = Path(__file__).resolve().parent / "factors"
STATUSES = ("verified", "unverified")
EVIDENCE = ("P", "S", "D", "U")
_ALIAS_COPY = ("value", "unit", "low", "high", "source", "tier")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~20x faster, same result


class FactorError(ValueError):
    """A factor file is malformed or a key is missing (message in Vietnamese and English)."""


def _freeze(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list | tuple):
        return tuple(_freeze(v) for v in obj)
    return obj


def _thaw(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_thaw(v) for v in obj]
    return obj


def canonical_json(obj: Any) -> str:
    """The one serialisation used for digests: sorted keys, no whitespace, UTF-8 text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_of(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Factor:
    """One register entry. ``low``/``high`` bound the 95 % range where the source gives one."""

    key: str
    value: float
    unit: str
    low: float | None
    high: float | None
    source: Mapping[str, Any]
    status: str
    evidence: str
    applicability: Mapping[str, Any]
    origin: str
    tier: int = 1
    proxy: bool = False
    note: str | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    def to_row(self) -> dict[str, Any]:
        """Flat dict for a database row; ``source`` and ``applicability`` stay JSON objects."""
        return {
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "source": _thaw(self.source),
            "status": self.status,
            "evidence": self.evidence,
            "applicability": _thaw(self.applicability),
            "origin": self.origin,
            "tier": self.tier,
            "proxy": self.proxy,
            "note": self.note,
        }


@dataclass(frozen=True)
class FactorSet:
    """An immutable, digest-identified set of factors (``code`` + ``version``)."""

    code: str
    version: int
    title: str
    gwp: str
    inherits: tuple[str, int] | None
    options: Mapping[str, Any]
    documents: Mapping[str, str]
    factors: Mapping[str, Factor]
    digest: str = field(default="")

    def __getitem__(self, key: str) -> Factor:
        try:
            return self.factors[key]
        except KeyError:
            raise FactorError(
                f"Bộ hệ số {self.code}@{self.version} không có hệ số '{key}' / "
                f"factor set {self.code}@{self.version} has no factor '{key}'"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.factors

    def value(self, key: str) -> float:
        return self[key].value

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def unverified(self, keys: Iterable[str]) -> list[str]:
        """The subset of ``keys`` whose status is not verified, sorted."""
        return sorted({k for k in keys if not self[k].verified})

    def proxies(self, keys: Iterable[str]) -> list[str]:
        return sorted({k for k in keys if self[k].proxy})

    def usage(self) -> FactorUsage:
        """A fresh recorder of the keys a calculation reads (the set itself stays immutable)."""
        return FactorUsage(self)

    @property
    def ref(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "digest": self.digest}

    def canonical(self) -> dict[str, Any]:
        """Everything that defines the numbers, as plain JSON-able data (the digest input)."""
        return {
            "code": self.code,
            "version": self.version,
            "title": self.title,
            "gwp": self.gwp,
            "inherits": list(self.inherits) if self.inherits else None,
            "options": _thaw(self.options),
            "documents": _thaw(self.documents),
            "factors": [self.factors[k].to_row() for k in sorted(self.factors)],
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per factor with ``set_code``/``set_version`` for the database."""
        return [
            {"set_code": self.code, "set_version": self.version, **self.factors[k].to_row()}
            for k in sorted(self.factors)
        ]


class FactorUsage:
    """Records which factor keys a calculation actually used, to report unverified ones."""

    def __init__(self, factors: FactorSet):
        self.factors = factors
        self.keys: set[str] = set()

    def use(self, *keys: str) -> None:
        for k in keys:
            self.factors[k]  # raises a clear error on a missing key
            self.keys.add(k)

    @property
    def keys_used(self) -> list[str]:
        return sorted(self.keys)

    @property
    def unverified_keys_used(self) -> list[str]:
        return self.factors.unverified(self.keys)

    @property
    def proxy_keys_used(self) -> list[str]:
        return self.factors.proxies(self.keys)


# ------------------------------------------------------------------------------------------ loading
def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_LOADER)
    if not isinstance(doc, dict) or "code" not in doc or "version" not in doc:
        raise FactorError(f"{path.name}: thiếu 'code'/'version' / missing 'code'/'version'")
    return doc


@lru_cache
def _index() -> dict[tuple[str, int], Path]:
    out: dict[tuple[str, int], Path] = {}
    for path in sorted(FACTOR_DIR.glob("*.yaml")):
        if path.name == "gwp.yaml":
            continue
        doc = _read(path)
        out[(str(doc["code"]), int(doc["version"]))] = path
    return out


def list_factor_sets() -> list[dict[str, Any]]:
    """Every registered set as ``{code, version, title, inherits}``."""
    rows = []
    for (code, version), path in sorted(_index().items()):
        doc = _read(path)
        rows.append({"code": code, "version": version, "title": doc.get("title"), "inherits": doc.get("inherits")})
    return rows


def _check_factor(raw: Mapping[str, Any], where: str) -> None:
    key = raw.get("key")
    if not key:
        raise FactorError(f"{where}: hệ số thiếu 'key' / a factor has no 'key'")
    if raw.get("status") not in STATUSES:
        raise FactorError(f"{where}: {key}: trạng thái phải là verified|unverified / status must be verified|unverified")
    if raw.get("evidence") not in EVIDENCE:
        raise FactorError(f"{where}: {key}: evidence phải là P|S|D|U / evidence must be one of P, S, D, U")
    if "ref" in raw:
        return
    for name in ("value", "unit", "source"):
        if raw.get(name) is None:
            raise FactorError(f"{where}: {key}: thiếu '{name}' / missing '{name}'")
    v, lo, hi = raw["value"], raw.get("low"), raw.get("high")
    if (lo is not None and lo > v) or (hi is not None and hi < v):
        raise FactorError(f"{where}: {key}: giá trị ngoài khoảng / value {v} outside its range [{lo}, {hi}]")


def _build(code: str, version: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Resolve one set: its parent's factors first, then its own entries (override), then aliases."""
    try:
        path = _index()[(code, version)]
    except KeyError:
        known = ", ".join(f"{c}@{v}" for c, v in sorted(_index()))
        raise FactorError(
            f"Không có bộ hệ số {code}@{version} / no factor set {code}@{version} (known: {known})"
        ) from None
    doc = _read(path)
    factors: dict[str, dict[str, Any]] = {}
    meta = {"options": {}, "documents": {}}
    parent = doc.get("inherits")
    if parent:
        pmeta, pfactors = _build(str(parent["code"]), int(parent["version"]))
        factors.update(pfactors)
        meta["options"].update(pmeta["options"])
        meta["documents"].update(pmeta["documents"])
    meta["options"].update(doc.get("options") or {})
    meta["documents"].update(doc.get("documents") or {})
    origin = f"{code}@{version}"
    own: dict[str, dict[str, Any]] = {}
    for raw in doc.get("factors") or []:
        _check_factor(raw, path.name)
        if raw["key"] in own:
            raise FactorError(f"{path.name}: khoá trùng / duplicate key {raw['key']}")
        own[raw["key"]] = dict(raw)
    for key, raw in own.items():
        if "ref" in raw:
            target = own.get(raw["ref"]) or factors.get(raw["ref"])
            if target is None or "ref" in target:
                raise FactorError(f"{path.name}: {key}: tham chiếu sai / bad ref {raw['ref']}")
            raw = {**{k: target.get(k) for k in _ALIAS_COPY}, **raw, "alias_of": raw["ref"]}
            raw.pop("ref")
        src = dict(raw["source"])
        if src.get("doc") in meta["documents"]:
            src["document"] = meta["documents"][src["doc"]]
        factors[key] = {
            "key": key,
            "value": float(raw["value"]),
            "unit": str(raw["unit"]),
            "low": None if raw.get("low") is None else float(raw["low"]),
            "high": None if raw.get("high") is None else float(raw["high"]),
            "source": src if "alias_of" not in raw else {**src, "alias_of": raw["alias_of"]},
            "status": raw["status"],
            "evidence": raw["evidence"],
            "applicability": dict(raw.get("applicability") or {}),
            "origin": origin,
            "tier": int(raw.get("tier") or 1),
            "proxy": bool(raw.get("proxy", False)),
            "note": raw.get("note"),
        }
    meta.update(
        code=code,
        version=version,
        title=str(doc.get("title", code)),
        gwp=str(doc.get("default_gwp", "ar5")),
        inherits=(str(parent["code"]), int(parent["version"])) if parent else None,
    )
    return meta, factors


@lru_cache
def load_factor_set(code: str = "ipcc2019-sea", version: int | None = None) -> FactorSet:
    """Load a factor set by code (latest version unless ``version`` is given). Cached: it is immutable."""
    if version is None:
        versions = [v for c, v in _index() if c == code]
        if not versions:
            known = ", ".join(sorted({c for c, _ in _index()}))
            raise FactorError(f"Không có bộ hệ số '{code}' / unknown factor set '{code}' (known: {known})")
        version = max(versions)
    meta, raw = _build(code, int(version))
    fs = FactorSet(
        code=meta["code"],
        version=meta["version"],
        title=meta["title"],
        gwp=meta["gwp"],
        inherits=meta["inherits"],
        options=_freeze(meta["options"]),
        documents=_freeze(meta["documents"]),
        factors=MappingProxyType({k: Factor(**{**v, "source": _freeze(v["source"]),
                                                 "applicability": _freeze(v["applicability"])})
                                  for k, v in raw.items()}),
    )
    object.__setattr__(fs, "digest", sha256_of(fs.canonical()))
    return fs
