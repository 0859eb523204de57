"""The pages a staff member reaches from a one-time link or from the login page:
accepting an invitation, "Forgot password?" and its reset link, confirming a new
email address. And the member's own account page.

A link is checked before its form is shown and again, for good, when the form is
posted (services/team.py); a link that no longer works gets one page that says so
(410), whatever the reason, so it tells nobody whether it ever existed.
"""

from collections.abc import Callable

from flask import redirect, render_template, session, url_for
from flask_login import current_user, login_required

from followup.errors import ValidationFailed
from followup.locales import staff_gettext, staff_ngettext
from followup.models import StaffTokenPurpose, StaffUser
from followup.services import team, two_factor
from followup.services.validation import international_phone
from followup.web.auth import bp, sessions
from followup.web.auth.forms import (
    CodeForm,
    EmailChangeForm,
    ForgotPasswordForm,
    JoinForm,
    NameForm,
    NewPasswordForm,
    PasswordChangeForm,
    PhoneForm,
    TwoFactorOffForm,
)
from followup.web.rate_limits import per_ip


def _me():
    """The signed-in member themselves, not Flask-Login's proxy for them."""
    return current_user._get_current_object()


@bp.errorhandler(team.LinkInvalid)
def link_gone(_exc: team.LinkInvalid):
    """A link that no longer works, found when its page is opened or its form posted."""
    page = render_template("auth/link_invalid.html", message=staff_gettext(team.LINK_INVALID))
    return page, 410


def _signing_in(form, use: Callable[[], StaffUser], page: Callable[[dict], str]):
    """The form of a link that signs its member in. Posted, `use()` it: on to the
    requests when it works, the form again with why when it does not. `page(errors)`
    renders the form."""
    errors = {}
    if form.is_submitted():
        try:
            member = use()
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            if sessions.password_proven(member):
                return redirect(url_for("admin.followups"), 303)
            # A reset proves the email, not the second factor: the app's code still counts.
            return redirect(url_for("auth.login_code"), 303)
    return page(errors), 422 if errors else 200


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
def accept_invitation(token: str):
    link = team.link_holder(token, StaffTokenPurpose.INVITATION)
    form = JoinForm.posted()
    return _signing_in(
        form,
        lambda: team.accept_invitation(token, form.name.data, form.password.data),
        lambda errors: render_template(
            "auth/join.html",
            token=token,
            email=link.staff_user.email,
            business=link.staff_user.tenant.name,
            values={"name": form.name.data if form.is_submitted() else "", "password": ""},
            errors=errors,
        ),
    )


def _reset_minutes() -> int:
    return int(team.PASSWORD_RESET_VALID.total_seconds() // 60)


def _reset_sent(email: str) -> str:
    return staff_ngettext(
        "If %(email)s belongs to an active Followup account, a link to reset its password is "
        "on its way. It works once, for %(num)s minute. Check your spam folder if it does not "
        "arrive.",
        "If %(email)s belongs to an active Followup account, a link to reset its password is "
        "on its way. It works once, for %(num)s minutes. Check your spam folder if it does not "
        "arrive.",
        _reset_minutes(),
        email=email,
    )


@bp.route("/forgot-password", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm.posted()
    sent_to = refusal = None
    if form.is_submitted():
        try:
            team.request_password_reset(form.email.data)
            sent_to = form.email.data.strip()
        except team.TryAgainLater as exc:
            refusal = exc
    notice = _reset_sent(sent_to) if sent_to is not None else None
    page = render_template(
        "auth/forgot_password.html",
        notice=notice,
        refusal=refusal,
        minutes=_reset_minutes(),
        # Refused for now: the address stays in the box for the next try.
        email=form.email.data if refusal else "",
    )
    return page, refusal.http_status if refusal else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
def reset_password(token: str):
    link = team.link_holder(token, StaffTokenPurpose.PASSWORD_RESET)
    form = NewPasswordForm.posted()
    return _signing_in(
        form,
        lambda: team.reset_password(token, form.password.data),
        lambda errors: render_template(
            "auth/reset_password.html", token=token, email=link.staff_user.email, errors=errors
        ),
    )


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
def confirm_email(token: str):
    """A GET only shows the button: mail scanners open links, and must not use them."""
    link = team.link_holder(token, StaffTokenPurpose.EMAIL_CHANGE)
    if NameForm.posted().is_submitted():
        member = team.confirm_email_change(token)
        return render_template("auth/email_confirmed.html", email=member.email)
    return render_template("auth/confirm_email.html", token=token, email=link.new_email)


# --- the member's own account ------------------------------------------------------------------


def _account_page(status: int = 200, **sections):
    me = _me()
    context = {
        "two_factor": {
            "on": me.has_two_factor,
            "codes_left": two_factor.recovery_codes_left(me) if me.has_two_factor else 0,
            "required": me.tenant.require_two_factor,
            "errors": {},
        },
        "name": {"values": {"name": current_user.name}, "errors": {}, "saved": False},
        "phone": {"values": {"phone": _own_phone()}, "errors": {}, "saved": False},
        "email": {"values": {"email": ""}, "errors": {}, "sent_to": None},
        "password": {"errors": {}, "saved": False},
    } | sections
    return render_template("auth/account.html", **context), status


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account/name")
@login_required
def account_name():
    name = NameForm.posted().name.data
    try:
        team.rename(_me(), name)
    except ValidationFailed as exc:
        return _account_page(422, name={"values": {"name": name}, "errors": exc.fields})
    return _account_page(name={"values": {"name": current_user.name}, "errors": {}, "saved": True})


@bp.post("/account/phone")
@login_required
def account_phone():
    phone = PhoneForm.posted().phone.data
    try:
        team.set_phone(_me(), phone)
    except ValidationFailed as exc:
        return _account_page(422, phone={"values": {"phone": phone}, "errors": exc.fields})
    return _account_page(phone={"values": {"phone": _own_phone()}, "errors": {}, "saved": True})


def _own_phone() -> str:
    return international_phone(current_user.phone) if current_user.phone else ""


@bp.post("/account/email")
@login_required
def account_email():
    form = EmailChangeForm.posted()
    try:
        token = team.request_email_change(_me(), form.email.data, form.current_password.data)
    except ValidationFailed as exc:
        refused = {"values": {"email": form.email.data}, "errors": exc.fields, "sent_to": None}
        return _account_page(422, email=refused)
    sent = {"values": {"email": ""}, "errors": {}, "sent_to": token.new_email}
    return _account_page(email=sent)


@bp.post("/account/password")
@login_required
def account_password():
    form = PasswordChangeForm.posted()
    try:
        member = team.change_password(_me(), form.current_password.data, form.password.data)
    except ValidationFailed as exc:
        return _account_page(422, password={"errors": exc.fields, "saved": False})
    # Every session ended with the old password; this one goes on.
    sessions.start(member)
    return _account_page(password={"errors": {}, "saved": True})


# --- two-factor sign-in ------------------------------------------------------------------------

SETUP_KEY = "_totp_setup"


def _setup_page(status: int = 200, error: str | None = None):
    me = _me()
    secret = session.get(SETUP_KEY)
    if not isinstance(secret, str):
        # Kept in the signed session until a code proves the app has it.
        secret = session[SETUP_KEY] = two_factor.new_secret()
    page = render_template(
        "auth/two_factor.html",
        secret=secret,
        qr=two_factor.qr_svg(me, secret),
        error=error,
        required=me.tenant.require_two_factor and not me.has_two_factor,
    )
    return page, status


@bp.get("/account/two-factor")
@login_required
def two_factor_setup():
    if _me().has_two_factor:
        return redirect(url_for("auth.account"))
    return _setup_page()


@bp.post("/account/two-factor")
@login_required
@per_ip("LOGIN_RATE_LIMIT")
def two_factor_enable():
    secret = session.get(SETUP_KEY)
    if not isinstance(secret, str) or _me().has_two_factor:
        return redirect(url_for("auth.account"), 303)
    try:
        codes = two_factor.enable(_me(), secret, CodeForm.posted().code.data)
    except ValidationFailed as exc:
        return _setup_page(422, exc.fields["code"])
    session.pop(SETUP_KEY, None)
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.post("/account/two-factor/off")
@login_required
def two_factor_disable():
    try:
        two_factor.disable(_me(), TwoFactorOffForm.posted().current_password.data)
    except ValidationFailed as exc:
        return _account_page(
            422, two_factor={"on": True, "codes_left": 0, "required": False, "errors": exc.fields}
        )
    return redirect(url_for("auth.account"), 303)
