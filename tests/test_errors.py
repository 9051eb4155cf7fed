"""The error contract, and hostile input: every answer has the error shape, nothing is a 500,
and a rejected request changes nothing."""
import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ats.extensions import db
from ats.models import Application, ApplicationHistory, Company, Job, User
from tests.conftest import PASSWORD
from tests.helpers import assert_invalid, count, error_code

SQL_INJECTION = "'; DROP TABLE users; --"
EMOJI = "Zoë 🚀👩🏽‍💻 ✓"


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    assert error_code(response) == code


def snapshot(app):
    """Every row of every table: a rejected request must leave this unchanged."""
    with app.app_context():
        return {table.name: db.session.execute(
                    table.select().order_by(*table.primary_key.columns)).all()
                for table in db.metadata.sorted_tables}


@pytest.fixture
def world(make_user, make_job, make_application, recruiter, candidate):
    """A job the candidate has not applied to yet, and someone else's application to move."""
    job = make_job(recruiter)
    other = make_application(make_user("candidate"), job["id"])
    return {"job": job["id"], "application": other["id"]}


@pytest.fixture
def send(client, recruiter, candidate, world):
    """send(field, value): one request that carries value in field, everything else valid."""
    def do(field, value):
        if field in ("name", "email", "password", "company_name"):
            body = {"name": "Ann", "email": "ann@example.com", "password": PASSWORD,
                    "role": "recruiter", "company_name": "Ann & Co", field: value}
            return client.post("/api/auth/register", json=body)
        if field in ("title", "description", "location", "status", "hiring_manager_ids"):
            body = {"title": "Engineer", "description": "Builds things.", field: value}
            return client.post("/api/jobs", json=body, headers=recruiter.headers)
        if field == "cover_letter":
            return client.post(f"/api/jobs/{world['job']}/applications", json={field: value},
                               headers=candidate.headers)
        if field in ("stage", "note"):
            body = {"stage": "screening", field: value}
            return client.patch(f"/api/applications/{world['application']}/stage", json=body,
                                headers=recruiter.headers)
        raise AssertionError(field)
    return do


TEXT_FIELDS = ["name", "email", "password", "company_name", "title", "description", "location",
               "cover_letter", "stage", "note"]


# --- bodies that are not a JSON object ----------------------------------------------------------

@pytest.mark.parametrize("body", ['{"name": ', "{'name': 'x'}", "nul\x00", '{"a": 1,}', "[" * 100_000,
                                  '{"a":' * 50_000 + "1" + "}" * 50_000, b'{"name": "\xff"}'])
def test_bad_json_is_400(client, app, body):
    before = snapshot(app)
    response = client.post("/api/auth/register", data=body, content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("body", [[], [{"name": "x"}], "a string", 42, 4.2, True, None])
def test_json_that_is_not_an_object_is_400(client, app, recruiter, body):
    before = snapshot(app)
    for response in (client.post("/api/auth/register", data=json.dumps(body), content_type="application/json"),
                     client.post("/api/jobs", data=json.dumps(body), content_type="application/json",
                                 headers=recruiter.headers)):
        assert_error(response, 400, "bad_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("kwargs", [{}, {"data": {"name": "x"}},
                                    {"data": '{"name": "x"}', "content_type": "text/plain"}])
def test_a_body_that_is_not_json_is_400(client, app, kwargs):
    before = snapshot(app)
    assert_error(client.post("/api/auth/register", **kwargs), 400, "bad_request")
    assert snapshot(app) == before


def test_bad_json_changes_no_stage(client, app, recruiter, world):
    before = snapshot(app)
    response = client.patch(f"/api/applications/{world['application']}/stage", data='{"stage": "screening"',
                            content_type="application/json", headers=recruiter.headers)
    assert_error(response, 400, "bad_request")
    assert snapshot(app) == before


# --- routes, methods, ids -----------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/nope"), ("GET", "/nope"), ("POST", "/api/jobs/1/nothing"), ("GET", "/"),
    ("GET", "/api/jobs/1/applications/2"),
])
def test_unknown_route_is_json_404(client, admin, method, path):
    assert_error(client.open(path, method=method, headers=admin.headers), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/auth/me", "GET"),
    ("GET", "/api/auth/login", "POST"),
    ("PUT", "/api/jobs/1", "PATCH"),
    ("POST", "/api/applications/1", "GET"),
])
def test_wrong_method_is_405_with_allow(client, admin, method, path, allowed):
    response = client.open(path, method=method, headers=admin.headers)
    assert_error(response, 405, "method_not_allowed")
    assert allowed in [m.strip() for m in response.headers["Allow"].split(",")]


@pytest.mark.parametrize("bad_id", ["99999999999999999999", "2147483648", "0", "-1", "00", "1.5", "1e3"])
@pytest.mark.parametrize("method, template", [
    ("GET", "/api/jobs/{}"), ("PATCH", "/api/jobs/{}"), ("DELETE", "/api/jobs/{}"),
    ("GET", "/api/jobs/{}/applications"), ("POST", "/api/jobs/{}/applications"),
    ("GET", "/api/applications/{}"), ("PATCH", "/api/applications/{}/stage"),
    ("GET", "/api/applications/{}/history"), ("GET", "/api/companies/{}"),
])
def test_impossible_ids_are_json_404(client, app, admin, world, bad_id, method, template):
    before = snapshot(app)
    response = client.open(template.format(bad_id), method=method, json={"stage": "screening"},
                           headers=admin.headers)
    assert_error(response, 404, "not_found")
    assert snapshot(app) == before


def test_largest_id_is_a_plain_404(client, admin):
    assert_error(client.get("/api/jobs/2147483647", headers=admin.headers), 404, "not_found")


# --- hostile field values -----------------------------------------------------------------------

@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_nul_bytes_are_rejected(app, send, field):
    before = snapshot(app)
    assert_invalid(send(field, "abc\x00def"), field)
    assert snapshot(app) == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_lone_surrogates_are_rejected(app, send, field):
    before = snapshot(app)
    assert_invalid(send(field, "abc\ud800def"), field)
    assert snapshot(app) == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_100_kb_strings_are_rejected(app, send, field):
    before = snapshot(app)
    assert_invalid(send(field, "x" * 100_000), field)
    assert snapshot(app) == before


@pytest.mark.parametrize("value", [42, 4.2, ["x"], {"x": 1}, True, None], ids=repr)
@pytest.mark.parametrize("field", TEXT_FIELDS + ["status", "hiring_manager_ids"])
def test_wrong_types_are_rejected(app, send, field, value):
    if value is None and field in ("location", "cover_letter", "note"):
        pytest.skip("null is a valid value of this optional field")
    before = snapshot(app)
    assert_invalid(send(field, value), field)
    assert snapshot(app) == before


@pytest.mark.parametrize("ids", [["1"], [True], [1.5], [None], [[1]], [{"id": 1}], [0], [2**31]],
                         ids=repr)
def test_bad_hiring_manager_ids_are_rejected_as_messages(app, send, ids):
    before = snapshot(app)
    assert_invalid(send("hiring_manager_ids", ids), "hiring_manager_ids")
    assert snapshot(app) == before


@pytest.mark.parametrize("q", ["a\x00b", "x" * 100_000])
def test_hostile_search_text_is_rejected(client, q):
    assert_invalid(client.get("/api/jobs", query_string={"q": q}), "q")


@pytest.mark.parametrize("query", ["limit=99999999999999999999999", "company_id=99999999999999999999",
                                   "company_id=-5", "limit=1e2", "cursor=" + "x" * 5000])
def test_hostile_query_values_are_rejected(client, query):
    assert_invalid(client.get(f"/api/jobs?{query}"), query.split("=")[0])


# --- emoji and SQL fragments are just text --------------------------------------------------------

def test_emoji_round_trip_through_registration(client, app):
    response = client.post("/api/auth/register", json={
        "name": EMOJI, "email": "zoe@example.com", "password": "🔑" * 8,
        "role": "recruiter", "company_name": "Café ☕ Ltd"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == EMOJI
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.name == EMOJI and user.company.name == "Café ☕ Ltd"
    login = client.post("/api/auth/login", json={"email": "zoe@example.com", "password": "🔑" * 8})
    assert login.status_code == 200


def test_emoji_round_trip_through_jobs_and_applications(client, app, recruiter, candidate, make_job):
    title = "🚀" * 200  # 200 characters: the longest title
    job = make_job(recruiter, title=title, description=EMOJI, location="🌍")
    assert client.get(f"/api/jobs/{job['id']}").get_json()["title"] == title
    assert [j["id"] for j in client.get("/api/jobs", query_string={"q": "🚀🚀"}).get_json()["items"]] == [job["id"]]
    response = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": EMOJI},
                           headers=candidate.headers)
    assert response.status_code == 201 and response.get_json()["cover_letter"] == EMOJI
    application_id = response.get_json()["id"]
    client.patch(f"/api/applications/{application_id}/stage", json={"stage": "screening", "note": "👍"},
                 headers=recruiter.headers)
    history = client.get(f"/api/applications/{application_id}/history", headers=recruiter.headers)
    assert history.get_json()["items"][-1]["note"] == "👍"
    with app.app_context():
        assert db.session.get(Job, job["id"]).title == title
        assert db.session.get(Application, application_id).cover_letter == EMOJI


def test_emoji_count_as_characters_for_length(app, send):
    before = snapshot(app)
    assert_invalid(send("title", "🚀" * 201), "title")
    assert snapshot(app) == before


def test_sql_fragments_are_stored_literally(client, app, recruiter, candidate, make_job):
    response = client.post("/api/auth/register", json={
        "name": SQL_INJECTION, "email": "bobby@example.com", "password": PASSWORD,
        "role": "recruiter", "company_name": "x'); DROP TABLE companies; --"})
    assert response.status_code == 201, response.get_json()
    job = make_job(recruiter, title="Robert'); DROP TABLE jobs;--", description=SQL_INJECTION)
    response = client.post(f"/api/jobs/{job['id']}/applications", json={"cover_letter": SQL_INJECTION},
                           headers=candidate.headers)
    assert response.status_code == 201
    for q, expected in (("' OR '1'='1", []), ("'); DROP TABLE jobs;--", [job["id"]])):
        found = client.get("/api/jobs", query_string={"q": q}).get_json()["items"]
        assert [j["id"] for j in found] == expected
    with app.app_context():  # every table is still there, and holds the text as given
        assert db.session.scalars(select(User.name).where(User.email == "bobby@example.com")).one() == SQL_INJECTION
        assert db.session.scalars(select(Company.name).where(Company.name.like("x'%"))).one() == \
            "x'); DROP TABLE companies; --"
        assert db.session.get(Job, job["id"]).description == SQL_INJECTION
        assert db.session.scalars(select(Application.cover_letter)).one() == SQL_INJECTION
        assert count(app, User) == 3 and count(app, ApplicationHistory) == 1


def test_sql_fragments_in_login_are_just_a_wrong_login(client, app, candidate):
    response = client.post("/api/auth/login", json={"email": candidate.email, "password": "' OR '1'='1"})
    assert_error(response, 401, "unauthorized")
    response = client.post("/api/auth/login", json={"email": "a'--@example.com", "password": "x"})
    assert_error(response, 401, "unauthorized")


# --- unknown fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("is_admin", True), ("role_id", 1), ("id", 5),
                                          ("created_at", "2020-01-01T00:00:00+00:00")])
def test_unknown_fields_in_registration_are_named(client, app, field, value):
    response = client.post("/api/auth/register", json={
        "name": "Ann", "email": "ann@example.com", "password": PASSWORD, field: value})
    assert assert_invalid(response, field)[field] == ["Unknown field."]
    assert count(app, User) == 0


def test_unknown_fields_elsewhere_are_named(client, app, recruiter, candidate, world):
    before = snapshot(app)
    cases = [
        (client.post("/api/jobs", json={"title": "T", "description": "D", "salary": 1},
                     headers=recruiter.headers), "salary"),
        (client.patch(f"/api/jobs/{world['job']}", json={"company": "x"}, headers=recruiter.headers), "company"),
        (client.post(f"/api/jobs/{world['job']}/applications", json={"stage": "hired"},
                     headers=candidate.headers), "stage"),
        (client.patch(f"/api/applications/{world['application']}/stage",
                      json={"stage": "screening", "candidate_id": candidate.id},
                      headers=recruiter.headers), "candidate_id"),
        (client.post("/api/auth/login", json={"email": candidate.email, "password": PASSWORD,
                                              "remember": True}), "remember"),
    ]
    for response, field in cases:
        assert assert_invalid(response, field)[field] == ["Unknown field."]
    assert snapshot(app) == before


def test_validation_details_list_every_bad_field(client):
    response = client.post("/api/auth/register", json={"name": "", "email": "nope", "password": "short"})
    assert set(assert_invalid(response, "name", "email", "password")) == {"name", "email", "password"}


# --- 500 and 413 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    OperationalError("SELECT password_hash FROM users WHERE id = 1", {}, Exception("server closed")),
    RuntimeError("Traceback (most recent call last): INSERT INTO users VALUES (1)"),
], ids=["database", "bug"])
def test_500_has_no_traceback_or_sql(client, monkeypatch, error):
    def explode(*args, **kwargs):
        raise error

    monkeypatch.setattr("ats.jobs.services.list_jobs", explode)
    response = client.get("/api/jobs")
    assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "SELECT", "INSERT", "users", "password_hash", "server closed", "File \""):
        assert leak not in text


def test_a_failed_write_is_rolled_back_before_the_500(client, app, monkeypatch, recruiter, world):
    """The stage moved in the session, then something broke: nothing of it reaches the database."""
    from ats.applications import services

    def broken_history(*args, **kwargs):
        raise RuntimeError("boom")

    before = snapshot(app)
    monkeypatch.setattr(services, "ApplicationHistory", broken_history)
    response = client.patch(f"/api/applications/{world['application']}/stage", json={"stage": "screening"},
                            headers=recruiter.headers)
    assert_error(response, 500, "internal_error")
    assert snapshot(app) == before


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 5 * 1024 * 1024])
def test_body_over_1_mb_is_413(client, app, recruiter, size):
    filler = "x" * (size - len('{"title": "", "description": "D"}'))
    body = json.dumps({"title": filler, "description": "D"})
    assert len(body) >= size
    before = snapshot(app)
    response = client.post("/api/jobs", data=body, content_type="application/json", headers=recruiter.headers)
    assert_error(response, 413, "payload_too_large")
    assert snapshot(app) == before


def test_body_just_under_1_mb_is_read(client, recruiter):
    body = json.dumps({"title": "T", "description": "x" * (1024 * 1024 - 100)})
    response = client.post("/api/jobs", data=body, content_type="application/json", headers=recruiter.headers)
    assert_invalid(response, "description")


# --- numbers and nesting that Python's JSON decoder refuses, on every route with a body -----------

HUGE = "9" * 5000  # Python refuses to turn more than 4,300 digits into an int
UNREADABLE_BODIES = {
    "5000-digit integer": '{"name": %s}' % HUGE,
    "negative 5000-digit integer": '{"name": -%s}' % HUGE,
    "5000-digit integer in a list": '{"hiring_manager_ids": [%s]}' % HUGE,
    "nested arrays": "[" * 1000 + "]" * 1000,
    "nested arrays in a field": '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "nested objects": '{"a":' * 100_000 + "1" + "}" * 100_000,
}
ODD_VALUES = {  # JSON Python reads, into values no field takes
    "inf": "1e999999", "-inf": "-1e999999", "NaN": "NaN", "Infinity": "Infinity",
    "1e308": "1e308", "4000 digits": "9" * 4000,
    "500 nested arrays": "[" * 500 + "]" * 500, "500 nested objects": '{"a":' * 500 + "1" + "}" * 500,
}


def operations_with_a_body(client):
    """(method, path with ids filled in, {field: schema}) for every operation of the spec with a body."""
    spec = client.get("/api/openapi.json").get_json()

    def resolve(schema):
        while "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            # uploads take multipart/form-data only (their hostile bodies: test_attachments.py)
            if isinstance(op, dict) and "application/json" in op.get("requestBody", {}).get("content", {}):
                schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
                yield method.upper(), re.sub(r"\{\w+\}", "1", path), schema.get("properties", {})


@pytest.fixture
def callers(admin, recruiter, candidate):
    """One of each kind of caller: a route's role check lets at least one through to its body."""
    return [{}, admin.headers, recruiter.headers, candidate.headers]


@pytest.mark.parametrize("body", UNREADABLE_BODIES.values(), ids=UNREADABLE_BODIES.keys())
def test_json_python_cannot_read_is_400_on_every_route(client, app, callers, body):
    before = snapshot(app)
    for method, path, _ in operations_with_a_body(client):
        responses = [client.open(path, method=method, data=body, content_type="application/json",
                                 headers=headers) for headers in callers]
        statuses = [response.status_code for response in responses]
        assert all(status < 500 for status in statuses), (method, path, statuses)
        assert 400 in statuses, (method, path, statuses)  # a caller the route lets in reached the body
        for response in responses:
            if response.status_code == 400:
                assert_error(response, 400, "bad_request")
    assert snapshot(app) == before


@pytest.mark.parametrize("value", ODD_VALUES.values(), ids=ODD_VALUES.keys())
def test_odd_numbers_and_deep_nesting_in_any_field_are_refused(client, app, callers, value):
    before = snapshot(app)
    for method, path, fields in operations_with_a_body(client):
        for field in fields:
            body = '{"%s": %s}' % (field, value)
            statuses = [client.open(path, method=method, data=body, content_type="application/json",
                                    headers=headers).status_code for headers in callers]
            assert all(status < 500 for status in statuses), (method, path, field, statuses)
            assert 422 in statuses, (method, path, field, statuses)
    assert snapshot(app) == before


def test_huge_numbers_in_query_strings_and_paths_are_refused(app, client, admin):
    spec = client.get("/api/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            if "{" in path:  # an id no database holds: the route does not match
                response = client.open(re.sub(r"\{\w+\}", HUGE, path), method=method.upper(),
                                       headers=admin.headers)
                assert_error(response, 404, "not_found")
            for parameter in op.get("parameters", []):
                if parameter.get("in") == "query" and parameter["schema"].get("type") == "integer":
                    response = client.open(re.sub(r"\{\w+\}", "1", path), method=method.upper(),
                                           query_string={parameter["name"]: HUGE}, headers=admin.headers)
                    assert_invalid(response, parameter["name"])


# --- unknown query parameters, on every route -----------------------------------------------------

def is_documentation(rule) -> bool:
    """The spec, Swagger UI, ReDoc and their assets: not API routes."""
    return rule.endpoint.startswith("api-docs.") or rule.endpoint.endswith("static")


def test_every_route_refuses_unknown_query_parameters(app, client, admin, candidate):
    """Routes with a query schema and routes without one alike: 422 naming the parameter, and
    nothing done (a logout with one does not end the session)."""
    tokens = client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD}).get_json()
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    callers = [admin.headers, candidate.headers, refresh]
    before = snapshot(app)
    checked = []
    for rule in app.url_map.iter_rules():
        if is_documentation(rule):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in callers:  # the first caller the route's token and role checks let in
                response = client.open(f"{path}?unknown_param=1", method=method, json={},
                                       headers=headers)
                if response.status_code not in (401, 403):
                    break
            assert_invalid(response, "unknown_param")
            checked.append(f"{method} {path}")
    assert len(checked) >= 20, checked
    assert snapshot(app) == before


def test_me_with_an_unknown_parameter_is_422_after_the_token_check(client, candidate):
    details = assert_invalid(client.get("/api/auth/me?role=admin", headers=candidate.headers), "role")
    assert details == {"role": ["Unknown field."]}
    assert_error(client.get("/api/auth/me?role=admin"), 401, "unauthorized")  # no token: 401 first
    assert client.get("/api/auth/me", headers=candidate.headers).status_code == 200


def test_the_documentation_takes_query_parameters(client):
    for path in ("/api/openapi.json?x=1", "/api/docs?x=1", "/api/redoc?x=1"):
        assert client.get(path).status_code == 200, path
