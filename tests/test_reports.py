"""The reports, figure by figure, on a small dataset whose every number is worked out by hand.

Two jobs of company A and one of company B; applications made and moved through the API, then
their history given controlled timestamps (hours after T0, written straight into the history
and summarised again by `flask ats rebuild-reports`). Applications end rejected and withdrawn
from several stages; one is still where it started.
"""
import csv
import io
import random
import statistics
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from ats.extensions import db
from ats.models import ADMIN, HIRING_MANAGER, Application, ApplicationHistory, StageStay, User
from ats.reports import services, stays
from tests.helpers import assert_error, assert_invalid, stage_stays

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday

# application: (job, hour it was made, moves as (stage, hour[, reason]))
JOURNEYS = {
    "a1": ("J1", 0, [("screening", 10), ("interview", 30), ("offer", 70), ("hired", 94)]),
    "a2": ("J1", 12, [("screening", 26), ("rejected", 56, "skills_mismatch")]),
    "a3": ("J1", 24, [("rejected", 30, "not_qualified")]),
    "a4": ("J1", 30, [("screening", 50), ("interview", 60), ("withdrawn", 110, "accepted_other_offer")]),
    "a5": ("J1", 48, []),
    "b1": ("J2", 72, [("screening", 74), ("interview", 78), ("offer", 86), ("hired", 134)]),
    "b2": ("J2", 84, [("screening", 92), ("withdrawn", 104)]),  # no reason given
    "b3": ("J2", 96, [("screening", 100), ("interview", 106), ("offer", 122),
                      ("rejected", 146, "compensation")]),
    "c1": ("J3", 0, [("screening", 1), ("interview", 2), ("offer", 3), ("hired", 4)]),  # company B
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def world(app, client, runner, make_user, make_job, make_application, recruiter, outsider):
    """JOURNEYS made through the API, then set to their hours (and the reports' summary
    rebuilt from the history, as after any change to it by hand)."""
    jobs = {"J1": make_job(recruiter)["id"], "J2": make_job(recruiter)["id"],
            "J3": make_job(outsider)["id"]}
    applications = {}
    for key, (job, _, moves) in JOURNEYS.items():
        staff = outsider if job == "J3" else recruiter
        candidate = make_user()
        application_id = make_application(candidate, jobs[job])["id"]
        for stage, _, *reason in moves:
            mover = candidate if stage == "withdrawn" else staff
            response = client.patch(f"/api/applications/{application_id}/stage", headers=mover.headers,
                                    json={"stage": stage, **({"reason": reason[0]} if reason else {})})
            assert response.status_code == 200, response.get_json()
        applications[key] = application_id
    with app.app_context():
        for key, (_, made, moves) in JOURNEYS.items():
            entries = db.session.scalars(select(ApplicationHistory.id).where(
                ApplicationHistory.application_id == applications[key]).order_by(ApplicationHistory.id)).all()
            for entry_id, hour in zip(entries, [made] + [move[1] for move in moves], strict=True):
                db.session.execute(update(ApplicationHistory).where(ApplicationHistory.id == entry_id)
                                   .values(changed_at=at(hour)))
            db.session.execute(update(Application).where(Application.id == applications[key])
                               .values(created_at=at(made)))
        db.session.commit()
    result = runner.invoke(args=["ats", "rebuild-reports"])
    assert result.exit_code == 0 and result.output == "33 stays rebuilt from the history.\n", result.output
    return {"jobs": jobs, "applications": applications, "recruiter": recruiter, "outsider": outsider}


def report(client, name: str, user, **query) -> dict:
    response = client.get(f"/api/reports/{name}", query_string=query, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def funnel_rows(body) -> list[tuple]:
    return [(s["stage"], s["entered"], s["current"], s["conversion"]) for s in body["stages"]]


COMPANY_A_FUNNEL = [
    ("applied", 8, 1, 6 / 8),
    ("screening", 6, 0, 4 / 6),
    ("interview", 4, 0, 3 / 4),
    ("offer", 3, 0, 2 / 3),
    ("hired", 2, 2, None),
    ("rejected", 3, 3, None),  # from applied (a3), screening (a2) and offer (b3)
    ("withdrawn", 2, 2, None),  # from interview (a4) and screening (b2)
]


def test_the_funnel_counts_who_entered_each_stage_who_is_there_and_who_went_on(client, world):
    assert funnel_rows(report(client, "funnel", world["recruiter"])) == COMPANY_A_FUNNEL


def test_time_in_stage_counts_the_stays_that_ended(client, world):
    # applied: 10, 14, 6, 20, 2, 8, 4 (a5 is still there): sorted 2 4 6 8 10 14 20
    #   median rank 4 -> 8; p90 rank 1 + 0.9 * 6 = 6.4 -> 14 + 0.4 * (20 - 14) = 16.4
    # screening: 20, 30, 10, 4, 12, 6 -> 4 6 10 12 20 30: median 3.5 -> 11; p90 5.5 -> 25
    # interview: 40, 50, 8, 16 -> 8 16 40 50: median 2.5 -> 28; p90 3.7 -> 40 + 0.7 * 10 = 47
    # offer: 24, 48, 24 -> 24 24 48: median 2 -> 24; p90 2.8 -> 24 + 0.8 * 24 = 43.2
    assert report(client, "time-in-stage", world["recruiter"]) == {"stages": [
        {"stage": "applied", "count": 7, "median_hours": 8.0, "p90_hours": 16.4},
        {"stage": "screening", "count": 6, "median_hours": 11.0, "p90_hours": 25.0},
        {"stage": "interview", "count": 4, "median_hours": 28.0, "p90_hours": 47.0},
        {"stage": "offer", "count": 3, "median_hours": 24.0, "p90_hours": 43.2},
    ]}


def test_time_to_hire_runs_from_the_application_to_hired(client, world):
    # a1: 94 h = 3.9167 days (J1); b1: 134 - 72 = 62 h = 2.5833 days (J2)
    # median 2.5833 + 0.5 * 1.3333 = 3.25; p90 2.5833 + 0.9 * 1.3333 = 3.7833
    jobs = world["jobs"]
    assert report(client, "time-to-hire", world["recruiter"]) == {
        "count": 2, "median_days": 3.25, "p90_days": 3.783, "jobs": [
            {"job_id": jobs["J1"], "count": 1, "median_days": 3.917, "p90_days": 3.917},
            {"job_id": jobs["J2"], "count": 1, "median_days": 2.583, "p90_days": 2.583}]}


def test_outcomes_by_reason_and_by_the_stage_left(client, world):
    body = report(client, "outcomes", world["recruiter"])
    assert body == {
        "rejected": {
            "by_reason": {"not_qualified": 1, "experience_level": 0, "skills_mismatch": 1,
                          "position_filled": 0, "position_cancelled": 0, "compensation": 1,
                          "location": 0, "culture_add": 0, "no_show": 0, "unresponsive": 0,
                          "other": 0},
            "by_stage": {"applied": 1, "screening": 1, "interview": 0, "offer": 1}},
        "withdrawn": {"by_reason": {"accepted_other_offer": 1, "compensation": 0, "location": 0,
                                    "timing": 0, "not_interested": 0, "other": 0, "none": 1}}}


def test_a_job_filter_keeps_its_applications_only(client, world):
    recruiter, job = world["recruiter"], world["jobs"]["J2"]
    assert funnel_rows(report(client, "funnel", recruiter, job_id=job)) == [
        ("applied", 3, 0, 1.0), ("screening", 3, 0, 2 / 3), ("interview", 2, 0, 1.0),
        ("offer", 2, 0, 0.5), ("hired", 1, 1, None), ("rejected", 1, 1, None),
        ("withdrawn", 1, 1, None)]
    # applied 2 4 8: median 4, p90 rank 2.8 -> 4 + 0.8 * 4 = 7.2
    assert report(client, "time-in-stage", recruiter, job_id=job)["stages"][0] == {
        "stage": "applied", "count": 3, "median_hours": 4.0, "p90_hours": 7.2}
    assert report(client, "time-to-hire", recruiter, job_id=job)["count"] == 1


def test_dates_bound_the_applications_creation_a_date_to_taking_its_whole_day(client, world):
    recruiter = world["recruiter"]
    # 6 and 7 January: a3 (6th 00:00), a4 (6th 06:00), a5 (7th 00:00)
    assert funnel_rows(report(client, "funnel", recruiter, **{"from": "2026-01-06", "to": "2026-01-07"})) == [
        ("applied", 3, 1, 1 / 3), ("screening", 1, 0, 1.0), ("interview", 1, 0, 0.0),
        ("offer", 0, 0, None), ("hired", 0, 0, None), ("rejected", 1, 1, None),
        ("withdrawn", 1, 1, None)]
    # a date-time is one instant, both ends included: a2 was made at 12:00 on the 5th
    noon = "2026-01-05T12:00:00+00:00"
    assert report(client, "funnel", recruiter, to=noon)["stages"][0]["entered"] == 2  # a1, a2
    assert report(client, "funnel", recruiter, **{"from": noon})["stages"][0]["entered"] == 7
    assert report(client, "funnel", recruiter, **{"from": "2026-01-05T13:00:00+01:00",
                                                  "to": noon})["stages"][0]["entered"] == 1
    assert report(client, "outcomes", recruiter, **{"from": "2026-02-01"})["rejected"]["by_stage"] == {
        "applied": 0, "screening": 0, "interview": 0, "offer": 0}


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
    ({"from": "2026-01-05T10:00:00"}, "from"),  # a time without an offset: whose 10:00?
    ({"from": "2026-01-08", "to": "2026-01-07"}, "to"), ({"job_id": "0"}, "job_id"),
    ({"company_id": "x"}, "company_id"), ({"stage": "offer"}, "stage"),
    ({"to": "9999-12-31"}, "to"), ({"to": "9999-12-31T23:59:59.999999+00:00"}, "to")])
def test_bad_filters_are_422(client, recruiter, query, field):
    assert_invalid(client.get("/api/reports/funnel", query_string=query, headers=recruiter.headers), field)


def test_an_admin_sees_every_company_or_the_one_named(client, world, make_user):
    admin = make_user(ADMIN)
    everyone = funnel_rows(report(client, "funnel", admin))
    assert everyone[:5] == [("applied", 9, 1, 7 / 9), ("screening", 7, 0, 5 / 7),
                            ("interview", 5, 0, 4 / 5), ("offer", 4, 0, 3 / 4), ("hired", 3, 3, None)]
    company_a = world["recruiter"].company_id
    assert funnel_rows(report(client, "funnel", admin, company_id=company_a)) == COMPANY_A_FUNNEL
    assert report(client, "time-to-hire", admin, company_id=world["outsider"].company_id) == {
        "count": 1, "median_days": round(4 / 24, 3), "p90_days": round(4 / 24, 3), "jobs": [
            {"job_id": world["jobs"]["J3"], "count": 1, "median_days": 0.167, "p90_days": 0.167}]}


def test_a_company_without_applications_has_zeros_and_nulls(client, make_user):
    recruiter = make_user("recruiter")
    assert funnel_rows(report(client, "funnel", recruiter)) == [
        (stage, 0, 0, None) for stage in
        ("applied", "screening", "interview", "offer", "hired", "rejected", "withdrawn")]
    assert report(client, "time-to-hire", recruiter) == {
        "count": 0, "median_days": None, "p90_days": None, "jobs": []}
    assert {s["count"] for s in report(client, "time-in-stage", recruiter)["stages"]} == {0}


def csv_of(client, name, user, **query) -> list[list[str]]:
    response = client.get(f"/api/reports/{name}", query_string=query,
                          headers={**user.headers, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}.csv"'
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_accept_text_csv_answers_the_same_table(client, world):
    recruiter, jobs = world["recruiter"], world["jobs"]
    assert csv_of(client, "funnel", recruiter) == [
        ["stage", "entered", "current", "conversion"], ["applied", "8", "1", "0.75"],
        ["screening", "6", "0", str(4 / 6)], ["interview", "4", "0", "0.75"],
        ["offer", "3", "0", str(2 / 3)], ["hired", "2", "2", ""], ["rejected", "3", "3", ""],
        ["withdrawn", "2", "2", ""]]
    assert csv_of(client, "time-in-stage", recruiter, job_id=jobs["J2"])[:2] == [
        ["stage", "count", "median_hours", "p90_hours"], ["applied", "3", "4.0", "7.2"]]
    assert csv_of(client, "time-to-hire", recruiter) == [
        ["job_id", "count", "median_days", "p90_days"], ["all", "2", "3.25", "3.783"],
        [str(jobs["J1"]), "1", "3.917", "3.917"], [str(jobs["J2"]), "1", "2.583", "2.583"]]
    outcomes = csv_of(client, "outcomes", recruiter)
    assert outcomes[0] == ["outcome", "by", "key", "count"]
    assert ["rejected", "reason", "compensation", "1"] in outcomes
    assert ["rejected", "stage", "offer", "1"] in outcomes
    assert ["withdrawn", "reason", "none", "1"] in outcomes
    assert len(outcomes) == 1 + 11 + 4 + 7
    # JSON by default, and when preferred
    for accept in ("*/*", "application/json", "application/json, text/csv;q=0.5"):
        response = client.get("/api/reports/funnel", headers={**recruiter.headers, "Accept": accept})
        assert response.mimetype == "application/json", accept


def test_who_may_read_reports(client, world, make_user):
    recruiter, outsider, jobs = world["recruiter"], world["outsider"], world["jobs"]
    company_a = recruiter.company_id
    manager = make_user(HIRING_MANAGER, company_a)
    candidate = make_user()
    for name in ("funnel", "time-in-stage", "time-to-hire", "outcomes"):
        url = f"/api/reports/{name}"
        assert_error(client.get(url), 401, "unauthorized")
        assert_error(client.get(url, headers=manager.headers), 403, "forbidden")
        assert_error(client.get(url, headers=candidate.headers), 403, "forbidden")
        # another company's, named by company or by job, is not there
        assert_error(client.get(url, query_string={"company_id": company_a}, headers=outsider.headers),
                     404, "not_found")
        assert_error(client.get(url, query_string={"job_id": jobs["J1"]}, headers=outsider.headers),
                     404, "not_found")
        assert_error(client.get(url, query_string={"company_id": company_a, "job_id": jobs["J3"]},
                                headers=make_user(ADMIN).headers), 404, "not_found")
        assert_error(client.get(url, query_string={"company_id": 999999},
                                headers=make_user(ADMIN).headers), 404, "not_found")
        # their own company, named or not
        assert client.get(url, query_string={"company_id": company_a}, headers=recruiter.headers).status_code == 200


def test_erasing_the_candidates_changes_no_figure(app, client, world, make_user):
    """Erasure keeps applications and history and removes the person: every report of every
    scope gives the same numbers after every candidate is erased."""
    admin = make_user(ADMIN)
    scopes = [(world["recruiter"], {}), (world["recruiter"], {"job_id": world["jobs"]["J2"]}),
              (admin, {}), (admin, {"from": "2026-01-06", "to": "2026-01-07"})]
    names = ("funnel", "time-in-stage", "time-to-hire", "outcomes")

    def figures():
        return [report(client, name, user, **query) for user, query in scopes for name in names]

    before = figures()
    with app.app_context():
        candidates = db.session.scalars(select(User.id).where(User.role == "candidate")).all()
    for candidate_id in candidates:
        response = client.post(f"/api/users/{candidate_id}/erase", headers=admin.headers)
        assert response.status_code == 204, response.get_json()
    with app.app_context():
        assert set(db.session.scalars(select(User.name).where(User.role == "candidate"))) == {
            "Erased candidate"}
    assert figures() == before


# --- the summary stays true ------------------------------------------------------------------

def test_the_api_keeps_the_summary_as_the_history_says(app, client, make_user, make_job,
                                                       make_application, recruiter):
    """Applying and every kind of move write stage_stays in their transaction; rebuilding it
    from the history alone gives the same rows."""
    job = make_job(recruiter)["id"]
    paths = [[], ["screening"], ["screening", "interview", "offer", "hired"],
             [("rejected", "no_show")], ["screening", "interview", ("withdrawn", "timing")],
             ["screening", ("withdrawn", None)]]
    for path in paths:
        candidate = make_user()
        application = make_application(candidate, job)["id"]
        for move in path:
            stage, reason = move if isinstance(move, tuple) else (move, None)
            mover = candidate if stage == "withdrawn" else recruiter
            response = client.patch(f"/api/applications/{application}/stage", headers=mover.headers,
                                    json={"stage": stage, **({"reason": reason} if reason else {})})
            assert response.status_code == 200, response.get_json()
    kept = stage_stays(app)
    assert len(kept) == 1 + 2 + 5 + 2 + 4 + 3
    with app.app_context():
        stays.rebuild()
        db.session.commit()
    assert stage_stays(app) == kept
    with app.app_context():  # one open stay per application, in its stage
        open_stays = db.session.execute(select(StageStay.application_id, StageStay.stage)
                                        .where(StageStay.left_at.is_(None))).all()
        assert sorted(open_stays) == sorted(db.session.execute(select(Application.id, Application.stage)).all())


def test_a_refused_move_leaves_the_summary_as_it_was(app, client, make_user, make_job,
                                                     make_application, recruiter):
    candidate = make_user()
    application = make_application(candidate, make_job(recruiter)["id"])["id"]
    before = stage_stays(app)
    response = client.patch(f"/api/applications/{application}/stage", headers=recruiter.headers,
                            json={"stage": "offer"})
    assert_error(response, 409, "invalid_transition")
    assert stage_stays(app) == before


def test_both_percentile_forms_agree_with_percentile_cont(app, make_user, make_job, recruiter):
    """The portable form (ROW_NUMBER and COUNT) against Python's inclusive quantiles, which
    interpolate as percentile_cont does, and on PostgreSQL against percentile_cont itself."""
    rng = random.Random(3)
    samples = {group: [rng.uniform(0, 500) for _ in range(size)]
               for group, size in (("one", 1), ("two", 2), ("odd", 37), ("even", 200))}
    values = db.union_all(*(db.select(db.literal(group).label("grp"), db.literal(x).label("x"))
                            for group, xs in samples.items() for x in xs)).subquery("values")

    def expected(xs):
        if len(xs) == 1:
            return xs[0], xs[0]
        deciles = statistics.quantiles(xs, n=10, method="inclusive")
        return statistics.median(xs), deciles[8]

    with app.app_context():
        forms = [True] + ([False] if db.session.get_bind().dialect.name == "postgresql" else [])
        for portable in forms:
            rows = db.session.execute(db.select(services._percentiles(values, portable))).all()
            got = {row.grp: (row.n, row.median, row.p90) for row in rows}
            for group, xs in samples.items():
                n, median, p90 = got[group]
                assert n == len(xs)
                assert (median, p90) == pytest.approx(expected(xs), rel=1e-12), (portable, group)
