"""Who may see and who may change what: the only place that looks at roles.

Visibility rule: what the caller may not see is 404 (its existence stays hidden);
what the caller may see but not change is 403.
"""
from sqlalchemy import exists, or_, select

from ats import workflow
from ats.errors import Forbidden, NotFound
from ats.extensions import db
from ats.models import (ADMIN, CANDIDATE, HIRING_MANAGER, JOB_OPEN, RECRUITER, STAFF_ROLES,
                        Application, Attachment, Comment, Company, Interview,
                        InterviewInterviewer, Job, Notification, User, Webhook, WebhookDelivery)


def get_or_404(model, object_id: int, options=()):
    obj = db.session.get(model, object_id, options=options)
    if obj is None:
        raise NotFound(f"{model.__name__} {object_id} not found.")
    return obj


def require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def has_role(user: User | None, roles) -> bool:
    """For routes reserved to some roles: what the others are refused (403) whatever the object."""
    return user is not None and user.role in roles


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == ADMIN


def is_candidate(user: User | None) -> bool:
    return user is not None and user.role == CANDIDATE


def is_recruiter_of(user: User | None, company_id: int) -> bool:
    return user is not None and user.role == RECRUITER and user.company_id == company_id


def is_staff_or_admin(user: User | None, company_id: int) -> bool:
    return is_admin(user) or (user is not None and user.is_staff_of(company_id))


# --- companies -------------------------------------------------------------------------

def company_visible_or_404(company_id: int, user: User) -> Company:
    company = get_or_404(Company, company_id)
    if not is_staff_or_admin(user, company.id):
        raise NotFound(f"Company {company_id} not found.")
    return company


def can_manage_members(user: User, company: Company) -> bool:
    """Add members, change their role, deactivate and reactivate them."""
    return is_admin(user) or is_recruiter_of(user, company.id)


def member_or_404(company: Company, user_id: int) -> User:
    member = db.session.get(User, user_id)
    if member is None or member.company_id != company.id:
        raise NotFound(f"User {user_id} is not a member of company {company.id}.")
    return member


# --- users -----------------------------------------------------------------------------

def can_see_user(viewer: User, user: User) -> bool:
    """Oneself; admins everyone; staff their company's members and the candidates who
    applied to it (so a candidate's profile reaches only the companies they applied to)."""
    if is_admin(viewer) or viewer.id == user.id:
        return True
    if viewer.company_id is None or not viewer.is_staff_of(viewer.company_id):
        return False  # a candidate sees only themself
    if user.company_id is not None:
        return user.company_id == viewer.company_id
    return is_candidate(user) and db.session.scalar(select(exists().where(
        Application.candidate_id == user.id, Application.company_id == viewer.company_id)))


def user_visible_or_404(user_id: int, viewer: User) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can_see_user(viewer, user):
        raise NotFound(f"User {user_id} not found.")
    return user


def shows_candidate(viewer: User, application: Application) -> bool:
    """Staff and admins see who applied (name, email, profile) on the application itself;
    its candidate needs no card of themself."""
    return is_staff_or_admin(viewer, application.company_id)


# --- jobs ------------------------------------------------------------------------------

def can_see_job(user: User | None, job: Job) -> bool:
    return job.is_open or is_staff_or_admin(user, job.company_id)


def job_visible_or_404(job_id: int, user: User | None) -> Job:
    job = get_or_404(Job, job_id)
    if not can_see_job(user, job):
        raise NotFound(f"Job {job_id} not found.")
    return job


def can_manage_job(user: User, job: Job) -> bool:
    return is_admin(user) or is_recruiter_of(user, job.company_id)


# --- applications ----------------------------------------------------------------------

def can_see_application(user: User, application: Application) -> bool:
    return application.candidate_id == user.id or is_staff_or_admin(user, application.company_id)


def application_visible_or_404(application_id: int, user: User, options=()) -> Application:
    """options: loader options for the application's query (what the caller will read)."""
    application = get_or_404(Application, application_id, options)
    if not can_see_application(user, application):
        raise NotFound(f"Application {application_id} not found.")
    return application


def can_move_application(user: User, application: Application) -> bool:
    """Recruiters of the company, hiring managers assigned to the job, admins, and the
    application's own candidate: which moves each of them makes is ats.workflow's table."""
    if is_admin(user) or is_recruiter_of(user, application.company_id):
        return True
    if is_candidate(user):
        return application.candidate_id == user.id
    return user.is_staff_of(application.company_id) and user.id in application.job.hiring_manager_ids


def can_see_pipeline(user: User, company_id: int) -> bool:
    """Staff read every application of their company; candidates only their own."""
    return is_staff_or_admin(user, company_id)


# --- attachments -----------------------------------------------------------------------

def can_upload_attachment(user: User, application: Application) -> bool:
    """Its candidate while it is open; its company's staff and admins at any time."""
    if application.candidate_id == user.id:
        return not workflow.is_final(application.stage)
    return is_staff_or_admin(user, application.company_id)


def attachment_visible_or_404(attachment_id: int, user: User, options=()) -> Attachment:
    """Whoever may see its application (the candidate included)."""
    attachment = db.session.get(Attachment, attachment_id, options=options)
    if attachment is None or not can_see_application(user, attachment.application):
        raise NotFound(f"Attachment {attachment_id} not found.")
    return attachment


def can_delete_attachment(user: User, attachment: Attachment) -> bool:
    return (attachment.uploaded_by_id == user.id or is_admin(user)
            or is_recruiter_of(user, attachment.application.company_id))


# --- comments --------------------------------------------------------------------------

def can_see_comments(user: User, application: Application) -> bool:
    """Its company's staff and admins: comments are internal, never for its candidate."""
    return is_staff_or_admin(user, application.company_id)


def comment_visible_or_404(comment_id: int, user: User, options=()) -> Comment:
    """The candidate of the application included: a comment they may not read is not there."""
    comment = db.session.get(Comment, comment_id, options=options)
    if comment is None or not can_see_comments(user, comment.application):
        raise NotFound(f"Comment {comment_id} not found.")
    return comment


def can_edit_comment(user: User, comment: Comment) -> bool:
    return comment.author_id == user.id


def can_delete_comment(user: User, comment: Comment) -> bool:
    return comment.author_id == user.id or is_admin(user)


# --- interviews and scorecards ---------------------------------------------------------

def can_schedule_interview(user: User, application: Application) -> bool:
    """Schedule, move and cancel: recruiters of the company, hiring managers assigned to the
    job, admins (the application's job and its managers are read)."""
    if is_admin(user) or is_recruiter_of(user, application.company_id):
        return True
    return (user.role == HIRING_MANAGER and user.is_staff_of(application.company_id)
            and user.id in application.job.hiring_manager_ids)


def interview_visible_or_404(interview_id: int, user: User, options=()) -> Interview:
    """Whoever may see its application: its candidate too."""
    interview = db.session.get(Interview, interview_id, options=options)
    if interview is None or not can_see_application(user, interview.application):
        raise NotFound(f"Interview {interview_id} not found.")
    return interview


def can_score_interview(user: User, interview: Interview) -> bool:
    """Each of its interviewers, for their own scorecard."""
    return any(seat.user_id == user.id for seat in interview.seats)


def can_see_scorecards(user: User, application: Application) -> bool:
    """Its company's staff and admins: scorecards are internal, never for its candidate."""
    return is_staff_or_admin(user, application.company_id)


def agenda_scope(user: User):
    """SQL condition for the interviews user's agenda lists, and whether it is over the
    interviewer seats (hiring managers: where they interview) rather than the interviews
    (recruiters: their company's; admins: all, condition None)."""
    if is_admin(user):
        return None, False
    if user.role == RECRUITER:
        return Interview.company_id == user.company_id, False
    return InterviewInterviewer.user_id == user.id, True


def can_interview_for(company_id: int):
    """SQL condition for the users an interview of the company may name: its active staff."""
    return (User.company_id == company_id) & User.role.in_(STAFF_ROLES) & User.is_active


# --- notifications -----------------------------------------------------------------------

def can_see_notification(user: User, notification: Notification) -> bool:
    """Its recipient, the staff of the company its application belongs to, admins."""
    if is_admin(user) or notification.recipient_id == user.id:
        return True
    application = notification.application
    return application is not None and is_staff_or_admin(user, application.company_id)


def notification_visible_or_404(notification_id: int, user: User) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or not can_see_notification(user, notification):
        raise NotFound(f"Notification {notification_id} not found.")
    return notification


def can_resend_notification(user: User, notification: Notification) -> bool:
    """Recruiters of the company and admins; other staff read notifications, not resend them."""
    application = notification.application
    return is_admin(user) or (application is not None and is_recruiter_of(user, application.company_id))


# --- webhooks ----------------------------------------------------------------------------

def can_manage_webhooks(user: User, company_id: int) -> bool:
    """Subscriptions carry secrets and reach outside: the company's recruiters and admins (its
    hiring managers see that they exist, 403)."""
    return is_admin(user) or is_recruiter_of(user, company_id)


def webhook_visible_or_404(webhook_id: int, user: User) -> Webhook:
    """Its company's staff and admins; anyone else is told nothing of it."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or not is_staff_or_admin(user, webhook.company_id):
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


def webhook_delivery_visible_or_404(delivery_id: int, user: User) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or not is_staff_or_admin(user, delivery.webhook.company_id):
        raise NotFound(f"Webhook delivery {delivery_id} not found.")
    return delivery


# --- reports ---------------------------------------------------------------------------

def reports_scope_or_404(user: User, company_id: int | None, job_id: int | None) -> tuple:
    """(company_id, job_id) a report covers, None standing for all: a recruiter's own company
    (another's is not there: 404), any company for an admin, or all of them when none is
    named; a job only within that company. The role (recruiter or admin) is the route's check."""
    if not is_admin(user):
        if company_id is not None and company_id != user.company_id:
            raise NotFound(f"Company {company_id} not found.")
        company_id = user.company_id
    elif company_id is not None:
        get_or_404(Company, company_id)
    if job_id is not None:
        job = db.session.get(Job, job_id)
        if job is None or company_id not in (None, job.company_id):
            raise NotFound(f"Job {job_id} not found.")
    return company_id, job_id


def visible_jobs(user: User | None):
    """SQL condition for the jobs user may see (None: all of them)."""
    if is_admin(user):
        return None
    if user is not None and user.company_id is not None:
        return or_(Job.status == JOB_OPEN, Job.company_id == user.company_id)
    return Job.status == JOB_OPEN


def visible_applications(user: User):
    """SQL condition for the applications user may list (None: all of them)."""
    if is_admin(user):
        return None
    if user.company_id is not None:
        return Application.company_id == user.company_id
    return Application.candidate_id == user.id


def active_recruiters_of(company_id: int):
    """SQL condition for the users who act for the company on every job (and hear of every
    application): its active recruiters."""
    return (User.company_id == company_id) & (User.role == RECRUITER) & User.is_active


def assignable_managers_of(company_id: int):
    """SQL condition for the users a job of the company may name in hiring_manager_ids."""
    return (User.company_id == company_id) & (User.role == HIRING_MANAGER) & User.is_active
