"""The Team page: the business's members, inviting one, their roles and status, and
handing over ownership. The rules are services/team.py's; a refusal (not allowed, the
owner, oneself) comes back as an error in the page's alert area."""

from collections.abc import Callable

from flask import url_for
from flask_login import current_user

from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.locales import staff_gettext, staff_ngettext, staff_text
from followup.models import StaffRole, StaffStatus, StaffUser
from followup.services import team, two_factor
from followup.services.permissions import Permission, allows
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.forms import InviteForm, RequireTwoFactorForm, RoleForm

PAGE = "admin/team/page.html"
CONTENT = "admin/team/_content.html"


def _me():
    """The signed-in member themselves, not Flask-Login's proxy for them."""
    return current_user._get_current_object()


def _context(notice: str | None = None, invite: dict | None = None) -> dict:
    return {
        "members": team.members(current_tenant().id),
        "notice": notice,
        "invite": invite or {"values": {"email": "", "role": StaffRole.AGENT}, "errors": {}},
        "roles": team.INVITABLE_ROLES,
        "StaffRole": StaffRole,
        "StaffStatus": StaffStatus,
        "may_transfer": allows(current_user.role, Permission.MANAGE_OWNERSHIP),
        "may_require_two_factor": allows(current_user.role, Permission.MANAGE_TEAM_SECURITY),
        "invitation_hours": int(team.INVITATION_VALID.total_seconds() // 3600),
    }


def _done(notice: str):
    """The page again with what was done; a plain form post is sent back to the page."""
    return answer(
        lambda: render(PAGE, CONTENT, **_context(notice)), page_url=url_for("admin.team_page")
    )


@bp.get("/team")
@requires(Permission.MANAGE_TEAM)
def team_page():
    return render(PAGE, CONTENT, **_context())


@bp.post("/team/invitations")
@requires(Permission.MANAGE_TEAM)
def team_invite():
    values = InviteForm.posted().data
    try:
        invited = team.invite(_me(), values["email"], values["role"])
    except ValidationFailed as exc:
        return render(
            PAGE, CONTENT, 422, **_context(invite={"values": values, "errors": exc.fields})
        )
    hours = int(team.INVITATION_VALID.total_seconds() // 3600)
    return _done(
        staff_ngettext(
            "Invitation sent to %(email)s. The link works once, for %(num)s hour.",
            "Invitation sent to %(email)s. The link works once, for %(num)s hours.",
            hours,
            email=invited.email,
        )
    )


@bp.post("/team/<int:member_id>/cancel")
@requires(Permission.MANAGE_TEAM)
def team_cancel(member_id: int):
    email = team.member(current_tenant().id, member_id).email  # the row goes with it
    team.cancel_invitation(_me(), member_id)
    return _done(staff_gettext("The invitation of %(email)s was withdrawn.", email=email))


def _change_role(me: StaffUser, member_id: int) -> StaffUser:
    return team.change_role(me, member_id, RoleForm.posted().role.data)


def _member_action(
    change: Callable[[StaffUser, int], StaffUser], notice: Callable[[StaffUser], str]
) -> Callable:
    """The view of a button on a member's row: `change` the member, then the page with
    `notice` (what it says of the member as changed)."""

    def view(member_id: int):
        return _done(notice(change(_me(), member_id)))

    return view


# A role named in a sentence takes its article, which another language may not want
# apart from the sentence: one whole sentence per role.
ROLE_NOW = {
    StaffRole.OWNER: staff_text("%(name)s is now the owner."),
    StaffRole.ADMIN: staff_text("%(name)s is now an admin."),
    StaffRole.AGENT: staff_text("%(name)s is now an agent."),
}


def _role_now(member: StaffUser) -> str:
    return staff_gettext(ROLE_NOW[member.role], name=member.display_name)


# The other buttons of a member's row: endpoint, path, what it does (services/team.py
# holds the rules), what the page says then, and who may.
MEMBER_ACTIONS = (
    (
        "team_resend",
        "resend",
        team.resend_invitation,
        lambda member: staff_gettext(
            "A new invitation was sent to %(email)s; the earlier link no longer works.",
            email=member.email,
        ),
        Permission.MANAGE_TEAM,
    ),
    (
        "team_role",
        "role",
        _change_role,
        _role_now,
        Permission.MANAGE_TEAM,
    ),
    (
        "team_deactivate",
        "deactivate",
        team.deactivate,
        lambda member: staff_gettext(
            "%(name)s was deactivated and signed out everywhere.", name=member.display_name
        ),
        Permission.MANAGE_TEAM,
    ),
    (
        "team_reactivate",
        "reactivate",
        team.reactivate,
        lambda member: staff_gettext("%(name)s can sign in again.", name=member.display_name),
        Permission.MANAGE_TEAM,
    ),
    (
        "team_transfer",
        "ownership",
        team.transfer_ownership,
        lambda member: staff_gettext(
            "%(name)s is the owner now; you are an admin.", name=member.display_name
        ),
        Permission.MANAGE_OWNERSHIP,
    ),
)
for endpoint, path, change, notice, permission in MEMBER_ACTIONS:
    bp.add_url_rule(
        f"/team/<int:member_id>/{path}",
        endpoint,
        requires(permission)(_member_action(change, notice)),
        methods=["POST"],
    )


@bp.post("/team/two-factor")
@requires(Permission.MANAGE_TEAM_SECURITY)
def team_two_factor():
    tenant = two_factor.set_required(_me(), RequireTwoFactorForm.posted().required.data)
    if tenant.require_two_factor:
        return _done(
            staff_gettext("Two-factor sign-in is required: members without it set it up next time.")
        )
    return _done(staff_gettext("Two-factor sign-in is up to each member now."))
