"""How much memory the `web` process holds per request to upload and download a 10 MiB file.

    .venv/bin/python bench/upload_memory.py              # SQLite; bytes in the database
    .venv/bin/python bench/upload_memory.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/upload_memory.py --s3         # bytes in S3: a moto_server of its own

It migrates a fresh database of its own (`flask db upgrade`: a SQLite file in a temporary
folder, or a throwaway database on the PostgreSQL server named, dropped afterwards), starts
gunicorn as the Procfile does (gunicorn.conf.py, bound to loopback) with one worker process
(WEB_CONCURRENCY=1) of --threads threads: 4, the default, is gunicorn's gthread worker, 1 its
sync worker. Through the API it registers a recruiter and a candidate, posts jobs and applies.
Then, with a file of --size bytes (a PDF header and random bytes), each phase sends --requests
requests from each of --clients clients:

    upload                    POST /api/applications/{id}/attachments, with Content-Length
    upload, chunked           the same body in Transfer-Encoding: chunked (read another way)
    upload, Idempotency-Key   the same with a key: the fingerprint reads the file once more
    apply with a résumé       POST /api/jobs/{id}/applications, multipart, the file as resume
    download                  GET /api/attachments/{id}, read to its end, its SHA-256 checked

Each upload is deleted right after it is answered (not timed), so the application never
reaches its 20 files. A first upload and download, not judged, come before the phases: lazy
imports, the boto3 client and the first compiled statements are paid once per process.

The peak is the worker's VmHWM in /proc/<pid>/status. VmHWM only grows over a process's life,
so before each phase it is reset to the current RSS (writing 5 to /proc/<pid>/clear_refs, Linux
4.0 and later): peak − baseline is then the most the phase's requests held at once beyond what
the worker held before. Divided by the file size and the number of clients, it is the figure
that must stay at or under --max-ratio (2). VmRSS is also sampled every 10 ms, as a cross-check
and as the only peak where clear_refs cannot be written (a short peak may then be missed).

Exit status 1 if a request got an unexpected answer, the worker was replaced during a phase,
or a judged phase's figure is over --max-ratio.
"""
import argparse
import hashlib
import http.client
import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import Gunicorn, free_port, say, wait_until  # noqa: E402
from tests.databases import throwaway_postgres_database  # noqa: E402

MiB = 1024 * 1024
PIECE = 64 * 1024  # what a client sends or reads at a time
PASSWORD = "bench-password-1"
SAMPLE_SECONDS = 0.01


# --- the worker's memory ---------------------------------------------------------------

def worker_pid(master_pid: int) -> int:
    """The one worker gunicorn's master forked."""
    children = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
                and _status(int(entry.name)).get("PPid") == str(master_pid)]
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return children[0]


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {name: value.strip() for name, value in (line.split(":", 1) for line in lines)}


def memory_kb(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM (its peak since start or the last reset), in KiB."""
    status = _status(pid)
    return int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0])


def reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current RSS; False where the kernel does not let us."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler(threading.Thread):
    """The largest VmRSS seen while it runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.largest_kb, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.largest_kb = max(self.largest_kb, memory_kb(self.pid)[0])
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.largest_kb


def filesystem_of(path: str) -> str:
    """The type of the filesystem path is on: on tmpfs, a file is memory too."""
    mount, kind = "", "unknown"
    for line in Path("/proc/mounts").read_text().splitlines():
        point, point_kind = line.split()[1:3]
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(mount):
            mount, kind = point, point_kind
    return kind


# --- the client ------------------------------------------------------------------------

class Unexpected(Exception):
    pass


class Client:
    """One keep-alive connection to the API, as one user."""

    def __init__(self, url: str, token: str | None = None):
        parts = urlsplit(url)
        self.url, self.token = url, token
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def another(self) -> "Client":
        """The same user on a connection of its own."""
        return Client(self.url, self.token)

    def send(self, method: str, path: str, body=None, headers: dict | None = None,
             expect: int = 200) -> http.client.HTTPResponse:
        """The response, its body not read yet; Unexpected (body read) if not `expect`."""
        self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.connection.getresponse()
        if response.status != expect:
            raise Unexpected(f"{method} {path}: {response.status} {response.read()[:300]!r}")
        return response

    def json(self, method: str, path: str, payload: dict | None = None, expect: int = 200):
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = self.send(method, path, body, headers, expect).read()
        return json.loads(data) if data else None

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body of text fields and one file, built once."""

    content_type: str
    body: bytes
    file_size: int
    file_sha256: str

    @classmethod
    def of(cls, fields: dict[str, str], file_field: str, filename: str, data: bytes) -> "Multipart":
        boundary = "bench" + secrets.token_hex(16)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 for name, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                     f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n')
        body = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return cls(f"multipart/form-data; boundary={boundary}", body, len(data),
                   hashlib.sha256(data).hexdigest())

    def pieces(self):
        """The body as a generator: http.client sends it chunked (no Content-Length)."""
        view = memoryview(self.body)
        for start in range(0, len(view), PIECE):
            yield view[start:start + PIECE]


def pdf_like(size: int) -> bytes:
    """A PDF header then random bytes: taken as application/pdf, and not compressible."""
    header = b"%PDF-1.7\n"
    return header + os.urandom(size - len(header))


# --- the phases ------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    judged: bool = True
    clients: int = 1
    baseline_kb: int = 0
    peak_kb: int = 0
    sampled_kb: int = 0
    after_kb: int = 0
    seconds: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def ratio(self, size: int) -> float:
        """What one request held at most beyond the baseline, in file sizes."""
        return (self.peak_kb - self.baseline_kb) * 1024 / (size * self.clients)


def measure(phase: Phase, master_pid: int, clients: list[Client], requests: int, one_request,
            exact_peak: bool) -> Phase:
    """Run requests × one_request(client) on each client at once, and record the worker's
    memory around them. one_request returns the seconds its timed request took."""
    phase.clients = len(clients)
    for client in clients:  # idle past gunicorn's keepalive, a connection may be closed by now
        client.close()
    pid = worker_pid(master_pid)
    reset_peak(pid)
    phase.baseline_kb = memory_kb(pid)[0]
    sampler = Sampler(pid)
    sampler.start()

    def run(client: Client) -> None:
        for _ in range(requests):
            try:
                phase.seconds.append(one_request(client))
            except (Unexpected, OSError, http.client.HTTPException) as error:
                phase.failures.append(str(error))
                client.close()  # a fresh connection for the next request

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            list(pool.map(run, clients))
    finally:
        phase.sampled_kb = sampler.stop()
    phase.after_kb, hwm = memory_kb(pid)
    phase.peak_kb = max(hwm if exact_peak else 0, phase.sampled_kb)
    if worker_pid(master_pid) != pid:
        phase.failures.append("the worker was replaced during the phase")
    return phase


def uploader(application_id: int, form: Multipart, chunked: bool = False, keyed: bool = False,
             keep: list | None = None):
    """One upload (timed) and its deletion (not timed), or kept in `keep`."""
    path = f"/api/applications/{application_id}/attachments"

    def one(client: Client) -> float:
        headers = {"Content-Type": form.content_type}
        if keyed:
            headers["Idempotency-Key"] = secrets.token_hex(16)
        started = time.perf_counter()
        body = form.pieces() if chunked else form.body
        answer = json.loads(client.send("POST", path, body, headers, expect=201).read())
        took = time.perf_counter() - started
        if (answer["size"], answer["sha256"]) != (form.file_size, form.file_sha256):
            raise Unexpected(f"stored {answer['size']} bytes that are not the file sent")
        if keep is not None:
            keep.append(answer)
        else:
            client.json("DELETE", f"/api/attachments/{answer['id']}", expect=204)
        return took
    return one


def applier(jobs: "queue.SimpleQueue[int]", form: Multipart):
    def one(client: Client) -> float:
        started = time.perf_counter()
        client.send("POST", f"/api/jobs/{jobs.get_nowait()}/applications", form.body,
                    {"Content-Type": form.content_type}, expect=201).read()
        return time.perf_counter() - started
    return one


def downloader(attachment: dict):
    def one(client: Client) -> float:
        started = time.perf_counter()
        response = client.send("GET", f"/api/attachments/{attachment['id']}")
        digest, size = hashlib.sha256(), 0
        while piece := response.read(PIECE):
            digest.update(piece)
            size += len(piece)
        took = time.perf_counter() - started
        if (size, digest.hexdigest()) != (attachment["size"], attachment["sha256"]):
            raise Unexpected(f"downloaded {size} bytes that are not the file uploaded")
        return took
    return one


# --- what it starts --------------------------------------------------------------------

@contextmanager
def database(server_url: str | None):
    """A fresh database's URL: a SQLite file, or a throwaway one on server_url."""
    if server_url:
        yield from throwaway_postgres_database(server_url, "ats_bench_upload")
        return
    folder = tempfile.mkdtemp(prefix="ats-bench-upload-")
    try:
        yield f"sqlite:///{folder}/bench.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def moto_s3():
    """moto's standalone S3 server on a free port, with one bucket; yields the app's settings."""
    import boto3

    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server")
    if binary is None:
        raise SystemExit("moto_server not found: pip install -r requirements-dev.txt")
    port = free_port()
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = {"S3_BUCKET": "ats-bench", "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close())
        boto3.client("s3", endpoint_url=settings["S3_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench",
                     ).create_bucket(Bucket=settings["S3_BUCKET"])
        yield settings
    finally:
        process.terminate()
        process.wait(10)


def migrate() -> None:
    """`flask db upgrade`, as the Procfile's release phase runs it; its log only if it fails."""
    done = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")


def sign_up(url: str, role: str, email: str) -> Client:
    """Register through the API and log in: a client holding the user's token."""
    account = {"name": f"Bench {role}", "email": email, "password": PASSWORD, "role": role}
    if role == "recruiter":
        account["company_name"] = f"Bench {secrets.token_hex(4)}"
    anonymous = Client(url)
    anonymous.json("POST", "/api/auth/register", account, expect=201)
    tokens = anonymous.json("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    anonymous.close()
    return Client(url, tokens["access_token"])


# --- the report ------------------------------------------------------------------------

def table(phases: list[Phase], size: int, max_ratio: float) -> tuple[str, bool]:
    lines = [f"{'phase':<26} {'reqs':>4} {'baseline':>9} {'peak':>9} {'sampled':>9} "
             f"{'+peak':>8} {'÷file':>6} {'ms mean':>8} {'ms max':>7} {'after':>9} {'met':>4}"]
    all_met = True
    for phase in phases:
        ratio = phase.ratio(size)
        met = not phase.failures and ratio <= max_ratio
        if phase.judged:
            all_met &= met
        seconds = phase.seconds or [0.0]
        lines.append(
            f"{phase.name:<26} {len(phase.seconds):>4} {phase.baseline_kb / 1024:7.1f}Mi "
            f"{phase.peak_kb / 1024:7.1f}Mi {phase.sampled_kb / 1024:7.1f}Mi "
            f"{(phase.peak_kb - phase.baseline_kb) / 1024:6.1f}Mi {ratio:6.2f} "
            f"{1000 * sum(seconds) / len(seconds):8.0f} {1000 * max(seconds):7.0f} "
            f"{phase.after_kb / 1024:7.1f}Mi {('yes' if met else 'NO') if phase.judged else '-':>4}")
    return "\n".join(lines), all_met


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL server to make a throwaway database on, e.g. "
                             "postgresql://postgres@127.0.0.1:5432/postgres (default: SQLite)")
    parser.add_argument("--s3", action="store_true",
                        help="keep the bytes in S3: a moto_server of its own (metadata stays in "
                             "the database)")
    parser.add_argument("--size", type=int, default=10 * MiB,
                        help="the file's size in bytes (default 10 MiB, the largest taken)")
    parser.add_argument("--requests", type=int, default=5,
                        help="requests per client in each phase (default 5)")
    parser.add_argument("--clients", type=int, default=1,
                        help="clients sending at once (default 1); the figure is per request")
    parser.add_argument("--threads", type=int, default=4,
                        help="the worker's threads (WEB_THREADS; default 4, gthread; 1 is the "
                             "sync worker)")
    parser.add_argument("--max-ratio", type=float, default=2.0,
                        help="the most a request may hold beyond the baseline, in file sizes")
    args = parser.parse_args()
    if args.size <= 16 or args.requests < 1 or args.clients < 1 or args.threads < 1:
        parser.error("--size, --requests, --clients and --threads must be positive")
    return args


def phases(web: Gunicorn, args: argparse.Namespace, exact_peak: bool) -> list[Phase]:
    """The users, jobs and application through the API, then every phase, measured."""
    recruiter = sign_up(web.url, "recruiter", "recruiter@bench.example")
    candidate = sign_up(web.url, "candidate", "candidate@bench.example")
    jobs = [recruiter.json("POST", "/api/jobs", {"title": f"Bench job {i}", "description": "-"},
                           expect=201)["id"] for i in range(1 + args.requests * args.clients)]
    application = candidate.json("POST", f"/api/jobs/{jobs[0]}/applications",
                                 {"cover_letter": "Hello."}, expect=201)["id"]
    open_jobs: queue.SimpleQueue[int] = queue.SimpleQueue()  # one per apply
    for job in jobs[1:]:
        open_jobs.put(job)
    data = pdf_like(args.size)
    upload_form = Multipart.of({"kind": "resume"}, "file", "bench.pdf", data)
    apply_form = Multipart.of({"cover_letter": "Hello."}, "resume", "bench.pdf", data)
    master = web.process.pid

    kept: list[dict] = []  # the first upload: what every download fetches
    done = [measure(Phase("first upload", judged=False), master, [candidate], 1,
                    uploader(application, upload_form, keep=kept), exact_peak)]
    if not kept:
        return done
    done.append(measure(Phase("first download", judged=False), master, [recruiter], 1,
                        downloader(kept[0]), exact_peak))
    candidates = [candidate] + [candidate.another() for _ in range(args.clients - 1)]
    recruiters = [recruiter] + [recruiter.another() for _ in range(args.clients - 1)]
    for phase, clients, one_request in (
            (Phase("upload"), candidates, uploader(application, upload_form)),
            (Phase("upload, chunked"), candidates, uploader(application, upload_form, chunked=True)),
            (Phase("upload, Idempotency-Key"), candidates,
             uploader(application, upload_form, keyed=True)),
            (Phase("apply with a résumé"), candidates, applier(open_jobs, apply_form)),
            (Phase("download"), recruiters, downloader(kept[0]))):
        done.append(measure(phase, master, clients, args.requests, one_request, exact_peak))
        say(f"  {phase.name}: {len(phase.seconds)} done"
            + (f", {len(phase.failures)} failed: {phase.failures[0]}" if phase.failures else ""))
    for client in candidates + recruiters:
        client.close()
    return done


def main() -> int:
    args = arguments()
    spool = os.path.realpath(tempfile.gettempdir())  # where werkzeug spools an uploaded file
    with ExitStack() as stack:
        database_url = stack.enter_context(database(args.database_url))
        s3 = stack.enter_context(moto_s3()) if args.s3 else {}
        for name in ("REDIS_URL", "MAIL_SERVER", "S3_BUCKET", "S3_ENDPOINT_URL"):
            os.environ.pop(name, None)  # mail is written to the log, bytes go where we say
        os.environ.update(ATS_ENV="production", FLASK_APP="wsgi", DATABASE_URL=database_url,
                          SECRET_KEY=secrets.token_urlsafe(48), JWT_ACCESS_TOKEN_MINUTES="240",
                          WEB_CONCURRENCY="1", WEB_THREADS=str(args.threads), **s3)
        migrate()
        web = Gunicorn("wsgi:app", "/api/health")
        stack.callback(web.stop)
        pid = worker_pid(web.process.pid)
        exact_peak = reset_peak(pid)
        where = ("PostgreSQL (database " + database_url.rsplit("/", 1)[1] + ")" if args.database_url
                 else "SQLite (a file of its own)")
        say(f"== {where}; bytes in {'S3 (moto_server)' if s3 else 'the database'}; gunicorn "
            f"wsgi:app, 1 worker (pid {pid}) × {args.threads} thread(s) "
            f"({'gthread' if args.threads > 1 else 'sync'}); {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}")
        say(f"== a {args.size / MiB:.2f} MiB file (PDF header, random bytes); "
            f"{args.requests} request(s) a phase from each of {args.clients} client(s); "
            f"uploaded files wait in {spool} ({filesystem_of(spool)})")
        measured = phases(web, args, exact_peak)
        if any(phase.failures for phase in measured):
            say("gunicorn's log, its end:\n" + web.output()[-3000:])

    report, all_met = table(measured, args.size, args.max_ratio)
    say("")
    say(report)
    say("")
    say("baseline: the worker's VmRSS as the phase began; peak: its VmHWM at the end, "
        + ("reset to the baseline first (clear_refs), so the exact peak of this phase alone"
           if exact_peak else "NOT resettable here (clear_refs refused): the sampled VmRSS instead")
        + f"; sampled: the largest VmRSS seen every {SAMPLE_SECONDS * 1000:.0f} ms; +peak: peak "
          f"- baseline; ÷file: +peak / (file size × clients), judged against {args.max_ratio:g}; "
          "ms: one request's time (an upload's without its deletion); after: VmRSS at the end "
          "(what the worker kept). The first upload and download are shown, not judged: "
          "one-time costs of a fresh worker.")
    if filesystem_of(spool) == "tmpfs":
        say(f"note: {spool} is tmpfs: each upload in flight also holds its file in RAM there "
            "(werkzeug spools a file over 500 KiB to a temporary file), outside the worker's RSS")
    failed = [phase.name for phase in measured if phase.failures]
    if failed:
        say(f"FAILED: unexpected answers in: {', '.join(failed)}")
    say(f"target (≤ {args.max_ratio:g}× the file per request): {'met' if all_met else 'MISSED'}")
    return 0 if all_met and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
