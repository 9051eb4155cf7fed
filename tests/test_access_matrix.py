"""The access matrix: every route of the OpenAPI spec, for every actor, on every object.

The world: companies A and B, each with two recruiters (rec1, rec2), a hiring manager assigned
to every job of the company (hm) and one assigned to none (hm_u); candidates C1 and C2, each
with a profile (personal data: shown to themself, admins and the staff they applied to); an
admin; and the anonymous caller: 12 actors. Each company has an open and a closed job with an
application (C1 applied to A's, C2 to B's; the open ones were moved on with a note), an
open job whose application (C1's at A, C2's at B) was rejected, and an open and a closed job
without applications. The open applications hold two files, one uploaded by their candidate
and one by the company's hm; the rejected one holds its candidate's, uploaded before.

MATRIX below says, for each operation and kind of object, what each relation of caller to
object gets. It is written from API.md and the README's "Decisions where the contract is
silent", not from the code. Every (row, actor, object) case checks:

- the status, and the error code of a non-2xx answer;
- that no body carries a name, email, company name, job title or description, cover letter,
  note, file name or file content the actor may not see, nor a job, application, attachment,
  user or company object it may not see;
- for a list, that it holds exactly the rows the actor may see: none foreign, none missing;
- for a refused write, that nothing changed: every row of every table is compared (a file's
  bytes in attachment_chunks included);
- that the spec and MATRIX name the same operations (a route added without a row fails), and
  that every route the app serves is in the spec.

A write expected to succeed acts on a fresh copy of its object (same company, same hiring
manager, same applicant, same status), so the cases stay independent of each other.
"""
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field

from flask_jwt_extended import decode_token
from sqlalchemy import select

from ats.auth import sessions
from ats.extensions import db, limiter
from ats.auth import services as accounts
from ats.common import reset_tokens
from datetime import datetime, timedelta, timezone

from ats.models import (ADMIN, CANDIDATE, HIRING_MANAGER, RECRUITER, AttachmentChunk, AuthSession,
                        InterviewInterviewer, Job as JobRow, Notification, PasswordReset,
                        Scorecard, User)
from ats.models import Attachment as AttachmentRow, Comment as CommentRow
from ats.models import Application as ApplicationRow, ApplicationHistory as HistoryRow
from ats.models import Interview as InterviewRow
from ats.models import Webhook as WebhookRow, WebhookDelivery as WebhookDeliveryRow
from tests.conftest import PASSWORD
from tests.helpers import error_code

# Columns: how the caller stands to the object.
#   anon   no token                       admin  an admin
#   rec    a recruiter of its company     hm     a hiring manager of its company assigned to its job
#   hm_u   a hiring manager of its company not assigned to its job
#   f_rec  a recruiter of the other company             f_hm  a hiring manager of the other company
#   own    the candidate who applied (to the job, or of the application)
#   cand   any other candidate
# For routes without an object ("-" and the login/token variants) staff fall in rec, hm, hm_u.
# "-" in a cell: that relation cannot occur for that object.
# Objects: company (A, B); open_job, closed_job (with an application); empty_open_job,
# empty_closed_job (without); any_job (all ten); application, closed_job_application (the
# application on an open or a closed job); final_application (a rejected application on an open
# job: its candidate may no longer add files); notification, closed_notification (the failed
# confirmation mail to the candidate of either application), sent_notification (a mail to a
# recruiter about the open one, sent). "+foreign_hm": the body names the other company's
# hiring manager in hiring_manager_ids. "+withdrawal": a stage change to withdrawn (the
# candidate's only move; the plain rows reject, with a reason). own_password /
# wrong_password: a login to the caller's own account (the anonymous caller knows C1's; for
# a password change, the current password given); refresh_token / access_token: the token sent; reset_token / wrong_token: a reset
# token just asked for the caller's own account (the anonymous caller's: C1's), or a made-up one.
# Users as objects: member (A's or B's unassigned hiring manager), applicant (C1 as the
# applicant of A, C2 of B: "own" is that candidate); self: the caller's own account (the
# anonymous caller names C1's); profile: PATCH /api/auth/me with a profile field. Erasing is
# final: a candidate's DELETE /api/auth/me is sent by a new candidate who applied where they
# did, and an admin's erasure of an applicant acts on such a copy (as every successful write).
# A candidate sees the title and company of the jobs they applied to (in their mail and export).
# interview: a scheduled interview of the open application of A or B (in screening), its
# company's assigned hiring manager (hm) its one interviewer; started_interview: the same, its
# start passed (the scorecard's object). For an interview "own" is the application's candidate.
# comment: a comment on the open application of A or B, one by its rec1 and one by its hm; for
# a comment, "own" is its author, and the application's candidate falls in "cand" (comments
# are internal: the candidate sees none, so cannot tell theirs from another's).
# attachment: a file on the open application of A or B uploaded by its candidate ("own": that
# candidate, its uploader); staff_attachment: one uploaded by the company's hm (the hm column
# is its uploader; "own" is still the application's candidate, who sees every file of their
# application but did not upload this one). "+resume": the application sent as a multipart
# form with a résumé (a PDF) beside the cover letter. Uploads send a small PDF.
# webhook: a subscription of company A or B (made by its rec1); webhook_delivery: a ping
# delivery of one (its receiver does not answer, so it stays pending). Candidates have no
# "own" webhook: each is "cand".
# Reports: "-" asks for the caller's own scope (their company; every company for an admin);
# company and open_job name one by company_id or job_id.
# A cell is a status, with the error code of a 409 after a colon (CONFLICTS below).
MATRIX_TABLE = """
method path                                             object                 anon admin        rec          hm  hm_u f_rec f_hm own         cand
POST   /api/auth/register                               -                      201  201          201          201 201  -     -    -           201
POST   /api/auth/login                                  own_password           200  200          200          200 200  -     -    -           200
POST   /api/auth/login                                  wrong_password         401  401          401          401 401  -     -    -           401
POST   /api/auth/refresh                                refresh_token          401  200          200          200 200  -     -    -           200
POST   /api/auth/refresh                                access_token           401  401          401          401 401  -     -    -           401
POST   /api/auth/logout                                 -                      401  204          204          204 204  -     -    -           204
POST   /api/auth/logout-all                             -                      401  204          204          204 204  -     -    -           204
GET    /api/auth/me                                     -                      401  200          200          200 200  -     -    -           200
POST   /api/auth/password                               own_password           401  204          204          204 204  -     -    -           204
POST   /api/auth/password                               wrong_password         401  401          401          401 401  -     -    -           401
POST   /api/auth/password-reset                         -                      202  202          202          202 202  -     -    -           202
POST   /api/auth/password-reset/confirm                 reset_token            204  204          204          204 204  -     -    -           204
POST   /api/auth/password-reset/confirm                 wrong_token            400:bad_token 400:bad_token 400:bad_token 400:bad_token 400:bad_token - - - 400:bad_token
PATCH  /api/auth/me                                     -                      401  200          200          200 200  -     -    -           200
GET    /api/auth/me/export                              -                      401  403          403          403 403  -     -    -           200
DELETE /api/auth/me                                     -                      401  403          403          403 403  -     -    -           204
PATCH  /api/auth/me                                     profile                401  422          422          422 422  -     -    -           200
GET    /api/health                                      -                      200  200          200          200 200  -     -    -           200
POST   /api/companies                                   -                      401  201          403          403 403  -     -    -           403
GET    /api/companies/{company_id}                      company                401  200          200          200 200  404   404  -           404
GET    /api/companies/{company_id}/members              company                401  200          200          200 200  404   404  -           404
POST   /api/companies/{company_id}/members              company                401  201          201          403 403  404   404  -           404
PATCH  /api/companies/{company_id}/members/{user_id}    member                 401  200          200          403 403  404   404  -           404
PATCH  /api/companies/{company_id}/members/{user_id}    applicant              401  404          404          404 404  404   404  404         404
GET    /api/users                                       -                      401  200          403          403 403  -     -    -           403
GET    /api/users/{user_id}                             self                   401  200          200          200 200  -     -    -           200
GET    /api/users/{user_id}                             member                 401  200          200          200 200  404   404  -           404
GET    /api/users/{user_id}                             applicant              401  200          200          200 200  404   404  200         404
PATCH  /api/users/{user_id}                             self                   401  422          403          403 403  -     -    -           403
PATCH  /api/users/{user_id}                             member                 401  200          403          403 403  403   403  -           403
PATCH  /api/users/{user_id}                             applicant              401  200          403          403 403  403   403  403         403
POST   /api/users/{user_id}/erase                       self                   401  422          403          403 403  -     -    -           403
POST   /api/users/{user_id}/erase                       member                 401  422          403          403 403  403   403  -           403
POST   /api/users/{user_id}/erase                       applicant              401  204          403          403 403  403   403  403         403
GET    /api/jobs                                        -                      200  200          200          200 200  -     -    -           200
GET    /api/jobs                                        company                200  200          200          200 200  200   200  -           200
POST   /api/jobs                                        company                401  201          201          403 403  422   403  -           403
POST   /api/jobs                                        company+foreign_hm     401  422          422          403 403  422   403  -           403
GET    /api/jobs/{job_id}                               open_job               200  200          200          200 200  200   200  200         200
GET    /api/jobs/{job_id}                               closed_job             404  200          200          200 200  404   404  404         404
PATCH  /api/jobs/{job_id}                               open_job               401  200          200          403 403  403   403  403         403
PATCH  /api/jobs/{job_id}                               closed_job             401  200          200          403 403  404   404  404         404
PATCH  /api/jobs/{job_id}                               open_job+foreign_hm    401  422          422          403 403  403   403  403         403
DELETE /api/jobs/{job_id}                               open_job               401  409:has_apps 409:has_apps 403 403  403   403  403         403
DELETE /api/jobs/{job_id}                               closed_job             401  409:has_apps 409:has_apps 403 403  404   404  404         404
DELETE /api/jobs/{job_id}                               empty_open_job         401  204          204          403 403  403   403  -           403
DELETE /api/jobs/{job_id}                               empty_closed_job       401  204          204          403 403  404   404  -           404
POST   /api/jobs/{job_id}/applications                  open_job               401  403          403          403 403  403   403  409:applied 201
POST   /api/jobs/{job_id}/applications                  closed_job             401  403          403          403 403  403   403  409:closed  409:closed
POST   /api/jobs/{job_id}/applications                  open_job+resume        401  403          403          403 403  403   403  409:applied 201
POST   /api/jobs/{job_id}/applications                  closed_job+resume      401  403          403          403 403  403   403  409:closed  409:closed
GET    /api/jobs/{job_id}/applications                  open_job               401  200          200          200 200  403   403  403         403
GET    /api/jobs/{job_id}/applications                  closed_job             401  200          200          200 200  404   404  404         404
GET    /api/applications                                -                      401  200          200          200 200  -     -    -           200
GET    /api/applications                                any_job                401  200          200          200 200  200   200  200         200
GET    /api/applications/{application_id}               application            401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}               closed_job_application 401  200          200          200 200  404   404  200         404
PATCH  /api/applications/{application_id}/stage         application            401  200          200          200 403  404   404  403         404
PATCH  /api/applications/{application_id}/stage         closed_job_application 401  200          200          200 403  404   404  403         404
PATCH  /api/applications/{application_id}/stage         application+withdrawal 401  403          403          403 403  404   404  200         404
PATCH  /api/applications/{application_id}/stage         closed_job_application+withdrawal 401  403 403     403 403  404   404  200         404
GET    /api/applications/{application_id}/history       application            401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}/history       closed_job_application 401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}/notifications application            401  200          200          200 200  404   404  403         404
GET    /api/applications/{application_id}/notifications closed_job_application 401  200          200          200 200  404   404  403         404
POST   /api/applications/{application_id}/comments      application            401  201          201          201 201  404   404  403         404
POST   /api/applications/{application_id}/comments      closed_job_application 401  201          201          201 201  404   404  403         404
GET    /api/applications/{application_id}/comments      application            401  200          200          200 200  404   404  403         404
GET    /api/applications/{application_id}/comments      closed_job_application 401  200          200          200 200  404   404  403         404
PATCH  /api/comments/{comment_id}                       comment                401  403          403          403 403  404   404  200         404
DELETE /api/comments/{comment_id}                       comment                401  204          403          403 403  404   404  204         404
POST   /api/applications/{application_id}/attachments   application            401  201          201          201 201  404   404  201         404
POST   /api/applications/{application_id}/attachments   closed_job_application 401  201          201          201 201  404   404  201         404
POST   /api/applications/{application_id}/attachments   final_application      401  201          201          201 201  404   404  403         404
GET    /api/applications/{application_id}/attachments   application            401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}/attachments   closed_job_application 401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}/attachments   final_application      401  200          200          200 200  404   404  200         404
GET    /api/attachments/{attachment_id}                 attachment             401  200          200          200 200  404   404  200         404
GET    /api/attachments/{attachment_id}                 staff_attachment       401  200          200          200 200  404   404  200         404
DELETE /api/attachments/{attachment_id}                 attachment             401  204          204          403 403  404   404  204         404
DELETE /api/attachments/{attachment_id}                 staff_attachment       401  204          204          204 403  404   404  403         404
POST   /api/applications/{application_id}/interviews    application            401  201          201          201 403  404   404  403         404
POST   /api/applications/{application_id}/interviews    closed_job_application 401  409:iv_closed 409:iv_closed 409:iv_closed 403 404 404 403   404
GET    /api/applications/{application_id}/interviews    application            401  200          200          200 200  404   404  200         404
GET    /api/applications/{application_id}/interviews    closed_job_application 401  200          200          200 200  404   404  200         404
GET    /api/interviews                                  -                      401  200          200          200 200  -     -    -           403
PATCH  /api/interviews/{interview_id}                   interview              401  200          200          200 403  404   404  403         404
POST   /api/interviews/{interview_id}/cancel            interview              401  200          200          200 403  404   404  403         404
PUT    /api/interviews/{interview_id}/scorecard         started_interview      401  403          403          200 403  404   404  403         404
GET    /api/applications/{application_id}/scorecards    application            401  200          200          200 200  404   404  403         404
GET    /api/applications/{application_id}/scorecards    closed_job_application 401  200          200          200 200  404   404  403         404
POST   /api/notifications/{notification_id}/resend      notification           401  202          202          403 403  404   404  403         404
POST   /api/notifications/{notification_id}/resend      closed_notification    401  202          202          403 403  404   404  403         404
POST   /api/notifications/{notification_id}/resend      sent_notification      401  409:sent    409:sent     403 403  404   404  404         404
POST   /api/companies/{company_id}/webhooks             company                401  201          201          403 403  404   404  -           404
GET    /api/companies/{company_id}/webhooks             company                401  200          200          403 403  404   404  -           404
PATCH  /api/webhooks/{webhook_id}                       webhook                401  200          200          403 403  404   404  -           404
DELETE /api/webhooks/{webhook_id}                       webhook                401  204          204          403 403  404   404  -           404
POST   /api/webhooks/{webhook_id}/rotate-secret         webhook                401  200          200          403 403  404   404  -           404
POST   /api/webhooks/{webhook_id}/ping                  webhook                401  202          202          403 403  404   404  -           404
GET    /api/webhooks/{webhook_id}/deliveries            webhook                401  200          200          403 403  404   404  -           404
POST   /api/webhook-deliveries/{delivery_id}/redeliver  webhook_delivery       401  202          202          403 403  404   404  -           404
GET    /api/reports/funnel                              -                      401  200          200          403 403  -     -    -           403
GET    /api/reports/funnel                              company                401  200          200          403 403  404   403  -           403
GET    /api/reports/funnel                              open_job               401  200          200          403 403  404   403  403         403
GET    /api/reports/time-in-stage                       -                      401  200          200          403 403  -     -    -           403
GET    /api/reports/time-in-stage                       company                401  200          200          403 403  404   403  -           403
GET    /api/reports/time-in-stage                       open_job               401  200          200          403 403  404   403  403         403
GET    /api/reports/time-to-hire                        -                      401  200          200          403 403  -     -    -           403
GET    /api/reports/time-to-hire                        company                401  200          200          403 403  404   403  -           403
GET    /api/reports/time-to-hire                        open_job               401  200          200          403 403  404   403  403         403
GET    /api/reports/outcomes                            -                      401  200          200          403 403  -     -    -           403
GET    /api/reports/outcomes                            company                401  200          200          403 403  404   403  -           403
GET    /api/reports/outcomes                            open_job               401  200          200          403 403  404   403  403         403
"""
COLUMNS = ("anon", "admin", "rec", "hm", "hm_u", "f_rec", "f_hm", "own", "cand")
CONFLICTS = {"has_apps": "job_has_applications", "applied": "already_applied", "closed": "job_closed",
             "sent": "not_failed", "bad_token": "invalid_token", "iv_closed": "interview_closed"}
ERROR_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 422: "validation_error"}
OBJECTLESS = ("-", "own_password", "wrong_password", "refresh_token", "access_token", "profile",
              "self", "reset_token", "wrong_token")


@dataclass(frozen=True)
class Expected:
    status: int
    code: str | None  # the error code of a non-2xx answer


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    kind: str  # the object, with "+variant" of the body
    cells: dict  # column -> Expected, or None where the relation cannot occur

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def objects(self) -> str:
        return self.kind.partition("+")[0]


def _cell(text: str) -> Expected | None:
    if text == "-":
        return None
    status, _, conflict = text.partition(":")
    return Expected(int(status), CONFLICTS[conflict] if conflict else ERROR_CODES.get(int(status)))


def _parse(table: str) -> list[Row]:
    header, *lines = table.strip().splitlines()
    assert tuple(header.split()[3:]) == COLUMNS, header
    rows = []
    for line in lines:
        method, path, kind, *cells = line.split()
        assert len(cells) == len(COLUMNS), line
        rows.append(Row(method, path, kind, dict(zip(COLUMNS, map(_cell, cells)))))
    return rows


MATRIX = _parse(MATRIX_TABLE)
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


# --- the world ---------------------------------------------------------------------------

def marker(label: str) -> str:
    """A string unique to one object: finding it in a body means that object leaked."""
    return f"{label} {uuid.uuid4().hex[:12]}"


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing text (letters, digits, spaces and dots)."""
    content = f"BT /F1 12 Tf 10 20 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 50] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return pdf + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)


@dataclass(frozen=True)
class Form:
    """A multipart/form-data body: fields, and files as name -> (filename, bytes)."""

    fields: dict
    files: dict

    def sent(self) -> dict:
        """The test client's data=: a fresh stream per file, so a body can be sent again."""
        return {**self.fields, **{name: (io.BytesIO(data), filename)
                                  for name, (filename, data) in self.files.items()}}


def body_arguments(body) -> dict:
    """The test client's arguments for a request body: JSON, or a multipart form."""
    if isinstance(body, Form):
        return {"data": body.sent(), "content_type": "multipart/form-data"}
    return {"json": body}


@dataclass(eq=False)
class Person:
    key: str                   # "A.rec1", "C1", "admin", "anon"
    role: str | None = None    # None: anonymous
    company: str | None = None  # "A" or "B" for staff
    assigned: bool = False     # the hiring manager every job of the company names
    id: int | None = None
    name: str | None = None
    email: str | None = None
    headers: dict = field(default_factory=dict)
    profile: dict | None = None  # a candidate's, every value a marker
    applied_to: set = field(default_factory=set)  # the companies a candidate applied to


@dataclass(eq=False)
class Company:
    key: str
    id: int
    name: str


@dataclass(eq=False)
class Job:
    key: str
    id: int
    company: str
    status: str
    managers: set
    applicant: str | None
    title: str
    description: str


@dataclass(eq=False)
class Application:
    key: str
    id: int
    job: Job
    candidate: str
    cover_letter: str
    history: list  # (to_stage, changed_by key, note), oldest first

    @property
    def company(self) -> str:
        return self.job.company


@dataclass(eq=False)
class Account:
    """A user as the object of a route: a member of company, or a candidate who applied to it."""

    key: str
    id: int
    company: str
    person: Person

    @property
    def candidate(self) -> str | None:
        return self.person.key if self.person.role == CANDIDATE else None


class PartOfApplication:
    """Of an application: its company, job and candidate are the application's."""

    application: Application

    @property
    def company(self) -> str:
        return self.application.company

    @property
    def job(self) -> Job:
        return self.application.job

    @property
    def candidate(self) -> str:
        return self.application.candidate


@dataclass(eq=False)
class Comment(PartOfApplication):
    """A comment on an application, by one of its company's staff."""

    key: str
    id: int
    application: Application
    author: str  # the author's key
    body: str


@dataclass(eq=False)
class Attachment(PartOfApplication):
    """A file of an application: its name and its text are markers."""

    key: str
    id: int
    application: Application
    uploader: str  # the uploader's key
    filename: str
    text: str
    data: bytes


@dataclass(eq=False)
class Interview(PartOfApplication):
    """An interview of an application, with one interviewer; started: its start has passed."""

    key: str
    id: int
    application: Application
    interviewer: str  # the interviewer's key
    creator: str
    started: bool


@dataclass(eq=False)
class Hook:
    """A company's webhook subscription, to a port where nothing answers."""

    key: str
    id: int
    company: str


@dataclass(eq=False)
class HookDelivery:
    """A delivery (a ping) of a subscription."""

    key: str
    id: int
    hook: Hook

    @property
    def company(self) -> str:
        return self.hook.company


@dataclass(eq=False)
class Mail(PartOfApplication):
    """A notification row of an application."""

    key: str
    id: int
    application: Application
    group: str  # notification, closed_notification or sent_notification


class World:
    def __init__(self, client, app, make_user):
        self.client, self.app = client, app
        self.people = {"anon": Person("anon")}
        self.companies, self.jobs, self.applications, self.mails = {}, {}, {}, {}
        self.comments, self.attachments, self.files, self.interviews = {}, {}, {}, {}
        self.copies, self.accounts, self.slots = 0, {}, 0
        self.hooks, self.hook_deliveries = {}, {}
        admin = self._person(make_user, "admin", ADMIN)
        for letter in "AB":
            name = marker(f"Company {letter}")
            body = self.call(admin, "POST", "/api/companies", {"name": name}, 201)
            self.companies[letter] = Company(letter, body["id"], name)
            for key, role in (("rec1", RECRUITER), ("rec2", RECRUITER),
                              ("hm", HIRING_MANAGER), ("hm_u", HIRING_MANAGER)):
                self._person(make_user, f"{letter}.{key}", role, letter, assigned=key == "hm")
        for key in ("C1", "C2"):
            self.add_profile(self._person(make_user, key, CANDIDATE))
        for letter, candidate in (("A", "C1"), ("B", "C2")):
            for status in ("open", "closed"):
                self.add_job(f"{letter}.{status}", letter, status, candidate)
                self.add_job(f"{letter}.empty_{status}", letter, status, None)
        # Moves with notes: staff see the notes; the candidate sees who moved, not the note.
        self.move(self.applications["A.open.C1"], "A.rec1", "screening")
        self.move(self.applications["B.open.C2"], "B.hm", "screening")
        # Comments are for the staff: no candidate may meet their bodies anywhere.
        for letter in "AB":
            for author in ("rec1", "hm"):
                self.comment(self.applications[f"{letter}.open.C{'1' if letter == 'A' else '2'}"],
                             f"{letter}.{author}")
        # Interviews: their interviewers' names reach the candidate, never a scorecard
        for letter, candidate in (("A", "C1"), ("B", "C2")):
            for started in (False, True):
                self.interview(self.applications[f"{letter}.open.{candidate}"], started)
        for application in list(self.applications.values()):
            if ".closed." in application.key:
                self.mail(application, "closed_notification")
            else:
                self.mail(application, "notification")
                self.mail(application, "sent_notification")
        # Files: whoever sees the application sees every file of it, whoever uploaded it.
        for letter, candidate in (("A", "C1"), ("B", "C2")):
            application = self.applications[f"{letter}.open.{candidate}"]
            self.files[f"attachment.{letter}"] = self.attach(application, candidate)
            self.files[f"staff_attachment.{letter}"] = self.attach(application, f"{letter}.hm")
            # after the mails above: its notifications are no objects of the notification rows
            final = self.add_job(f"{letter}.final", letter, "open", candidate)
            final = self.applications[f"{final.key}.{candidate}"]
            self.attach(final, candidate)
            self.move(final, f"{letter}.rec1", "rejected")
        for letter in "AB":  # last: no event of the world before goes to them
            self.ping(self.subscribe(letter))

    def _person(self, make_user, key, role, company=None, assigned=False) -> Person:
        email = f"{key.lower().replace('.', '-')}-{uuid.uuid4().hex[:12]}@example.com"
        company_id = self.companies[company].id if company else None
        user = make_user(role, company_id, name=marker(f"Name {key}"), email=email)
        person = Person(key, role, company, assigned, user.id, user.name, user.email, user.headers)
        self.people[key] = person
        return person

    def add_profile(self, person) -> None:
        """Every field a marker: personal data only the candidate, admins and the staff of a
        company the candidate applied to may see."""
        person.profile = {"phone": marker("Tel"), "headline": marker(f"Headline {person.key}"),
                          "location": marker(f"Location {person.key}"),
                          "links": [f"https://{uuid.uuid4().hex[:12]}.example/{person.key}"]}
        body = self.call(person, "PATCH", "/api/auth/me", person.profile, 200)
        assert body["profile"] == person.profile

    def call(self, person, method, url, body, status):
        response = self.client.open(url, method=method, json=body, headers=person.headers)
        assert response.status_code == status, (method, url, response.get_json())
        return response.get_json()

    def add_job(self, key, company, status, applicant) -> Job:
        """A job of company naming its hiring manager, applied to by applicant, then closed."""
        owner, manager = self.people[f"{company}.rec1"], f"{company}.hm"
        job = Job(key, 0, company, "open", {manager}, applicant,
                  marker(f"Title {key}"), marker(f"Description {key}"))
        job.id = self.call(owner, "POST", "/api/jobs", {
            "title": job.title, "description": job.description,
            "hiring_manager_ids": [self.people[manager].id]}, 201)["id"]
        self.jobs[key] = job
        if applicant:
            cover = marker(f"Cover letter {key}.{applicant}")
            body = self.call(self.people[applicant], "POST", f"/api/jobs/{job.id}/applications",
                             {"cover_letter": cover}, 201)
            self.people[applicant].applied_to.add(company)
            self.applications[f"{key}.{applicant}"] = Application(
                f"{key}.{applicant}", body["id"], job, applicant, cover, [("applied", applicant, None)])
        if status == "closed":
            self.call(owner, "PATCH", f"/api/jobs/{job.id}", {"status": "closed"}, 200)
            job.status = "closed"
        return job

    def move(self, application, mover, stage):
        note = marker(f"Note {application.key}")
        self.call(self.people[mover], "PATCH", f"/api/applications/{application.id}/stage",
                  {"stage": stage, "note": note, **({"reason": "other"} if stage == "rejected" else {})},
                  200)
        application.history.append((stage, mover, note))

    def attach(self, application, uploader) -> Attachment:
        """A PDF uploaded by uploader: its name and its text unique to it."""
        key = f"{application.key}.file{len(self.attachments) + 1}"
        filename, text = marker(f"File {key}") + ".pdf", marker(f"Text {key}")
        data = tiny_pdf(text)
        response = self.client.post(
            f"/api/applications/{application.id}/attachments", headers=self.people[uploader].headers,
            **body_arguments(Form({"kind": "portfolio"}, {"file": (filename, data)})))
        assert response.status_code == 201, response.get_json()
        attachment = Attachment(key, response.get_json()["id"], application, uploader, filename,
                                text, data)
        self.attachments[key] = attachment
        return attachment

    def comment(self, application, author) -> Comment:
        body = marker(f"Comment {application.key} by {author}")
        comment_id = self.call(self.people[author], "POST",
                               f"/api/applications/{application.id}/comments", {"body": body}, 201)["id"]
        comment = Comment(f"{application.key}.comment{len(self.comments) + 1}", comment_id,
                          application, author, body)
        self.comments[comment.key] = comment
        return comment

    def slot(self, past: bool = False) -> datetime:
        """A time no other interview of the world has (an hour long, two hours apart)."""
        self.slots += 1
        now = datetime.now(timezone.utc).replace(microsecond=0)
        return now - timedelta(hours=10 + 2 * self.slots) if past else now + timedelta(
            hours=48 + 2 * self.slots)

    def interview(self, application, started: bool) -> Interview:
        """Scheduled by its company's rec1 with its hm; a started one then moved to the past."""
        creator, interviewer = f"{application.company}.rec1", f"{application.company}.hm"
        interview_id = self.call(self.people[creator], "POST",
                                 f"/api/applications/{application.id}/interviews", {
                                     "starts_at": self.slot().isoformat(), "duration_minutes": 60,
                                     "interviewer_ids": [self.people[interviewer].id]}, 201)["id"]
        if started:
            starts_at = self.slot(past=True)
            ends_at = starts_at + timedelta(hours=1)
            with self.app.app_context():
                db.session.execute(InterviewRow.__table__.update().where(
                    InterviewRow.id == interview_id).values(starts_at=starts_at, ends_at=ends_at))
                db.session.execute(InterviewInterviewer.__table__.update().where(
                    InterviewInterviewer.interview_id == interview_id).values(
                    starts_at=starts_at, ends_at=ends_at))
                db.session.commit()
        interview = Interview(f"{application.key}.{'started_' if started else ''}interview"
                              f"{len(self.interviews) + 1}", interview_id, application,
                              interviewer, creator, started)
        self.interviews[interview.key] = interview
        return interview

    def mail(self, application, group) -> Mail:
        """The candidate's confirmation, failed (as after a 550), or a staff mail as sent."""
        kind = "new_application" if group == "sent_notification" else "application_received"
        with self.app.app_context():
            row = db.session.scalars(select(Notification).where(
                Notification.application_id == application.id, Notification.kind == kind)
                .order_by(Notification.id)).first()
            if group != "sent_notification":
                row.status, row.last_error = "failed", "SMTPRecipientsRefused: 550 No such user"
            assert row.status == ("sent" if group == "sent_notification" else "failed")
            mail = Mail(f"{application.key}.{group}", row.id, application, group)
            db.session.commit()
        self.mails[mail.key] = mail
        return mail

    def subscribe(self, company: str) -> Hook:
        """A subscription to job events, made by the company's rec1; nothing listens at port 9."""
        body = self.call(self.people[f"{company}.rec1"], "POST",
                         f"/api/companies/{self.companies[company].id}/webhooks",
                         {"url": f"http://127.0.0.1:9/{company}", "events": ["job.created"]}, 201)
        hook = Hook(f"{company}.webhook{len(self.hooks) + 1}", body["id"], company)
        self.hooks[hook.key] = hook
        return hook

    def ping(self, hook: Hook) -> HookDelivery:
        body = self.call(self.people[f"{hook.company}.rec1"], "POST",
                         f"/api/webhooks/{hook.id}/ping", None, 202)
        sent = HookDelivery(f"{hook.key}.delivery{len(self.hook_deliveries) + 1}", body["id"], hook)
        self.hook_deliveries[sent.key] = sent
        return sent

    def fresh_copy(self, obj):
        """A new job, application or notification standing to every actor as obj does."""
        if isinstance(obj, Hook):
            return self.subscribe(obj.company)
        if isinstance(obj, HookDelivery):
            return self.ping(obj.hook)
        if isinstance(obj, Mail):
            return self.mail(self.fresh_copy(obj.application), obj.group)
        if isinstance(obj, Comment):
            return self.comment(obj.application, obj.author)
        if isinstance(obj, Attachment):
            return self.attach(obj.application, obj.uploader)
        if isinstance(obj, Interview):
            return self.interview(obj.application, obj.started)
        if isinstance(obj, Account):
            return self.copy_account(obj)
        self.copies += 1
        job = obj if isinstance(obj, Job) else obj.job
        copy = self.add_job(f"{job.key}#{self.copies}", job.company, job.status, job.applicant)
        if isinstance(obj, Job):
            return copy
        application = self.applications[f"{copy.key}.{obj.candidate}"]
        for stage, mover, _ in obj.history[1:]:  # in the same stage, moved by the same people
            self.move(application, mover, stage)
        return application

    def copy_account(self, like: Account) -> Account:
        """A new member of the same company with the same role, or a new candidate who
        applied to the same company."""
        self.copies += 1
        person = Person(f"{like.person.key}#{self.copies}", like.person.role, like.person.company)
        anon, account = self.people["anon"], new_account()
        if person.role == CANDIDATE:
            body = self.call(anon, "POST", "/api/auth/register", account, 201)
            token = self.call(anon, "POST", "/api/auth/login", {
                "email": account["email"], "password": account["password"]}, 200)["access_token"]
            person.headers = {"Authorization": f"Bearer {token}"}
            self.call(person, "POST", f"/api/jobs/{self.jobs[f'{like.company}.open'].id}/applications",
                      {}, 201)
        else:
            body = self.call(self.people["admin"], "POST",
                             f"/api/companies/{self.companies[like.company].id}/members",
                             {**account, "role": person.role}, 201)
        person.id, person.name, person.email = body["id"], body["name"], body["email"]
        return Account(person.key, person.id, like.company, person)

    def objects(self, kind: str) -> list:
        if kind in OBJECTLESS:
            return [None]
        if kind in ("member", "applicant"):
            if not self.accounts:
                self.accounts = {
                    "member": [Account(f"{c}.hm_u", self.people[f"{c}.hm_u"].id, c,
                                       self.people[f"{c}.hm_u"]) for c in "AB"],
                    "applicant": [Account(key, self.people[key].id, c, self.people[key])
                                  for c, key in (("A", "C1"), ("B", "C2"))]}
            return self.accounts[kind]
        if kind == "company":
            return list(self.companies.values())
        if kind == "webhook":
            return list(self.hooks.values())[:2]
        if kind == "webhook_delivery":
            return list(self.hook_deliveries.values())[:2]
        if kind in ("interview", "started_interview"):
            return [i for i in self.interviews.values() if "#" not in i.application.key
                    and i.started == (kind == "started_interview")][:2]
        if kind == "comment":
            return [c for c in self.comments.values() if c.application.key.endswith(".open.C1")
                    or c.application.key.endswith(".open.C2")][:4]
        if kind in ("attachment", "staff_attachment"):
            return [self.files[f"{kind}.{letter}"] for letter in "AB"]
        if kind == "final_application":
            return [a for a in self.applications.values() if a.key.endswith(f".final.{a.candidate}")]
        if kind == "any_job":
            return list(self.jobs.values())
        if kind.endswith("_job"):
            return [self.jobs[f"{letter}.{kind.removesuffix('_job')}"] for letter in "AB"]
        if kind.endswith("notification"):
            return [m for m in self.mails.values() if m.group == kind and "#" not in m.key]
        status = "closed" if kind == "closed_job_application" else "open"
        return [a for a in self.applications.values() if a.key.endswith(f".{status}.{a.candidate}")]

    def token(self, person, refresh=False) -> dict:
        with self.app.app_context():
            user = db.session.get(User, person.id)
            token = sessions.start(user)["refresh_token" if refresh else "access_token"]
        return {"Authorization": f"Bearer {token}"}

    def foreign_manager(self, company: str) -> Person:
        return self.people[f"{'B' if company == 'A' else 'A'}.hm"]


# --- who stands how to what (the contract, restated) --------------------------------------

def relation(person: Person, obj) -> str:
    if person.role is None:
        return "anon"
    if person.role == ADMIN:
        return "admin"
    if isinstance(obj, Comment) and person.key == obj.author:
        return "own"
    if person.role == CANDIDATE:
        applicants = {obj.applicant} if isinstance(obj, Job) else (
            {obj.candidate} if isinstance(obj, (Application, Mail, Account, Attachment, Interview))
            else set())
        return "own" if person.key in applicants else "cand"
    company = obj.key if isinstance(obj, Company) else getattr(obj, "company", None)
    if company is not None and company != person.company:
        return "f_rec" if person.role == RECRUITER else "f_hm"
    if person.role == RECRUITER:
        return "rec"
    job = obj if isinstance(obj, Job) else getattr(obj, "job", None)
    assigned = person.key in job.managers if job else person.assigned
    return "hm" if assigned else "hm_u"


def sees_job(person, job) -> bool:
    """Open jobs: anyone; closed ones: the company's staff and admins."""
    return job.status == "open" or person.role == ADMIN or person.company == job.company


def sees_application(person, application) -> bool:
    """Its candidate, the company's staff, admins."""
    return (person.role == ADMIN or person.company == application.company
            or person.key == application.candidate)


def sees_user(person, user) -> bool:
    """Oneself; the staff of one's company (members) and of the companies one applied to;
    admins everyone."""
    return (person.role == ADMIN or person is user
            or (person.company is not None and person.company == user.company)
            or (person.company is not None and person.company in user.applied_to))


def profile_markers(person) -> set[str]:
    profile = person.profile or {}
    return {profile[name] for name in ("phone", "headline", "location") if name in profile} | set(
        profile.get("links", []))


def sees_company(person, company) -> bool:
    return person.role == ADMIN or person.company == company.key


def all_markers(world) -> set[str]:
    people = [p for p in world.people.values() if p.role]
    return ({p.name for p in people} | {p.email for p in people}
            | {c.name for c in world.companies.values()}
            | {text for j in world.jobs.values() for text in (j.title, j.description)}
            | {a.cover_letter for a in world.applications.values()}
            | {note for a in world.applications.values() for _, _, note in a.history if note}
            | {text for p in people for text in profile_markers(p)}
            | {c.body for c in world.comments.values()}
            | {text for f in world.attachments.values() for text in (f.filename, f.text)})


def markers_seen_by(world, person) -> set[str]:
    if person.role == ADMIN:
        return all_markers(world)
    seen = ({person.name, person.email} - {None}) | profile_markers(person)
    seen |= {text for j in world.jobs.values() if sees_job(person, j) for text in (j.title, j.description)}
    for application in world.applications.values():
        if not sees_application(person, application):
            continue
        seen.add(application.cover_letter)
        if person.key == application.candidate:  # their mail and their export name the job
            seen |= {application.job.title, world.companies[application.company].name}
        for _, mover, note in application.history:
            seen.add(world.people[mover].name)  # history's changed_by
            if note and person.role != CANDIDATE:  # candidates never see notes
                seen.add(note)
        for file in world.attachments.values():  # every file of it, and who uploaded it
            if file.application is application:
                seen |= {file.filename, file.text, world.people[file.uploader].name}
        if person.company:  # notifications name the candidate's address
            seen.add(world.people[application.candidate].email)
            seen |= profile_markers(world.people[application.candidate])  # the candidate card
    for interview in world.interviews.values():  # who holds and who scheduled an interview
        if sees_application(person, interview.application):
            seen |= {world.people[interview.interviewer].name, world.people[interview.creator].name}
    if person.company:  # comments: the company's staff only, never a candidate
        seen |= {c.body for c in world.comments.values() if c.company == person.company}
    if person.company:
        seen.add(world.companies[person.company].name)
        seen |= {text for p in world.people.values() if p.company == person.company
                 for text in (p.name, p.email)}
    return seen


def objects_in(body) -> list[tuple[str, int]]:
    """(kind, id) of every job, application, user and company object in a JSON body."""
    found = []

    def walk(value):
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            keys = set(value)
            if "id" not in keys:
                pass  # not an object of ours (error details, for one)
            elif {"candidate_id", "job_id", "stage"} <= keys:
                found.append(("application", value["id"]))
            elif "hiring_manager_ids" in keys:
                found.append(("job", value["id"]))
            elif {"email", "role"} <= keys:
                found.append(("user", value["id"]))
            elif keys == {"id", "name", "created_at"}:
                found.append(("company", value["id"]))
            elif {"application_id", "sha256", "uploaded_by"} <= keys:
                found.append(("attachment", value["id"]))
            for item in value.values():
                walk(item)
    walk(body)
    return found


def foreign_data(world, person, response) -> list[str]:
    text = response.get_data(as_text=True)
    leaks = sorted(m for m in all_markers(world) - markers_seen_by(world, person) if m in text)
    known = {"job": (world.jobs.values(), sees_job),
             "application": (world.applications.values(), sees_application),
             "user": ([p for p in world.people.values() if p.role], sees_user),
             "company": (world.companies.values(), sees_company),
             "attachment": (world.attachments.values(),
                            lambda person, file: sees_application(person, file.application))}
    for kind, object_id in objects_in(response.get_json(silent=True)):
        objects, sees = known[kind]
        leaks += [f"{kind} {o.key}" for o in objects if o.id == object_id and not sees(person, o)]
    return leaks


# --- what each route's request is, and what its 2xx body must hold -----------------------

def new_account() -> dict:
    return {"name": "New Person", "email": f"new-{uuid.uuid4().hex[:12]}@example.com",
            "password": PASSWORD}


def login_account(world, person) -> Person:
    """The account a login case uses: the caller's own; the anonymous caller knows C1's."""
    return world.people["C1"] if person.role is None else person


def fresh_reset_token(world, person) -> str:
    """A reset token for the login account, asked for through the service as a request would."""
    account = login_account(world, person)
    with world.app.app_context():
        accounts.request_password_reset(account.email)
        newest = db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == account.id)
                                    .order_by(PasswordReset.id.desc())).first()
        return reset_tokens.token_for(newest)


BODIES = {
    "POST /api/auth/register": lambda w, p, o, v: new_account(),
    # the same password again: later cases log in with it
    "POST /api/auth/password": lambda w, p, o, v: {
        "current_password": PASSWORD if v == "own_password" else "not-the-password",
        "new_password": PASSWORD},
    "POST /api/auth/password-reset": lambda w, p, o, v: {"email": login_account(w, p).email},
    "POST /api/auth/password-reset/confirm": lambda w, p, o, v: {
        "token": fresh_reset_token(w, p) if v == "reset_token" else "made-up-token",
        "new_password": PASSWORD},
    "POST /api/auth/login": lambda w, p, o, v: {
        "email": login_account(w, p).email,
        "password": PASSWORD if v == "own_password" else "not-the-password"},
    "POST /api/companies": lambda w, p, o, v: {"name": marker("New Company")},
    "POST /api/companies/{company_id}/members": lambda w, p, o, v: {**new_account(),
                                                                     "role": HIRING_MANAGER},
    "POST /api/jobs": lambda w, p, o, v: {
        "title": "New Job", "description": "New.", "company_id": o.id,
        **({"hiring_manager_ids": [w.foreign_manager(o.key).id]} if v == "foreign_hm" else {})},
    "PATCH /api/jobs/{job_id}": lambda w, p, o, v: (
        {"hiring_manager_ids": [w.foreign_manager(o.company).id]} if v == "foreign_hm"
        else {"location": "Remote"}),
    "POST /api/jobs/{job_id}/applications": lambda w, p, o, v: (
        Form({"cover_letter": "Hello."}, {"resume": ("My CV.pdf", tiny_pdf("My CV"))})
        if v == "resume" else {"cover_letter": "Hello."}),
    "POST /api/applications/{application_id}/attachments": lambda w, p, o, v: Form(
        {"kind": "cover_letter"}, {"file": ("Letter.pdf", tiny_pdf("A letter"))}),
    "POST /api/applications/{application_id}/comments": lambda w, p, o, v: {
        "body": "A new comment.\nOn two lines."},
    "PATCH /api/comments/{comment_id}": lambda w, p, o, v: {"body": "Edited."},
    "POST /api/applications/{application_id}/interviews": lambda w, p, o, v: {
        "starts_at": w.slot().isoformat(), "duration_minutes": 30,
        "interviewer_ids": [w.people[f"{o.company}.hm"].id]},
    "PATCH /api/interviews/{interview_id}": lambda w, p, o, v: {"location": "Room 2"},
    "PUT /api/interviews/{interview_id}/scorecard": lambda w, p, o, v: {
        "rating": 3, "recommendation": "yes", "notes": "Clear answers."},
    "PATCH /api/applications/{application_id}/stage": lambda w, p, o, v: (
        {"stage": "withdrawn", "reason": "timing"} if v == "withdrawal"  # the candidate's move
        else {"stage": "rejected", "reason": "other", "note": "Not this time."}),  # legal from every world stage
    # the caller's own values again: the world stays as it is
    "PATCH /api/auth/me": lambda w, p, o, v: (
        {"headline": (p.profile or {}).get("headline", "A headline")} if v == "profile"
        else {"name": p.name or "Nobody"}),
    "PATCH /api/companies/{company_id}/members/{user_id}": lambda w, p, o, v: {"is_active": False},
    "PATCH /api/users/{user_id}": lambda w, p, o, v: {"is_active": False},
    "POST /api/companies/{company_id}/webhooks": lambda w, p, o, v: {
        "url": "http://127.0.0.1:9/new", "events": ["job.created", "ping"]},
    "PATCH /api/webhooks/{webhook_id}": lambda w, p, o, v: {"description": "Changed"},
}


def path_id(world, person, obj, name: str) -> int:
    if obj is None:  # "self": the caller's own account (the anonymous caller names C1's)
        return login_account(world, person).id
    if isinstance(obj, Account) and name == "company_id":
        return world.companies[obj.company].id
    return obj.id


def build_request(world, row, person, obj) -> tuple[str, dict, dict | None]:
    variant = row.kind.partition("+")[2] or row.kind
    url = re.sub(r"\{(\w+)\}", lambda match: str(path_id(world, person, obj, match[1])), row.path)
    if "{" not in row.path and obj is not None and row.method == "GET":  # a list filtered by it
        url += f"?{'company' if isinstance(obj, Company) else 'job'}_id={obj.id}"
    headers = person.headers
    if person.role and row.route == "POST /api/auth/refresh":
        headers = world.token(person, refresh=True) if variant == "refresh_token" else person.headers
    elif person.role and row.route == "POST /api/auth/logout":
        headers = world.token(person)  # logging out revokes it: never the actor's own token
    elif person.role == CANDIDATE and row.route == "DELETE /api/auth/me":
        # erasing is final: a new candidate who applied where the caller did erases themself
        like = next(account for account in world.objects("applicant") if account.person is person)
        headers = world.copy_account(like).person.headers
    body = BODIES.get(row.route, lambda *_: None)(world, person, obj, variant)
    return url, headers, body


def ids_of(body) -> set[int]:
    return {item["id"] for item in body["items"]}


def subject(world, token: str) -> int:
    with world.app.app_context():
        return int(decode_token(token)["sub"])


def rows_in_db(world, model, *where) -> set:
    """The ids of model's rows (a chunk's: its piece number)."""
    column = model.seq if model is AttachmentChunk else model.id
    with world.app.app_context():
        return set(db.session.scalars(select(column).where(*where)))


def files_in_db(world, application_id, *where) -> list[tuple]:
    """(id, kind, filename, sha256, uploader id, size) of an application's files, oldest
    first, with the size of the bytes stored."""
    with world.app.app_context():
        files = db.session.scalars(select(AttachmentRow).where(
            AttachmentRow.application_id == application_id, *where).order_by(AttachmentRow.id)).all()
        return [(f.id, f.kind, f.filename, f.sha256, f.uploaded_by_id, sum(
            len(data) for data in db.session.scalars(select(AttachmentChunk.data).where(
                AttachmentChunk.attachment_id == f.id)))) for f in files]


def files_sent(person, sent, field, kind) -> list[tuple]:
    """What files_in_db holds, ids aside, of an application whose only file is sent's (if
    sent carries one)."""
    if not isinstance(sent, Form):
        return []
    filename, data = sent.files[field]
    return [(kind, filename, hashlib.sha256(data).hexdigest(), person.id, len(data))]


def without_ids(files: list[tuple]) -> list[tuple]:
    return [file[1:] for file in files]


def history_as_seen(world, person, application) -> list:
    return [(stage, world.people[mover].id, None if person.role == CANDIDATE else note)
            for stage, mover, note in application.history]


def shown_user(world, person, obj, response) -> tuple:
    """The user asked for, with the profile of a candidate (personal data, asked for by
    someone allowed to see it)."""
    user = obj.person if obj is not None else login_account(world, person)
    body = response.get_json()
    return (user.id, user.email, user.profile), (body["id"], body["email"], body.get("profile"))


def erased(world, user_id: int) -> tuple:
    with world.app.app_context():
        user = db.session.get(User, user_id)
        return user.name, user.is_active, user.erased_at is not None


ERASED = ("Erased candidate", False, True)


def deactivated(world, obj, response) -> tuple:
    body = response.get_json()
    return ((obj.id, False, {obj.id}), (body["id"], body["is_active"], rows_in_db(
        world, User, User.id == obj.id, User.is_active.is_(False))))


# route -> (world, person, object, request body, response) -> (want, got)
CONTENT = {
    "POST /api/auth/register": lambda w, p, o, sent, r: (sent["email"], r.get_json()["email"]),
    "POST /api/auth/login": lambda w, p, o, sent, r: (
        login_account(w, p).id, subject(w, r.get_json()["access_token"])),
    "POST /api/auth/refresh": lambda w, p, o, sent, r: (p.id, subject(w, r.get_json()["access_token"])),
    "POST /api/auth/logout": lambda w, p, o, sent, r: (
        401, w.client.get("/api/auth/me", headers={
            "Authorization": r.request.headers["Authorization"]}).status_code),  # revoked
    "POST /api/auth/logout-all": lambda w, p, o, sent, r: (set(), rows_in_db(
        w, AuthSession, AuthSession.user_id == p.id, AuthSession.ended_at.is_(None))),
    "GET /api/auth/me": lambda w, p, o, sent, r: (p.id, r.get_json()["id"]),
    "POST /api/auth/password": lambda w, p, o, sent, r: (  # this session goes on
        200, w.client.get("/api/auth/me", headers=p.headers).status_code),
    "POST /api/auth/password-reset": lambda w, p, o, sent, r: (True, bool(rows_in_db(
        w, PasswordReset, PasswordReset.user_id == login_account(w, p).id))),
    "POST /api/auth/password-reset/confirm": lambda w, p, o, sent, r: (set(), rows_in_db(
        w, AuthSession, AuthSession.user_id == login_account(w, p).id, AuthSession.ended_at.is_(None))),
    "PATCH /api/auth/me": lambda w, p, o, sent, r: (
        (p.id, p.name, p.profile),
        (r.get_json()["id"], r.get_json()["name"], r.get_json().get("profile"))),
    "GET /api/auth/me/export": lambda w, p, o, sent, r: (
        (p.id, {a.id for a in w.applications.values() if a.candidate == p.key}),
        (r.get_json()["user"]["id"], {a["id"] for a in r.get_json()["applications"]})),
    "DELETE /api/auth/me": lambda w, p, o, sent, r: (ERASED, erased(w, subject(
        w, r.request.headers["Authorization"].removeprefix("Bearer ")))),
    "POST /api/users/{user_id}/erase": lambda w, p, o, sent, r: (ERASED, erased(w, o.id)),
    "GET /api/users": lambda w, p, o, sent, r: (rows_in_db(w, User), ids_of(r.get_json())),
    "GET /api/users/{user_id}": lambda w, p, o, sent, r: shown_user(w, p, o, r),
    "PATCH /api/users/{user_id}": lambda w, p, o, sent, r: deactivated(w, o, r),
    "PATCH /api/companies/{company_id}/members/{user_id}": lambda w, p, o, sent, r: deactivated(w, o, r),
    "GET /api/health": lambda w, p, o, sent, r: ("ok", r.get_json()["status"]),
    "POST /api/companies": lambda w, p, o, sent, r: (sent["name"], r.get_json()["name"]),
    "GET /api/companies/{company_id}": lambda w, p, o, sent, r: (o.id, r.get_json()["id"]),
    "GET /api/companies/{company_id}/members": lambda w, p, o, sent, r: (
        rows_in_db(w, User, User.company_id == o.id), ids_of(r.get_json())),
    "POST /api/companies/{company_id}/members": lambda w, p, o, sent, r: (
        (o.id, sent["email"]), (r.get_json()["company_id"], r.get_json()["email"])),
    "GET /api/jobs": lambda w, p, o, sent, r: (
        {j.id for j in w.jobs.values() if sees_job(p, j) and (o is None or j.company == o.key)},
        ids_of(r.get_json())),
    "POST /api/jobs": lambda w, p, o, sent, r: (o.id, r.get_json()["company_id"]),
    "GET /api/jobs/{job_id}": lambda w, p, o, sent, r: (o.id, r.get_json()["id"]),
    "PATCH /api/jobs/{job_id}": lambda w, p, o, sent, r: (
        (o.id, "Remote"), (r.get_json()["id"], r.get_json()["location"])),
    "DELETE /api/jobs/{job_id}": lambda w, p, o, sent, r: (set(), rows_in_db(w, JobRow, JobRow.id == o.id)),
    "POST /api/jobs/{job_id}/applications": lambda w, p, o, sent, r: (
        (o.id, p.id, "applied", files_sent(p, sent, "resume", "resume")),
        (r.get_json()["job_id"], r.get_json()["candidate_id"], r.get_json()["stage"],
         without_ids(files_in_db(w, r.get_json()["id"])))),
    "GET /api/jobs/{job_id}/applications": lambda w, p, o, sent, r: (
        {a.id for a in w.applications.values() if a.job is o}, ids_of(r.get_json())),
    "GET /api/applications": lambda w, p, o, sent, r: (
        {a.id for a in w.applications.values() if sees_application(p, a) and (o is None or a.job is o)},
        ids_of(r.get_json())),
    "GET /api/applications/{application_id}": lambda w, p, o, sent, r: (o.id, r.get_json()["id"]),
    "PATCH /api/applications/{application_id}/stage": lambda w, p, o, sent, r: (
        (o.id, sent["stage"]), (r.get_json()["id"], r.get_json()["stage"])),
    "GET /api/applications/{application_id}/history": lambda w, p, o, sent, r: (
        history_as_seen(w, p, o),
        [(e["to_stage"], e["changed_by"]["id"], e["note"]) for e in r.get_json()["items"]]),
    "GET /api/applications/{application_id}/notifications": lambda w, p, o, sent, r: (
        rows_in_db(w, Notification, Notification.application_id == o.id), ids_of(r.get_json())),
    "POST /api/applications/{application_id}/comments": lambda w, p, o, sent, r: (
        (o.id, p.id, sent["body"]),
        (r.get_json()["application_id"], r.get_json()["author"]["id"], r.get_json()["body"])),
    "GET /api/applications/{application_id}/comments": lambda w, p, o, sent, r: (
        rows_in_db(w, CommentRow, CommentRow.application_id == o.id), ids_of(r.get_json())),
    "PATCH /api/comments/{comment_id}": lambda w, p, o, sent, r: (
        (o.id, "Edited.", {o.id}), (r.get_json()["id"], r.get_json()["body"], rows_in_db(
            w, CommentRow, CommentRow.id == o.id, CommentRow.body == "Edited."))),
    "DELETE /api/comments/{comment_id}": lambda w, p, o, sent, r: (
        set(), rows_in_db(w, CommentRow, CommentRow.id == o.id)),
    "POST /api/applications/{application_id}/attachments": lambda w, p, o, sent, r: (
        (o.id, [r.get_json()["id"]], files_sent(p, sent, "file", sent.fields["kind"])),
        (r.get_json()["application_id"], [f[0] for f in files_in_db(w, o.id)],
         without_ids(files_in_db(w, o.id)))),
    # every file the world put on it, whoever uploaded it, oldest first
    "GET /api/applications/{application_id}/attachments": lambda w, p, o, sent, r: (
        [(f.id, "portfolio", f.filename, hashlib.sha256(f.data).hexdigest(), w.people[f.uploader].id,
          len(f.data)) for f in w.attachments.values() if f.application is o],
        [(f["id"], f["kind"], f["filename"], f["sha256"], f["uploaded_by"]["id"], f["size"])
         for f in r.get_json()["items"]]),
    "GET /api/attachments/{attachment_id}": lambda w, p, o, sent, r: (
        (o.data, "application/pdf", f'attachment; filename="{o.filename}"', "nosniff",
         f'"{hashlib.sha256(o.data).hexdigest()}"'),
        (r.get_data(), r.headers["Content-Type"], r.headers["Content-Disposition"],
         r.headers["X-Content-Type-Options"], r.headers["ETag"])),
    "DELETE /api/attachments/{attachment_id}": lambda w, p, o, sent, r: (
        ([], 0), (files_in_db(w, o.application.id, AttachmentRow.id == o.id),
                  len(rows_in_db(w, AttachmentChunk, AttachmentChunk.attachment_id == o.id)))),
    # back to pending, and (no Redis here) delivered inline before the answer
    "POST /api/notifications/{notification_id}/resend": lambda w, p, o, sent, r: (
        (o.id, {o.id}), (r.get_json()["id"], rows_in_db(
            w, Notification, Notification.id == o.id, Notification.status == "sent"))),
}
def agenda_of(world, person) -> set[int]:
    """The interviews an agenda lists: all for admins, the company's for recruiters, those a
    hiring manager is an interviewer of."""
    stmt = select(InterviewRow.id)
    if person.role == RECRUITER:
        stmt = stmt.where(InterviewRow.company_id == world.companies[person.company].id)
    elif person.role == HIRING_MANAGER:
        stmt = stmt.join(InterviewInterviewer).where(InterviewInterviewer.user_id == person.id)
    with world.app.app_context():
        return set(db.session.scalars(stmt))


def webhook_secret(world, webhook_id) -> str:
    with world.app.app_context():
        return db.session.get(WebhookRow, webhook_id).secret


def delivery_event(world, delivery_id) -> int:
    with world.app.app_context():
        return db.session.get(WebhookDeliveryRow, delivery_id).event_id


def scorecards_of(world, application) -> set[tuple]:
    with world.app.app_context():
        return set(db.session.execute(
            select(Scorecard.interview_id, Scorecard.interviewer_id).join(InterviewRow)
            .where(InterviewRow.application_id == application.id)).all())


CONTENT.update({
    "POST /api/applications/{application_id}/interviews": lambda w, p, o, sent, r: (
        (o.id, sent["interviewer_ids"], "scheduled"),
        (r.get_json()["application_id"], [i["id"] for i in r.get_json()["interviewers"]],
         r.get_json()["status"])),
    "GET /api/applications/{application_id}/interviews": lambda w, p, o, sent, r: (
        rows_in_db(w, InterviewRow, InterviewRow.application_id == o.id), ids_of(r.get_json())),
    "GET /api/interviews": lambda w, p, o, sent, r: (agenda_of(w, p), ids_of(r.get_json())),
    "PATCH /api/interviews/{interview_id}": lambda w, p, o, sent, r: (
        (o.id, "Room 2", 1), (r.get_json()["id"], r.get_json()["location"], r.get_json()["sequence"])),
    "POST /api/interviews/{interview_id}/cancel": lambda w, p, o, sent, r: (
        (o.id, "cancelled"), (r.get_json()["id"], r.get_json()["status"])),
    "PUT /api/interviews/{interview_id}/scorecard": lambda w, p, o, sent, r: (
        (o.id, p.id, 3, {(o.id, p.id)}),
        (r.get_json()["interview_id"], r.get_json()["interviewer"]["id"], r.get_json()["rating"],
         {card for card in scorecards_of(w, o.application) if card[0] == o.id})),
    "GET /api/applications/{application_id}/scorecards": lambda w, p, o, sent, r: (
        scorecards_of(w, o), {(i["interview_id"], i["interviewer"]["id"]) for i in r.get_json()["items"]}),
    # the secret, shown at creation only, is the one deliveries are signed with
    "POST /api/companies/{company_id}/webhooks": lambda w, p, o, sent, r: (
        (o.id, sent["url"], webhook_secret(w, r.get_json()["id"])),
        (r.get_json()["company_id"], r.get_json()["url"], r.get_json()["secret"])),
    "GET /api/companies/{company_id}/webhooks": lambda w, p, o, sent, r: (
        (rows_in_db(w, WebhookRow, WebhookRow.company_id == o.id), False),
        (ids_of(r.get_json()), any("secret" in item for item in r.get_json()["items"]))),
    "PATCH /api/webhooks/{webhook_id}": lambda w, p, o, sent, r: (
        (o.id, "Changed", False), (r.get_json()["id"], r.get_json()["description"], "secret" in r.get_json())),
    "DELETE /api/webhooks/{webhook_id}": lambda w, p, o, sent, r: (
        set(), rows_in_db(w, WebhookRow, WebhookRow.id == o.id)),
    "POST /api/webhooks/{webhook_id}/rotate-secret": lambda w, p, o, sent, r: (
        webhook_secret(w, o.id), r.get_json()["secret"]),
    "POST /api/webhooks/{webhook_id}/ping": lambda w, p, o, sent, r: (
        ("ping", {r.get_json()["id"]}), (r.get_json()["type"], rows_in_db(
            w, WebhookDeliveryRow, WebhookDeliveryRow.webhook_id == o.id,
            WebhookDeliveryRow.id == r.get_json()["id"]))),
    "GET /api/webhooks/{webhook_id}/deliveries": lambda w, p, o, sent, r: (
        rows_in_db(w, WebhookDeliveryRow, WebhookDeliveryRow.webhook_id == o.id), ids_of(r.get_json())),
    # a new delivery of the same event
    "POST /api/webhook-deliveries/{delivery_id}/redeliver": lambda w, p, o, sent, r: (
        (delivery_event(w, o.id), True), (r.get_json()["event_id"], r.get_json()["id"] != o.id)),
})
def in_report(world, person, obj, *where) -> int:
    """History entries (where ...) of the applications a report covers: the company or job
    named, else the caller's company (everyone's for an admin)."""
    stmt = select(db.func.count()).select_from(HistoryRow).join(ApplicationRow).where(*where)
    if isinstance(obj, Company):
        stmt = stmt.where(ApplicationRow.company_id == obj.id)
    elif isinstance(obj, Job):
        stmt = stmt.where(ApplicationRow.job_id == obj.id)
    elif person.role != ADMIN:
        stmt = stmt.where(ApplicationRow.company_id == world.companies[person.company].id)
    with world.app.app_context():
        return db.session.scalar(stmt)


CONTENT.update({
    "GET /api/reports/funnel": lambda w, p, o, sent, r: (
        in_report(w, p, o, HistoryRow.to_stage == "applied"), r.get_json()["stages"][0]["entered"]),
    "GET /api/reports/time-in-stage": lambda w, p, o, sent, r: (
        in_report(w, p, o, HistoryRow.from_stage == "applied"), r.get_json()["stages"][0]["count"]),
    "GET /api/reports/time-to-hire": lambda w, p, o, sent, r: (
        in_report(w, p, o, HistoryRow.to_stage == "hired"), r.get_json()["count"]),
    "GET /api/reports/outcomes": lambda w, p, o, sent, r: (
        in_report(w, p, o, HistoryRow.to_stage == "rejected"),
        sum(r.get_json()["rejected"]["by_reason"].values())),
})
LISTS = {"GET /api/jobs", "GET /api/interviews", "GET /api/companies/{company_id}/webhooks",
         "GET /api/webhooks/{webhook_id}/deliveries", "GET /api/applications", "GET /api/companies/{company_id}/members",
         "GET /api/users", "GET /api/applications/{application_id}/comments",
         "GET /api/jobs/{job_id}/applications"}


def database_rows(app) -> dict:
    """Every row of every table: a refused write must leave all of it as it was."""
    with app.app_context():
        try:
            return {table.name: sorted((tuple(row) for row in db.session.execute(table.select())), key=repr)
                    for table in db.metadata.sorted_tables}
        finally:
            db.session.remove()


def run_case(world, row, person, obj) -> list[str]:
    """The problems of one case (none when it behaves as MATRIX says)."""
    column = relation(person, obj)
    target = f"{row.kind} {obj.key}" if obj is not None else row.kind
    label = f"{row.route} [{target}] as {person.key} ({column})"
    expected = row.cells[column]
    if expected is None:
        return [f"{label}: MATRIX has no expectation for {column}"]
    write = row.method != "GET"
    if write and expected.status < 300 and isinstance(obj, (Job, Application, Mail, Account, Comment,
                                                                Attachment, Interview, Hook,
                                                                HookDelivery)):
        obj = world.fresh_copy(obj)
    url, headers, body = build_request(world, row, person, obj)
    if row.route in LISTS:
        url += ("&" if "?" in url else "?") + "limit=100"
    before = database_rows(world.app) if write and expected.status >= 300 else None
    limiter.reset()  # each case on its own: 12 sign-ups from one address are test_limits' matter
    response = world.client.open(url, method=row.method, headers=headers, **body_arguments(body))

    problems = []
    if response.status_code != expected.status:
        problems.append(f"expected {expected.status}, got {response.status_code} "
                        f"{response.get_data(as_text=True)[:200]}")
    elif expected.status >= 300 and error_code(response) != expected.code:
        problems.append(f"expected code {expected.code}, got {error_code(response)}")
    if before is not None and database_rows(world.app) != before:
        problems.append("a refused write changed the database")
    if leaks := foreign_data(world, person, response):
        problems.append(f"foreign data in the body: {leaks}")
    if response.status_code == expected.status < 300:
        want, got = CONTENT[row.route](world, person, obj, body, response)
        if want != got:
            problems.append(f"body: expected {want}, got {got}")
    return [f"{label}: {problem}" for problem in problems]


# --- the tests ---------------------------------------------------------------------------

def spec_operations(client) -> set[str]:
    spec = client.get("/api/openapi.json").get_json()
    return {f"{method.upper()} {path}" for path, operations in spec["paths"].items()
            for method in operations if method in HTTP_METHODS}


def test_the_matrix_has_a_row_for_every_operation_of_the_spec(client):
    in_spec, in_matrix = spec_operations(client), {row.route for row in MATRIX}
    assert not in_spec - in_matrix, f"operations without a row in MATRIX: {sorted(in_spec - in_matrix)}"
    assert not in_matrix - in_spec, f"MATRIX rows the spec does not have: {sorted(in_matrix - in_spec)}"
    assert in_matrix <= set(CONTENT), f"no body check for {sorted(in_matrix - set(CONTENT))}"


def test_every_route_the_app_serves_is_in_the_spec(app, client):
    """So that a route left out of the spec cannot escape the matrix either."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api-docs.") or rule.endpoint.endswith("static"):
            continue  # the spec, Swagger UI, ReDoc and their assets: documentation of the rest
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {f"{method} {path}" for method in rule.methods - {"HEAD", "OPTIONS"}}
    missing = served - spec_operations(client)
    assert served and not missing, f"served but not in the spec: {sorted(missing)}"


def test_every_route_for_every_actor_and_object(client, app, make_user):
    """Each row of MATRIX, for each of its objects (1 to 8), for each of the 12 actors:
    the run prints the count."""
    world = World(client, app, make_user)
    # reads see the world untouched; logging out everywhere and resetting a password end the
    # actors' own tokens: last
    last = ("POST /api/auth/logout-all", "POST /api/auth/password-reset/confirm")
    rows = sorted(MATRIX, key=lambda row: (row.method != "GET", row.route in last,
                                           row.route == last[1]))
    cases = [(row, person, obj) for row in rows for obj in world.objects(row.objects)
             for person in list(world.people.values())]
    # a filled cell no case reaches would be a claim nobody checks
    reached = {(row.route, row.kind, relation(person, obj)) for row, person, obj in cases}
    problems = [f"{row.route} [{row.kind}]: the {column} cell is never exercised"
                for row in MATRIX for column, cell in row.cells.items()
                if cell is not None and (row.route, row.kind, column) not in reached]
    problems += [problem for case in cases for problem in run_case(world, *case)]
    objects = {id(obj) for _, _, obj in cases if obj is not None}
    summary = (f"{len(cases)} cases: {len({row.route for row in MATRIX})} operations in "
               f"{len(MATRIX)} rows x {len(world.people)} actors x {len(objects)} objects")
    print(summary)
    assert not problems, f"{len(problems)} problems in {summary}:\n" + "\n".join(problems)
