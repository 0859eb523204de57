"""The System page (`/admin/system`, owners and admins): the doctor's checks, the
queues and workers, the sweeps' last runs, notifications in trouble with "Retry all",
reminders waiting on the model, test messages, and where the widget was last seen.

The checks may talk to the mail server, Twilio and the model for seconds: the page
loads them afterwards (`system_checks`, an HTMX pane), so it shows at once.
"""

from flask import request, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.htmx import answer, render
from followup.services import notifications, reminder_sending, snippet, system
from followup.services.permissions import Permission
from followup.web.admin import bp, current_tenant, requires
from followup.web.rate_limits import per_client_key

PAGE = "admin/system/page.html"


def _member_key() -> str:
    return f"member:{current_user.id}"


def _notifications_context() -> dict:
    tenant_id = current_tenant().id
    return {
        "trouble_count": notifications.count_in_trouble(tenant_id),
        "trouble": notifications.newest_in_trouble(tenant_id),
        "retried": None,
    }


def _context(**parts) -> dict:
    tenant = current_tenant()
    return (
        {
            "tenant": tenant,
            "now": utcnow(),
            "queues": system.queues(),
            "sweeps": system.sweep_runs(),
            "waiting_on_model": reminder_sending.waiting_on_model(tenant.id),
            "seen": snippet.last_seen(tenant),
            "seen_allowed": snippet.seen_on_allowed_origin(tenant),
            "findings": None,
            "email_outcome": None,
            "sms_outcome": None,
        }
        | _notifications_context()
        | parts
    )


@bp.get("/system")
@requires(Permission.OPERATE_SYSTEM)
def system_page():
    return render(PAGE, PAGE, **_context())


@bp.get("/system/checks")
@requires(Permission.OPERATE_SYSTEM)
def system_checks():
    findings = system.checks(again=request.args.get("again") == "1")
    return answer(
        lambda: render(PAGE, "admin/system/_checks.html", findings=findings),
        page_url=url_for("admin.system_page"),
    )


@bp.post("/system/notifications/retry")
@requires(Permission.OPERATE_SYSTEM)
def system_retry_all():
    retried = notifications.retry_all(current_tenant().id)
    return answer(
        lambda: render(
            PAGE,
            "admin/system/_notifications.html",
            tenant=current_tenant(),
            now=utcnow(),
            **(_notifications_context() | {"retried": retried}),
        ),
        page_url=url_for("admin.system_page"),
    )


def _sent(partial: str, **outcome):
    return answer(
        lambda: render(PAGE, partial, tenant=current_tenant(), **outcome),
        page=lambda: render(PAGE, PAGE, **_context(**outcome)),
    )


@bp.post("/system/test-email")
@requires(Permission.OPERATE_SYSTEM)
@per_client_key("TEST_MESSAGE_LIMIT_PER_MEMBER", _member_key)
def system_test_email():
    return _sent(
        "admin/system/_test_email.html", email_outcome=system.send_test_email(current_user)
    )


@bp.post("/system/test-sms")
@requires(Permission.OPERATE_SYSTEM)
@per_client_key("TEST_MESSAGE_LIMIT_PER_MEMBER", _member_key)
def system_test_sms():
    return _sent("admin/system/_test_sms.html", sms_outcome=system.send_test_sms(current_user))
