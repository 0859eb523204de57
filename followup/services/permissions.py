"""Who may do what: every role rule of the admin panel is `allows`.

Admin routes declare the permission they need (`web/admin.requires`); a route that
declares none is refused to everyone, so a new page is closed until someone decides.
Services that guard an action themselves (the owner-only settings) ask `allows` too.
"""

from enum import StrEnum

from followup.models import StaffRole


class Permission(StrEnum):
    # Follow-up requests, their notifications, customers and chats: the daily work.
    WORK_REQUESTS = "work_requests"
    # Business details, follow-up settings, AI employees and their auto follow-ups.
    MANAGE_SETTINGS = "manage_settings"
    # Invite, deactivate and reactivate members, change their roles.
    MANAGE_TEAM = "manage_team"
    # The widget secret and the allowed origins: who may speak for the business.
    MANAGE_WIDGET_SECURITY = "manage_widget_security"
    # Hand the business over to another member.
    MANAGE_OWNERSHIP = "manage_ownership"
    # Require two-factor sign-in of every member.
    MANAGE_TEAM_SECURITY = "manage_team_security"
    # The whole team's reports (an agent sees only their own row).
    VIEW_TEAM_REPORTS = "view_team_reports"
    # The System page: checks, queues and workers, retry all, test messages.
    OPERATE_SYSTEM = "operate_system"


# A member's own account (name, email, password) is every member's: web/auth serves it.
_AGENT = frozenset({Permission.WORK_REQUESTS})
_ADMIN = _AGENT | {
    Permission.MANAGE_SETTINGS,
    Permission.MANAGE_TEAM,
    Permission.OPERATE_SYSTEM,
    Permission.VIEW_TEAM_REPORTS,
}
_OWNER = frozenset(Permission)

_GRANTS: dict[str, frozenset[Permission]] = {
    StaffRole.OWNER: _OWNER,
    StaffRole.ADMIN: frozenset(_ADMIN),
    StaffRole.AGENT: _AGENT,
}


def allows(role: str | None, permission: Permission) -> bool:
    """Whether a member of this role may do what `permission` names (an unknown role: nothing)."""
    return permission in _GRANTS.get(role or "", frozenset())
