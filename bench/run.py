"""The load benchmark, in one run, on PostgreSQL and gunicorn as the Procfile runs them.

    .venv/bin/python bench/run.py            # 10,000 jobs and 1,000,000 applications, 15 s a scenario
    .venv/bin/python bench/run.py --smoke    # a tiny volume, about 1.5 s a scenario: checks that
                                             # every scenario answers as expected, no targets

It creates a database of its own on the server named by BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it, times one page of each list at
1,000 rows, loads the volume with `flask ats seed` (timed), times the same pages again, then
serves the API with `gunicorn wsgi:app` (gunicorn.conf.py; bound to 127.0.0.1) and drives each
scenario with 16 keep-alive clients (bench/load.py), side by side with a bare Flask app under the
same settings (bench/ceiling.py). It reports requests per second, p50 and p99 latency, each
scenario's ratio to the bare ceiling, the gunicorn workers' memory after the run and the plans of
the hot queries (bench/explain.py), then drops the database. Mail goes to a redis-server of its
own when one is on PATH (nothing consumes it: sending is measured by bench/mail_throughput.py),
else it is written to the log.

Exit status 1 if a scenario answered anything unexpected, or (full run) a hot query's plan
reads a large table sequentially. Targets missed are reported, not failed: the figures only
mean something on a quiet machine.
"""
import argparse
import itertools
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import explain, fixtures  # noqa: E402
from bench.load import Request, Result, run  # noqa: E402
from tests.databases import throwaway_postgres_database  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CONCURRENCY = 16
TARGETS = {"read": 0.50, "write": 0.25}  # of the ceiling's requests per second
P99_TARGET_MS = 100
PAGES_RATIO_TARGET = 1.5


@dataclass(frozen=True)
class Mode:
    small_volume: tuple  # the "1,000 rows" database the list pages are first timed on
    volume: tuple  # `flask ats seed` options for the volume itself
    duration: float  # seconds a scenario runs
    warmup: float  # seconds before each, not counted
    page_requests: int  # sequential requests per list page timed at each size


FULL = Mode(("--companies", "2", "--jobs", "100", "--applications", "1000"), ("--scale", "1"),
            duration=15.0, warmup=2.0, page_requests=300)
SMOKE = Mode(("--companies", "2", "--jobs", "40", "--applications", "400"),
             ("--companies", "3", "--jobs", "30", "--applications", "2000"),
             duration=1.5, warmup=0.2, page_requests=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(text, flush=True)


# --- the pieces it starts --------------------------------------------------------------

@contextmanager
def redis_server():
    """A redis-server of our own for the queue, or None (mail then goes inline to the log)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.2).close())
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def wait_until(probe, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Gunicorn:
    """gunicorn as the Procfile's web line runs it (gunicorn.conf.py), bound to loopback."""

    def __init__(self, app_path: str, probe_path: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w", prefix="ats-bench-gunicorn-", suffix=".log",
                                               delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app_path, "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env={**os.environ, "PORT": str(self.port)}, stdout=self.log,
            stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: urlopen(self.url + probe_path, timeout=2).close())
        except OSError:
            output = self.output()
            self.stop()
            raise RuntimeError(f"gunicorn {app_path} did not start:\n{output[-2000:]}") from None

    def worker_memory_mb(self) -> dict[int, dict]:
        """Each worker's (the master's children) resident memory in MB: rss counts the pages
        shared with the master (preload_app) too, private only its own."""
        memory = {}
        for entry in Path("/proc").iterdir():
            try:
                status = (entry / "status").read_text()
                if f"\nPPid:\t{self.process.pid}\n" not in status:
                    continue
                rollup = (entry / "smaps_rollup").read_text()
            except OSError:
                continue
            kb = {name: int(value.split()[0]) for name, value in
                  (line.split(":", 1) for line in rollup.splitlines()[1:])}
            memory[int(entry.name)] = {"rss": kb["Rss"] / 1024,
                                       "private": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}
        return memory

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def flask(*args: str, quiet: bool = False) -> None:
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


# --- what it measures ------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    kind: str  # read, write, login; ceiling or reference (the bare app)
    url: str
    requests: object  # an iterable of load.Request
    result: Result | None = None

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.kind)


def get(path: str, headers: dict) -> Request:
    return Request.build("GET", path, headers)


def list_pages(actors: fixtures.Actors) -> list[tuple[str, str, dict]]:
    """One full page of each list: the same query and the same number of items whatever the
    size of the tables."""
    return [
        ("jobs, first page", "/api/jobs", {}),
        ("jobs, title search", "/api/jobs?q=engineer", {}),
        ("jobs, deep cursor", f"/api/jobs?cursor={actors.jobs_deep}", {}),
        ("applications, recruiter, first page", "/api/applications", actors.recruiter),
        ("applications, recruiter, stage", "/api/applications?stage=rejected", actors.recruiter),
        ("applications, recruiter, deep cursor", f"/api/applications?cursor={actors.company_deep}",
         actors.recruiter),
        ("applications, admin, deep cursor", f"/api/applications?cursor={actors.all_deep}",
         actors.admin),
        ("applications, candidate", "/api/applications?limit=5", actors.candidate),
    ]


def time_pages(app, base_url: str, count: int) -> dict[str, tuple[int, Result]]:
    """For each list page: its number of items, and one client asking for it count times in
    a row (after as many unmeasured requests)."""
    with app.app_context():
        pages = list_pages(fixtures.actors())
    client, timed = app.test_client(), {}
    for name, path, headers in pages:
        items = len(client.get(path, headers=headers).get_json()["items"])
        run(base_url, [get(path, headers)] * count, duration=60, concurrency=1)
        timed[name] = items, run(base_url, [get(path, headers)] * count, duration=120, concurrency=1)
    return timed


def scenarios(app, web_url: str, mode: Mode) -> list[Scenario]:
    """Every scenario's requests, made before any runs (tokens are minted, not logged in)."""
    rng = random.Random(1)
    pool = int((mode.duration + mode.warmup) * 3000)  # more writes than one run can send
    with app.app_context():
        actors = fixtures.actors()
        history_ids = fixtures.company_application_ids(actors.company_id, 2000)
        jobs = fixtures.open_job_ids(2000)
        candidates = fixtures.fresh_candidates(pool // len(jobs) + 1)
        applicants = [(fixtures.bearer(candidate), candidate.email) for candidate in candidates]
        moves = fixtures.movable_applications(pool)
    pairs = [(headers, job) for headers, _ in applicants for job in jobs][:pool]
    rng.shuffle(pairs)
    return [
        Scenario("GET /api/jobs", "read", web_url,
                 itertools.repeat(get("/api/jobs", {}))),
        Scenario("GET /api/applications (recruiter)", "read", web_url,
                 itertools.repeat(get("/api/applications", actors.recruiter))),
        Scenario("GET /api/applications deep cursor", "read", web_url,
                 itertools.repeat(get(f"/api/applications?cursor={actors.company_deep}",
                                      actors.recruiter))),
        Scenario("GET /api/applications/{id}/history", "read", web_url,
                 itertools.cycle([get(f"/api/applications/{i}/history", actors.recruiter)
                                  for i in history_ids])),
        Scenario("POST /api/jobs/{id}/applications", "write", web_url,
                 [Request.build("POST", f"/api/jobs/{job}/applications", headers,
                                {"cover_letter": "Hello from the benchmark."}, expect=(201,))
                  for headers, job in pairs]),
        Scenario("PATCH /api/applications/{id}/stage", "write", web_url,
                 [Request.build("PATCH", f"/api/applications/{i}/stage", headers,
                                {"stage": stage, "note": "Benchmark move."})
                  for i, stage, headers in moves]),
        Scenario("POST /api/auth/login", "login", web_url,
                 itertools.cycle([Request.build("POST", "/api/auth/login", {},
                                                {"email": email, "password": fixtures.PASSWORD})
                                  for _, email in applicants])),
    ]


def drive(scenario: Scenario, mode: Mode) -> None:
    requests = iter(scenario.requests)
    if mode.warmup:
        run(scenario.url, requests, mode.warmup, CONCURRENCY)
    scenario.result = run(scenario.url, requests, mode.duration, CONCURRENCY)
    result = scenario.result
    say(f"  {scenario.name:<38} {result.per_second:7.0f} req/s  p50 {result.percentile(0.5):6.1f} ms"
        f"  p99 {result.percentile(0.99):6.1f} ms  {dict(result.statuses)}"
        + (f"  errors {dict(result.errors)}" if result.errors else "")
        + ("  (ran out of requests)" if result.exhausted else ""))
    for status, body in result.unexpected:
        say(f"    unexpected {status}: {body}")


# --- the report ------------------------------------------------------------------------

def scenario_table(ceiling: Result, all_scenarios: list[Scenario]) -> tuple[str, bool]:
    lines = [f"{'scenario':<38} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'/ceiling':>8} "
             f"{'target':>15} {'met':>4} {'gen CPU':>7}"]
    all_met = True
    for scenario in all_scenarios:
        result = scenario.result
        ratio = result.per_second / ceiling.per_second if ceiling.per_second else 0
        p99 = result.percentile(0.99)
        if scenario.target is not None:
            goal = f">={scenario.target:.0%}, <{P99_TARGET_MS}ms"
            met = ratio >= scenario.target and p99 < P99_TARGET_MS
            all_met &= met
            verdict = "yes" if met else "NO"
        else:
            goal, verdict = "-", "-"
        lines.append(f"{scenario.name:<38} {result.per_second:7.0f} {result.percentile(0.5):7.1f} "
                     f"{p99:7.1f} {ratio:8.2f} {goal:>15} {verdict:>4} "
                     f"{100 * result.cpu_share:6.0f}%")
    return "\n".join(lines), all_met


def pages_table(small: dict, big: dict) -> tuple[str, bool]:
    lines = [f"{'list page (p50 of one client)':<38} {'items':>5} {'1,000 rows':>10} "
             f"{'volume':>10} {'ratio':>6} {'met':>4}"]
    all_met = True
    for name, (items, small_result) in small.items():
        big_items, big_result = big[name]
        before, after = small_result.percentile(0.5), big_result.percentile(0.5)
        met = after <= PAGES_RATIO_TARGET * before and items == big_items
        all_met &= met
        counts = f"{items}" if items == big_items else f"{items}/{big_items}"
        lines.append(f"{name:<38} {counts:>5} {before:8.2f}ms {after:8.2f}ms {after / before:6.2f} "
                     f"{'yes' if met else 'NO':>4}")
    return "\n".join(lines), all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny volume, short scenarios, no targets (for CI)")
    args = parser.parse_args()
    mode = SMOKE if args.smoke else FULL
    started = time.perf_counter()

    with ExitStack() as stack:
        new_database = contextmanager(throwaway_postgres_database)
        database_url = stack.enter_context(new_database(SERVER, "ats_bench"))
        redis_url = stack.enter_context(redis_server())
        # one environment for the server, the CLI and the app this script builds for tokens
        os.environ.update(ATS_ENV="production", FLASK_APP="wsgi", DATABASE_URL=database_url,
                          SECRET_KEY=secrets.token_urlsafe(48), JWT_ACCESS_TOKEN_MINUTES="240")
        os.environ.pop("MAIL_SERVER", None)
        if redis_url:
            os.environ["REDIS_URL"] = redis_url
        else:
            os.environ.pop("REDIS_URL", None)
        from ats import create_app

        say(f"== database {database_url.rsplit('/', 1)[1]}; queue "
            f"{'redis-server of its own' if redis_url else 'none (mail inline to the log)'}")
        flask("db", "upgrade", quiet=True)
        flask("ats", "seed", *mode.small_volume, quiet=True)

        app = create_app()
        logging.getLogger().setLevel(logging.WARNING)  # this process's requests need no log lines
        web = Gunicorn("wsgi:app", "/api/health")
        stack.callback(web.stop)
        say(f"== gunicorn wsgi:app on {web.url}; list pages at 1,000 rows")
        small_pages = time_pages(app, web.url, mode.page_requests)

        say(f"== flask ats seed {' '.join(mode.volume)}")
        load_started = time.perf_counter()
        flask("ats", "seed", *mode.volume)
        load_seconds = time.perf_counter() - load_started
        say(f"== loaded in {load_seconds:.0f} s; the same list pages again")
        big_pages = time_pages(app, web.url, mode.page_requests)

        say(f"== scenarios: {CONCURRENCY} clients, {mode.duration:g} s each "
            f"(after {mode.warmup:g} s of warm-up)")
        ceiling_server = Gunicorn("bench.ceiling:app", "/ping")
        ceiling = Scenario("bare Flask (the ceiling)", "ceiling", ceiling_server.url,
                           itertools.repeat(get("/ping", {})))
        one_query = Scenario("bare Flask + one SQL query", "reference", ceiling_server.url,
                             itertools.repeat(get("/query", {})))
        try:
            drive(ceiling, mode)
            drive(one_query, mode)
        finally:
            ceiling_server.stop()
        api = scenarios(app, web.url, mode)
        for scenario in api:
            if scenario.kind == "login":  # argon2 takes 19 MiB a hash: see what it leaves behind
                memory_before_login = web.worker_memory_mb()
            drive(scenario, mode)
        memory = web.worker_memory_mb()

        say("== plans of the hot queries (EXPLAIN ANALYZE)")
        with app.app_context():
            plans = explain.explain(app, fixtures.actors())
        say(explain.report(plans))
        seq_scans = [plan for plan in plans if plan.sequential_scans]

        with app.app_context():
            from ats.extensions import db
            db.engine.dispose()

    table, targets_met = scenario_table(ceiling.result, [ceiling, one_query, *api])
    pages, pages_met = pages_table(small_pages, big_pages)
    failed = [s.name for s in [ceiling, one_query, *api] if not s.result.ok]
    say(f"\n== results ({'smoke: tiny volume, no targets' if args.smoke else 'full'}; "
        f"{os.cpu_count()} CPUs; volume loaded in {load_seconds:.0f} s)")
    say(table)
    say("")
    say(pages)
    say("")
    for when, snapshot in (("before the logins", memory_before_login), ("after the run", memory)):
        say(f"gunicorn workers' memory {when}: " + ", ".join(
            f"pid {pid}: RSS {mb['rss']:.0f} MB ({mb['private']:.0f} MB private)"
            for pid, mb in sorted(snapshot.items())))
    say(f"plans: {len(plans)} statements explained, "
        f"{len(seq_scans)} with a sequential scan of a large table"
        + (" (expected of tables this small: checked on the full run)" if args.smoke else "")
        + (": " + "; ".join(f"{p.case} ({', '.join(p.sequential_scans)})" for p in seq_scans)
           if seq_scans and not args.smoke else ""))
    if not args.smoke:
        say(f"targets: scenarios {'met' if targets_met else 'MISSED'}, list pages "
            f"{'met' if pages_met else 'MISSED'}, worker RSS "
            f"{'met' if max(mb['rss'] for mb in memory.values()) < 150 else 'MISSED'} (< 150 MB)")
    if failed:
        say(f"FAILED: unexpected answers or errors in: {', '.join(failed)}")
    say(f"== done in {time.perf_counter() - started:.0f} s")
    return 1 if failed or (seq_scans and not args.smoke) else 0


if __name__ == "__main__":
    sys.exit(main())
