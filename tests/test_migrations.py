"""Migrations are the only schema path: they must build exactly what the models describe."""
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from ats.extensions import db, migrate

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")


def schema_differences(app) -> list:
    """What autogenerate would write into a new migration for app's database."""
    with app.app_context(), db.engine.connect() as connection:
        options = {"compare_type": True, "compare_server_default": True,
                   **app.extensions["migrate"].configure_args}
        return compare_metadata(MigrationContext.configure(connection, opts=options), db.metadata)


def check_constraint_names(app) -> dict:
    """Autogenerate does not compare CHECK constraints: compare their names ourselves."""
    with app.app_context():
        inspector = sa.inspect(db.engine)
        return {table: sorted(c["name"] for c in inspector.get_check_constraints(table))
                for table in db.metadata.tables}


def expected_check_constraint_names() -> dict:
    # the naming convention has already turned "role" into "ck_users_role"
    return {table.name: sorted(c.name for c in table.constraints if isinstance(c, sa.CheckConstraint))
            for table in db.metadata.sorted_tables}


def table_names(app) -> set:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


@pytest.fixture
def scratch_app(app, scratch_database):
    """A bare app bound to the scratch database: just what the migrations need."""
    scratch = Flask(__name__)
    scratch.config.update(SQLALCHEMY_DATABASE_URI=scratch_database,
                          SQLALCHEMY_ENGINE_OPTIONS=app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(scratch)
    migrate.init_app(scratch, db, render_as_batch=True)
    yield scratch
    with scratch.app_context():
        db.engine.dispose()


def test_migrated_database_matches_the_models(app):
    assert schema_differences(app) == []


def test_migrated_check_constraints_match_the_models(app):
    assert check_constraint_names(app) == expected_check_constraint_names()


def test_downgrade_to_base_and_upgrade_again(scratch_app):
    models = set(db.metadata.tables)
    with scratch_app.app_context():
        upgrade(directory=MIGRATIONS)
    assert table_names(scratch_app) == models | {"alembic_version"}

    with scratch_app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
    assert table_names(scratch_app) <= {"alembic_version"}

    with scratch_app.app_context():
        upgrade(directory=MIGRATIONS)
    assert table_names(scratch_app) == models | {"alembic_version"}
    assert schema_differences(scratch_app) == []
    assert check_constraint_names(scratch_app) == expected_check_constraint_names()
