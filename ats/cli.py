"""`flask ats …`: operations through the same services as the API."""
import click
from flask.cli import AppGroup

from ats.errors import ApiError

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
def seed():
    """Load demo companies, jobs, candidates and applications (safe to run again)."""
    from ats.seed import PASSWORD
    from ats.seed import seed as load_demo_data

    logins = load_demo_data()
    click.echo(f"Demo data ready. Every demo account's password is {PASSWORD!r}:")
    for role, email in logins:
        click.echo(f"  {role:<15} {email}")


@ats_cli.command("requeue")
def requeue():
    """Hand every notification still pending back to the queue (inline without REDIS_URL)."""
    from ats.notifications.services import requeue_pending

    count = requeue_pending()
    click.echo(f"{count} pending notification(s) handed over.")


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


def _describe(messages: dict) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in messages.items())
