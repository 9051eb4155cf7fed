"""Bulk volume for `flask ats seed --scale …` (or --companies, --jobs, --applications).

The spread looks like real use: a few large companies and a long tail of small ones, a skewed
number of applications per job, stages that follow the hiring funnel, and a history row for
every stage an application passed through (about three per application), and an interview
for most applications that reached the interview stage (a future one for some still there),
each interviewer never in two at once. Rows go in by COPY
on PostgreSQL and by executemany elsewhere, all in one transaction: a failed load leaves
nothing behind (on PostgreSQL, other writers to these tables wait for it to commit). Every
generated account's password is ats.seed.PASSWORD, hashed once.
"""
import csv
import io
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, text

from ats import workflow
from ats.auth.passwords import hash_password
from ats.common.db import utcnow
from ats.extensions import db
from ats.models import (CANDIDATE, HIRING_MANAGER, INTERVIEW_SCHEDULED, JOB_CLOSED, JOB_OPEN,
                        RECRUITER, Company, StageStay, User)
from ats.reports import stays
from ats.seed import PASSWORD

# scale 1.0: the volume the load benchmark is specified for
FULL_SCALE = {"companies": 200, "jobs": 10_000, "applications": 1_000_000}
APPLICATIONS_PER_CANDIDATE = 5
CHUNK = 20_000  # applications per round trip (their history rows follow)

# Per open stage: the chance an application is still there, the chance it is rejected there
# and the chance its candidate withdraws it there; otherwise it moves on. Most are turned down
# after screening or an interview and about 5% are hired: about three history rows per
# application.
FUNNEL = {
    workflow.APPLIED: (0.05, 0.15, 0.02),
    workflow.SCREENING: (0.06, 0.50, 0.03),
    workflow.INTERVIEW: (0.08, 0.66, 0.04),
    workflow.OFFER: (0.10, 0.25, 0.05),
}

DAY = 86_400.0
JOB_AGE_DAYS = 730  # jobs were posted over the last two years
APPLY_WINDOW_DAYS = 45  # a job takes its applications in the weeks after it is posted
CLOSE_AFTER_DAYS = 60
MEAN_DAYS_BETWEEN_MOVES = 5

FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
               "Kira", "Liam", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
               "Umar", "Vera", "Wei", "Xena", "Yusuf", "Zoe")
LAST_NAMES = ("Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
              "Ivanova", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel",
              "Quist", "Rossi", "Schmidt", "Tanaka", "Urban", "Varga", "Weber", "Yilmaz", "Zhang")
COMPANY_WORDS = ("Acme", "Globex", "Initech", "Hooli", "Vandelay", "Umbrella", "Wonka", "Stark",
                 "Tyrell", "Soylent", "Cyberdyne", "Aperture", "Gringotts", "Monarch", "Oscorp")
COMPANY_KINDS = ("Labs", "Systems", "Group", "Works", "Analytics", "Digital", "Health", "Logistics")
SENIORITY = ("", "", "Junior ", "Senior ", "Lead ", "Staff ")
ROLE_TITLES = ("Backend Developer", "Frontend Engineer", "Full-Stack Developer", "DevOps Engineer",
               "Data Analyst", "Data Engineer", "Machine Learning Engineer", "Product Manager",
               "UX Designer", "QA Engineer", "Site Reliability Engineer", "Security Engineer",
               "Mobile Developer", "Technical Writer", "Support Engineer", "Sales Manager",
               "Account Executive", "Marketing Specialist", "Recruiter", "Finance Analyst")
LOCATIONS = ("Berlin", "Lisbon", "Amsterdam", "Remote", "Remote", "London", "Paris", "Madrid",
             "Warsaw", "Stockholm", None)
NOTES = ("Strong CV.", "Good culture fit.", "Solid technical interview.", "References checked.",
         "Salary expectations too high.", "Not enough experience.", "Great portfolio.")

COLUMNS = {
    "companies": ("id", "name", "name_key", "created_at"),
    "users": ("id", "name", "email", "password_hash", "role", "company_id", "created_at"),
    "jobs": ("id", "company_id", "title", "description", "location", "status", "created_at",
             "updated_at"),
    "job_hiring_managers": ("job_id", "user_id"),
    "applications": ("id", "job_id", "company_id", "candidate_id", "stage", "cover_letter",
                     "created_at", "updated_at"),
    "application_history": ("id", "application_id", "from_stage", "to_stage", "changed_by_id",
                             "changed_at", "note", "reason"),
    "interviews": ("id", "application_id", "company_id", "starts_at", "ends_at",
                   "duration_minutes", "location", "meeting_url", "status", "sequence",
                   "created_by_id", "created_at", "updated_at"),
    "interview_interviewers": ("interview_id", "user_id", "starts_at", "ends_at", "active"),
}
SUMMARY = "stage_stays"  # derived from the history once it is written (ats.reports.stays)
WITH_IDS = ("companies", "users", "jobs", "applications", "application_history", "interviews")
INTERVIEW_MINUTES = (30, 45, 60, 60, 90)
FUTURE_INTERVIEW_DAYS = 21  # of the applications now in interview, some have one ahead


@dataclass(frozen=True)
class Volume:
    companies: int
    jobs: int
    applications: int
    candidates: int


def plan(scale: float | None = None, companies: int | None = None, jobs: int | None = None,
         applications: int | None = None, candidates: int | None = None) -> Volume:
    """The counts to load: explicit ones win; the others follow the scale, or the proportions
    of the full volume to the given ones. Raises ValueError for a volume that cannot exist."""
    given = {"companies": companies, "jobs": jobs, "applications": applications}
    if scale is None:  # infer it from the most specific count given
        scale = next((given[name] / FULL_SCALE[name] for name in ("applications", "jobs", "companies")
                      if given[name]), 0.0)
    counts = {name: given[name] if given[name] is not None
              else (max(1, round(FULL_SCALE[name] * scale)) if scale else 0)
              for name in FULL_SCALE}
    if name := next((name for name, value in counts.items() if value < 0), None):
        raise ValueError(f"{name} cannot be negative.")
    if counts["jobs"] and not counts["companies"]:
        raise ValueError("Jobs need at least one company.")
    if counts["applications"] and not counts["jobs"]:
        raise ValueError("Applications need at least one job.")
    if candidates is None:
        candidates = math.ceil(counts["applications"] / APPLICATIONS_PER_CANDIDATE)
    if candidates < 0:
        raise ValueError("candidates cannot be negative.")
    if counts["applications"] and not candidates:
        raise ValueError("Applications need at least one candidate.")
    return Volume(candidates=candidates, **counts)


@dataclass
class Loaded:
    """What a load added, and a few of its logins."""

    counts: dict
    seconds: float
    logins: list  # (role, email)


def _spread(total: int, weights: list[float]) -> list[int]:
    """total split in proportion to weights; the parts add up to total exactly."""
    if not weights:
        return []
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(parts)), key=lambda i: parts[i] - exact[i])[:total - sum(parts)]:
        parts[i] += 1
    return parts


def _journey(rng: random.Random) -> list[str]:
    """The stages one application went through, from applied to where it stands now."""
    stages = [workflow.INITIAL]
    while not workflow.is_final(stages[-1]):
        stay, reject, withdraw = FUNNEL[stages[-1]]
        roll = rng.random()
        if roll < stay:
            break
        onward = [s for s in workflow.allowed_moves(stages[-1], RECRUITER) if s != workflow.REJECTED]
        stages.append(workflow.REJECTED if roll < stay + reject else
                      workflow.WITHDRAWN if roll < stay + reject + withdraw else onward[0])
    return stages


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


class _CopyWriter:
    """PostgreSQL: COPY … FROM STDIN in CSV (an unquoted empty field is NULL)."""

    def __init__(self, connection):
        self.cursor = connection.connection.dbapi_connection.cursor()

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            self.cursor.copy_expert(
                f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN WITH (FORMAT csv)", buffer)


class _InsertWriter:
    """Any other database: executemany through the table's own column types."""

    def __init__(self, connection):
        self.connection = connection

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            columns = COLUMNS[table]
            self.connection.execute(insert(db.metadata.tables[table]),
                                    [dict(zip(columns, row)) for row in rows])


class _Load:
    def __init__(self, volume: Volume, rng: random.Random, progress):
        self.volume, self.rng, self.progress = volume, rng, progress
        self.connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        if self.postgres:  # concurrent inserts wait, so the ids taken here stay ours
            self.connection.execute(text(f"LOCK TABLE {', '.join(COLUMNS)} IN EXCLUSIVE MODE"))
        self.writer = (_CopyWriter if self.postgres else _InsertWriter)(self.connection)
        self.next_id = {
            table: self.connection.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) + 1
            for table in WITH_IDS}
        self.first_history_id = self.next_id["application_history"]
        self.now = utcnow().timestamp()
        # hashing is the slow part of making an account: one hash serves them all
        self.password_hash = hash_password(PASSWORD)
        self.counts = dict.fromkeys(("companies", "recruiters", "hiring managers", "candidates",
                                     "jobs", "applications", "history rows", "interviews"), 0)
        self.interviews = []  # (wanted start, application id, company id, interviewer, creator)

    def _ids(self, table: str, count: int) -> range:
        first = self.next_id[table]
        self.next_id[table] += count
        return range(first, first + count)

    def _write(self, table: str, rows: list[tuple], progress: bool = True) -> None:
        self.writer.write(table, rows)
        if progress:
            self.progress(len(rows))

    def _person(self, user_id: int, domain: str, role: str, company_id: int | None,
                created: float) -> tuple:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{user_id}@{domain}".lower()
        return (user_id, f"{first} {last}", email, self.password_hash, role, company_id, _at(created))

    def companies(self) -> list[dict]:
        """Companies, each with recruiters and hiring managers in proportion to its jobs."""
        rng, volume = self.rng, self.volume
        companies, rows, staff = [], [], []
        ids = self._ids("companies", volume.companies)
        for company_id, jobs in zip(ids, _jobs_per_company(volume)):
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {company_id}"
            founded = self.now - rng.uniform(JOB_AGE_DAYS + 30, JOB_AGE_DAYS + 400) * DAY
            rows.append((company_id, name, Company.key_for(name), _at(founded)))
            domain = f"company{company_id}.example"
            recruiters = self._ids("users", _recruiters_for(jobs))
            managers = self._ids("users", _managers_for(jobs))
            staff += [self._person(i, domain, RECRUITER, company_id, founded) for i in recruiters]
            staff += [self._person(i, domain, HIRING_MANAGER, company_id, founded) for i in managers]
            companies.append({"id": company_id, "name": name, "jobs": jobs,
                              "recruiters": list(recruiters), "managers": list(managers)})
        self._write("companies", rows)
        self._write("users", staff)
        self.counts["companies"] += len(rows)
        self.counts["recruiters"] += sum(len(c["recruiters"]) for c in companies)
        self.counts["hiring managers"] += sum(len(c["managers"]) for c in companies)
        return companies

    def jobs(self, companies: list[dict]) -> list[dict]:
        """Jobs posted over two years, ids in posting order; most have hiring managers."""
        rng = self.rng
        posted = sorted(((self.now - rng.uniform(1 / 24, JOB_AGE_DAYS) * DAY, company)
                         for company in companies for _ in range(company["jobs"])),
                        key=lambda entry: entry[0])
        jobs, rows, links = [], [], []
        for job_id, (created, company) in zip(self._ids("jobs", len(posted)), posted):
            title = rng.choice(SENIORITY) + rng.choice(ROLE_TITLES)
            closed = self.now - created > 90 * DAY and rng.random() < 0.4
            updated = created + CLOSE_AFTER_DAYS * DAY if closed else created
            rows.append((job_id, company["id"], title,
                         f"{company['name']} is hiring: {title}. Join a team that ships.",
                         rng.choice(LOCATIONS), JOB_CLOSED if closed else JOB_OPEN,
                         _at(created), _at(updated)))
            managers = rng.sample(company["managers"],
                                  min(len(company["managers"]), rng.choice((0, 1, 1, 1, 2))))
            links += [(job_id, manager) for manager in managers]
            jobs.append({"id": job_id, "company": company, "title": title, "created": created,
                         "movers": company["recruiters"] + managers})
        self._write("jobs", rows)
        self._write("job_hiring_managers", links, progress=False)
        self.counts["jobs"] += len(rows)
        return jobs

    def candidates(self, needed: int) -> range:
        ids = self._ids("users", max(self.volume.candidates, needed))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            self._write("users", [self._person(i, "candidates.example", CANDIDATE, None,
                                               self.now - self.rng.uniform(1, 3 * 365) * DAY)
                                  for i in chunk])
        self.counts["candidates"] += len(ids)
        return ids

    def applications(self, jobs: list[dict]) -> None:
        rng = self.rng
        per_job = _spread(self.volume.applications, [rng.lognormvariate(0, 1.1) for _ in jobs])
        candidates = self.candidates(max(per_job, default=0))
        applied = []  # (when, job, candidate): a candidate applies to a job at most once
        for job, count in zip(jobs, per_job):
            window = min(APPLY_WINDOW_DAYS * DAY, self.now - job["created"])
            applied += [(job["created"] + rng.random() * window, job, candidate)
                        for candidate in rng.sample(candidates, count)]
        applied.sort(key=lambda entry: entry[0])  # ids in the order people applied
        for start in range(0, len(applied), CHUNK):
            self._applications_chunk(applied[start:start + CHUNK])

    def _applications_chunk(self, applied: list[tuple]) -> None:
        rng, now = self.rng, self.now
        rows, history = [], []
        ids = self._ids("applications", len(applied))
        for application_id, (created, job, candidate) in zip(ids, applied):
            stages = _journey(rng)
            history_ids = iter(self._ids("application_history", len(stages)))
            history.append((next(history_ids), application_id, None, stages[0], candidate,
                            _at(created), None, None))
            when = created
            for before, stage in zip(stages, stages[1:]):
                when = min(now, when + rng.expovariate(1 / MEAN_DAYS_BETWEEN_MOVES) * DAY)
                # a withdrawal is the candidate's own move, and says why one time in two
                withdrawn = CANDIDATE in workflow.TRANSITIONS[before][stage]
                reasons = workflow.REASONS.get(stage)
                reason = (reasons.catalogue[application_id % len(reasons.catalogue)]
                          if reasons and (reasons.required or application_id % 2) else None)
                history.append((next(history_ids), application_id, before, stage,
                                candidate if withdrawn else rng.choice(job["movers"]), _at(when),
                                None if withdrawn else
                                rng.choice(NOTES) if rng.random() < 0.4 else None, reason))
            if workflow.INTERVIEW in stages and rng.random() < 0.8:
                moved = created + stages.index(workflow.INTERVIEW) * MEAN_DAYS_BETWEEN_MOVES * DAY
                wanted = (now + rng.uniform(1 / 24, FUTURE_INTERVIEW_DAYS) * DAY
                          if stages[-1] == workflow.INTERVIEW and rng.random() < 0.3
                          else min(now - DAY, moved + rng.uniform(1, 7) * DAY))
                self.interviews.append((wanted, application_id, job["company"]["id"],
                                        rng.choice(job["movers"]), job["company"]["recruiters"][0]))
            letter = (f"Dear {job['company']['name']} team, I would love to join you as "
                      f"{job['title']}." if rng.random() < 0.6 else None)
            rows.append((application_id, job["id"], job["company"]["id"], candidate, stages[-1],
                         letter, _at(created), _at(when)))
        self._write("applications", rows)
        self._write("application_history", history, progress=False)
        self.counts["applications"] += len(rows)
        self.counts["history rows"] += len(history)

    def interviews_of_applications(self) -> None:
        """The interviews, in time order; each starts when its interviewer is next free."""
        rng, free = self.rng, {}
        self.interviews.sort(key=lambda entry: entry[0])
        rows, seats = [], []
        ids = self._ids("interviews", len(self.interviews))
        for interview_id, (wanted, application_id, company_id, interviewer, creator) in zip(
                ids, self.interviews):
            starts = max(wanted, free.get(interviewer, 0.0))
            starts -= starts % 900  # on a quarter hour
            if starts < free.get(interviewer, 0.0):
                starts += 900
            minutes = rng.choice(INTERVIEW_MINUTES)
            ends = starts + minutes * 60
            free[interviewer] = ends
            booked = min(self.now, starts - DAY)
            rows.append((interview_id, application_id, company_id, _at(starts), _at(ends), minutes,
                         rng.choice(LOCATIONS), None, INTERVIEW_SCHEDULED, 0, creator,
                         _at(booked), _at(booked)))
            seats.append((interview_id, interviewer, _at(starts), _at(ends), True))
        for start in range(0, len(rows), CHUNK):
            self._write("interviews", rows[start:start + CHUNK], progress=False)
            self._write("interview_interviewers", seats[start:start + CHUNK], progress=False)
        self.counts["interviews"] += len(rows)

    def summarise(self) -> None:
        """The reports' summary of the history rows this load wrote (their applications are
        all new). On PostgreSQL a load larger than what is there builds the summary's indexes
        after its rows, in one pass each, instead of keeping them up row by row."""
        written = self.next_id["application_history"] - self.first_history_id
        rebuild_indexes = self.postgres and written > self.first_history_id
        indexes = StageStay.__table__.indexes if rebuild_indexes else ()
        for index in indexes:
            index.drop(self.connection)
        stays.rebuild(self.first_history_id)
        for index in indexes:
            index.create(self.connection)

    def finish(self) -> None:
        self.summarise()
        if self.postgres:  # rows came with their ids: move each sequence past them
            for table in WITH_IDS:
                self.connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "
                    f"HAVING max(id) IS NOT NULL"))
        db.session.commit()
        if self.postgres:
            # fresh statistics, or the planner guesses from an empty table; VACUUM also sets the
            # hint bits and visibility map now, which the first readers would otherwise pay for
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in (*COLUMNS, SUMMARY):
                    conn.execute(text(f"VACUUM (ANALYZE) {table}"))
        else:
            for table in (*COLUMNS, SUMMARY):
                db.session.execute(text(f"ANALYZE {table}"))
            db.session.commit()


def _jobs_per_company(volume: Volume) -> list[int]:
    """A few large employers and a long tail (Zipf-like)."""
    return _spread(volume.jobs, [1 / (rank + 1) ** 0.9 for rank in range(volume.companies)])


def _recruiters_for(jobs: int) -> int:
    return min(8, 1 + jobs // 25)


def _managers_for(jobs: int) -> int:
    return min(20, 1 + jobs // 10)


def progress_units(volume: Volume) -> int:
    """The length of the progress bar load() advances: companies, staff, candidates, jobs and
    applications (their history rows go with them)."""
    staff = sum(_recruiters_for(jobs) + _managers_for(jobs) for jobs in _jobs_per_company(volume))
    return volume.companies + staff + volume.candidates + volume.jobs + volume.applications


def load(volume: Volume, progress=lambda rows: None, seed: int | None = None) -> Loaded:
    """Add the volume to the database in one transaction; progress(n) as rows go in."""
    started = time.perf_counter()
    rng = random.Random(seed)
    db.session.rollback()  # start from a clean transaction
    try:
        run = _Load(volume, rng, progress)
        companies = run.companies()
        jobs = run.jobs(companies)
        run.applications(jobs)
        run.interviews_of_applications()
        run.finish()
    except BaseException:
        db.session.rollback()
        raise
    logins = []
    if companies:
        largest = max(companies, key=lambda company: company["jobs"])
        logins += [(RECRUITER, largest["recruiters"][0]), (HIRING_MANAGER, largest["managers"][0])]
    if run.counts["candidates"]:
        logins.append((CANDIDATE, run.next_id["users"] - 1))
    emails = dict(db.session.execute(select(User.id, User.email).where(
        User.id.in_([user_id for _, user_id in logins]))).all())
    return Loaded(counts=run.counts, seconds=time.perf_counter() - started,
                  logins=[(role, emails[user_id]) for role, user_id in logins])
