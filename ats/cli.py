"""`flask ats …`: operations through the same services as the API."""
import logging
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from ats.errors import ApiError
from ats.models import ROLES

ats_cli = AppGroup("ats", help="Operate the ATS.")


@ats_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email, name, password):
    """Create an admin account (the only way one comes to exist)."""
    from marshmallow import ValidationError

    from ats.auth.schemas import NewAccount
    from ats.auth.services import create_user
    from ats.models import ADMIN

    try:
        data = NewAccount().load({"email": email, "name": name, "password": password})
        user = create_user(role=ADMIN, **data)
    except ValidationError as error:
        raise click.ClickException(_describe(error.messages)) from None
    except ApiError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Admin {user.email} created (id {user.id}).")


@ats_cli.command("seed")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True),
              help="Bulk volume as a fraction of 200 companies, 10,000 jobs and 1,000,000 "
                   "applications (1.0 is all of it).")
@click.option("--companies", type=click.IntRange(min=0), help="Companies to add (bulk).")
@click.option("--jobs", type=click.IntRange(min=0), help="Jobs to add (bulk).")
@click.option("--applications", type=click.IntRange(min=0),
              help="Applications to add (bulk), with their history.")
@click.option("--candidates", type=click.IntRange(min=0),
              help="Candidates to add (bulk; default: one per five applications).")
@click.option("--random-seed", type=int, help="Make the bulk volume reproducible.")
def seed(scale, companies, jobs, applications, candidates, random_seed):
    """Load demo data (safe to run again), or with a volume option add bulk data."""
    from ats.seed import PASSWORD

    volume_options = (scale, companies, jobs, applications, candidates)
    if all(option is None for option in volume_options):
        from ats.seed import notifications_recorded, seed as load_demo_data

        before = notifications_recorded()
        with _quiet("ats.notifications"):  # a line per demo mail would bury the logins
            logins = load_demo_data()
        click.echo(f"Demo data ready, with {notifications_recorded() - before} emails "
                   "(GET /api/applications/{id}/notifications lists them).")
        click.echo(f"Every demo account's password is {PASSWORD!r}:")
    else:
        from ats import volume as bulk

        try:
            wanted = bulk.plan(*volume_options)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        with click.progressbar(length=bulk.progress_units(wanted), label="Loading rows") as bar:
            loaded = bulk.load(wanted, progress=bar.update, seed=random_seed)
        added = ", ".join(f"{count:,} {what}" for what, count in loaded.counts.items())
        click.echo(f"Added {added} in {loaded.seconds:.1f} s.")
        click.echo(f"Every generated account's password is {PASSWORD!r}; for example:")
        logins = loaded.logins
    for role, email in logins:
        click.echo(f"  {role:<15} {email}")


@ats_cli.command("requeue")
@click.option("--failed", "with_failed", is_flag=True,
              help="Also the failed ones, with fresh attempts (after an outage, a fixed address).")
def requeue(with_failed):
    """Hand every notification (mail, webhook delivery) still pending back to its queue
    (inline without REDIS_URL)."""
    from ats.notifications.delivery import reopen_failed, requeue_pending

    if with_failed:
        click.echo(f"{reopen_failed()} failed notification(s) back to pending with fresh attempts.")
    count = requeue_pending()
    click.echo(f"{count} pending notification(s) handed over.")


@ats_cli.command("cleanup")
def cleanup():
    """Delete the idempotency keys older than 24 hours (the worker does it every round too)."""
    from ats.common.idempotency import delete_expired

    click.echo(f"{delete_expired()} expired idempotency key(s) deleted.")


@ats_cli.command("rebuild-reports")
def rebuild_reports():
    """Rebuild the reports' summary (stage_stays) from the application history, after
    history rows were changed by hand (moves wait while it runs)."""
    from ats.reports import stays

    click.echo(f"{stays.rebuild_all()} stays rebuilt from the history.")


@ats_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stats(as_json):
    """Applications per stage for each company, with totals."""
    from ats import operations

    rows = operations.applications_per_stage()
    click.echo(operations.stats_json(rows) if as_json else operations.stats_table(rows))


@ats_cli.command("check")
def check():
    """Check configuration, database (migrated?), Redis and SMTP; exit 1 if any fails."""
    from ats.operations import run_checks

    results = run_checks()
    for result in results:
        click.echo(f"{result.name:<9} {result.status:<8} {result.detail}")
    if failed := [result.name for result in results if not result.ok]:
        raise click.ClickException(f"{len(failed)} check(s) failed: {', '.join(failed)}")


@ats_cli.command("retention")
@click.option("--months", type=click.IntRange(min=1),
              help="Erase candidates whose applications all ended more than this many months "
                   "ago (default: DATA_RETENTION_MONTHS).")
@click.option("--dry-run", is_flag=True, help="Count and list them; change nothing.")
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True,
              help="Candidates looked up per query.")
def retention(months, dry_run, batch):
    """Erase the candidates whose every application reached hired, rejected or withdrawn
    more than N months ago, and those without applications whose account is that old."""
    from flask import current_app

    from ats.common.db import utcnow
    from ats.privacy import services as privacy

    months = months or current_app.config["DATA_RETENTION_MONTHS"]
    if months is None:
        raise click.ClickException("No retention period: pass --months N or set "
                                   "DATA_RETENTION_MONTHS.")
    cutoff = privacy.months_before(utcnow(), months)
    due = privacy.retention_count(cutoff)
    scope = (f"candidate(s) whose applications all ended (or who have none and registered) "
             f"before {cutoff:%Y-%m-%d %H:%M} UTC ({months} months ago)")
    if dry_run:
        click.echo(f"Would erase {due} {scope}:")
        after = 0
        while ids := privacy.retention_batch(cutoff, after, batch):
            click.echo(" ".join(map(str, ids)))
            after = ids[-1]
        click.echo("Nothing was changed (--dry-run).")
        return
    erased, after = 0, 0
    with click.progressbar(length=due, label="Erasing candidates") as bar:
        while ids := privacy.retention_batch(cutoff, after, batch):
            for user_id in ids:
                erased += privacy.erase(user_id, erased_by=None)
                bar.update(1)
            after = ids[-1]
    click.echo(f"Erased {erased} {scope}.")


users_cli = AppGroup("users", help="List, deactivate and reactivate accounts.")
ats_cli.add_command(users_cli)


@users_cli.command("list")
@click.option("--role", type=click.Choice(ROLES))
@click.option("--company-id", type=click.IntRange(min=1, max=2**31 - 1))
@click.option("--active/--inactive", "is_active", default=None,
              help="Only active or only deactivated accounts (default: both).")
@click.option("--q", help="Text in the name or the email, case-insensitive.")
def list_users(role, company_id, is_active, q):
    """Every account matching the filters, newest first."""
    from ats.users.services import list_users as users_page

    args = {"limit": 100, "role": role, "company_id": company_id, "is_active": is_active,
            "q": q.strip() if q else None}
    args = {name: value for name, value in args.items() if value is not None}
    shown = 0
    while True:
        page = users_page(args)
        for user in page["items"]:
            state = "active" if user.is_active else "inactive"
            company = user.company_id if user.company_id is not None else "-"
            click.echo(f"{user.id:>7}  {user.role:<14}  {state:<8}  {company!s:>7}  "
                       f"{user.email}  {user.name}")
        shown += len(page["items"])
        if not page["next_cursor"]:
            break
        args["cursor"] = page["next_cursor"]
    click.echo(f"{shown} user(s).")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_user(email):
    """Deactivate an account: its sessions end, it cannot log in, gets no mail, leaves its
    jobs (the company's last active recruiter cannot be deactivated)."""
    _set_active(email, False)


@users_cli.command("activate")
@click.argument("email")
def activate_user(email):
    """Let a deactivated account log in again."""
    _set_active(email, True)


def _set_active(email: str, active: bool) -> None:
    from marshmallow import ValidationError

    from ats.common.schemas import Email
    from ats.users.services import set_active, user_by_email

    try:
        user = set_active(None, user_by_email(Email().deserialize(email)), active)
    except ValidationError as error:
        raise click.ClickException(f"{email}: {' '.join(error.messages)}") from None
    except ApiError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{user.email} (id {user.id}) is {'active' if active else 'deactivated'}.")


@contextmanager
def _quiet(logger_name: str):
    """Only warnings and errors from that logger inside the block."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _describe(messages: dict) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in messages.items())
