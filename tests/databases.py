"""Throwaway PostgreSQL databases, for the suite and the benchmarks."""
import uuid

import sqlalchemy as sa

from ats.config import database_url


def throwaway_postgres_database(server_url: str, prefix: str = "ats_test"):
    """Create an empty database on the server; yield its URL (spelt as server_url); drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
