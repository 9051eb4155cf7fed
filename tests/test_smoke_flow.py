"""One hiring flow end to end, as a user walks it."""
from tests.helpers import error_code


def test_hiring_flow(client, recruiter, candidate, make_job, make_application):
    job = make_job(recruiter, title="Smoke Engineer")
    application = make_application(candidate, job["id"], cover_letter="Hello")
    for stage in ("Screening", "interview", "offer", "hired"):
        response = client.patch(f"/api/applications/{application['id']}/stage",
                                json={"stage": stage, "note": "ok"}, headers=recruiter.headers)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["stage"] == stage.lower()
    response = client.get(f"/api/applications/{application['id']}/history", headers=candidate.headers)
    items = response.get_json()["items"]
    assert [(i["from_stage"], i["to_stage"]) for i in items] == [
        (None, "applied"), ("applied", "screening"), ("screening", "interview"),
        ("interview", "offer"), ("offer", "hired")]
    assert all(i["note"] is None for i in items)
    response = client.patch(f"/api/applications/{application['id']}/stage",
                            json={"stage": "rejected", "reason": "other"}, headers=recruiter.headers)
    assert response.status_code == 409 and error_code(response) == "invalid_transition"
    assert response.get_json()["error"]["details"] == {"from": "hired", "to": "rejected", "allowed": []}
