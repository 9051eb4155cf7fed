"""The ceiling: a bare Flask app served with the API's own gunicorn settings
(`gunicorn bench.ceiling:app` reads the same gunicorn.conf.py): what this machine serves
before the ATS does any work of its own.

    GET /ping    a constant JSON object: the bare ceiling every scenario is compared with
    GET /query   one small indexed SELECT on DATABASE_URL (psycopg2, no ORM), as JSON: what a
                 single PostgreSQL round trip per request leaves of the ceiling
"""
import os
import threading

import psycopg2.pool
from flask import Flask, jsonify

app = Flask(__name__)
_pool = None
_pool_lock = threading.Lock()


def _connections():
    """One pool per worker process, made after the fork (preload_app would share it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
            _pool = psycopg2.pool.ThreadedConnectionPool(1, 8, url)
    return _pool


@app.get("/ping")
def ping():
    return jsonify(status="ok")


@app.get("/query")
def query():
    pool = _connections()
    connection = pool.getconn()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, stage FROM applications ORDER BY id DESC LIMIT 20")
            rows = cursor.fetchall()
        connection.rollback()
    finally:
        pool.putconn(connection)
    return jsonify(items=[{"id": row[0], "stage": row[1]} for row in rows])
