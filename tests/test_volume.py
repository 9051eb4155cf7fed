"""`flask ats seed` with volume options: bulk companies, staff, jobs, applications, history."""
from datetime import timedelta
from itertools import groupby

import pytest
from sqlalchemy import func, select

from ats import workflow
from ats.auth import sessions
from ats.extensions import db
from ats.models import (CANDIDATE, HIRING_MANAGER, RECRUITER, Application, ApplicationHistory,
                        Company, Job, User, job_hiring_managers)
from ats.seed import PASSWORD
from tests.helpers import count, ids, stage_stays

SMALL = ["--companies", "3", "--jobs", "12", "--applications", "300"]
SAME_MOMENT = timedelta(seconds=1)  # rows made through the API take their clocks one by one


def seed(runner, *options):
    result = runner.invoke(args=["ats", "seed", *options])
    assert result.exit_code == 0, result.output
    return result


def table_counts(app) -> dict:
    return {name: count(app, model) for name, model in
            (("companies", Company), ("users", User), ("jobs", Job), ("applications", Application),
             ("history", ApplicationHistory))}


def assert_consistent(app):
    """Every row keeps the rules the API keeps."""
    with app.app_context():
        users = {user.id: user for user in db.session.scalars(select(User))}
        jobs = {job.id: job for job in db.session.scalars(select(Job))}
        for user in users.values():
            assert (user.company_id is not None) == (user.role in (RECRUITER, HIRING_MANAGER))
        for job_id, user_id in db.session.execute(select(job_hiring_managers)):
            manager = users[user_id]
            assert manager.role == HIRING_MANAGER and manager.company_id == jobs[job_id].company_id
        applications = {a.id: a for a in db.session.scalars(select(Application))}
        assert len({(a.candidate_id, a.job_id) for a in applications.values()}) == len(applications)
        rows = db.session.scalars(select(ApplicationHistory).order_by(
            ApplicationHistory.application_id, ApplicationHistory.id)).all()
        histories = {key: list(group) for key, group in groupby(rows, lambda r: r.application_id)}
        assert set(histories) == set(applications)
        for application in applications.values():
            job = jobs[application.job_id]
            assert application.company_id == job.company_id
            assert users[application.candidate_id].role == CANDIDATE
            first, *moves = histories[application.id]
            assert (first.from_stage, first.to_stage) == (None, workflow.INITIAL)
            assert first.changed_by_id == application.candidate_id
            assert abs(first.changed_at - application.created_at) < SAME_MOMENT
            previous = first
            for move in moves:
                assert move.from_stage == previous.to_stage
                workflow.check_move(move.from_stage, move.to_stage)  # raises if illegal
                assert move.changed_at >= previous.changed_at
                mover = users[move.changed_by_id]
                # the mover's role may make the move, with its reason (a rejection's is required)
                workflow.check_change(move.from_stage, move.to_stage, mover.role, move.reason)
                if mover.role == CANDIDATE:  # a withdrawal: by the application's own candidate
                    assert mover.id == application.candidate_id
                else:
                    assert mover.role in (RECRUITER, HIRING_MANAGER)
                    assert mover.company_id == application.company_id
                previous = move
            assert application.stage == previous.to_stage
            assert abs(application.updated_at - previous.changed_at) < SAME_MOMENT


def test_volume_options_load_the_counts_asked_for(runner, app):
    result = seed(runner, *SMALL)
    counts = table_counts(app)
    assert (counts["companies"], counts["jobs"], counts["applications"]) == (3, 12, 300)
    assert counts["history"] > 300  # every application has its first row; most have moved on
    with app.app_context():
        for company_id in db.session.scalars(select(Company.id)):
            roles = set(db.session.scalars(select(User.role).where(User.company_id == company_id)))
            assert roles == {RECRUITER, HIRING_MANAGER}
        candidates = count(app, User, User.role == CANDIDATE)
    assert candidates >= 300 // 5
    assert f"{counts['history']:,} history rows" in result.output
    assert PASSWORD in result.output


def test_volume_rows_keep_every_rule(runner, app):
    seed(runner, *SMALL, "--random-seed", "7")
    assert_consistent(app)


def test_volume_follows_a_funnel_across_skewed_jobs(runner, app):
    seed(runner, "--companies", "4", "--jobs", "40", "--applications", "4000", "--random-seed", "11")
    with app.app_context():
        stages = dict(db.session.execute(
            select(Application.stage, func.count()).group_by(Application.stage)).all())
        per_job = db.session.scalars(
            select(func.count()).select_from(Application).group_by(Application.job_id)).all()
        jobs_per_company = db.session.scalars(
            select(func.count()).select_from(Job).group_by(Job.company_id)).all()
    assert set(stages) == set(workflow.STAGES)
    # a funnel: fewer reach each stage than the one before; most are turned down
    assert stages[workflow.REJECTED] > stages[workflow.APPLIED] > stages[workflow.OFFER]
    assert stages[workflow.HIRED] < 0.15 * 4000
    assert 2.5 <= count(app, ApplicationHistory) / 4000 <= 3.5
    assert max(per_job) > 3 * min(per_job)  # some jobs draw far more applicants
    assert max(jobs_per_company) > min(jobs_per_company)  # large and small employers


def test_the_api_serves_the_volume(runner, app, client):
    result = seed(runner, *SMALL)
    emails = dict(line.split() for line in result.output.splitlines()[-3:])
    with app.app_context():
        recruiter = db.session.scalar(select(User).where(User.email == emails[RECRUITER]))
        headers = {"Authorization": f"Bearer {sessions.start(recruiter)['access_token']}"}
        company_applications = db.session.scalars(
            select(Application.id).where(Application.company_id == recruiter.company_id)
            .order_by(Application.id.desc())).all()
    assert len(company_applications) > 20

    first = client.get("/api/applications", headers=headers)
    second = client.get(f"/api/applications?cursor={first.get_json()['next_cursor']}",
                        headers=headers)
    assert ids(first) + ids(second) == company_applications[:40]

    history = client.get(f"/api/applications/{company_applications[0]}/history", headers=headers)
    assert history.status_code == 200
    assert history.get_json()["items"][0]["to_stage"] == workflow.INITIAL

    login = client.post("/api/auth/login", json={"email": emails[CANDIDATE], "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    token = login.get_json()["access_token"]
    own = client.get("/api/applications", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200


def test_the_api_creates_rows_after_a_volume(runner, app, client, make_user):
    """The bulk rows came with their own ids: new rows must still get fresh ones."""
    seed(runner, *SMALL)
    recruiter = make_user(RECRUITER)
    candidate = make_user(CANDIDATE)
    job = client.post("/api/jobs", json={"title": "After the volume", "description": "-"},
                      headers=recruiter.headers)
    assert job.status_code == 201, job.get_json()
    applied = client.post(f"/api/jobs/{job.get_json()['id']}/applications", json={},
                          headers=candidate.headers)
    assert applied.status_code == 201, applied.get_json()
    with app.app_context():
        assert applied.get_json()["id"] == db.session.scalar(select(func.max(Application.id)))


def test_seeding_twice_adds_more_and_keeps_names_unique(runner, app):
    seed(runner, *SMALL, "--random-seed", "1")
    once = table_counts(app)
    seed(runner, *SMALL, "--random-seed", "1")  # the same choices again: ids keep them apart
    twice = table_counts(app)
    assert twice == {name: 2 * value for name, value in once.items()}
    with app.app_context():
        assert db.session.scalar(select(func.count(func.distinct(User.email)))) == twice["users"]
        assert db.session.scalar(select(func.count(func.distinct(Company.name_key)))) == 6
    assert_consistent(app)


def test_volume_after_the_demo_data(runner, app):
    seed(runner)
    demo = table_counts(app)
    seed(runner, *SMALL)
    assert table_counts(app)["applications"] == demo["applications"] + 300
    assert_consistent(app)


def test_scale_sets_every_count(runner, app):
    seed(runner, "--scale", "0.0003")  # of 200 companies, 10,000 jobs, 1,000,000 applications
    counts = table_counts(app)
    assert (counts["companies"], counts["jobs"], counts["applications"]) == (1, 3, 300)


def test_one_count_sets_the_others_in_proportion(runner, app):
    seed(runner, "--applications", "500")
    counts = table_counts(app)
    assert (counts["companies"], counts["jobs"], counts["applications"]) == (1, 5, 500)


def test_candidates_only(runner, app):
    seed(runner, "--applications", "0", "--candidates", "25")
    assert count(app, User, User.role == CANDIDATE) == 25
    assert count(app, Company) == count(app, Job) == count(app, Application) == 0


@pytest.mark.parametrize("options, message", [
    (["--companies", "0", "--jobs", "5"], "Jobs need at least one company"),
    (["--jobs", "0", "--applications", "10"], "Applications need at least one job"),
    (["--applications", "10", "--candidates", "0"], "need at least one candidate"),
])
def test_impossible_volumes_are_refused_and_write_nothing(runner, app, options, message):
    result = runner.invoke(args=["ats", "seed", *options])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert set(table_counts(app).values()) == {0}


@pytest.mark.parametrize("options", [["--jobs", "-1"], ["--scale", "0"], ["--scale", "x"]])
def test_bad_option_values_are_usage_errors(runner, app, options):
    result = runner.invoke(args=["ats", "seed", *options])
    assert result.exit_code == 2, result.output
    assert set(table_counts(app).values()) == {0}


def test_the_volume_is_summarised_for_the_reports(runner, app, make_user, make_job,
                                                  make_application, recruiter):
    """A row of stage_stays for every history row a load writes, as rebuilding the summary
    from the history gives, the API's rows untouched: the first load (larger than what is
    there) builds the summary's indexes afresh, the second keeps them up as it goes."""
    make_application(make_user(), make_job(recruiter)["id"])
    before = stage_stays(app)
    seed(runner, *SMALL)
    seed(runner, *SMALL)
    after = stage_stays(app)
    assert after[:len(before)] == before and len(after) == count(app, ApplicationHistory)
    result = runner.invoke(args=["ats", "rebuild-reports"])
    assert result.exit_code == 0, result.output
    assert stage_stays(app) == after
