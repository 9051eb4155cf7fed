"""The Postman collection (postman/) stays in step with the app's OpenAPI spec.

CI runs the collection with newman against a live server (.ci/live); these tests catch a
collection that drifted from the spec without needing one: every request is an operation of
the spec, every status a test script expects is one the spec documents for it, every field it
sends to succeed is one the spec knows, and the flow walks every stage of the workflow.
"""
import json
import re
from pathlib import Path

import pytest

from ats.workflow import INITIAL, STAGES

POSTMAN = Path(__file__).resolve().parent.parent / "postman"
VARIABLE = re.compile(r"\{\{(\w+)\}\}")
ASSERTED_STATUS = re.compile(r"pm\.response\.to\.have\.status\((\d{3})\)")
METHODS = {"get", "put", "post", "delete", "patch"}


def load(name: str) -> dict:
    return json.loads((POSTMAN / name).read_text())


def requests_of(node: dict, folder: str = ""):
    """(folder/name, item) for every request, in run order."""
    for child in node.get("item", []):
        name = f"{folder}/{child['name']}"
        if "request" in child:
            yield name, child
        else:
            yield from requests_of(child, name)


def script(item: dict, listen: str) -> str:
    return "\n".join(line for event in item.get("event", []) if event["listen"] == listen
                     for line in event["script"]["exec"])


def path_and_query(item: dict) -> tuple[str, str]:
    raw = item["request"]["url"]["raw"]
    assert raw.startswith("{{baseUrl}}/api/"), raw
    path, _, query = raw.removeprefix("{{baseUrl}}").partition("?")
    return path, query


def json_body(item: dict) -> dict | None:
    body = item["request"].get("body")
    if not body or body.get("options", {}).get("raw", {}).get("language") != "json":
        return None
    # a {{variable}} standing for a number is not JSON until Postman fills it in
    return json.loads(re.sub(r"(?<!\")\{\{\w+\}\}(?!\")", "0", body["raw"]))


def form_fields(item: dict) -> set[str] | None:
    """The field names of a multipart/form-data body (files too), or None for another body."""
    body = item["request"].get("body")
    if not body or body.get("mode") != "formdata":
        return None
    return {field["key"] for field in body["formdata"]}


COLLECTION = load("ats.postman_collection.json")
ENVIRONMENT = load("ats.postman_environment.json")
REQUESTS = list(requests_of(COLLECTION))


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def operation(spec: dict, method: str, path: str) -> dict:
    """The spec's operation for a collection request; {{variables}} and literal ids fill path parameters."""
    for template, item in spec["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", r"(?:\\{\\{\\w+\\}\\}|\\d+)", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of the OpenAPI spec")


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_collection_is_postman_v2_1_and_covers_the_flow():
    assert COLLECTION["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert [folder["name"] for folder in COLLECTION["item"]] == [
        "Service", "Accounts", "Company", "Jobs", "Applications", "Pipeline", "Webhooks", "Error cases",
        "Sessions and logging out", "Privacy", "Users (an admin: set adminEmail and adminPassword)"]
    assert len(REQUESTS) >= 40
    assert len({name for name, _ in REQUESTS}) == len(REQUESTS)  # setNextRequest goes by name


@pytest.mark.parametrize("name, item", REQUESTS, ids=[name for name, _ in REQUESTS])
def test_each_request_is_a_documented_operation(spec, name, item):
    method = item["request"]["method"]
    path, query = path_and_query(item)
    op = operation(spec, method, path)

    documented_query = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    sent_query = {pair.partition("=")[0] for pair in query.split("&") if pair}
    assert sent_query <= documented_query, f"{name}: undocumented query {sent_query - documented_query}"

    statuses = [int(code) for code in ASSERTED_STATUS.findall(script(item, "test"))]
    assert len(statuses) == 1, f"{name}: its test script must assert exactly one status"
    status = statuses[0]
    documented = {int(code) for code in op["responses"] if code.isdigit()}
    # 400 (the body is not a JSON object) is the contract's answer to any call with a body,
    # documented once as the spec's "default" error rather than on every operation
    general = {400} if "requestBody" in op and "default" in op["responses"] else set()
    assert status in documented | general, f"{name}: {status} is not documented for {method} {path}"

    body = json_body(item) if status < 400 else None  # refusals send bad bodies on purpose
    if body is not None:
        schema = resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])
        assert set(body) <= set(schema["properties"]), f"{name}: fields the spec does not know"
    fields = form_fields(item)
    if fields is not None:
        schema = resolve(spec, op["requestBody"]["content"]["multipart/form-data"]["schema"])
        assert fields <= set(schema["properties"]), f"{name}: form fields the spec does not know"


def test_every_variable_is_declared_or_set():
    declared = {v["key"] for v in COLLECTION["variable"]} | {v["key"] for v in ENVIRONMENT["values"]}
    assert "baseUrl" in {v["key"] for v in ENVIRONMENT["values"]}
    for name, item in REQUESTS:
        local = set(re.findall(r'pm\.variables\.set\("(\w+)"', script(item, "prerequest")))
        used = set(VARIABLE.findall(json.dumps(item["request"])))
        assert used <= declared | local, f"{name}: undeclared {used - declared - local}"


def test_every_file_the_collection_uploads_is_beside_it():
    """newman runs with --working-dir postman (.ci/live): a file's src is named from there."""
    sent = [(name, field["src"]) for name, item in REQUESTS
            for field in item["request"].get("body", {}).get("formdata", []) if field.get("type") == "file"]
    assert sent, "the collection uploads no file"
    missing = [(name, src) for name, src in sent if not (POSTMAN / src).is_file()]
    assert not missing, missing


def test_the_flow_walks_every_stage_and_meets_refusals():
    reached = {INITIAL}
    refused = 0
    for name, item in REQUESTS:
        path, _ = path_and_query(item)
        if not (item["request"]["method"] == "PATCH" and path.endswith("/stage")):
            continue
        tests = script(item, "test")
        if "to.have.status(200)" in tests:
            reached.add(json_body(item)["stage"].lower())
        elif '"invalid_transition"' in tests:
            refused += 1
    assert reached == set(STAGES)
    assert refused >= 2


def test_the_contract_error_cases_are_there():
    expected = {(401, "unauthorized"), (403, "forbidden"), (404, "not_found"), (409, "invalid_transition"),
                (409, "already_applied"), (409, "job_closed"), (409, "email_taken"),
                (422, "validation_error"), (400, "bad_request")}
    found = set()
    for _, item in REQUESTS:
        tests = script(item, "test")
        for status, code in re.findall(r'pm\.test\("(\d{3}) (\w+)"', tests):
            found.add((int(status), code))
    assert expected <= found, expected - found
