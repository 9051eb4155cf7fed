"""Comments: staff notes on an application, oldest first, edited by their author only and
never shown to its candidate."""
import pytest
from sqlalchemy import select

from ats.extensions import db
from ats.models import Comment
from tests.helpers import assert_error, assert_invalid, count
from tests.mailbox import text_of
from tests.test_applications import assert_same_statements_at_2_and_30_rows


@pytest.fixture
def comment_on(client):
    """comment_on(user, application, body) -> response of POST .../comments."""
    def post(user, application, body):
        return client.post(f"/api/applications/{application['id']}/comments", json={"body": body},
                           headers=user.headers)
    return post


@pytest.fixture
def comment(comment_on, recruiter, application):
    response = comment_on(recruiter, application, "Strong CV.")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored(app, comment_id):
    with app.app_context():
        row = db.session.get(Comment, comment_id)
        return None if row is None else (row.application_id, row.author_id, row.body)


def test_staff_comment_answers_the_comment_with_its_author(app, comment_on, recruiter, application):
    response = comment_on(recruiter, application, "  First line.\n\nSecond line.  \n")
    assert response.status_code == 201
    body = response.get_json()
    assert body["application_id"] == application["id"]
    assert body["author"] == {"id": recruiter.id, "name": recruiter.name, "role": "recruiter"}
    assert body["body"] == "First line.\n\nSecond line."
    assert body["created_at"].endswith("+00:00") and body["updated_at"] == body["created_at"]
    assert set(body) == {"id", "application_id", "author", "body", "created_at", "updated_at"}
    assert stored(app, body["id"]) == (application["id"], recruiter.id, "First line.\n\nSecond line.")


@pytest.mark.parametrize("who", ["hiring_manager", "admin"])
def test_hiring_managers_and_admins_comment_too(comment_on, request, application, who):
    user = request.getfixturevalue(who)
    response = comment_on(user, application, "Seen.")
    assert response.status_code == 201
    assert response.get_json()["author"]["role"] == user.role


@pytest.mark.parametrize("body", ["", "   \n\t ", "x" * 5_001, "a\x00b", None, 42])
def test_a_bad_body_is_refused_and_nothing_stored(app, comment_on, recruiter, application, body):
    assert_invalid(comment_on(recruiter, application, body), "body")
    assert count(app, Comment) == 0


def test_bodies_up_to_5000_characters_are_taken(comment_on, recruiter, application):
    response = comment_on(recruiter, application, "é" * 5_000)
    assert response.status_code == 201
    assert response.get_json()["body"] == "é" * 5_000


def test_missing_and_unknown_fields_are_refused(app, client, recruiter, application):
    url = f"/api/applications/{application['id']}/comments"
    assert_invalid(client.post(url, json={}, headers=recruiter.headers), "body")
    assert_invalid(client.post(url, json={"body": "Hi", "public": True}, headers=recruiter.headers),
                   "public")
    assert count(app, Comment) == 0


def test_the_list_is_oldest_first_page_by_page(client, comment_on, recruiter, hiring_manager,
                                               application):
    posted = [comment_on(user, application, f"Comment {n}").get_json()["id"]
              for n, user in enumerate([recruiter, hiring_manager] * 3)]
    url = f"/api/applications/{application['id']}/comments"
    first = client.get(f"{url}?limit=4", headers=recruiter.headers).get_json()
    assert [c["id"] for c in first["items"]] == posted[:4]
    assert [c["body"] for c in first["items"]] == [f"Comment {n}" for n in range(4)]
    assert first["items"][1]["author"]["id"] == hiring_manager.id
    second = client.get(f"{url}?limit=4&cursor={first['next_cursor']}", headers=recruiter.headers)
    assert [c["id"] for c in second.get_json()["items"]] == posted[4:]
    assert second.get_json()["next_cursor"] is None
    assert_invalid(client.get(f"{url}?cursor=forged", headers=recruiter.headers), "cursor")


def test_the_list_costs_constant_statements(app, client, make_user, recruiter, application,
                                            count_queries):
    """Every comment by a different author: their names must not cost a query each."""
    def add_comments(n):
        authors = [make_user("hiring_manager", company_id=recruiter.company_id).id for _ in range(n)]
        with app.app_context():
            db.session.add_all([Comment(application_id=application["id"], author_id=author, body="Hm.")
                                for author in authors])
            db.session.commit()

    assert_same_statements_at_2_and_30_rows(
        count_queries, client, f"/api/applications/{application['id']}/comments?limit=100",
        recruiter, add_comments)


def test_the_candidate_may_not_comment_nor_read_comments(app, client, comment_on, candidate,
                                                         application, comment):
    url = f"/api/applications/{application['id']}/comments"
    assert_error(comment_on(candidate, application, "Me too."), 403, "forbidden")
    assert_error(client.get(url, headers=candidate.headers), 403, "forbidden")
    # a comment itself stays hidden from them
    path = f"/api/comments/{comment['id']}"
    assert_error(client.patch(path, json={"body": "Mine now."}, headers=candidate.headers),
                 404, "not_found")
    assert_error(client.delete(path, headers=candidate.headers), 404, "not_found")
    assert stored(app, comment["id"])[2] == "Strong CV."
    assert count(app, Comment) == 1


@pytest.mark.parametrize("who", ["outsider", "other_candidate"])
def test_others_find_no_application_and_no_comment(app, client, comment_on, make_user, request,
                                                   application, comment, who):
    user = make_user("candidate") if who == "other_candidate" else request.getfixturevalue(who)
    assert_error(comment_on(user, application, "Hi"), 404, "not_found")
    assert_error(client.get(f"/api/applications/{application['id']}/comments",
                            headers=user.headers), 404, "not_found")
    path = f"/api/comments/{comment['id']}"
    assert_error(client.patch(path, json={"body": "x"}, headers=user.headers), 404, "not_found")
    assert_error(client.delete(path, headers=user.headers), 404, "not_found")
    assert stored(app, comment["id"])[2] == "Strong CV."


def test_only_its_author_edits_a_comment(app, client, make_user, recruiter, hiring_manager, admin,
                                         comment):
    path = f"/api/comments/{comment['id']}"
    colleague = make_user("recruiter", company_id=recruiter.company_id)
    for user in (colleague, hiring_manager, admin):
        assert_error(client.patch(path, json={"body": "Rewritten."}, headers=user.headers),
                     403, "forbidden")
    assert stored(app, comment["id"])[2] == "Strong CV."
    response = client.patch(path, json={"body": " Strong CV, weak letter. "}, headers=recruiter.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["body"], body["created_at"]) == (
        comment["id"], "Strong CV, weak letter.", comment["created_at"])
    assert body["updated_at"] > comment["updated_at"]
    assert stored(app, comment["id"])[2] == "Strong CV, weak letter."
    assert_invalid(client.patch(path, json={"body": ""}, headers=recruiter.headers), "body")
    assert stored(app, comment["id"])[2] == "Strong CV, weak letter."


def test_its_author_or_an_admin_deletes_a_comment(app, client, comment_on, make_user, recruiter,
                                                  hiring_manager, admin, application, comment):
    path = f"/api/comments/{comment['id']}"
    colleague = make_user("recruiter", company_id=recruiter.company_id)
    for user in (colleague, hiring_manager):
        assert_error(client.delete(path, headers=user.headers), 403, "forbidden")
    assert stored(app, comment["id"]) is not None
    assert client.delete(path, headers=recruiter.headers).status_code == 204
    assert stored(app, comment["id"]) is None
    assert_error(client.delete(path, headers=recruiter.headers), 404, "not_found")

    by_manager = comment_on(hiring_manager, application, "Ask about Kafka.").get_json()
    assert client.delete(f"/api/comments/{by_manager['id']}", headers=admin.headers).status_code == 204
    assert count(app, Comment) == 0


def test_comments_never_reach_the_candidate(client, mailbox, comment_on, recruiter, candidate,
                                            application):
    secret = "Internal: salary expectations too high"
    comment_on(recruiter, application, secret)
    moved = client.patch(f"/api/applications/{application['id']}/stage",
                         json={"stage": "screening"}, headers=recruiter.headers)
    assert moved.status_code == 200
    answers = [client.get(url, headers=candidate.headers) for url in (
        f"/api/applications/{application['id']}", f"/api/applications/{application['id']}/history",
        "/api/applications")]
    assert all(r.status_code == 200 for r in answers)
    assert not any(secret in r.get_data(as_text=True) for r in answers)
    assert not any("comment" in r.get_data(as_text=True) for r in answers)
    mails = mailbox.wait_for(3)  # received, new application, stage changed
    assert mails and not any(secret in text_of(message) for message in mails)
