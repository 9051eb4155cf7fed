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

from bench.explain import LARGE_TABLES, Plan, captured, explained  # noqa: E402
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


def cases() -> list[tuple]:
    """(caller, query, headers, applications, stays, target ms): the companies of every size
    (largest, 10th, median, smallest) as their recruiter sees them, the largest one's busiest
    job and one month of it, then every company (and one month of all) as an admin sees them."""
    from datetime import datetime, time, timedelta, timezone

    from sqlalchemy import func, select

    from bench import fixtures
    from ats.extensions import db
    from ats.models import RECRUITER, StageStay

    def sized(*where) -> tuple:
        return tuple(db.session.execute(select(
            func.count(func.distinct(StageStay.application_id)), func.count()).where(*where)).one())

    sizes = db.session.execute(
        select(StageStay.company_id, func.count(func.distinct(StageStay.application_id)), func.count())
        .group_by(StageStay.company_id).order_by(func.count().desc(), StageStay.company_id)).all()
    picks = {"largest": 0, "10th": min(9, len(sizes) - 1), "median": len(sizes) // 2,
             "smallest": len(sizes) - 1}
    recruiters = {label: fixtures.bearer(fixtures._staff(sizes[index][0], RECRUITER))
                  for label, index in picks.items()}
    found = [(f"recruiter, {label} company", "", recruiters[label], *sizes[index][1:], COMPANY_TARGET_MS)
             for label, index in picks.items()]
    largest = sizes[0][0]
    job = db.session.scalar(select(StageStay.job_id).where(StageStay.company_id == largest)
                            .group_by(StageStay.job_id).order_by(func.count().desc()).limit(1))
    first, last = db.session.execute(select(func.min(StageStay.applied_at), func.max(StageStay.applied_at))).one()
    month_start = (first + (last - first) / 2).date()
    month_end = month_start + timedelta(days=29)  # 30 days, both ends included
    month = f"?from={month_start}&to={month_end}"
    start = datetime.combine(month_start, time(), timezone.utc)
    in_month = (StageStay.applied_at >= start, StageStay.applied_at < start + timedelta(days=30))
    found += [("recruiter, largest's busiest job", f"?job_id={job}", recruiters["largest"],
               *sized(StageStay.job_id == job), COMPANY_TARGET_MS),
              ("recruiter, largest, 30 days", month, recruiters["largest"],
               *sized(StageStay.company_id == largest, *in_month), COMPANY_TARGET_MS)]
    admin = fixtures.actors().admin
    return found + [("admin, every company", "", admin, *sized(), ALL_TARGET_MS),
                    ("admin, every company, 30 days", month, admin, *sized(*in_month), ALL_TARGET_MS)]


def report_plans(app, case: str, path: str, headers: dict) -> list[Plan]:
    """The plans of the report's queries (not the token's check)."""
    with captured() as statements:
        app.test_client().get(path, headers=headers)
    return [Plan(case, sql, *explained(sql, parameters)) for sql, parameters in statements
            if "stage_stays" in sql]


def line(report: str, case: tuple, times: tuple) -> bool:
    """One row of the table; whether its median is within the case's target."""
    caller, _, _, applications, rows, target_ms = case
    median, slowest = times
    print(f"{report:<15} {caller:<34} {applications:>9,} {rows:>9,} {median:>10.1f} "
          f"{slowest:>8.1f} {median / max(rows, 1) * 1000:>11.3f} {'yes' if median < target_ms else 'NO':>7}")
    return median < target_ms


def measure(repeat: int) -> bool:
    from ats import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    met = True
    with app.app_context():
        callers = cases()
        client = app.test_client()
        print(f"{'report':<15} {'caller':<34} {'apps':>9} {'stays':>9} {'median ms':>10} "
              f"{'max ms':>8} {'ms/1k stays':>11} {'target':>7}")
        for report in REPORTS:
            for case in callers:
                _, query, headers, *_ = case
                met &= line(report, case, timed(client, f"/api/reports/{report}{query}", headers, repeat))
        print("\nplans (EXPLAIN ANALYZE) of the largest company's reports, its busiest job's, "
              "a month of it, and every company's:")
        explained_cases = [case for case in callers if "largest" in case[0] or case[1] == ""
                           and case[0].startswith("admin")]
        company_plans, all_plans = [], []
        for report in REPORTS:
            for caller, query, headers, *_ in explained_cases:
                plans = report_plans(app, f"{report}, {caller}", f"/api/reports/{report}{query}", headers)
                (all_plans if caller.startswith("admin") else company_plans).extend(plans)
        for plan in company_plans + all_plans:
            flag = "SEQ SCAN " if plan.sequential_scans else ""
            print(f"  {flag}{plan.case:<48} {plan.milliseconds:8.1f} ms  {plan.summary()}")
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
