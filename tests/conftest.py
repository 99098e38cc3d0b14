"""Test fixtures: a real PostgreSQL + PostGIS cluster started by the suite itself.

The cluster is created through ``cropmrv.db.manage.up`` — the same code path as ``cropmrv db up``
— in a throwaway folder, with fsync off. Layout:

* ``cropmrv_template``: migrated to head with the real Đắk Lắk communes loaded; never connected to
  after set-up, so it can be cloned;
* ``cropmrv_test``: a clone used by the ``conn`` fixture, each test inside a transaction that is
  rolled back;
* ``fresh_db``: a new clone per test, for tests that must commit (atomic loads, API servers, CLI).

Nothing here skips: if the cluster cannot start, every database test errors.
"""

from __future__ import annotations

import itertools
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine

from cropmrv.db import cluster, manage
from cropmrv.db.engine import libpq_url, make_engine
from cropmrv.settings import Settings, get_settings

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TEMPLATE_DB = "cropmrv_template"
TEST_DB = "cropmrv_test"
_counter = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings_env(home: Path, port: int, database: str) -> dict[str, str]:
    return {"CROPMRV_HOME": str(home), "CROPMRV_PG_PORT": str(port), "CROPMRV_PG_DATABASE": database}


def apply_env(env: dict[str, str]) -> None:
    os.environ.pop("CROPMRV_DATABASE_URL", None)
    os.environ.update(env)
    get_settings.cache_clear()


def clone_database(admin_url: str, source: str, target: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(target)))
        c.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            psycopg.sql.Identifier(target), psycopg.sql.Identifier(source)))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[dict]:
    """Start a throwaway cluster, build the template database, stop it all at the end."""
    base = Path(tempfile.mkdtemp(prefix="cropmrv-test-"))
    base.chmod(0o755)  # the cluster may run as the unprivileged 'postgres' user
    port = free_port()
    env = _settings_env(base, port, TEMPLATE_DB)
    apply_env(env)
    s = Settings()
    up = manage.up(s, fast=True)
    eng = make_engine(s, poolclass=__import__("sqlalchemy").pool.NullPool)
    from cropmrv.ingest.admin import load_admin_units

    with eng.begin() as c:
        load_admin_units(c, s)
    eng.dispose()
    admin_url = libpq_url(s.sqlalchemy_url()).rsplit("/", 1)[0] + "/postgres"
    clone_database(admin_url, TEMPLATE_DB, TEST_DB)
    apply_env(_settings_env(base, port, TEST_DB))
    info = {"home": base, "port": port, "admin_url": admin_url, "up": up}
    yield info
    cluster.stop(manage.cluster_spec(s))
    import shutil

    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(pg_cluster) -> Settings:
    return Settings(**{"home": pg_cluster["home"], "pg_port": pg_cluster["port"], "pg_database": TEST_DB})


@pytest.fixture(scope="session")
def engine(settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


@pytest.fixture
def fresh_db(pg_cluster, monkeypatch) -> Iterator[Settings]:
    """A private database cloned from the template, for tests that commit. The process
    environment points at it while the test runs, so the CLI and API use it too."""
    name = f"cropmrv_t{os.getpid()}_{next(_counter)}"
    clone_database(pg_cluster["admin_url"], TEMPLATE_DB, name)
    env = _settings_env(pg_cluster["home"], pg_cluster["port"], name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("CROPMRV_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        yield Settings()
    finally:
        get_settings.cache_clear()
        drop_database(pg_cluster["admin_url"], name)


@pytest.fixture
def fresh_engine(fresh_db) -> Iterator[Engine]:
    eng = make_engine(fresh_db)
    yield eng
    eng.dispose()
