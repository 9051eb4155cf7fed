"""Assertions shared by the tests."""


def error_code(response) -> str | None:
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["message"], str) and isinstance(error["details"], dict), body
    return error["code"]
