"""What each notification says: subject and plain-text and HTML bodies from Jinja templates."""
from flask import current_app
from flask_mail import Message
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ats.models import Notification

_templates = Environment(loader=PackageLoader("ats.notifications", "templates"),
                         autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)

SUBJECTS = {
    "application_received": "Your application for {job} at {company}",
    "new_application": "New application for {job}: {candidate}",
    "stage_changed": "Your application for {job} at {company}: now {to_stage}",
}


def build_message(notification: Notification) -> Message:
    application = notification.application
    job = application.job
    context = {
        "job": job.title,
        "company": job.company.name,
        "candidate": application.candidate.name,
        "application_id": application.id,
        "from_stage": notification.history.from_stage if notification.history else None,
        "to_stage": notification.history.to_stage if notification.history else None,
    }
    return Message(
        subject=SUBJECTS[notification.kind].format(**context),
        recipients=[notification.recipient],
        body=_templates.get_template(f"{notification.kind}.txt").render(context),
        html=_templates.get_template(f"{notification.kind}.html").render(context),
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
