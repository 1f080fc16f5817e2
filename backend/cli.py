"""Flask CLI commands: `flask --app backend <command>`."""

from __future__ import annotations

import click
from flask import Flask, current_app

from backend.core.db import commit


@click.command("db-upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to DATABASE_URL."""
    from backend.migrations.runner import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@click.command("create-staff")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["school_staff", "bureau_admin"]), required=True)
@click.option("--authority", "authority_code", required=True, help="authority code")
@click.option("--school", "school_code", default=None, help="school code (school staff)")
@click.option("--display-name", default=None)
@click.password_option(help="at least 10 characters, letters and digits/symbols")
def create_staff(username: str, role: str, authority_code: str, school_code: str | None,
                 display_name: str | None, password: str) -> None:
    """Create a staff account (the password is prompted for, never echoed)."""
    from backend.accounts.services import create_staff_account
    from backend.core.errors import ApiError

    try:
        user = create_staff_account(
            username=username, password=password, role=role, authority_code=authority_code,
            school_code=school_code, display_name=display_name,
        )
        commit()
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created {role} account {username} (id {user.id})")


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the sample Lin County data (idempotent) and print the demo accounts."""
    from backend.demo.seed import load_demo_data

    summary = load_demo_data()
    commit()
    click.echo(summary.describe())


@click.command("purge-season")
@click.option("--season-id", type=int, required=True)
@click.option("--by", "performed_by", required=True, help="who ordered the purge (recorded)")
@click.option("--dry-run", is_flag=True, help="count what would be deleted, delete nothing")
def purge_season(season_id: int, performed_by: str, dry_run: bool) -> None:
    """Delete a closed season's documents, ID numbers and phones; keep anonymous counts."""
    from backend.privacy.services import PurgeRefused
    from backend.privacy.services import purge_season as purge

    try:
        report = purge(season_id, performed_by=performed_by, dry_run=dry_run)
    except PurgeRefused as exc:
        raise click.ClickException(str(exc)) from exc
    commit()
    verb = "would delete" if dry_run else "deleted"
    counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
    click.echo(f"season {season_id}: {verb} {counts}; "
               f"kept statistics of {report.statistics.get('registrations', 0)} registrations")


@click.command("warm-intake")
def warm_intake() -> None:
    """Cache every child's and document's intake facts in Redis (run before the window opens)."""
    from backend.registrations.facts import warm_all

    children, uploads = warm_all()
    click.echo(f"cached {children} children and {uploads} documents for the intake")


@click.command("generate-pii-key")
def generate_pii_key() -> None:
    """Print a new random key for PII_ENCRYPTION_KEY or PII_INDEX_KEY."""
    from backend.core.pii import generate_key

    click.echo(generate_key())


@click.command("rotate-pii-key")
def rotate_pii_key() -> None:
    """Re-encrypt personal data sealed with an old key (PII_OLD_KEYS) under the active one."""
    from backend.privacy.rotation import rotate_personal_data

    counts = rotate_personal_data()
    commit()
    click.echo("re-encrypted " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (db_upgrade, create_staff, seed_demo, purge_season, generate_pii_key,
                    rotate_pii_key, warm_intake):
        app.cli.add_command(command)
