"""EXPLAIN (ANALYZE) of the SQL the list endpoints really run, for representative callers.

Each case is a real request through the app (its test client); every SELECT it sends is
captured from SQLAlchemy with its parameters and explained on the same database. A plan that
reads a large table with a sequential scan fails the check.

    DATABASE_URL=postgresql://… SECRET_KEY=… python bench/explain.py   (a loaded database,
                                                                        e.g. flask ats seed --scale 1)
"""
import json
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fixtures  # noqa: E402
from ats.extensions import db  # noqa: E402

# tables that grow with use: a sequential scan of one is a query that slows down as they grow
LARGE_TABLES = {"applications", "application_history", "jobs", "users", "job_hiring_managers",
                "notifications", "interviews", "interview_interviewers", "scorecards", "stage_stays"}


@dataclass
class Plan:
    case: str
    sql: str
    nodes: list  # (node type, relation, index) of every node, top down; "Backward" when it is
    milliseconds: float

    @property
    def sequential_scans(self) -> list[str]:
        return [relation for node, relation, _ in self.nodes
                if node == "Seq Scan" and relation in LARGE_TABLES]

    def summary(self) -> str:
        steps = [f"{node}" + (f" using {index}" if index else "") + (f" on {rel}" if rel else "")
                 for node, rel, index in self.nodes]
        return " > ".join(steps)


def cases(actors: fixtures.Actors) -> list[tuple[str, str, dict]]:
    """(name, path, headers): every list filter and sort, as each kind of caller uses it."""
    a = actors
    company, small, job, application = a.company_id, a.small_company_id, a.job_id, a.application_id
    return [
        ("jobs, anonymous", "/api/jobs", {}),
        ("jobs, anonymous, deep cursor", f"/api/jobs?cursor={a.jobs_deep}", {}),
        ("jobs, anonymous, company", f"/api/jobs?company_id={company}", {}),
        ("jobs, anonymous, status", "/api/jobs?status=open", {}),
        ("jobs, anonymous, q common", "/api/jobs?q=engineer", {}),
        ("jobs, anonymous, q rare", "/api/jobs?q=zebra%20wrangler", {}),
        ("jobs, recruiter", "/api/jobs", a.recruiter),
        ("jobs, recruiter, closed", "/api/jobs?status=closed", a.recruiter),
        ("jobs, recruiter, own closed", f"/api/jobs?company_id={company}&status=closed", a.recruiter),
        ("jobs, admin, closed", "/api/jobs?status=closed", a.admin),
        ("applications, recruiter", "/api/applications", a.recruiter),
        ("applications, recruiter, deep cursor", f"/api/applications?cursor={a.company_deep}", a.recruiter),
        ("applications, recruiter, stage", "/api/applications?stage=interview", a.recruiter),
        ("applications, recruiter, stage, deep cursor",
         f"/api/applications?stage=rejected&cursor={a.company_stage_deep}", a.recruiter),
        ("applications, recruiter, job", f"/api/applications?job_id={job}", a.recruiter),
        ("applications, recruiter, job and stage",
         f"/api/applications?job_id={job}&stage=rejected", a.recruiter),
        ("applications, small company, stage", "/api/applications?stage=offer", a.small_recruiter),
        ("applications, hiring manager", "/api/applications", a.hiring_manager),
        ("applications, hiring manager, stage", "/api/applications?stage=offer", a.hiring_manager),
        ("applications, candidate", "/api/applications", a.candidate),
        ("applications, candidate, stage", "/api/applications?stage=rejected", a.candidate),
        ("applications, admin", "/api/applications", a.admin),
        ("applications, admin, deep cursor", f"/api/applications?cursor={a.all_deep}", a.admin),
        ("applications, admin, stage", "/api/applications?stage=hired", a.admin),
        ("applications, admin, job", f"/api/applications?job_id={job}", a.admin),
        ("job's applications, recruiter", f"/api/jobs/{job}/applications", a.recruiter),
        ("job's applications, recruiter, stage", f"/api/jobs/{job}/applications?stage=offer",
         a.recruiter),
        ("application, recruiter", f"/api/applications/{application}", a.recruiter),
        ("history, recruiter", f"/api/applications/{application}/history", a.recruiter),
        ("notifications, recruiter", f"/api/applications/{application}/notifications",
         a.recruiter),
        ("company members, small company", f"/api/companies/{small}/members", a.small_recruiter),
        ("users, admin", "/api/users", a.admin),
        ("users, admin, role", "/api/users?role=hiring_manager", a.admin),
        ("users, admin, inactive", "/api/users?is_active=false", a.admin),
        ("users, admin, company", f"/api/users?company_id={company}", a.admin),
        ("users, admin, q", "/api/users?q=zebra", a.admin),
        ("agenda, interviewer", "/api/interviews", a.interviewer),
        ("agenda, interviewer, next week", f"/api/interviews?{a.agenda_week}", a.interviewer),
        ("agenda, hiring manager", "/api/interviews", a.hiring_manager),
        ("agenda, recruiter", "/api/interviews", a.recruiter),
        ("agenda, recruiter, deep cursor", f"/api/interviews?cursor={a.agenda_deep}", a.recruiter),
        ("agenda, recruiter, next week", f"/api/interviews?{a.agenda_week}", a.recruiter),
        ("agenda, admin", "/api/interviews", a.admin),
        ("agenda, admin, next week", f"/api/interviews?{a.agenda_week}", a.admin),
        ("application's interviews, recruiter",
         f"/api/applications/{a.interviewing_application_id}/interviews", a.recruiter),
        ("application's scorecards, recruiter",
         f"/api/applications/{a.interviewing_application_id}/scorecards", a.recruiter),
    ]


SELECTS = re.compile(r"\s*SELECT\b.*\bFROM\b", re.IGNORECASE | re.DOTALL)


@contextmanager
def captured(kept: re.Pattern = SELECTS):
    """with captured() as statements: (statement, parameters) of each statement run that
    kept matches."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if kept.match(statement):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _nodes(plan: dict) -> list:
    backward = " Backward" if plan.get("Scan Direction") == "Backward" else ""
    found = [(plan["Node Type"] + backward, plan.get("Relation Name"), plan.get("Index Name"))]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def explain(app, actors: fixtures.Actors) -> list[Plan]:
    """Every case's SELECTs, explained; raises if a request does not answer 200."""
    client = app.test_client()
    plans = []
    for name, path, headers in cases(actors):
        with captured() as statements:
            response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: GET {path} answered {response.status_code}: "
                               f"{response.get_data(as_text=True)[:300]}")
        for statement, parameters in statements:
            nodes, milliseconds = explained(statement, parameters)
            plans.append(Plan(name, statement, nodes, milliseconds))
    return plans


def explained(statement: str, parameters, analyze: bool = True) -> tuple[list, float | None]:
    """The plan's nodes (top down) and, analyzed, its execution time; in a transaction rolled
    back (EXPLAIN ANALYZE runs the statement)."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {statement}",
                       parameters)
        (document,) = cursor.fetchone()
        document = document if isinstance(document, list) else json.loads(document)
        connection.rollback()
        return _nodes(document[0]["Plan"]), document[0].get("Execution Time")
    finally:
        connection.close()


def report(plans: list[Plan]) -> str:
    """One line per plan; a statement and plan already shown (the token checks every
    authenticated request makes) are not repeated."""
    lines, shown = [], set()
    for plan in plans:
        if (plan.sql, plan.summary()) in shown:
            continue
        shown.add((plan.sql, plan.summary()))
        flag = "SEQ SCAN " if plan.sequential_scans else ""
        lines.append(f"  {flag}{plan.case:<44} {plan.milliseconds:7.2f} ms  {plan.summary()}")
    return "\n".join(lines)


def main() -> None:
    import logging

    from ats import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)  # not one log line per explained request
    with app.app_context():
        plans = explain(app, fixtures.actors())
    print(report(plans))
    failing = [plan for plan in plans if plan.sequential_scans]
    print(f"{len(plans)} statements explained; {len(failing)} read a large table sequentially.")
    sys.exit(1 if failing else 0)


if __name__ == "__main__":
    main()
