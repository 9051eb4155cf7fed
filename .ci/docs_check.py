"""Open /api/docs and /api/redoc in headless Chromium, offline, and check that Swagger UI and
ReDoc rendered the spec.

    python .ci/docs_check.py BASE_URL      (CHROMIUM names the browser; default chromium)

Passes when Swagger UI's page has exactly one operation block per operation of
/api/openapi.json, for the same methods and paths, and ReDoc's page has a section for each
of the same operations. The browser resolves no host but the app's own, so this holds only
if every script the pages need is served by the app itself.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from html.parser import HTMLParser

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class OperationBlocks(HTMLParser):
    """Swagger UI's operation blocks: <div class="opblock opblock-post"> … data-path="/api/…"."""

    def __init__(self):
        super().__init__()
        self.blocks = 0
        self.operations: list[tuple[str, str]] = []
        self._method = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "opblock" in classes:
            self.blocks += 1
            self._method = next((c.removeprefix("opblock-") for c in classes
                                 if c.removeprefix("opblock-") in METHODS), None)
        elif "opblock-summary-path" in classes and self._method:
            self.operations.append((self._method.upper(), attrs.get("data-path")))
            self._method = None


class ReDocSections(HTMLParser):
    """ReDoc's operation sections, named by operationId (data-section-id="tag/jobs/operation/
    listJobs"), or by path and method for an operation without one (data-section-id=
    "tag/jobs/paths/~1api~1jobs~1{job_id}/get")."""

    def __init__(self, by_operation_id: dict[str, tuple[str, str]]):
        super().__init__()
        self.by_operation_id = by_operation_id
        self.operations: set[tuple[str, str]] = set()

    def handle_starttag(self, tag, attrs):
        section = dict(attrs).get("data-section-id") or ""
        if match := re.fullmatch(r"tag/[^/]+/operation/([^/]+)", section):
            self.operations.add(self.by_operation_id.get(match[1], ("?", match[1])))
        elif match := re.fullmatch(r"tag/[^/]+/paths/([^/]+)/(\w+)", section):
            path = match[1].replace("~1", "/").replace("~0", "~")  # JSON pointer escapes
            self.operations.add((match[2].upper(), path))


def spec_operations(base: str) -> dict[tuple[str, str], str | None]:
    """(method, path) of every operation -> its operationId."""
    try:
        with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=10) as response:
            spec = json.load(response)
    except OSError as error:
        sys.exit(f"cannot read {base}/api/openapi.json: {error}")
    return {(method.upper(), path): operation.get("operationId")
            for path, item in spec["paths"].items()
            for method, operation in item.items() if method in METHODS}


def rendered_dom(url: str) -> str:
    host = urllib.parse.urlsplit(url).hostname
    with tempfile.TemporaryDirectory() as profile:  # no state left in the user's home
        result = subprocess.run(
            [os.environ.get("CHROMIUM", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={profile}", "--virtual-time-budget=15000",
             # offline: a CDN the page still needed would not resolve
             f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit(f"chromium failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def main() -> None:
    base = sys.argv[1].rstrip("/")
    operations = spec_operations(base)
    expected = sorted(operations)
    page = OperationBlocks()
    page.feed(rendered_dom(f"{base}/api/docs"))
    rendered = sorted(page.operations)
    print(f"Swagger UI rendered {page.blocks} operation blocks; the spec has {len(expected)} operations")
    if page.blocks != len(expected) or rendered != expected:
        missing = sorted(set(expected) - set(rendered))
        extra = sorted(set(rendered) - set(expected))
        sys.exit(f"Swagger UI does not show the spec's operations: missing {missing}, unexpected {extra}")
    print("every operation of the spec is on /api/docs, e.g. " +
          ", ".join(f"{m} {p}" for m, p in expected[:3]))

    redoc = ReDocSections({operation_id: key for key, operation_id in operations.items()})
    redoc.feed(rendered_dom(f"{base}/api/redoc"))
    print(f"ReDoc rendered {len(redoc.operations)} operation sections")
    if sorted(redoc.operations) != expected:
        missing = sorted(set(expected) - redoc.operations)
        extra = sorted(redoc.operations - set(expected))
        sys.exit(f"ReDoc does not show the spec's operations: missing {missing}, unexpected {extra}")
    print("every operation of the spec is on /api/redoc")


if __name__ == "__main__":
    main()
