"""What a newcomer sees: the commands of `make run`, run as real processes in development
(.flaskenv's ATS_ENV) on a SQLite file of the test's own. The console reads like a terminal's
(plain lines, mail as lines, the server's banner readable), the demo logins are the last thing
before the server's banner, debug is on, and no query string reaches the output.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.mailbox import free_port
from tests.processes import ROOT

SECRET = "s3cret-never-logged"
# what a laptop's environment would not have: the suite's own settings
SUITE_ONLY = ("ATS_", "DATABASE_URL", "REDIS_URL", "MAIL_", "SECRET_KEY", "FLASK_")


def make_run_commands(port: int) -> list[str]:
    """The flask commands `make run` runs, as make prints them (-n: print, do not run)."""
    printed = subprocess.run(["make", "--no-print-directory", "-n", "run", f"PORT={port}",
                              f"VENV={sys.prefix}"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    return [line for line in printed.splitlines() if "/bin/flask " in line]


def call(port: int, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """Everything `make run`'s commands print, up to and including a few requests."""
    folder = tmp_path_factory.mktemp("make-run")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(SUITE_ONLY)}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'ats.sqlite3'}", PYTHONUNBUFFERED="1")
    *setup, serve = make_run_commands(port)
    assert setup and " run " in serve
    printed = ""
    for command in setup:  # flask db upgrade, flask ats seed
        done = subprocess.run(command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        printed += done.stdout + done.stderr
    log = folder / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(serve, shell=True, cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: listening(port))
        call(port, f"/api/jobs?q={SECRET}")
        call(port, f"/api/jobs?cursor={SECRET}")
        with socket.create_connection(("127.0.0.1", port)) as raw:  # a request line it refuses
            raw.sendall(f"GET /api/jobs?cursor={SECRET} and HTTP/1.1\r\n\r\n".encode())
            assert b"400" in raw.recv(1000)
        wait_for(lambda: "Bad request syntax" in log.read_text())
        call(port, "/api/auth/register", {"name": "Nina New", "email": "nina@example.com",
                                          "password": "nina-password-1"})
        token = call(port, "/api/auth/login", {"email": "nina@example.com",
                                               "password": "nina-password-1"})["access_token"]
        job = call(port, "/api/jobs?limit=1")["items"][0]
        call(port, f"/api/jobs/{job['id']}/applications", {"cover_letter": "Hi"}, token)
        wait_for(lambda: "To: nina@example.com" in log.read_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the reloader and the server it runs
        server.wait(10)
    return {"setup": printed, "serve": log.read_text(), "port": port}


def test_make_run_serves_in_debug_mode(console):
    assert " * Debug mode: on" in console["serve"]


def test_no_query_string_reaches_the_console(console):
    assert SECRET not in console["setup"] + console["serve"]
    # our own request line, path only, is the one line per request: werkzeug's is gone
    assert len(re.findall(r" ats\.request: GET /api/jobs \d{3}$", console["serve"], re.M)) == 3
    assert not re.search(r'HTTP/1\.1" \d{3} ', console["serve"])
    assert "message Bad request syntax ('GET /api/jobs?… and HTTP/1.1')" in console["serve"]


def test_lines_read_like_a_terminal(console):
    lines = [line for line in (console["setup"] + console["serve"]).splitlines() if line.strip()]
    assert not [line for line in lines if line.lstrip().startswith("{")], "JSON lines"
    assert "\x1b[" not in console["serve"], "ANSI codes in output that is no terminal"
    assert re.search(r"^\d\d:\d\d:\d\d INFO ats\.request: GET /api/jobs 200$", console["serve"], re.M)
    assert f" * Running on http://127.0.0.1:{console['port']}" in lines
    assert any(line.startswith("WARNING: This is a development server.") for line in lines)


def test_mail_shows_as_lines(console):
    lines = console["serve"].splitlines()
    assert "To: nina@example.com" in lines
    assert any(line.startswith("Subject: Your application for ") for line in lines)
    assert "Hello Nina New," in lines


def test_the_demo_logins_come_last_before_the_server_starts(console):
    setup = console["setup"].rstrip("\n").splitlines()
    logins = [line for line in setup if re.fullmatch(r"  (candidate|recruiter|hiring_manager) +\S+@\S+", line)]
    assert len(logins) == 9 and setup[-9:] == logins
    assert "demo-password-1" in setup[-10]
    # the seed's own mails are counted, not printed: the logins are not buried under them
    assert not [line for line in setup if line.startswith(("To: ", "Subject: "))], "\n".join(setup)
    assert console["serve"].startswith(" * Serving Flask app")


@pytest.mark.parametrize("env", ["production", "testing", "development"])
def test_json_lines_except_in_development(env, tmp_path):
    script = ("import logging; from ats import create_app; create_app(); "
              "logging.getLogger('ats.demo').info('first line\\nsecond line')")
    environment = {name: value for name, value in os.environ.items() if not name.startswith(SUITE_ONLY)}
    environment.update(ATS_ENV=env, SECRET_KEY="k" * 40, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    printed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                             capture_output=True, text=True, check=True).stdout
    if env == "development":
        assert re.fullmatch(r"\d\d:\d\d:\d\d INFO ats\.demo: first line\nsecond line\n", printed)
    else:
        entry = json.loads(printed)
        assert (entry["level"], entry["logger"], entry["message"]) == ("INFO", "ats.demo", "first line\nsecond line")
