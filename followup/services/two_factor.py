"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238) and recovery codes.

- Setting it up: `new_secret` makes a secret the page shows (as a QR code and as text);
  `enable` keeps it once a code from the app proves the app has it, and returns 10
  recovery codes, shown once and stored hashed.
- Signing in: after the password, `verify` takes a code from the app (each code once:
  the time step it was used at is kept) or an unused recovery code (used up).
- An owner may require it of the whole team (`set_required`).
"""

import hashlib
import logging
import re
import secrets

import pyotp
import segno
from sqlalchemy import delete, select, update

from followup import sealing
from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import StaffRecoveryCode, StaffUser, Tenant
from followup.services.permissions import Permission, allows
from followup.services.team import NotAllowed
from followup.services.validation import problem

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
# A secret as pyotp makes it (base32), stored in clear before secrets were sealed.
_KEPT_BEFORE_SEALING = re.compile(r"[A-Z2-7]{16,64}")
ISSUER = "Followup"
WRONG_CODE = staff_text(
    "That code is not right. Type the 6 digits your app shows now, or a recovery code."
)


def new_secret() -> str:
    return pyotp.random_base32()


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def provisioning_uri(member: StaffUser, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=member.email, issuer_name=ISSUER)


def qr_svg(member: StaffUser, secret: str) -> str:
    """The QR code an authenticator app scans, as an SVG element to put in the page."""
    return segno.make(provisioning_uri(member, secret), error="m").svg_inline(
        scale=5, dark="#1d2433", light="#ffffff", omitsize=False
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalized(code: object) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum()) if isinstance(code, str) else ""


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step the code belongs to (this one or a neighbour, for clocks that
    differ a little), unless it was used already."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = _totp(secret)
    now_step = totp.timecode(utcnow())
    for step in (now_step, now_step - 1, now_step + 1):
        if (last_step is None or step > last_step) and secrets.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None


def _new_recovery_codes(member: StaffUser) -> list[str]:
    db.session.execute(
        delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == member.id)
    )
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(
        StaffRecoveryCode(staff_user_id=member.id, code_hash=_hash(_normalized(code)))
        for code in codes
    )
    return codes


def enable(member: StaffUser, secret: str, code: object) -> list[str]:
    """Keep the secret once a code from the app matches it; the recovery codes, once."""
    step = _matching_step(secret, _normalized(code), None)
    if step is None:
        raise ValidationFailed({"code": problem(staff_text("Code"), WRONG_CODE)})
    member.totp_secret = sealing.seal(secret, sealing.TOTP_SECRET)
    member.totp_last_step = step
    codes = _new_recovery_codes(member)
    db.session.commit()
    return codes


def disable(member: StaffUser, password: object) -> None:
    if not isinstance(password, str) or not member.check_password(password):
        raise ValidationFailed(
            {
                "current_password": problem(
                    staff_text("Current password"), staff_text("that is not your password.")
                )
            }
        )
    if member.tenant.require_two_factor:
        raise NotAllowed(
            staff_gettext("Your team requires two-factor sign-in: it cannot be turned off.")
        )
    member.totp_secret = None
    member.totp_last_step = None
    db.session.execute(
        delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == member.id)
    )
    db.session.commit()


def _secret_of(member: StaffUser) -> str | None:
    """The member's secret, unsealed; None when SECRET_KEY changed since it was sealed
    (then only a recovery code signs them in, and they set the app up again). A secret
    kept before sealing (plain base32) is read as it is, and sealed once it works."""
    try:
        return sealing.unseal(member.totp_secret, sealing.TOTP_SECRET)
    except sealing.Unreadable:
        if _KEPT_BEFORE_SEALING.fullmatch(member.totp_secret):
            return member.totp_secret
        log.warning("Staff member %s has a TOTP secret sealed under another SECRET_KEY.", member.id)
        return None


def _sealed_now(member: StaffUser, secret: str) -> dict:
    """The column values that seal a secret kept before sealing (nothing otherwise):
    sealed by the running app, whose SECRET_KEY is the one that must open it."""
    if member.totp_secret != secret:
        return {}
    return {"totp_secret": sealing.seal(secret, sealing.TOTP_SECRET)}


def verify(member: StaffUser, code: object) -> bool:
    """Whether the code signs this member in: a code from the app not used before, or
    an unused recovery code (used up now)."""
    if member.totp_secret is None:
        return False
    typed = _normalized(code)
    secret = _secret_of(member)
    step = _matching_step(secret, typed, member.totp_last_step) if secret else None
    if step is not None:
        # Conditional: of two requests with the same code, one wins.
        taken = db.session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == member.id,
                (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step),
            )
            .values(totp_last_step=step, **_sealed_now(member, secret))
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        return bool(taken)
    if len(typed) != 12:
        return False
    used = db.session.execute(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_user_id == member.id,
            StaffRecoveryCode.code_hash == _hash(typed),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(used)


def recovery_codes_left(member: StaffUser) -> int:
    return len(
        db.session.scalars(
            select(StaffRecoveryCode.id).where(
                StaffRecoveryCode.staff_user_id == member.id, StaffRecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def set_required(actor: StaffUser, required: bool) -> Tenant:
    """The owner requires two-factor sign-in of every member (or no longer does)."""
    if not allows(actor.role, Permission.MANAGE_TEAM_SECURITY):
        raise NotAllowed(
            staff_gettext("Only the owner can decide whether the team must use two-factor sign-in.")
        )
    tenant = db.session.get(Tenant, actor.tenant_id)
    tenant.require_two_factor = bool(required)
    db.session.commit()
    return tenant
