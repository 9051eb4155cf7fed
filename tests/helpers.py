"""Assertions and look-ups shared by the tests."""
from sqlalchemy import func, select

from ats.extensions import db


def count(app, table, *where) -> int:
    """Rows of table (optionally filtered), read straight from the database."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(table).where(*where))


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert error_code(response) == code


def assert_invalid(response, *fields) -> dict:
    """422 validation_error whose details name each of fields with a list of messages."""
    assert_error(response, 422, "validation_error")
    details = response.get_json()["error"]["details"]
    assert all(field in details for field in fields), details
    for messages in details.values():
        assert isinstance(messages, list) and messages, details
        assert all(isinstance(m, str) for m in messages), details
    return details


def ids(response) -> list[int]:
    """The ids of a 200 list answer's items, in order."""
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def error_code(response) -> str | None:
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["message"], str) and isinstance(error["details"], dict), body
    return error["code"]
