"""Erasing candidates at scale: how long one erasure takes, and the plan of every statement it
runs; and the retention run's lookup over every candidate.

    DATABASE_URL=postgresql://… SECRET_KEY=… python bench/erasure.py [--candidates 20]

on a loaded database (flask ats seed --scale 1). It ERASES candidates for good: run it on a
database made for the benchmark. Before measuring it fills the outbox to one sent mail per
application and the files to one row per application (the seed makes neither; a deployment
has several of each), so that the tables the erasure scrubs have production sizes and their
plans are the ones production gets, and it gives each measured candidate a profile, a
session, an idempotency key and two more files of 256 KiB in the database (attachment_chunks).

Each erasure is timed end to end (ats.privacy.services.erase: its statements and the commit);
every statement of the first one is then shown with its plan (EXPLAIN, not run again). A plan
that reads a large table sequentially fails the run.
"""
import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.explain import LARGE_TABLES, captured, explained  # noqa: E402
from ats.extensions import db  # noqa: E402

LARGE = LARGE_TABLES | {"attachments", "attachment_chunks", "auth_sessions", "idempotency_keys",
                        "password_resets"}
PIECE = b"x" * (256 * 1024)
WRITES_AND_READS = re.compile(r"\s*(SELECT|UPDATE|DELETE|INSERT)\b", re.IGNORECASE)


def fill_outbox() -> int:
    """One sent application_received per application, if the outbox is far smaller."""
    applications = db.session.scalar(sa.text("SELECT count(*) FROM applications"))
    mails = db.session.scalar(sa.text("SELECT count(*) FROM notifications"))
    if mails >= applications // 2:
        return mails
    db.session.execute(sa.text("""
        INSERT INTO notifications (application_id, kind, recipient_id, recipient, status,
                                   attempts, dedupe_key, created_at, sent_at)
        SELECT a.id, 'application_received', a.candidate_id, u.email, 'sent', 1,
               'application_received:' || a.id || ':' || a.candidate_id, a.created_at, a.created_at
        FROM applications a JOIN users u ON u.id = a.candidate_id
        ON CONFLICT DO NOTHING"""))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE notifications"))
    db.session.commit()
    return db.session.scalar(sa.text("SELECT count(*) FROM notifications"))


def fill_attachments() -> int:
    """One file's row per application (a résumé each; no bytes, only the table's size
    matters to the plans), if there are far fewer."""
    applications = db.session.scalar(sa.text("SELECT count(*) FROM applications"))
    files = db.session.scalar(sa.text("SELECT count(*) FROM attachments"))
    if files >= applications // 2:
        return files
    db.session.execute(sa.text("""
        INSERT INTO attachments (application_id, kind, filename, content_type, size, sha256,
                                 uploaded_by_id, created_at)
        SELECT id, 'resume', 'cv.pdf', 'application/pdf', 0, repeat('0', 64), candidate_id,
               created_at
        FROM applications"""))
    db.session.execute(sa.text("UPDATE applications SET attachment_count = 1"))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE attachments"))
    db.session.execute(sa.text("ANALYZE applications"))
    db.session.commit()
    return db.session.scalar(sa.text("SELECT count(*) FROM attachments"))


def busiest_candidates(count: int) -> list[tuple[int, int]]:
    """(id, applications) of the not yet erased candidates with the most applications."""
    return db.session.execute(sa.text("""
        SELECT a.candidate_id, count(*) AS n FROM applications a
        JOIN users u ON u.id = a.candidate_id AND u.erased_at IS NULL
        GROUP BY a.candidate_id ORDER BY n DESC, a.candidate_id LIMIT :count"""),
        {"count": count}).all()


def furnish(user_id: int) -> None:
    """What a real candidate holds besides applications: a profile, a session, an idempotency
    key, two files."""
    from ats.auth import sessions
    from ats.models import Attachment, AttachmentChunk, IdempotencyKey, User

    user = db.session.get(User, user_id)
    user.phone, user.headline, user.location = "+49 30 1234567", "Engineer", "Berlin"
    user.links = ["https://example.com/me"]
    application_id = db.session.scalar(sa.text(
        "SELECT id FROM applications WHERE candidate_id = :id ORDER BY id LIMIT 1"),
        {"id": user_id})
    for name in ("cv.pdf", "portfolio.pdf"):
        attachment = Attachment(application_id=application_id, kind="resume", filename=name,
                                content_type="application/pdf", size=len(PIECE), sha256="0" * 64,
                                uploaded_by_id=user_id)
        db.session.add(attachment)
        db.session.flush()
        db.session.add(AttachmentChunk(attachment_id=attachment.id, seq=0, data=PIECE))
    db.session.add(IdempotencyKey(user_id=user_id, key=f"bench-{user_id}", method="POST",
                                  path="/api/jobs/1/applications", body_hash="0" * 64,
                                  status="done", response_status=201, response_body="{}"))
    db.session.commit()
    sessions.start(user)


def summary(nodes: list) -> str:
    return " > ".join(node + (f" using {index}" if index else "") + (f" on {rel}" if rel else "")
                      for node, rel, index in nodes)


def sequential(nodes: list) -> list[str]:
    return [rel for node, rel, _ in nodes if node == "Seq Scan" and rel in LARGE]


def one_line(statement: str) -> str:
    return " ".join(statement.split())[:110]


def main() -> None:
    import logging

    from ats import create_app
    from ats.common.db import utcnow
    from ats.privacy import services as privacy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20, help="how many to erase")
    parser.add_argument("--months", type=int, default=12, help="the retention lookup's period")
    options = parser.parse_args()

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    failing = []
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            sys.exit("bench/erasure.py measures PostgreSQL: set DATABASE_URL=postgresql://…")
        counts = {table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                  for table in ("users", "applications", "application_history")}
        counts["notifications"] = fill_outbox()
        counts["attachments"] = fill_attachments()
        print("database: " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))

        picked = busiest_candidates(options.candidates)
        for user_id, _ in picked:
            furnish(user_id)
        db.session.remove()
        timings, first = [], None
        for user_id, applications in picked:
            with captured(WRITES_AND_READS) as statements:
                started = time.perf_counter()
                assert privacy.erase(user_id, erased_by=None)
                timings.append((time.perf_counter() - started) * 1000)
            first = first or statements
            db.session.remove()
        applications = [n for _, n in picked]
        timings.sort()
        print(f"erased {len(picked)} candidates of {min(applications)}–{max(applications)} "
              f"applications and files each (2 of them 256 KiB), a session and a profile: "
              f"median {statistics.median(timings):.1f} ms, "
              f"p90 {timings[int(0.9 * (len(timings) - 1))]:.1f} ms, max {timings[-1]:.1f} ms")
        print(f"the {len(first)} statements of one erasure, with their plans:")
        for statement, parameters in first:
            nodes, _ = explained(statement, parameters, analyze=False)
            failing += sequential(nodes)
            flag = "SEQ SCAN " if sequential(nodes) else ""
            print(f"  {flag}{one_line(statement)}\n      {summary(nodes)}")

        cutoff = privacy.months_before(utcnow(), options.months)
        with captured(WRITES_AND_READS) as statements:
            started = time.perf_counter()
            due = privacy.retention_count(cutoff)
            counted = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            batch = privacy.retention_batch(cutoff, 0, 500)
            batched = (time.perf_counter() - started) * 1000
        print(f"retention, {options.months} months: {due:,} candidates due; counting them took "
              f"{counted:.0f} ms, the first batch of {len(batch)} ids {batched:.0f} ms")
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                nodes, ms = explained(statement, parameters)
                print(f"  {one_line(statement)}\n      {ms:.0f} ms: {summary(nodes)}")
    if failing:
        sys.exit(f"erasure statements read large tables sequentially: {sorted(set(failing))}")


if __name__ == "__main__":
    main()
