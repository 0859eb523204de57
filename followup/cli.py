"""`flask --app app …` sub-commands (names and output lines are part of CONTRACT.md)."""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from followup.clock import iso_utc
from followup.errors import DomainError
from followup.services import api_tokens, backups, demo, doctor, staff_accounts, tenants

tenant_cli = AppGroup("tenant", help="Create and inspect tenants.")
admin_cli = AppGroup("admin", help="Manage staff accounts.")
token_cli = AppGroup("token", help="Manage REST API tokens.")


def _fail(exc: DomainError) -> None:
    details = " ".join(exc.fields.values())  # each message names its field
    raise click.ClickException(f"{exc.message} {details}".strip())


def _echo_widget_keys(tenant) -> None:
    click.echo(f"public_key={tenant.widget_public_key}")
    click.echo(f"widget_secret={tenant.widget_secret}")


@tenant_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--contact-email")
@click.option("--contact-phone", help="E.164, e.g. +14155550100")
@click.option("--sms-enabled", is_flag=True)
@click.option("--timezone", default="UTC", show_default=True)
def tenant_create(slug, name, contact_email, contact_phone, sms_enabled, timezone):
    """Create a tenant and print its widget keys."""
    try:
        tenant = tenants.create_tenant(
            slug, name, contact_email, contact_phone, sms_enabled, timezone
        )
    except DomainError as exc:
        _fail(exc)
    _echo_widget_keys(tenant)


@tenant_cli.command("show")
@click.argument("slug")
def tenant_show(slug):
    """Print a tenant's widget keys again."""
    try:
        _echo_widget_keys(tenants.tenant_by_slug(slug))
    except DomainError as exc:
        _fail(exc)


@admin_cli.command("create")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option(
    "--role",
    type=click.Choice(["admin", "agent"]),
    default=None,
    help="For a second account on: admin (the default) or agent. The first is the owner.",
)
def admin_create(tenant_slug, email, password, name, role):
    """Create a staff account that can log into the tenant's admin panel."""
    try:
        user = staff_accounts.create_staff_user(tenant_slug, email, password, name, role)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created {user.role} {user.email} for tenant {tenant_slug}.")


@admin_cli.command("password")
@click.option("--email", required=True)
@click.option("--password", required=True)
def admin_password(email, password):
    """Give a staff account a new password; its sessions end everywhere."""
    try:
        user = staff_accounts.set_staff_password(email, password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"New password set for {user.email}; their sessions have ended.")


@token_cli.command("create")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--name", default="", help="What the token is for, shown in change history.")
def token_create(tenant_slug, name):
    """Create a REST API token; it is printed once and cannot be shown again."""
    try:
        token = api_tokens.create_api_token(tenant_slug, name)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"token={token}")


def _token_line(token) -> str:
    """One token as `flask token list` prints it: never the secret, only its first characters."""
    fields = {
        "id": token.id,
        "prefix": f"{token.prefix}…",
        "created": iso_utc(token.created_at),
        "last_used": iso_utc(token.last_used_at) or "not recorded",
        "revoked": iso_utc(token.revoked_at) or "no",
        "name": token.name or "-",
    }
    return "  ".join(f"{key}={value}" for key, value in fields.items())


@token_cli.command("list")
@click.option("--tenant", "tenant_slug", required=True)
def token_list(tenant_slug):
    """List a tenant's API tokens (never their secrets)."""
    try:
        tokens = api_tokens.api_tokens_of(tenant_slug)
    except DomainError as exc:
        _fail(exc)
    for token in tokens:
        click.echo(_token_line(token))
    if not tokens:
        click.echo(f"Tenant {tenant_slug} has no API tokens.")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id):
    """Revoke an API token at once (its id from `token list`)."""
    try:
        token = api_tokens.revoke_api_token(token_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Revoked API token {token.id} ({token.prefix}…).")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has tenants.")
def demo_command(if_empty):
    """Seed the demo tenant and print its login."""
    if if_empty and not demo.database_is_empty():
        click.echo("Database already has data; demo not seeded.")
    else:
        try:
            demo.seed()
        except DomainError as exc:
            _fail(exc)
    if demo.demo_login_exists():
        base = current_app.config["PUBLIC_BASE_URL"]
        click.echo(
            f"Admin login: {base}/login  email={demo.DEMO_EMAIL}  password={demo.DEMO_PASSWORD}"
        )


def _rows_and_tables(manifest: backups.Manifest) -> str:
    counts = manifest.row_counts
    return (
        f"{sum(counts.values())} rows in {len(counts)} tables (schema {manifest.schema_revision})"
    )


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    help="Then delete all but the N newest backups in PATH's parent folder.",
)
def backup_command(path, keep):
    """Back up the database into PATH (a new folder) while the app runs."""
    try:
        manifest = backups.back_up(path)
        deleted = backups.prune(path.parent, keep) if keep else []
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Backed up {_rows_and_tables(manifest)} to {path}.")
    for folder in deleted:
        click.echo(f"Deleted the older backup {folder}.")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace what the database holds. Its schema must not be newer than the "
    "backup's: else drop and create the database empty first.",
)
def restore_command(path, force):
    """Restore the backup in PATH into an empty database (stop the web and workers first)."""
    try:
        manifest = backups.restore(path, force=force)
    except DomainError as exc:
        _fail(exc)
    click.echo(
        f"Restored {_rows_and_tables(manifest)} from {path}, taken {manifest.created_at}. "
        "Next: flask --app app db upgrade, then start the web and the workers."
    )


# The verdict's column: as wide as the widest ("FAIL", "WARN") and two spaces.
VERDICT_WIDTH = 6


@click.command("doctor")
def doctor_command():
    """Check the installation: one line per check (OK, WARN or FAIL) and what to do.
    Exits with status 1 when a check fails."""
    findings = doctor.run_checks()
    width = max(len(finding.check) for finding in findings) + 2
    for finding in findings:
        click.echo(f"{finding.verdict:<{VERDICT_WIDTH}}{finding.check:<{width}}{finding.detail}")
        if finding.advice and finding.verdict is not doctor.Verdict.OK:
            click.echo(" " * (VERDICT_WIDTH + width) + finding.advice)
    if doctor.failed(findings):
        raise SystemExit(1)


def register_cli(app: Flask) -> None:
    commands = (
        tenant_cli,
        admin_cli,
        token_cli,
        demo_command,
        backup_command,
        restore_command,
        doctor_command,
    )
    for command in commands:
        app.cli.add_command(command)
