"""Open /api/docs in headless Chromium and check that Swagger UI rendered the spec.

    python .ci/docs_check.py BASE_URL      (CHROMIUM names the browser; default chromium)

Passes when the rendered page has exactly one operation block per operation of
/api/openapi.json, for the same methods and paths: the page, its local assets and the
spec all loaded and Swagger UI could read the spec.
"""
import json
import os
import subprocess
import sys
import tempfile
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


def spec_operations(base: str) -> list[tuple[str, str]]:
    try:
        with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=10) as response:
            spec = json.load(response)
    except OSError as error:
        sys.exit(f"cannot read {base}/api/openapi.json: {error}")
    return sorted((method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if method in METHODS)


def rendered_dom(url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:  # no state left in the user's home
        result = subprocess.run(
            [os.environ.get("CHROMIUM", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        sys.exit(f"chromium failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def main() -> None:
    base = sys.argv[1].rstrip("/")
    expected = spec_operations(base)
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


if __name__ == "__main__":
    main()
