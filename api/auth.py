"""Who is calling, and what they may touch.

API keys are random 32-byte secrets; only their SHA-256 is stored (``api_key.key_hash``), so a
leaked database does not leak keys, and a plain hash is enough because the secret has full entropy
(no password stretching needed). A key is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer
<key>``.

Roles decide which *kind* of write is allowed (``can``); the commune scope decides *which rows*.
The scope is not only checked here: every writing SQL statement carries ``:scope`` in its WHERE
clause (see ``cropmrv.api.routes.reviews``), so a route that forgot a check still cannot touch
another commune's rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, text

from cropmrv.api.errors import BadRequest, Forbidden, NotFound, Unauthorized, bilingual

ROLES = ("province_admin", "commune_officer", "land_reviewer", "irrigation_reviewer", "gis_loader",
         "national_sync", "viewer")

# action → roles allowed. Commune officers are additionally limited to their own commune.
PERMISSIONS: dict[str, frozenset[str]] = {
    "review": frozenset({"province_admin", "land_reviewer", "irrigation_reviewer", "commune_officer"}),
    "upload": frozenset({"province_admin", "gis_loader", "commune_officer"}),
    "run": frozenset({"province_admin"}),
    "rollup": frozenset({"province_admin"}),
    "submit": frozenset({"province_admin", "commune_officer"}),
    "approve": frozenset({"province_admin"}),
    "export": frozenset({"province_admin", "national_sync"}),
    "admin": frozenset({"province_admin"}),
}

KEY_PREFIX = "cmrv"


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    commune_code: str | None = None

    @property
    def scope(self) -> str | None:
        """The commune this principal's writes are limited to (None: the whole province)."""
        return self.commune_code if self.role == "commune_officer" else None

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]


ANONYMOUS = Principal("anonymous", "anonymous")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """A new key and its display prefix. The key is shown once and never stored."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


# --- account management (used by `cropmrv user ...` and tests) ---------------------------------------

def add_user(engine: Engine, username: str, role: str, commune_code: str | None = None) -> int:
    """Create an account. A commune officer must name the commune it works for."""
    if role not in ROLES:
        raise ValueError(bilingual(f"Vai trò không hợp lệ '{role}'", f"unknown role '{role}'")
                         + f" ({', '.join(ROLES)})")
    if role == "commune_officer" and not commune_code:
        raise ValueError(bilingual("Cán bộ xã phải gắn với một xã (--commune)",
                                   "a commune_officer must be bound to a commune (--commune)"))
    with engine.begin() as c:
        if commune_code and not c.execute(text(
                "SELECT 1 FROM admin_unit WHERE code = :c AND level = 'commune'"), {"c": commune_code}).first():
            raise ValueError(bilingual(f"Không có xã mã '{commune_code}'", f"no commune with code '{commune_code}'"))
        if c.execute(text("SELECT 1 FROM app_user WHERE username = :u"), {"u": username}).first():
            raise ValueError(bilingual(f"Người dùng '{username}' đã tồn tại", f"user '{username}' already exists"))
        uid = c.execute(text(
            "INSERT INTO app_user (username, role, commune_code) VALUES (:u, :r, :c) RETURNING id"),
            {"u": username, "r": role, "c": commune_code}).scalar_one()
        audit(c, "cli", "user.add", "app_user", uid, {"username": username, "role": role, "commune": commune_code})
    return int(uid)


def new_key(engine: Engine, username: str) -> str:
    """Issue a new API key for ``username`` and return it (the only time it is visible)."""
    key, prefix = generate_key()
    with engine.begin() as c:
        uid = c.execute(text("SELECT id FROM app_user WHERE username = :u"), {"u": username}).scalar()
        if uid is None:
            raise LookupError(bilingual(f"Không có người dùng '{username}'", f"no user '{username}'"))
        kid = c.execute(text("INSERT INTO api_key (user_id, prefix, key_hash) VALUES (:u, :p, :h) RETURNING id"),
                        {"u": uid, "p": prefix, "h": hash_key(key)}).scalar_one()
        audit(c, "cli", "key.new", "api_key", kid, {"username": username, "prefix": prefix})
    return key


def lookup(conn: Connection, key: str) -> Principal | None:
    row = conn.execute(text(
        "SELECT u.username, u.role, u.commune_code FROM api_key k JOIN app_user u ON u.id = k.user_id "
        "WHERE k.key_hash = :h AND k.revoked_at IS NULL AND u.active"), {"h": hash_key(key)}).first()
    return Principal(row.username, row.role, row.commune_code) if row else None


def audit(conn: Connection, actor: str, action: str, table: str | None, row_id: Any,
          detail: dict[str, Any] | None = None) -> None:
    """One audit row per write, in the same transaction as the write."""
    import json

    conn.execute(text("INSERT INTO audit_log (actor, action, table_name, row_id, detail) "
                      "VALUES (:a, :act, :t, :r, CAST(:d AS jsonb))"),
                 {"a": actor, "act": action, "t": table, "r": None if row_id is None else str(row_id),
                  "d": json.dumps(detail or {}, default=str, ensure_ascii=False)})


# --- FastAPI dependencies ------------------------------------------------------------------------------

def _key_from(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def _lookup_key(request: Request, key: str) -> Principal | None:
    with request.app.state.engine.connect() as c:
        return lookup(c, key)


async def principal(request: Request) -> Principal:
    """The caller; anonymous when no key is sent. A key that is sent but wrong is a 401.

    Async so that an anonymous read costs no thread hop; only a key lookup goes to a thread."""
    key = _key_from(request)
    if not key:
        return ANONYMOUS
    p = await run_in_threadpool(_lookup_key, request, key)
    if p is None:
        raise Unauthorized(bilingual("Khóa API không hợp lệ hoặc đã thu hồi", "invalid or revoked API key"))
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]


async def reader(request: Request, p: CurrentPrincipal) -> Principal:
    """Reads are public unless ``settings.public_read`` is off."""
    if p is ANONYMOUS and not request.app.state.settings.public_read:
        raise Unauthorized(bilingual("Cần khóa API để đọc dữ liệu", "an API key is required to read"))
    return p


Reader = Annotated[Principal, Depends(reader)]


def require(p: Principal, action: str, commune_code: str | None = None) -> Principal:
    """Check the role for ``action`` and, for commune officers, the commune. Raises 401/403."""
    if p is ANONYMOUS:
        raise Unauthorized(bilingual("Cần đăng nhập bằng khóa API", "an API key is required"))
    if not p.can(action):
        raise Forbidden(bilingual(f"Vai trò '{p.role}' không được phép '{action}'",
                                  f"role '{p.role}' may not '{action}'"))
    if commune_code is not None and p.scope is not None and commune_code != p.scope:
        raise Forbidden(out_of_scope(p, commune_code))
    return p


def out_of_scope(p: Principal, commune_code: str | None) -> str:
    return bilingual(f"Tài khoản của xã {p.scope} không được ghi dữ liệu xã {commune_code}",
                     f"an officer of commune {p.scope} may not write data of commune {commune_code}")


def commune_exists(conn: Connection, code: str) -> None:
    if not conn.execute(text("SELECT 1 FROM admin_unit WHERE code = :c AND level = 'commune'"), {"c": code}).first():
        raise BadRequest(bilingual(f"Không có xã mã '{code}'", f"no commune with code '{code}'"))


__all__ = ["ANONYMOUS", "NotFound", "Principal", "Reader", "CurrentPrincipal", "add_user", "audit", "new_key",
           "require", "principal", "reader"]
