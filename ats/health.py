"""GET /api/health: is the service usable?"""
import marshmallow as ma
import redis
from flask import current_app
from marshmallow import fields
from sqlalchemy import text

from ats.common.api import Blueprint
from ats.extensions import db
from ats.notifications.queue import redis_connection

blp = Blueprint("health", __name__, url_prefix="/api", description="Service status")


class HealthOut(ma.Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "down"]})
    database = fields.String(required=True, metadata={"enum": ["ok", "down"]})
    queue = fields.String(required=True, metadata={"enum": ["ok", "inline", "down"]})


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception:
        db.session.rollback()
        current_app.logger.warning("health: database unreachable", exc_info=True)
        return "down"


def _queue() -> str:
    connection = redis_connection()
    if connection is None:
        return "inline"
    try:
        connection.ping()
        return "ok"
    except redis.RedisError:
        return "down"


@blp.get("/health", operation_id="getHealth")
@blp.response(200, HealthOut)
@blp.alt_response(503, schema=HealthOut, description="The database is unreachable")
def health():
    """Database and queue status; 503 when the database is unreachable."""
    database = _database()
    status = "ok" if database == "ok" else "down"
    return {"status": status, "database": database, "queue": _queue()}, (200 if status == "ok" else 503)
