"""Who may do what: every role rule (services/permissions.py) and every admin route for
every role, from the app's own url_map, so a new route without an entry fails here."""

import re

import pytest

from followup.models import StaffRole
from followup.services import staff_accounts
from followup.services.permissions import Permission, allows
from followup.web.admin import UNDECLARED, permission_of
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request

ROLE_RULES = {
    StaffRole.OWNER: set(Permission),
    StaffRole.ADMIN: {
        Permission.WORK_REQUESTS,
        Permission.MANAGE_SETTINGS,
        Permission.MANAGE_TEAM,
        Permission.OPERATE_SYSTEM,
        Permission.VIEW_TEAM_REPORTS,
    },
    StaffRole.AGENT: {Permission.WORK_REQUESTS},
}


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(StaffRole))
def test_each_role_has_exactly_its_permissions(role, permission):
    assert allows(role, permission) is (permission in ROLE_RULES[role])


@pytest.mark.parametrize("role", [None, "", "staff", "root"])
def test_an_unknown_role_may_do_nothing(role):
    assert not any(allows(role, permission) for permission in Permission)


# Every admin endpoint and the permission it must declare. A route added without an
# entry here fails `test_every_admin_route_is_in_the_table`.
W, S = Permission.WORK_REQUESTS, Permission.MANAGE_SETTINGS
ADMIN_ROUTES = {
    "admin.followups": W,
    "admin.followup_detail": W,
    "admin.change_status": W,
    "admin.followup_notifications": W,
    "admin.retry_notification": W,
    "admin.pending_badge": W,
    "admin.disabled_banner": W,
    "admin.export_followups": W,
    "admin.assign": W,
    "admin.set_priority": W,
    "admin.add_note": W,
    "admin.edit_note": W,
    "admin.delete_note": W,
    "admin.bulk_action": W,
    "admin.live_poll": W,
    "admin.followup_settings": S,
    "admin.save_followup_settings": S,
    "admin.chat_detail": W,
    "admin.chat_reply": W,
    "admin.chat_pause": W,
    "admin.chat_chain": W,
    "admin.users": W,
    "admin.user_detail": W,
    "admin.auto_followup": W,
    "admin.agents": S,
    "admin.agent_create": S,
    "admin.agent_detail": S,
    "admin.agent_persona": S,
    "admin.agent_delete": S,
    "admin.agent_working_hours": S,
    "admin.agent_channels": S,
    "admin.agent_autofollowup_toggle": S,
    "admin.agent_step_new": S,
    "admin.agent_step_add": S,
    "admin.agent_steps_example": S,
    "admin.agent_step_save": S,
    "admin.agent_step_delete": S,
    "admin.agent_step_move": S,
    "admin.settings": S,
    "admin.settings_business": S,
    "admin.settings_origins": S,
    "admin.settings_widget_secret": S,
    "admin.settings_identity": S,
    "admin.settings_voice": S,
    "admin.settings_look": S,
    "admin.settings_look_preview": S,
    "admin.settings_look_preview_page": S,
    "admin.team_page": Permission.MANAGE_TEAM,
    "admin.team_invite": Permission.MANAGE_TEAM,
    "admin.team_resend": Permission.MANAGE_TEAM,
    "admin.team_cancel": Permission.MANAGE_TEAM,
    "admin.team_role": Permission.MANAGE_TEAM,
    "admin.team_deactivate": Permission.MANAGE_TEAM,
    "admin.team_reactivate": Permission.MANAGE_TEAM,
    "admin.team_transfer": Permission.MANAGE_OWNERSHIP,
    "admin.team_two_factor": Permission.MANAGE_TEAM_SECURITY,
    "admin.system_page": Permission.OPERATE_SYSTEM,
    "admin.system_checks": Permission.OPERATE_SYSTEM,
    "admin.system_retry_all": Permission.OPERATE_SYSTEM,
    "admin.system_test_email": Permission.OPERATE_SYSTEM,
    "admin.system_test_sms": Permission.OPERATE_SYSTEM,
    # Everyone's page: an agent sees their own row (tests/reports).
    "admin.settings_model_prices": Permission.MANAGE_SETTINGS,
    "admin.reports": Permission.WORK_REQUESTS,
    "admin.report_csv": Permission.WORK_REQUESTS,
}


def _admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]


def test_every_admin_route_is_in_the_table(app):
    assert {rule.endpoint for rule in _admin_rules(app)} == set(ADMIN_ROUTES)


def test_every_admin_route_declares_the_permission_of_the_table(app):
    with app.test_request_context():
        declared = {rule.endpoint: permission_of(rule.endpoint) for rule in _admin_rules(app)}
    assert declared == ADMIN_ROUTES


MEMBERS = {
    StaffRole.OWNER: "owner@acme.example",
    StaffRole.ADMIN: "admin@acme.example",
    StaffRole.AGENT: "agent@acme.example",
}


def _browser_of(app, role: StaffRole) -> StaffBrowser:
    if role != StaffRole.OWNER:
        staff_accounts.create_staff_user("acme", MEMBERS[role], PASSWORD, role=role)
    browser = StaffBrowser(app.test_client())
    assert browser.login(MEMBERS[role]).status_code == 303
    browser.refresh_csrf("/admin/followups")
    return browser


def _url_of(rule) -> str:
    # Ids of rows that do not exist: an allowed route answers 404 (or its page), and the
    # gate decides before any view runs.
    return re.sub(r"<(?:int:)?(\w+)>", "999999", rule.rule)


@pytest.mark.parametrize("role", list(StaffRole))
@pytest.mark.parametrize("endpoint", sorted(ADMIN_ROUTES))
def test_each_admin_route_for_each_role_is_allowed_or_refused(app, staff, role, endpoint):
    assert staff.email == MEMBERS[StaffRole.OWNER]
    browser = _browser_of(app, role)
    as_a_new_request()
    rules = [rule for rule in _admin_rules(app) if rule.endpoint == endpoint]
    for rule in rules:
        method = "POST" if "POST" in rule.methods else "GET"
        url = _url_of(rule)
        response = browser.post(url) if method == "POST" else browser.get(url)
        text = response.get_data(as_text=True)
        gate_refused = response.status_code == 403 and f"Your role ({role})" in text
        assert gate_refused is not allows(role, ADMIN_ROUTES[endpoint]), (method, url)
        as_a_new_request()


def test_a_route_that_declares_no_permission_is_closed_to_everyone(app, staff, monkeypatch):
    browser = _browser_of(app, StaffRole.OWNER)
    assert browser.get("/admin/users").status_code == 200

    def undeclared():  # the same view without its declaration
        return "the view ran"

    monkeypatch.setitem(app.view_functions, "admin.users", undeclared)
    as_a_new_request()
    response = browser.get("/admin/users")
    assert response.status_code == 403
    assert UNDECLARED in response.get_data(as_text=True)
    assert "the view ran" not in response.get_data(as_text=True)


def test_agents_do_not_see_the_settings_in_the_menu(app, staff):
    agent_page = _browser_of(app, StaffRole.AGENT).get("/admin/followups").get_data(as_text=True)
    as_a_new_request()
    owner_page = _browser_of(app, StaffRole.OWNER).get("/admin/followups").get_data(as_text=True)
    assert 'href="/admin/settings"' in owner_page and 'href="/admin/agents"' in owner_page
    assert 'href="/admin/settings"' not in agent_page and 'href="/admin/agents"' not in agent_page
