"""Accounts and tokens: /api/auth."""
from datetime import datetime, timedelta, timezone

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token
from sqlalchemy import func, select

from ats.auth import sessions
from ats.extensions import db
from ats.models import Company, User
from tests.conftest import PASSWORD
from tests.helpers import assert_invalid, count, error_code

USER_FIELDS = {"id", "name", "email", "role", "company_id", "is_active", "created_at"}


def register(client, **fields):
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "password": PASSWORD, **fields}
    return client.post("/api/auth/register", json=body)


def login(client, email, password=PASSWORD, address="127.0.0.1"):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me(client, headers):
    return client.get("/api/auth/me", headers=headers)


def assert_unauthorized(response):
    assert response.status_code == 401, response.get_json()
    assert error_code(response) == "unauthorized"


def email_of_length(n):
    """A valid-looking address of exactly n characters (domain labels stay under 64)."""
    domain = ".".join(["d" * 60] * 3) + ".com"
    local = "a" * (n - len(domain) - 1)
    return f"{local}@{domain}"


# --- register ----------------------------------------------------------------------------

def test_register_makes_a_candidate_by_default(client, app):
    response = register(client, email="  Ada@Example.COM ")
    assert response.status_code == 201
    user = response.get_json()
    assert set(user) == USER_FIELDS | {"profile"}  # a candidate has a profile, empty at first
    assert user["profile"] == {"phone": None, "headline": None, "location": None, "links": []}
    assert (user["role"], user["company_id"], user["email"]) == ("candidate", None, "ada@example.com")
    assert user["created_at"].endswith("+00:00")
    with app.app_context():
        stored = db.session.get(User, user["id"])
        assert (stored.email, stored.role, stored.company_id) == ("ada@example.com", "candidate", None)


def test_register_recruiter_creates_their_company(client, app):
    response = register(client, role="recruiter", company_name="Acme Ltd")
    assert response.status_code == 201
    user = response.get_json()
    assert user["role"] == "recruiter" and user["company_id"] is not None
    with app.app_context():
        assert db.session.get(Company, user["company_id"]).name == "Acme Ltd"


def test_register_recruiter_without_company_is_invalid(client, app):
    assert_invalid(register(client, role="recruiter"), "company_name")
    assert count(app, User) == 0 and count(app, Company) == 0


@pytest.mark.parametrize("role", ["hiring_manager", "admin", "garbage"])
def test_register_refuses_other_roles(client, app, role):
    assert_invalid(register(client, role=role, company_name="Acme Ltd"), "role")
    assert count(app, User) == 0 and count(app, Company) == 0


@pytest.mark.parametrize("field, value", [("company_id", 1), ("id", 99), ("is_admin", True)])
def test_register_rejects_unknown_fields(client, app, make_user, field, value):
    make_user("recruiter")  # a company with id 1 exists to be claimed
    before = count(app, User)
    assert_invalid(register(client, **{field: value}), field)
    assert count(app, User) == before


def test_register_email_is_unique_case_insensitively(client, app):
    assert register(client, email="ada@example.com").status_code == 201
    response = register(client, email="ADA@example.com", name="Other")
    assert response.status_code == 409 and error_code(response) == "email_taken"
    assert count(app, User) == 1


def test_register_company_name_must_fit_once_casefolded(client, app):
    """"ß" casefolds to "ss": 120 of them are a valid name but a 240-character key."""
    assert_invalid(register(client, role="recruiter", company_name="ß" * 120), "company_name")
    assert count(app, User) == 0 and count(app, Company) == 0
    assert register(client, role="recruiter", company_name="ß" * 60).status_code == 201


def test_register_candidate_cannot_name_a_company(client, app):
    assert_invalid(register(client, company_name="Acme Ltd"), "company_name")
    assert count(app, User) == 0 and count(app, Company) == 0


def test_register_company_name_taken_creates_no_user(client, app):
    assert register(client, role="recruiter", company_name="Acme Ltd").status_code == 201
    response = register(client, email="bob@example.com", role="recruiter", company_name="ACME ltd")
    assert response.status_code == 409 and error_code(response) == "company_taken"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "bob@example.com")) is None
        assert db.session.scalar(select(func.count()).select_from(Company)) == 1


@pytest.mark.parametrize("field, value", [
    ("password", "x" * 7), ("password", "x" * 129),
    ("name", ""), ("name", "n" * 121),
    ("email", "not-an-email"), ("email", email_of_length(255)),
])
def test_register_validates_lengths_and_formats(client, app, field, value):
    assert_invalid(register(client, **{field: value}), field)
    assert count(app, User) == 0


@pytest.mark.parametrize("field, value", [
    ("password", "x" * 8), ("password", "x" * 128), ("name", "n"), ("name", "n" * 120),
    ("email", email_of_length(254)),
])
def test_register_accepts_the_limits(client, field, value):
    assert register(client, **{field: value}).status_code == 201


def test_responses_never_carry_the_password(client, app):
    responses = [register(client, password="my-own-secret-pw"),
                 login(client, "ada@example.com", "my-own-secret-pw")]
    responses.append(me(client, bearer(responses[1].get_json()["access_token"])))
    with app.app_context():
        password_hash = db.session.scalar(select(User.password_hash))
    for response in responses:
        assert response.status_code in (200, 201)
        text = response.get_data(as_text=True)
        assert "my-own-secret-pw" not in text and password_hash not in text
        assert "password" not in text and "hash" not in text


def test_password_hashes_are_argon2id(client, app, make_user):
    register(client)
    make_user("recruiter")
    with app.app_context():
        hashes = db.session.scalars(select(User.password_hash)).all()
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)


# --- login -------------------------------------------------------------------------------

def test_login_answers_both_tokens(client, candidate):
    response = login(client, candidate.email)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert me(client, bearer(body["access_token"])).get_json()["id"] == candidate.id


def test_login_matches_email_case_insensitively(client, candidate):
    assert login(client, f"  {candidate.email.upper()} ").status_code == 200


def test_login_wrong_password_and_unknown_email_look_the_same(client, candidate):
    wrong_password = login(client, candidate.email, "not-the-password")
    unknown_email = login(client, "nobody@example.com")
    assert_unauthorized(wrong_password)
    assert_unauthorized(unknown_email)
    assert wrong_password.get_json() == unknown_email.get_json()


# --- refresh -----------------------------------------------------------------------------

def test_refresh_gives_a_working_access_token(client, candidate):
    refresh_token = login(client, candidate.email).get_json()["refresh_token"]
    response = client.post("/api/auth/refresh", headers=bearer(refresh_token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert me(client, bearer(body["access_token"])).get_json()["id"] == candidate.id


def test_refresh_refuses_an_access_token(client, candidate):
    assert_unauthorized(client.post("/api/auth/refresh", headers=candidate.headers))


def test_refresh_token_is_not_an_access_token(client, candidate):
    refresh_token = login(client, candidate.email).get_json()["refresh_token"]
    assert_unauthorized(me(client, bearer(refresh_token)))


# --- /me and every way a token fails -----------------------------------------------------

def test_me_answers_the_caller(client, recruiter):
    response = me(client, recruiter.headers)
    assert response.status_code == 200
    assert response.get_json()["id"] == recruiter.id
    assert response.get_json()["company_id"] == recruiter.company_id
    assert set(response.get_json()) == USER_FIELDS


def live_session(app, user_id) -> int:
    """The id of a session started for the user (1 if there is no such user)."""
    known = str(user_id).isascii() and str(user_id).isdigit() and int(user_id) < 2**31
    with app.app_context():
        user = db.session.get(User, int(user_id)) if known else None
        return decode(sessions.start(user)["access_token"])["sid"] if user else 1


def decode(token):
    return pyjwt.decode(token, options={"verify_signature": False})


def forged(app, user_id, key=None, algorithm="HS256", **claims):
    now = datetime.now(timezone.utc)
    claims.setdefault("sid", live_session(app, user_id))
    payload = {"sub": str(user_id), "type": "access", "fresh": False, "jti": "forged-jti",
               "iat": now, "nbf": now, "exp": now + timedelta(minutes=5), **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    if algorithm != "none":
        key = key or app.config["JWT_SECRET_KEY"]
    return pyjwt.encode(payload, key, algorithm=algorithm)


def test_a_well_made_token_works(client, app, candidate):
    """The forged-token tests below fail for their one flaw, not for a wrong payload."""
    assert me(client, bearer(forged(app, candidate.id))).status_code == 200


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {"Authorization": "Basic xyz"},
    {"Authorization": "Bearer not.a.token"}, {"Authorization": "Bearer garbage"},
], ids=["missing", "bearer-only", "bearer-empty", "basic", "dotted-garbage", "garbage"])
def test_malformed_authorization_is_unauthorized(client, headers):
    assert_unauthorized(me(client, headers))


def test_token_signed_with_another_key_is_unauthorized(client, app, candidate):
    token = forged(app, candidate.id, key="another-secret-key-that-is-long-enough-000")
    assert_unauthorized(me(client, bearer(token)))


def test_unsigned_alg_none_token_is_unauthorized(client, app, candidate):
    token = forged(app, candidate.id, algorithm="none")
    assert token.endswith(".")  # no signature at all
    assert_unauthorized(me(client, bearer(token)))


def test_expired_token_is_unauthorized(client, app, candidate):
    past = datetime.now(timezone.utc) - timedelta(minutes=10)
    assert_unauthorized(me(client, bearer(forged(app, candidate.id, iat=past, nbf=past,
                                                   exp=past + timedelta(minutes=1)))))
    with app.app_context():
        user = db.session.get(User, candidate.id)
        token = create_access_token(identity=user, expires_delta=timedelta(seconds=-1),
                                    additional_claims={"sid": live_session(app, candidate.id)})
    assert_unauthorized(me(client, bearer(token)))


def test_token_of_a_deleted_user_is_unauthorized(client, app, candidate):
    with app.app_context():
        db.session.delete(db.session.get(User, candidate.id))
        db.session.commit()
    assert_unauthorized(me(client, candidate.headers))


@pytest.mark.parametrize("subject", ["999999", "abc", "-1", "²", "9" * 30])
def test_token_naming_no_user_is_unauthorized(client, app, subject):
    assert_unauthorized(me(client, bearer(forged(app, subject))))


@pytest.mark.parametrize("claims", [
    {"sid": None}, {"sid": "1x"}, {"sid": ["1"]}, {"sid": True}, {"sid": 2**40}, {"exp": None}],
    ids=["no-sid", "text-sid", "list-sid", "bool-sid", "huge-sid", "no-exp"])
def test_signed_token_without_usable_session_or_exp_is_unauthorized(client, app, candidate, claims):
    """Even signed with our key: a token that cannot expire or be revoked is not one of ours."""
    token = forged(app, candidate.id, **claims)
    assert_unauthorized(me(client, bearer(token)))
    assert_unauthorized(client.post("/api/auth/logout", headers=bearer(token)))


def test_token_of_another_users_session_is_unauthorized(client, app, candidate, make_user):
    """A session belongs to one user: a token pairing it with someone else is forged."""
    other = make_user()
    assert_unauthorized(me(client, bearer(forged(app, candidate.id, sid=live_session(app, other.id)))))


def test_refresh_token_of_a_deleted_user_is_unauthorized(client, app, candidate):
    with app.app_context():
        user = db.session.get(User, candidate.id)
        token = sessions.start(user)["refresh_token"]
        db.session.delete(user)
        db.session.commit()
    assert_unauthorized(client.post("/api/auth/refresh", headers=bearer(token)))


# --- rate limiting -----------------------------------------------------------------------

def assert_rate_limited(response):
    assert response.status_code == 429, response.get_json()
    assert error_code(response) == "rate_limited"
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit() and int(retry_after) > 0, retry_after


def test_five_failed_logins_lock_that_email(client, candidate, make_user):
    other = make_user("candidate")
    for _ in range(5):
        assert_unauthorized(login(client, candidate.email, "wrong-password"))
    assert_rate_limited(login(client, candidate.email))
    assert_rate_limited(login(client, candidate.email.upper()))  # same email, other spelling
    assert login(client, other.email).status_code == 200


def test_successful_logins_never_count(client, candidate):
    for _ in range(10):
        assert login(client, candidate.email).status_code == 200
    for _ in range(4):
        assert_unauthorized(login(client, candidate.email, "wrong-password"))
    assert login(client, candidate.email).status_code == 200


def test_twenty_failed_logins_lock_that_address(client, candidate):
    for n in range(20):
        assert_unauthorized(login(client, f"nobody{n}@example.com", address="10.0.0.1"))
    assert_rate_limited(login(client, candidate.email, address="10.0.0.1"))
    assert login(client, candidate.email, address="10.0.0.2").status_code == 200
