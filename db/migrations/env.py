"""Alembic environment: online migrations only, URL from the cropmrv settings unless given."""

from alembic import context
from sqlalchemy import create_engine

from cropmrv.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url()
connectable = config.attributes.get("connection")


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if connectable is not None:
    _run(connectable)
else:
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
