"""Engines and connections.

One SQLAlchemy engine per process (the API creates it in its lifespan); raw psycopg connections
are reached through it for COPY. SQL is written by hand and parameterised: identifiers come only
from code, never from user strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from cropmrv.settings import Settings, get_settings


def make_engine(settings: Settings | None = None, url: str | None = None, **kw) -> Engine:
    s = settings or get_settings()
    kw.setdefault("pool_pre_ping", True)
    if "poolclass" not in kw:
        kw.setdefault("pool_size", 8)
        kw.setdefault("max_overflow", 8)
    return create_engine(url or s.sqlalchemy_url(), **kw)


@lru_cache
def default_engine() -> Engine:
    return make_engine()


def libpq_url(sa_url: str) -> str:
    """A plain libpq URL (for psycopg, psql, ogr2ogr, QGIS) from a SQLAlchemy URL."""
    u = make_url(sa_url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def psycopg_connect(sa_url: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(sa_url), autocommit=autocommit) as conn:
        yield conn


def raw_connection(sa_conn) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy ``Connection`` (for COPY)."""
    return sa_conn.connection.dbapi_connection
