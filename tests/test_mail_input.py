"""What a user types can neither break mail nor be kept from it.

Names, company names and job titles are printable text on one line (422 otherwise);
addresses are ones an SMTP server takes (an ASCII local part; a domain in any script, sent as
IDNA). And whatever older rows hold, every mail goes out with exactly its recipient: the
hostile rows below are written straight into the database, past the validation.
"""
import re

import pytest
from sqlalchemy import select, update

from ats.companies import services as companies
from ats.extensions import db
from ats.models import CANDIDATE, HIRING_MANAGER, RECRUITER, Job, Notification, User
from tests.conftest import PASSWORD
from tests.helpers import assert_invalid, count
from tests.mailbox import text_of

# line breaks of every kind, escapes, bidi overrides, DEL: all category C (or Zl/Zp)
UNPRINTABLE = ["Eve\nBcc: x@y.test", "Eve\r\nBcc: x@y.test", "Eve\rX", "Eve\tX", "Eve\x1b[31mX",
               "Eve\u2028X", "Eve\u2029X", "Eve\x85X", "Eve\u202eX", "Eve\x7fX", "Eve\x0bX"]
PRINTABLE = ["Zoë O'Brien-Núñez", "李小龍", "محمد\u200cرضا", "👩🏽\u200d💻 Ada", "Jean\u00a0Paul",
             '"Quoted", Name <not@an.address>']


def register(client, **fields):
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD, **fields}
    return client.post("/api/auth/register", json=body)


# --- names, company names, titles: printable, one line -----------------------------------

@pytest.mark.parametrize("name", UNPRINTABLE)
def test_register_refuses_a_name_with_control_characters(client, app, name):
    assert_invalid(register(client, name=name), "name")
    assert_invalid(register(client, role="recruiter", company_name=name), "company_name")
    assert count(app, User) == 0


@pytest.mark.parametrize("name", PRINTABLE)
def test_register_takes_names_in_any_script(client, name):
    response = register(client, name=name, role="recruiter", company_name=name)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == name


@pytest.mark.parametrize("name", UNPRINTABLE[:6])
def test_every_other_name_and_title_is_printable_too(client, app, admin, recruiter, name):
    company = f"/api/companies/{recruiter.company_id}"
    member = {"name": name, "email": "hm@example.com", "password": PASSWORD, "role": HIRING_MANAGER}
    assert_invalid(client.post(f"{company}/members", json=member, headers=recruiter.headers), "name")
    assert_invalid(client.post("/api/companies", json={"name": name}, headers=admin.headers), "name")
    job = {"title": name, "description": "Multi-line\ntext is fine here."}
    assert_invalid(client.post("/api/jobs", json=job, headers=recruiter.headers), "title")
    job = {"title": "Backend Developer", "description": "Fine.", "location": name}
    assert_invalid(client.post("/api/jobs", json=job, headers=recruiter.headers), "location")
    posted = client.post("/api/jobs", json={"title": "Backend", "description": "A\nB"},
                         headers=recruiter.headers)
    assert posted.status_code == 201  # descriptions keep their lines
    assert_invalid(client.patch(f"/api/jobs/{posted.get_json()['id']}", json={"title": name},
                                headers=recruiter.headers), "title")
    assert count(app, User) == 2 and count(app, Job) == 1


def test_create_admin_refuses_a_name_with_a_line_break(runner, app):
    result = runner.invoke(args=["ats", "create-admin", "--email", "root@example.com",
                                 "--name", "Root\nBcc: x@y.test", "--password", PASSWORD])
    assert result.exit_code != 0 and "name" in result.output, result.output
    assert count(app, User) == 0


# --- addresses: an ASCII local part, a domain in any script ------------------------------

@pytest.mark.parametrize("email", ["jösé-x@ex.test", "josé@bücher.example", "ü@ex.test",
                                   '"a b"@ex.test', '"a\\"b"@ex.test'])
def test_an_address_no_smtp_server_takes_is_refused(client, app, email):
    details = assert_invalid(register(client, email=email), "email")
    assert count(app, User) == 0
    if not email.startswith('"'):
        assert "ASCII" in " ".join(details["email"])


def test_an_internationalised_domain_is_kept_as_idna_and_logs_in_either_way(client, app):
    response = register(client, email="X@Bücher.example")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["email"] == "x@xn--bcher-kva.example"
    again = register(client, email="x@xn--bcher-kva.example")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "email_taken"
    for typed in ("x@bücher.example", "x@XN--BCHER-KVA.example"):
        login = client.post("/api/auth/login", json={"email": typed, "password": PASSWORD})
        assert login.status_code == 200, (typed, login.get_json())


def test_mail_to_an_internationalised_domain_goes_out_as_idna(client, app, mailbox, make_job):
    def account(email, **fields):
        assert register(client, email=email, **fields).status_code == 201
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        return {"Authorization": f"Bearer {token.get_json()['access_token']}"}

    rita = account("rita@bücher.example", role="recruiter", company_name="Bücher GmbH")
    carl = account("carl@müller.example")
    job = client.post("/api/jobs", json={"title": "Buchhändler", "description": "Bücher."},
                      headers=rita).get_json()
    assert client.post(f"/api/jobs/{job['id']}/applications", json={}, headers=carl).status_code == 201

    messages = mailbox.wait_for(2)
    assert sorted(rcpts for _, rcpts in mailbox.envelopes) == [
        ["carl@xn--mller-kva.example"], ["rita@xn--bcher-kva.example"]]
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "carl@xn--mller-kva.example", "rita@xn--bcher-kva.example"]
    assert "Buchhändler" in messages[0]["Subject"]
    with app.app_context():
        assert {n.status for n in db.session.scalars(select(Notification))} == {"sent"}


# --- rows written before validation existed ------------------------------------------------

HOSTILE = ["Eve\nBcc: x@y.test", "Eve\r\nBcc: x@y.test\r\n", "Eve\u2028Bcc: x@y.test",
           "Eve\x85Cc: x@y.test\x1b[0m", '"Eve" <x@y.test>, z@y.test', "Zoë =?utf-8?q?Bcc=3A_x@y.test?="]


def header_lines(raw: bytes) -> list[str]:
    """The header block of a mail as sent, unfolded: one entry per header."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return re.sub(r"\r\n[ \t]", " ", head).split("\r\n")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_titles_and_company_names_in_the_database_are_mailed_safely(
        app, client, mailbox, make_user, make_job, hostile):
    with app.app_context():
        company = companies.new_company(f"{hostile} Corp")
        db.session.commit()
        company_id = company.id
    recruiter = make_user(RECRUITER, company_id, name=hostile)
    manager = make_user(HIRING_MANAGER, company_id, name=f"{hostile} HM")
    candidate = make_user(CANDIDATE, name=hostile)
    job = make_job(recruiter, title="Placeholder", hiring_manager_ids=[manager.id])
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job["id"]).values(title=f"{hostile} Job"))
        db.session.commit()

    application = client.post(f"/api/jobs/{job['id']}/applications", json={},
                              headers=candidate.headers)
    assert application.status_code == 201
    moved = client.patch(f"/api/applications/{application.get_json()['id']}/stage",
                         json={"stage": "screening"}, headers=recruiter.headers)
    assert moved.status_code == 200

    with app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(r.status, r.last_error) for r in rows] == [("sent", None)] * 4
    messages = mailbox.wait_for(4)
    assert len(messages) == 4
    # exactly the intended recipients, each alone in its envelope and its To header
    wanted = sorted([candidate.email, recruiter.email, manager.email, candidate.email])
    assert sorted(rcpt for _, rcpts in mailbox.envelopes for rcpt in rcpts) == wanted
    assert all(len(rcpts) == 1 for _, rcpts in mailbox.envelopes)
    for message, raw in zip(messages, mailbox.raw):
        names = [line.split(":", 1)[0].lower() for line in header_lines(raw)]
        assert "bcc" not in names and "cc" not in names, header_lines(raw)
        assert names.count("to") == 1 and names.count("subject") == 1
        (to,) = message["To"].addresses
        assert to.addr_spec in wanted
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert "Eve" in message["Subject"] or "Zoë" in message["Subject"]
        assert "Job" in message["Subject"] or "Corp" in message["Subject"]
    (received,) = [m for m in messages if m["To"].addresses[0].addr_spec == candidate.email
                   and "now" not in m["Subject"]]
    assert received["To"].addresses[0].display_name.startswith(("Eve", '"Eve"', "Zoë"))
    assert "Job" in text_of(received)


def test_an_old_address_with_a_non_ascii_local_part_fails_at_once_and_the_rest_arrive(
        app, mailbox, make_user, recruiter, make_job, make_application):
    old = make_user(CANDIDATE, email="jösé@ex.test")
    job = make_job(recruiter)
    make_application(old, job["id"])

    with app.app_context():
        rows = {r.kind: r for r in db.session.scalars(select(Notification))}
    assert rows["new_application"].status == "sent"
    assert rows["application_received"].status == "failed"
    assert rows["application_received"].attempts == 1
    assert "ASCII" in rows["application_received"].last_error
    assert [m["To"].addresses[0].addr_spec for m in mailbox.wait_for(1)] == [recruiter.email]


def test_no_name_or_subject_whatever_it_holds_breaks_the_headers(app):
    """Random names and subjects made of header specials, quotes, encoded-word markers, line
    breaks and non-ASCII: each mail still names exactly its one recipient and sender."""
    import email
    import random
    from email.policy import default
    from email.utils import getaddresses

    from ats.notifications.messages import Mail

    pieces = list('aZ9 "\\()<>@,:;.[]=?_-\'!#$%&*+/^`{|}~') + list("éßЖ中😀") + [
        "=?utf-8?q?", "=?utf-8?b?", "?=", "\n", "\r\n", "\t", "\x1b", "\u2028", "Bcc: x@y.test"]
    rng = random.Random(9)
    with app.app_context():
        for _ in range(200):
            name = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 120)))
            subject = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 300)))
            mail = Mail(subject=subject, to=(name, "eve@example.com"), sender=(name, "ats@example.com"),
                        message_id="<notification-1.1@example.com>", body="Body", html="<p>Body</p>")
            mail.date = 0
            raw = mail.as_bytes()
            assert max(len(line) for line in raw.split(b"\r\n")) <= 998
            parsed = email.message_from_bytes(raw, policy=default)
            assert sorted(parsed.keys()) == ["Content-Type", "Date", "From", "MIME-Version",
                                             "Message-ID", "Subject", "To"], name
            assert [a.addr_spec for a in parsed["To"].addresses] == ["eve@example.com"], name
            assert [a.addr_spec for a in parsed["From"].addresses] == ["ats@example.com"], name
            # and a parser of the older kind reads the same
            legacy = email.message_from_bytes(raw)
            assert [a for _, a in getaddresses([legacy["To"]])] == ["eve@example.com"], name
