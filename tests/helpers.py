"""Assertions and look-ups shared by the tests."""
import threading
from collections import Counter

from sqlalchemy import func, select

from ats.extensions import db


def count(app, table, *where) -> int:
    """Rows of table (optionally filtered), read straight from the database."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(table).where(*where))


def stage_stays(app) -> list[tuple]:
    """Every row of the reports' summary, in history order."""
    from ats.models import StageStay
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(StageStay.__table__).order_by(StageStay.history_id))]


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


def at_once(n: int, call) -> Counter:
    """Run call(i) for i in range(n), each in a thread of its own, released together by a
    barrier -> Counter of what they returned. A thread's failure fails the caller."""
    barrier = threading.Barrier(n)
    results, failures = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = call(i)
        except BaseException as exc:  # surfaced below: a thread's assert must fail the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not failures, failures
    return Counter(results)


def answer(response) -> tuple[int, str | None]:
    """A response as (status, error code or None): what a race's outcome counts."""
    return response.status_code, error_code(response)
