import hashlib
from urllib.parse import urlsplit

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from followup.errors import ValidationFailed
from followup.extensions import db, login_manager
from followup.locales import staff_gettext, staff_text
from followup.models import StaffUser
from followup.services import staff_accounts, two_factor
from followup.services.queries import MAX_ID
from followup.services.validation import normalize_email, whole_number
from followup.web.auth import bp, sessions
from followup.web.auth.forms import CodeForm, LoginForm
from followup.web.rate_limits import per_client_key, per_ip

TOO_MANY_WRONG_CODES = staff_text("Too many wrong codes. Type your email and password again.")

# Every admin request loads its user: the statement is built once (with the tenant,
# joined by the relationship) and only the id changes.
_STAFF_USER_BY_ID = select(StaffUser).where(StaffUser.id == bindparam("user_id"))


@login_manager.user_loader
def load_staff_user(user_id: str) -> StaffUser | None:
    staff_user_id = whole_number(user_id, MAX_ID)
    if staff_user_id is None:
        return None
    user = db.session.scalar(_STAFF_USER_BY_ID, {"user_id": staff_user_id})
    if user is None or not user.is_active:
        return None
    return user if sessions.still_valid(user) else None


def _page_to_return_to() -> str | None:
    """Where to go after logging in: the page the person was on, never a POST-only URL."""
    if request.htmx and request.htmx.current_url:
        parts = urlsplit(request.htmx.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?") if request.method == "GET" else None


@login_manager.unauthorized_handler
def send_to_login():
    login_url = url_for("auth.login", next=_page_to_return_to())
    if request.htmx:
        # Swapping a login form into a pane would be confusing: send the whole page.
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _safe_next(target: str | None) -> str:
    """Only same-site paths; anything else could bounce staff to a phishing page."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.followups")


def _account_named() -> str:
    """The login's account however it was typed, whether or not it exists (the budget
    must not tell), hashed: no address is kept in the rate-limit storage."""
    typed = LoginForm.posted().email.data
    try:
        address = normalize_email(typed)
    except ValidationFailed:
        address = typed.strip().lower()
    return "login-account:" + hashlib.sha256(address.encode()).hexdigest()


def _refused(response: Response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
# Wrong passwords only: guessing one account's password from many addresses is slowed,
# and a member who logs in often is not.
@per_client_key("LOGIN_ACCOUNT_RATE_LIMIT", _account_named, methods=["POST"], deduct_when=_refused)
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    form = LoginForm.posted()
    if request.method == "POST":
        user = staff_accounts.authenticate(form.email.data, form.password.data)
        if user is not None and sessions.password_proven(user):
            return redirect(_safe_next(request.args.get("next")), 303)
        if user is not None:  # the password was right; the code from the app comes next
            return redirect(url_for("auth.login_code", next=request.args.get("next")), 303)
        error = staff_gettext("Wrong email or password.")
    status = 401 if error else 200
    page = render_template("auth/login.html", error=error, email=form.email.data)
    return page, status


def _pending_account() -> str:
    """Wrong codes are counted per member, wherever they are typed from."""
    return f"login-code:{sessions.awaiting_second_factor() or 0}"


@bp.route("/login/code", methods=["GET", "POST"])
@per_ip("LOGIN_RATE_LIMIT", methods=["POST"])
@per_client_key(
    "LOGIN_ACCOUNT_RATE_LIMIT", _pending_account, methods=["POST"], deduct_when=_refused
)
def login_code():
    """The second step of signing in: a code from the authenticator app, or a recovery
    code. Too many wrong codes and the password must be typed again."""
    user = sessions.pending_member()
    if user is None:
        sessions.forget_second_factor()
        return redirect(url_for("auth.login", next=request.args.get("next")))
    error = None
    if request.method == "POST":
        if two_factor.verify(user, CodeForm.posted().code.data):
            sessions.forget_second_factor()
            sessions.start(user)
            return redirect(_safe_next(request.args.get("next")), 303)
        if sessions.count_wrong_code():
            sessions.forget_second_factor()
            page = render_template(
                "auth/login.html", error=staff_gettext(TOO_MANY_WRONG_CODES), email=user.email
            )
            return page, 401
        error = staff_gettext(two_factor.WRONG_CODE)
    page = render_template("auth/login_code.html", error=error)
    return page, 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
    sessions.end(current_user)
    return redirect(url_for("auth.login"), 303)


@bp.get("/")
def index():
    return redirect(url_for("admin.followups"))
