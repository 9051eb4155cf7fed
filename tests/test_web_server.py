"""What the `web` process lets through: the Procfile's `web` line (gunicorn with
gunicorn.conf.py) on a migrated database of its own, SQLite or TEST_DATABASE_URL's server,
spoken to with raw sockets: chunked bodies, bodies over the limit, over-long request lines."""
import hashlib
import http.client
import json
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from ats.config import Defaults, database_url as database_url_from
from tests.databases import throwaway_postgres_database
from tests.mailbox import free_port
from tests.test_attachments import multipart, pdf
from tests.test_deploy import Processes, call, sign_up, wait_for_health

LIMIT = Defaults.MAX_CONTENT_LENGTH
UPLOAD_LIMIT = Defaults.MAX_UPLOAD_BYTES + Defaults.UPLOAD_ENVELOPE_BYTES  # a file's body
WORKERS = {"gthread": "4", "sync": "1"}  # WEB_THREADS: gunicorn runs threads, or one sync worker


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        yield from throwaway_postgres_database(database_url_from(server))
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'ats.sqlite3'}"


@pytest.fixture(scope="module")
def web(database, tmp_path_factory):
    """web(kind) -> port of a `web` process with that kind of worker, migrated by `release`."""
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.defpath}",
           "DATABASE_URL": database, "SECRET_KEY": secrets.token_urlsafe(48),
           "WEB_CONCURRENCY": "1"}
    processes = Processes(env, tmp_path_factory.mktemp("web-logs"))
    ports = {}

    def start(kind: str = "gthread") -> int:
        if kind not in ports:
            if not ports:
                release = processes.run("release")
                assert release.returncode == 0, release.stdout
            port = free_port()
            wait_for_health(processes.start("web", PORT=str(port), WEB_THREADS=WORKERS[kind]), port)
            ports[kind] = port
        return ports[kind]

    yield start
    processes.kill_all()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def head(method: str, path: str, **headers) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: ats.test"] + [
        f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def json_of_size(size: int) -> bytes:
    """A JSON object of exactly size bytes: a name far too long for the schema."""
    return b'{"name": "' + b"x" * (size - len(b'{"name": ""}')) + b'"}'


def send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send while the test reads the answer, as a client streaming a body does; a server that
    closes the connection early ends the sending."""
    def send():
        try:
            sock.sendall(data)
        except OSError:
            pass
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


def answer(sock: socket.socket) -> tuple[http.client.HTTPResponse, bytes]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response, response.read()


def closed_by_server(sock: socket.socket, within: float = 5) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def health(port: int) -> float:
    """Seconds a GET /api/health on a new connection takes to answer 200."""
    started = time.monotonic()
    with connect(port) as sock:
        sock.sendall(head("GET", "/api/health"))
        response, _ = answer(sock)
    assert response.status == 200
    return time.monotonic() - started


def assert_413_and_closed(sock: socket.socket):
    response, body = answer(sock)
    assert response.status == 413, body
    assert b'"payload_too_large"' in body
    assert response.getheader("Connection") == "close"  # said, and done:
    assert closed_by_server(sock)


@pytest.mark.parametrize("kind", WORKERS)
def test_a_chunked_body_over_the_limit_is_413_and_the_connection_closes(web, kind):
    port = web(kind)
    with connect(port) as sock:
        sock.sendall(head("POST", "/api/auth/register", Content_Type="application/json",
                          Transfer_Encoding="chunked"))
        send_in_background(sock, chunked(json_of_size(2 * LIMIT)))
        assert_413_and_closed(sock)
    assert health(port) < 2


@pytest.mark.parametrize("kind", WORKERS)
def test_a_content_length_over_the_limit_is_413_and_the_connection_closes(web, kind):
    port = web(kind)
    with connect(port) as sock:
        sock.sendall(head("POST", "/api/auth/register", Content_Type="application/json",
                          Content_Length=2 * LIMIT))
        send_in_background(sock, json_of_size(2 * LIMIT))
        assert_413_and_closed(sock)
    assert health(port) < 2


@pytest.mark.parametrize("size, status", [(LIMIT, 422), (LIMIT + 1, 413), (100_000, 422)])
def test_a_chunked_body_is_read_up_to_the_limit_exactly(web, size, status):
    port = web()
    with connect(port) as sock:
        sock.sendall(head("POST", "/api/auth/register", Content_Type="application/json",
                          Transfer_Encoding="chunked"))
        send_in_background(sock, chunked(json_of_size(size)))
        response, body = answer(sock)
        assert response.status == status, body
        if status == 422:  # read to its end and answered: the connection serves the next request
            assert b'"name"' in body and response.getheader("Connection") == "keep-alive"
            sock.sendall(head("GET", "/api/health"))
            assert answer(sock)[0].status == 200


def test_a_50_mb_request_line_is_refused_at_once_and_health_still_answers(web):
    port = web()
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /api/jobs?q=")
        send_in_background(sock, b"a" * 50_000_000 + b" HTTP/1.1\r\nHost: ats.test\r\n\r\n")
        response, _ = answer(sock)
        assert response.status == 414
        assert closed_by_server(sock, within=2)
        assert time.monotonic() - started < 2
    assert health(port) < 1


def test_the_longest_query_the_api_takes_reaches_it(web):
    """A 200-character search of 4-byte characters and a 200-character cursor: about 2.7 KiB
    percent-encoded, far below the 8 KiB gunicorn takes; the app answers it (here, 422)."""
    port = web()
    query = "q=" + "%F0%9F%9A%80" * 200 + "&cursor=" + "c" * 200 + "&limit=100&company_id=2147483647"
    with connect(port) as sock:
        sock.sendall(head("GET", f"/api/jobs?{query}"))
        response, body = answer(sock)
    assert response.status == 422 and b'"cursor"' in body  # the app's own answer: a bad cursor


@pytest.mark.parametrize("name, request_head, status", [
    ("request line of 8191 bytes", head("GET", "/api/jobs?q=" + "a" * 8170), 414),
    ("header of 9 KiB", head("GET", "/api/health", X_Padding="a" * 9000), 431),
    ("100 headers", head("GET", "/api/health", **{f"X_H{i}": "1" for i in range(100)}), 431),
])
def test_gunicorn_refuses_over_long_request_heads(web, name, request_head, status):
    port = web()
    with connect(port) as sock:
        sock.sendall(request_head)
        response, _ = answer(sock)
    assert response.status == status, name
    assert health(port) < 1


# --- file uploads: a body of up to 10 MiB and its envelope -----------------------------------

@pytest.fixture(scope="module")
def applicant(web):
    """(a candidate's token, their application's id), made through the web process."""
    port = web()

    recruiter = sign_up(port, "rita@web.example", role="recruiter", company_name="Web Corp")
    candidate = sign_up(port, "carl@web.example")
    status, job = call(port, "POST", "/jobs", {"title": "Backend Developer",
                                              "description": "Python."}, recruiter)
    assert status == 201, job
    status, application = call(port, "POST", f"/jobs/{job['id']}/applications", {}, candidate)
    assert status == 201, application
    return candidate, application["id"]


def upload_head(application_id: int, token: str, content_type: str, **headers) -> bytes:
    return head("POST", f"/api/applications/{application_id}/attachments",
                Content_Type=content_type, Authorization=f"Bearer {token}", **headers)


def send_oversize_chunked_upload(sock: socket.socket, applicant):
    token, application_id = applicant
    body, content_type = multipart({}, {"file": ("cv.pdf", pdf(2 * UPLOAD_LIMIT), "application/pdf")})
    sock.sendall(upload_head(application_id, token, content_type, Transfer_Encoding="chunked"))
    send_in_background(sock, chunked(body))
    return answer(sock)


@pytest.mark.parametrize("kind", WORKERS)
def test_a_chunked_upload_over_the_limit_is_413_and_the_connection_closes(web, applicant, kind):
    port = web(kind)
    with connect(port) as sock:
        response, body = send_oversize_chunked_upload(sock, applicant)
        assert response.status == 413, body
        assert b'"payload_too_large"' in body
        assert closed_by_server(sock)
    assert health(port) < 2


@pytest.mark.parametrize("kind", ["gthread", "sync"])
def test_the_413_to_a_chunked_upload_over_the_limit_says_the_connection_closes(web, applicant, kind):
    with connect(web(kind)) as sock:
        response, _ = send_oversize_chunked_upload(sock, applicant)
        assert response.status == 413
        assert response.getheader("Connection") == "close"


def test_an_upload_declared_over_the_limit_is_413_and_the_connection_closes(web, applicant):
    port = web()
    token, application_id = applicant
    with connect(port) as sock:
        sock.sendall(upload_head(application_id, token, "multipart/form-data; boundary=x",
                                 Content_Length=UPLOAD_LIMIT + 1))
        send_in_background(sock, b"x" * (UPLOAD_LIMIT + 1))
        assert_413_and_closed(sock)
    assert health(port) < 2


def test_a_chunked_upload_of_10_mib_is_stored_and_downloaded_back(web, applicant):
    """Far over the 1 MiB of other bodies, within a file's limit: stored, and the same
    connection serves the download."""
    port = web()
    token, application_id = applicant
    content = pdf(Defaults.MAX_UPLOAD_BYTES)
    body, content_type = multipart({"kind": "portfolio"},
                                   {"file": ("cv.pdf", content, "application/pdf")})
    with connect(port) as sock:
        sock.sendall(upload_head(application_id, token, content_type, Transfer_Encoding="chunked"))
        send_in_background(sock, chunked(body))
        response, answered = answer(sock)
        assert response.status == 201, answered
        attachment = json.loads(answered)
        assert (attachment["size"], attachment["sha256"], attachment["kind"]) == (
            len(content), hashlib.sha256(content).hexdigest(), "portfolio")
        assert response.getheader("Connection") == "keep-alive"
        sock.sendall(head("GET", f"/api/attachments/{attachment['id']}",
                          Authorization=f"Bearer {token}"))
        response, downloaded = answer(sock)
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/pdf"
    assert downloaded == content
