"""How long a staff login lasts, and what ends it sooner.

The server keeps the last word through the member's session version
(`StaffUser.session_version`), copied into the session at login: logging out, a new
password (or, later, deactivation) raises it, so every copy of the old cookie stops
working. A version rather than a session table: the user loader reads the member's row
on every request anyway, so the check costs no query and leaves nothing to sweep; the
price is that logging out ends the member's sessions on every device.

The two clocks (idle and absolute) live in the signed session cookie.
"""

from flask import current_app, request, session
from flask_login import login_user, logout_user

from followup.clock import utcnow
from followup.extensions import db
from followup.models import StaffUser
from followup.services import staff_accounts

VERSION_KEY = "_staff_version"
LOGIN_AT_KEY = "_login_at"
SEEN_AT_KEY = "_seen_at"
# The last-seen time is rewritten at most this often: otherwise every response would
# carry a new session cookie.
SEEN_PRECISION_S = 60
# Sent by the admin's self-refreshing panes (htmx polling): a refresh is not the member
# at work, and a tab left open on an unattended desk must still time out.
POLL_HEADER = "X-Followup-Poll"


def _now_s() -> int:
    return int(utcnow().timestamp())


def start(user: StaffUser) -> None:
    login_user(user)
    now = _now_s()
    session[VERSION_KEY] = user.session_version
    session[LOGIN_AT_KEY] = now
    session[SEEN_AT_KEY] = now


# Between the password and the code from the app: who, since when, how many wrong codes.
PENDING_KEY = "_2fa_member"
PENDING_VERSION_KEY = "_2fa_version"
PENDING_AT_KEY = "_2fa_at"
PENDING_FAILURES_KEY = "_2fa_failures"
PENDING_FOR_S = 300
MAX_WRONG_CODES = 5


def await_second_factor(user: StaffUser) -> None:
    logout_user()
    session[PENDING_KEY] = user.id
    session[PENDING_VERSION_KEY] = user.session_version
    session[PENDING_AT_KEY] = _now_s()
    session[PENDING_FAILURES_KEY] = 0


def password_proven(user: StaffUser) -> bool:
    """The member proved their password (or their email, by a link): signed in now
    (True), or, with two-factor sign-in on, the code from the app is awaited (False)."""
    if user.has_two_factor:
        await_second_factor(user)
        return False
    start(user)
    return True


def pending_member() -> StaffUser | None:
    """The member whose code is awaited, while it still may be typed: active, with
    two-factor on, and no password change or "sign out everywhere" since the password."""
    member_id = awaiting_second_factor()
    user = db.session.get(StaffUser, member_id) if member_id else None
    if user is None or not user.is_active or not user.has_two_factor:
        return None
    return user if session.get(PENDING_VERSION_KEY) == user.session_version else None


def awaiting_second_factor() -> int | None:
    """The member whose password was right a moment ago, if the code is still awaited."""
    at = session.get(PENDING_AT_KEY)
    if not isinstance(at, int) or _now_s() - at >= PENDING_FOR_S:
        return None
    member_id = session.get(PENDING_KEY)
    return member_id if isinstance(member_id, int) else None


def count_wrong_code() -> bool:
    """Count a wrong code; True when that was one too many (the password is asked again)."""
    failures = int(session.get(PENDING_FAILURES_KEY, 0)) + 1
    session[PENDING_FAILURES_KEY] = failures
    return failures >= MAX_WRONG_CODES


def forget_second_factor() -> None:
    for key in (PENDING_KEY, PENDING_VERSION_KEY, PENDING_AT_KEY, PENDING_FAILURES_KEY):
        session.pop(key, None)


def end(user: StaffUser) -> None:
    """Log out: this browser, and every other copy of the member's session."""
    staff_accounts.end_sessions(user)
    logout_user()


def _expired(now: int) -> bool:
    config = current_app.config
    login_at = session.get(LOGIN_AT_KEY)
    seen_at = session.get(SEEN_AT_KEY)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return True
    idle_s = config["SESSION_IDLE_TIMEOUT_H"] * 3600
    max_age_s = config["SESSION_MAX_AGE_DAYS"] * 86400
    return now - seen_at >= idle_s or now - login_at >= max_age_s


def still_valid(user: StaffUser) -> bool:
    """Whether this request's session still belongs to `user`; notes the activity if so."""
    now = _now_s()
    if session.get(VERSION_KEY) != user.session_version or _expired(now):
        for key in ("_user_id", VERSION_KEY, LOGIN_AT_KEY, SEEN_AT_KEY):
            session.pop(key, None)
        return False
    if _member_at_work() and now - session[SEEN_AT_KEY] >= SEEN_PRECISION_S:
        session[SEEN_AT_KEY] = now
    return True


def _member_at_work() -> bool:
    return POLL_HEADER not in request.headers
