"""/api/docs and /api/redoc work offline: their scripts come from the app itself, never from a CDN."""
from html.parser import HTMLParser

import pytest


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

