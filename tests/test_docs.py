"""The documentation is true: /api/docs and /api/redoc work offline (their scripts come from
the app itself, never from a CDN), and docs/API.md names exactly the routes the app serves."""
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class Assets(HTMLParser):
    """Every script src and stylesheet href of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def assets_of(client, page: str) -> list[str]:
    response = client.get(page)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    parser = Assets()
    parser.feed(response.get_data(as_text=True))
    return parser.urls


def test_swagger_ui_loads_only_local_assets(client):
    urls = assets_of(client, "/api/docs")
    assert sorted(urls) == ["/api/docs/assets/swagger-ui-bundle.js",
                            "/api/docs/assets/swagger-ui-standalone-preset.js",
                            "/api/docs/assets/swagger-ui.css"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype in ("text/javascript", "text/css"), url
        assert len(response.data) > 10_000, url  # the real bundle, not a placeholder


def test_redoc_loads_only_its_script_served_by_the_app(client):
    urls = assets_of(client, "/api/redoc")
    assert urls == ["/api/redoc/assets/redoc.standalone.js"]
    response = client.get(urls[0])
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"ReDoc Version" in response.data and len(response.data) > 500_000  # the real bundle


def test_the_redoc_page_points_at_the_spec(client):
    assert 'spec-url="/api/openapi.json"' in client.get("/api/redoc").get_data(as_text=True)


def test_the_page_points_swagger_ui_at_the_spec(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert 'url: "/api/openapi.json"' in html
    assert client.get("/api/openapi.json").status_code == 200


@pytest.mark.parametrize("path", ["/api/docs/assets/nothing.js", "/api/docs/assets/../../../etc/passwd",
                                  "/api/docs/assets/%2e%2e/%2e%2e/wsgi.py", "/api/redoc/assets/nothing.js",
                                  "/api/redoc/assets/%2e%2e/%2e%2e/config.py"])
def test_missing_assets_answer_the_contract_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --- docs/API.md, the reference the repository carries ------------------------------------

def normalised(path: str) -> str:
    """/api/jobs/{job_id} and /api/jobs/{id} are the same route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operations_in_reference() -> set[str]:
    """Every `METHOD /api/...` the reference names (query strings aside)."""
    text = (ROOT / "docs" / "API.md").read_text()
    return {f"{method} {normalised(path)}"
            for method, path in re.findall(rf"\b({'|'.join(HTTP_METHODS)}) +(/api[^\s`?|,)]*)", text)}


def spec_operations(client) -> set[str]:
    spec = client.get("/api/openapi.json").get_json()
    return {f"{method.upper()} {normalised(path)}" for path, item in spec["paths"].items()
            for method in item if method.upper() in HTTP_METHODS}


def served_operations(app) -> set[str]:
    """What the app answers, the documentation pages included."""
    served = set()
    for rule in app.url_map.iter_rules():
        path = normalised(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        served |= {f"{method} {path}" for method in rule.methods if method in HTTP_METHODS}
    return served


def test_the_reference_describes_every_operation_of_the_spec(client):
    missing = spec_operations(client) - operations_in_reference()
    assert not missing, f"operations of the OpenAPI document not in docs/API.md: {sorted(missing)}"


def test_the_reference_names_no_route_the_app_does_not_serve(app):
    named = operations_in_reference()
    assert len(named) > 20
    unknown = named - served_operations(app)
    assert not unknown, f"docs/API.md names routes the app does not serve: {sorted(unknown)}"


def test_nothing_in_the_repository_points_outside_it():
    """A clone has no folder beside it: every reference it needs is inside it."""
    outside = ("../" + "shared", "shared/" + "API.md")  # spelt apart, or this file would match
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                             text=True).stdout.split("\0")
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [f"{name}: {needle}" for needle in outside if needle in text]
    assert not offenders, offenders


def test_the_reference_lists_every_operation_id_with_its_route(client):
    """A client author finds each generated method's name, and the name is the spec's."""
    text = (ROOT / "docs" / "API.md").read_text()
    listed = {name: f"{method} {normalised(path)}"
              for name, method, path in re.findall(r"^\| `(\w+)` \| `([A-Z]+) (/api\S*)` \|$", text, re.M)}
    spec = client.get("/api/openapi.json").get_json()
    named = {operation["operationId"]: f"{method.upper()} {normalised(path)}"
             for path, item in spec["paths"].items() for method, operation in item.items()
             if method.upper() in HTTP_METHODS}
    assert listed == named
