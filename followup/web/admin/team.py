"""The Team page: the business's members, inviting one, their roles and status, and
handing over ownership. The rules are services/team.py's; a refusal (not allowed, the
owner, oneself) comes back as an error in the page's alert area."""

from flask import url_for
from flask_login import current_user

from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.models import StaffRole, StaffStatus
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
    return _done(f"Invitation sent to {invited.email}. The link works once, for {hours} hours.")


@bp.post("/team/<int:member_id>/resend")
@requires(Permission.MANAGE_TEAM)
def team_resend(member_id: int):
    invited = team.resend_invitation(_me(), member_id)
    return _done(f"A new invitation was sent to {invited.email}; the earlier link no longer works.")


@bp.post("/team/<int:member_id>/cancel")
@requires(Permission.MANAGE_TEAM)
def team_cancel(member_id: int):
    email = team.member(current_tenant().id, member_id).email
    team.cancel_invitation(_me(), member_id)
    return _done(f"The invitation of {email} was withdrawn.")


@bp.post("/team/<int:member_id>/role")
@requires(Permission.MANAGE_TEAM)
def team_role(member_id: int):
    changed = team.change_role(_me(), member_id, RoleForm.posted().role.data)
    return _done(f"{changed.display_name} is now {changed.role_label}.")


@bp.post("/team/<int:member_id>/deactivate")
@requires(Permission.MANAGE_TEAM)
def team_deactivate(member_id: int):
    member = team.deactivate(_me(), member_id)
    return _done(f"{member.display_name} was deactivated and signed out everywhere.")


@bp.post("/team/<int:member_id>/reactivate")
@requires(Permission.MANAGE_TEAM)
def team_reactivate(member_id: int):
    member = team.reactivate(_me(), member_id)
    return _done(f"{member.display_name} can sign in again.")


@bp.post("/team/<int:member_id>/ownership")
@requires(Permission.MANAGE_OWNERSHIP)
def team_transfer(member_id: int):
    owner = team.transfer_ownership(_me(), member_id)
    return _done(f"{owner.display_name} is the owner now; you are an admin.")


@bp.post("/team/two-factor")
@requires(Permission.MANAGE_TEAM_SECURITY)
def team_two_factor():
    tenant = two_factor.set_required(_me(), RequireTwoFactorForm.posted().required.data)
    if tenant.require_two_factor:
        return _done("Two-factor sign-in is required: members without it set it up next time.")
    return _done("Two-factor sign-in is up to each member now.")
