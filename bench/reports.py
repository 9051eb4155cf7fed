"""The reports at scale: each report's answer time for companies of every size and for every
company at once (an admin), and the plans of their queries, on PostgreSQL.

    .venv/bin/python bench/reports.py                      # a database of its own: flask ats seed
                                                           # --scale 1 (a few minutes), then dropped
    .venv/bin/python bench/reports.py --scale 0.1          # a tenth of it
    .venv/bin/python bench/reports.py --database-url postgresql://…/db   # one already loaded (kept)

Each report is asked through the app (its test client, a recruiter's or an admin's token, JSON)
--repeat times after one warm-up request; the median and the slowest are printed with the
company's application and history counts, and the time per 1,000 of its history rows (which
must not grow with the company). Then every report query for the largest company and for all
companies is explained (EXPLAIN ANALYZE): a sequential scan of a large table fails the run,
as in bench/explain.py (every company's report reads the whole table: there a sequential scan is
the right plan). Targets: a company's report under 300 ms, all companies' under 3 s.
"""
import argparse
import logging
import os
import secrets
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.explain import LARGE_TABLES, Plan, captured_selects, explained  # noqa: E402
from tests.databases import throwaway_postgres_database  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REPORTS = ("funnel", "time-in-stage", "time-to-hire", "outcomes")
COMPANY_TARGET_MS, ALL_TARGET_MS = 300, 3000


def flask(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, check=True)


def timed(client, path: str, headers: dict, repeat: int) -> tuple[float, float]:
    """(median, slowest) milliseconds of repeat requests, after one not counted."""
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times), max(times)


def callers():
    """The companies to time (largest, the 10th, the median, the smallest) with a recruiter
    each and their sizes; and an admin."""
    from sqlalchemy import func, select

    from bench import fixtures
    from ats.extensions import db
    from ats.models import RECRUITER, StageStay

    sizes = db.session.execute(
        select(StageStay.company_id, func.count(func.distinct(StageStay.application_id)), func.count())
        .group_by(StageStay.company_id).order_by(func.count().desc(), StageStay.company_id)).all()
    picks = {"largest": 0, "10th": min(9, len(sizes) - 1), "median": len(sizes) // 2,
             "smallest": len(sizes) - 1}
    companies = [(label, *sizes[index], fixtures.bearer(fixtures._staff(sizes[index][0], RECRUITER)))
                 for label, index in picks.items()]
    admin = fixtures.actors().admin
    return companies, admin, sum(rows for _, _, rows in sizes)


def report_plans(app, case: str, path: str, headers: dict) -> list[Plan]:
    """The plans of the report's queries (not the token's check)."""
    with captured_selects() as statements:
        app.test_client().get(path, headers=headers)
    return explained(case, [(sql, parameters) for sql, parameters in statements
                            if "stage_stays" in sql])


def line(report: str, caller: str, applications, rows: int, times: tuple, target_ms: int) -> bool:
    """One row of the table; whether its median is within target_ms."""
    median, slowest = times
    print(f"{report:<15} {caller:<28} {applications:>8} {rows:>9,} {median:>10.1f} "
          f"{slowest:>8.1f} {median / rows * 1000:>11.3f} {'yes' if median < target_ms else 'NO':>7}")
    return median < target_ms


def measure(repeat: int) -> bool:
    from ats import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    met = True
    with app.app_context():
        companies, admin, all_rows = callers()
        client = app.test_client()
        print(f"{'report':<15} {'caller':<28} {'apps':>8} {'stays':>9} {'median ms':>10} "
              f"{'max ms':>8} {'ms/1k stays':>11} {'target':>7}")
        for report in REPORTS:
            path = f"/api/reports/{report}"
            for label, _, applications, rows, headers in companies:
                met &= line(report, f"recruiter, {label} company", f"{applications:,}", rows,
                            timed(client, path, headers, repeat), COMPANY_TARGET_MS)
            met &= line(report, "admin, every company", "", all_rows,
                        timed(client, path, admin, repeat), ALL_TARGET_MS)
        print("\nplans (EXPLAIN ANALYZE), the largest company's and every company's:")
        largest_headers = companies[0][4]
        company_plans, all_plans = [], []
        for report in REPORTS:
            path = f"/api/reports/{report}"
            company_plans += report_plans(app, f"{report}, largest company", path, largest_headers)
            all_plans += report_plans(app, f"{report}, every company", path, admin)
        for plan in company_plans + all_plans:
            flag = "SEQ SCAN " if plan.sequential_scans else ""
            print(f"  {flag}{plan.case:<30} {plan.milliseconds:8.1f} ms  {plan.summary()}")
        # every company's report reads every stay: there a sequential scan is the right plan
        scans = [plan for plan in company_plans if plan.sequential_scans]
        print(f"{len(company_plans + all_plans)} statements explained; {len(scans)} of a company's "
              f"read a large table sequentially ({', '.join(sorted(LARGE_TABLES))}).")
    return met and not scans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1", help="flask ats seed --scale (default 1)")
    parser.add_argument("--database-url", help="an already loaded database: no load, not dropped")
    parser.add_argument("--repeat", type=int, default=10, help="timed requests per case")
    args = parser.parse_args()
    with ExitStack() as stack:
        database_url = args.database_url or stack.enter_context(
            contextmanager(throwaway_postgres_database)(SERVER, "ats_bench_reports"))
        os.environ.update(ATS_ENV="production", FLASK_APP="wsgi", DATABASE_URL=database_url,
                          SECRET_KEY=os.environ.get("SECRET_KEY", secrets.token_urlsafe(48)))
        os.environ.pop("REDIS_URL", None)
        os.environ.pop("MAIL_SERVER", None)
        if not args.database_url:
            flask("db", "upgrade")
            started = time.perf_counter()
            flask("ats", "seed", "--scale", args.scale)
            print(f"== loaded in {time.perf_counter() - started:.0f} s")
        met = measure(args.repeat)
    print("targets met" if met else "a target was missed (or a plan scans a large table)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
