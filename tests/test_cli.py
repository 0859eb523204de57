"""The `flask --app app …` commands of CONTRACT.md: their output lines and their refusals."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followup.clock import utcnow
from followup.extensions import db, mail
from followup.models import FollowUpRequest, Notification, StaffUser, Tenant
from followup.services import (
    api_tokens,
    autofollowup,
    customer_directory,
    demo,
    staff_accounts,
    tenants,
    visitors,
)


def _invoke(runner, *args: str):
    return runner.invoke(args=list(args))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _key_lines(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(public_key|widget_secret)=(\S+)$", output, re.MULTILINE))


def test_tenant_create_prints_the_widget_keys_and_creates_the_tenant(runner):
    result = _invoke(
        runner,
        "tenant", "create", "acme",
        "--name", "Acme Inc",
        "--contact-email", "team@acme.example",
        "--contact-phone", "+1 415 555 0100",
        "--sms-enabled",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    keys = _key_lines(result.output)
    tenant = tenants.tenant_by_slug("acme")
    assert keys == {"public_key": tenant.widget_public_key, "widget_secret": tenant.widget_secret}
    assert (tenant.name, tenant.contact_email, tenant.contact_phone) == (
        "Acme Inc",
        "team@acme.example",
        "+14155550100",
    )
    assert tenant.sms_enabled and tenant.timezone == "Europe/Berlin"


def test_tenant_show_prints_the_same_keys_again(runner):
    created = _invoke(runner, "tenant", "create", "acme", "--name", "Acme Inc")
    shown = _invoke(runner, "tenant", "show", "acme")
    assert shown.exit_code == 0, shown.output
    assert _key_lines(shown.output) == _key_lines(created.output)
    assert set(_key_lines(shown.output)) == {"public_key", "widget_secret"}


def test_tenant_show_of_an_unknown_slug_fails_clearly(runner):
    result = _invoke(runner, "tenant", "show", "nobody")
    assert result.exit_code != 0
    assert "No tenant with slug 'nobody'" in result.output


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--contact-email", "not-an-email"], "Contact email: enter an address like"),
        (["--timezone", "Mars/Olympus_Mons"], 'Time zone: "Mars/Olympus_Mons" is not'),
        (["--contact-phone", "12"], "Contact phone: enter the number with its country code"),
    ],
)
def test_tenant_create_with_bad_input_fails_and_creates_nothing(runner, extra_args, message):
    result = _invoke(runner, "tenant", "create", "acme", "--name", "Acme Inc", *extra_args)
    assert result.exit_code != 0
    assert message in result.output
    assert _count(Tenant) == 0


def test_tenant_create_with_a_duplicate_slug_fails_and_keeps_the_first(runner):
    first = _invoke(runner, "tenant", "create", "acme", "--name", "Acme Inc")
    second = _invoke(runner, "tenant", "create", "acme", "--name", "Another Acme")
    assert second.exit_code != 0
    assert "Slug: acme is taken by another business." in second.output
    assert _count(Tenant) == 1
    assert tenants.tenant_by_slug("acme").name == "Acme Inc"
    assert _key_lines(_invoke(runner, "tenant", "show", "acme").output) == _key_lines(first.output)


def test_tenant_create_with_a_bad_slug_fails(runner):
    result = _invoke(runner, "tenant", "create", "Not A Slug", "--name", "Acme Inc")
    assert result.exit_code != 0
    assert "Slug: use 1-64 lowercase letters" in result.output
    assert _count(Tenant) == 0


def test_admin_create_makes_a_staff_account_that_can_log_in(runner, tenant):
    result = _invoke(
        runner, "admin", "create", "--tenant", "acme",
        "--email", "boss@acme.example", "--password", "long enough password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "boss@acme.example" in result.output
    user = staff_accounts.authenticate("boss@acme.example", "long enough password")
    assert user is not None and user.tenant_id == tenant.id


def test_admin_create_makes_the_owner_first_then_admins_or_agents(runner, tenant):
    created = []
    for email, role in [
        ("boss@acme.example", []),
        ("ada@acme.example", []),
        ("al@acme.example", ["--role", "agent"]),
    ]:
        result = _invoke(
            runner, "admin", "create", "--tenant", "acme", "--email", email,
            "--password", "long enough password", *role,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        created.append(result.output.split()[1])
    assert created == ["owner", "admin", "agent"]


@pytest.mark.parametrize("password", ["short", "eleven char"])
def test_admin_create_refuses_a_password_under_12_characters(runner, tenant, password):
    result = _invoke(
        runner, "admin", "create", "--tenant", "acme", "--email", "boss@acme.example",
        "--password", password,
    )  # fmt: skip
    assert result.exit_code != 0
    assert "Password: use at least 12 characters." in result.output
    assert _count(StaffUser) == 0


def test_admin_create_takes_a_password_of_12_characters(runner, tenant):
    result = _invoke(
        runner, "admin", "create", "--tenant", "acme", "--email", "boss@acme.example",
        "--password", "twelve chars",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_an_older_shorter_password_still_logs_in(runner, tenant):
    """Passwords set before the 12-character rule keep working."""
    user = StaffUser(tenant_id=tenant.id, email="old@acme.example")
    user.set_password("eight ch", "pbkdf2:sha256:1000")
    db.session.add(user)
    db.session.commit()
    assert staff_accounts.authenticate("old@acme.example", "eight ch") is not None


def test_admin_create_for_an_unknown_tenant_fails(runner):
    result = _invoke(
        runner, "admin", "create", "--tenant", "nobody", "--email", "boss@acme.example",
        "--password", "long enough password",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "No tenant with slug 'nobody'" in result.output


def test_token_create_prints_a_token_once_that_resolves_to_the_tenant(runner, tenant):
    result = _invoke(runner, "token", "create", "--tenant", "acme", "--name", "CRM sync")
    assert result.exit_code == 0, result.output
    tokens = re.findall(r"^token=(\S+)$", result.output, re.MULTILINE)
    assert len(tokens) == 1
    api_token = api_tokens.api_token_for(tokens[0])
    assert api_token is not None
    assert api_token.tenant_id == tenant.id and api_token.name == "CRM sync"
    assert tokens[0] not in api_token.token_hash  # only the hash is kept


def test_demo_seeds_the_demo_tenant_and_prints_the_login(runner):
    result = _invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert f"email={demo.DEMO_EMAIL}" in result.output
    assert f"password={demo.DEMO_PASSWORD}" in result.output
    assert "/login" in result.output
    tenant = tenants.tenant_by_slug(demo.DEMO_SLUG)
    assert staff_accounts.authenticate(demo.DEMO_EMAIL, demo.DEMO_PASSWORD).tenant_id == tenant.id
    followup_count = db.session.scalar(
        select(func.count()).where(FollowUpRequest.tenant_id == tenant.id)
    )
    assert followup_count == len(demo.SAMPLES)


def test_demo_if_empty_on_an_empty_database_seeds(runner):
    result = _invoke(runner, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert tenants.tenant_by_slug(demo.DEMO_SLUG)


def test_demo_emails_and_texts_nobody_about_its_sample_requests(runner):
    # The jobs run in this process (RQ_ASYNC is off): a queued email would be recorded.
    with mail.record_messages() as sent:
        result = _invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert _count(FollowUpRequest) == len(demo.SAMPLES)
    assert _count(Notification) == 0
    assert sent == []


def test_demo_if_empty_leaves_a_database_with_data_alone(runner, tenant):
    result = _invoke(runner, "demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "demo not seeded" in result.output
    assert _count(Tenant) == 1
    assert _count(FollowUpRequest) == 0


def test_demo_chats_run_their_reminder_chains(runner):
    _invoke(runner, "demo")
    tenant = tenants.tenant_by_slug(demo.DEMO_SLUG)
    chains = {row.chat.title: row for row in autofollowup.active_chains(tenant.id).rows}
    assert set(chains) == {title for title, _ in demo.SAMPLE_CHATS}
    now = utcnow()
    for row in chains.values():
        # Each chain waits for its next step, counted from the last word of the client
        # or the last reminder: due later today or tomorrow, never in the past.
        assert now < row.due_at < now + timedelta(days=1)
    assert chains["Aiko Tanaka"].reminders_sent == 1
    assert chains["Aiko Tanaka"].step.position == 2
    assert chains["Maria Garcia"].reminders_sent == 0
    assert chains["Maria Garcia"].step.position == 1


def test_demo_customers_who_chatted_have_their_chat_on_users(runner):
    """Maria and Aiko asked for follow-ups and chat on the dashboard: Users counts their
    chats, and every list names them alike; the nameless visitor goes by its label."""
    _invoke(runner, "demo")
    tenant = tenants.tenant_by_slug(demo.DEMO_SLUG)
    rows = customer_directory.list_page(tenant.id, customer_directory.Filters()).rows
    chat_counts = {visitors.customer_name(row.customer): row.chat_count for row in rows}
    assert chat_counts == {
        "Maria Garcia": 1,
        "John Smith": 0,
        "Aiko Tanaka": 1,
        "Lukas Weber": 0,
        "Fatima Khan": 0,
    }
    chains = autofollowup.active_chains(tenant.id).rows
    names = sorted(visitors.display_name(row.chat) for row in chains)
    assert names[:2] == ["Aiko Tanaka", "Maria Garcia"]
    assert re.fullmatch(r"Visitor [0-9A-Z]{4}", names[2])


def test_token_list_shows_each_token_but_never_its_secret(runner, tenant, other_tenant):
    first = api_tokens.create_api_token("acme", "CRM sync")
    second = api_tokens.create_api_token("acme")
    api_tokens.create_api_token("globex", "theirs")
    result = _invoke(runner, "token", "list", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert re.match(
        r"^id=1  prefix=fu_\S+…  created=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  "
        r"last_used=not recorded  revoked=no  name=CRM sync$",
        lines[0],
    ), lines[0]
    assert lines[1].startswith("id=2  ") and lines[1].endswith("name=-")
    assert first not in result.output and second not in result.output
    assert first[8:20] not in result.output  # nothing past the stored prefix


def test_token_list_of_an_unknown_tenant_fails_clearly(runner):
    result = _invoke(runner, "token", "list", "--tenant", "nobody")
    assert result.exit_code != 0
    assert "No tenant with slug 'nobody'" in result.output


def test_a_revoked_token_gets_401_at_once(app, runner, tenant):
    token = api_tokens.create_api_token("acme")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/followups", headers=headers).status_code == 200
    result = _invoke(runner, "token", "revoke", "1")
    assert result.exit_code == 0, result.output
    assert "Revoked API token 1" in result.output
    assert client.get("/api/v1/followups", headers=headers).status_code == 401
    listed = _invoke(runner, "token", "list", "--tenant", "acme").output
    assert re.search(r"revoked=\d{4}-\d\d-\d\dT", listed), listed


def test_token_revoke_of_an_unknown_id_fails_clearly(runner, tenant):
    result = _invoke(runner, "token", "revoke", "99")
    assert result.exit_code != 0
    assert "No API token with id 99." in result.output
