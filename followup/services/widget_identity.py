"""Who the website says its visitor is, and whether its word can be trusted.

Two ways for the website to sign a visitor in, both with the widget secret:
- the HMAC (kept for compatibility): hex(HMAC-SHA256(secret, id)). It never expires,
  so a captured one can be replayed for ever;
- a JWT (HS256): `sub` (the website's customer id), `name`, `email`, `phone` and `exp`
  required, `exp` at most 24 hours ahead. A captured token dies with its `exp`.

A rotated secret stays valid for `SECRET_GRACE` after the rotation, for both.
"""

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

import jwt
from flask_babel import gettext

from followup.clock import utcnow
from followup.errors import DomainError
from followup.models import Tenant

# As long as a token may live: every token signed with the old secret has expired when
# the grace ends, and the website has a day to deploy the new secret.
SECRET_GRACE = timedelta(hours=24)
MAX_TOKEN_LIFETIME = timedelta(hours=24)
# Clocks of the website's server and ours disagree a little: an `iat` this far ahead is fine.
CLOCK_LEEWAY = timedelta(seconds=60)
ALGORITHM = "HS256"
TOKEN_CLAIMS = ("sub", "name", "email", "phone", "exp")
CONTACT_CLAIMS = ("name", "email", "phone")
MAX_ID_LENGTH = 200
MAX_TOKEN_LENGTH = 4000


class Refusal(StrEnum):
    """Why a token signs nobody in: for the logs and the tests, never shown to visitors."""

    MALFORMED = "malformed"
    ALGORITHM = "algorithm"
    SIGNATURE = "signature"
    MISSING_CLAIM = "missing_claim"
    BAD_CLAIM = "bad_claim"
    EXPIRED = "expired"
    TOO_LONG = "too_long"
    ISSUED_IN_FUTURE = "issued_in_future"
    NOT_YET_VALID = "not_yet_valid"


class TokenRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"Identity token refused: {refusal}")
        self.refusal = refusal


class SignInRequired(DomainError):
    """The business chats only with signed-in visitors, and this one is not."""

    code = "sign_in_required"
    http_status = 403

    def __init__(self, sign_in_url: str | None) -> None:
        self.sign_in_url = sign_in_url
        super().__init__(
            gettext("Please sign in on %(site)s to chat with us.", site=site_of(sign_in_url))
        )


def site_of(sign_in_url: str | None) -> str:
    """The website's name as a visitor knows it: the sign-in page's host."""
    host = urlsplit(sign_in_url or "").hostname
    return host.removeprefix("www.") if host else gettext("our website")


def previous_secret_valid_until(tenant: Tenant) -> datetime | None:
    """When the secret before the last rotation stops verifying (None: it already has)."""
    if not tenant.previous_widget_secret or tenant.widget_secret_rotated_at is None:
        return None
    until = tenant.widget_secret_rotated_at + SECRET_GRACE
    return until if until > utcnow() else None


def accepted_secrets(tenant: Tenant) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    if previous_secret_valid_until(tenant) is None:
        return [tenant.widget_secret]
    return [tenant.widget_secret, tenant.previous_widget_secret]


def identity_signature(widget_secret: str, customer_id: str) -> str:
    """hex(HMAC-SHA256(widget_secret, id)): what the website computes server-side."""
    return hmac.new(widget_secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def _matches(widget_secret: str, external_id: str, signature: str) -> bool:
    """Compared as bytes: `compare_digest` refuses a str with non-ASCII characters."""
    try:
        expected = identity_signature(widget_secret, external_id).encode()
        return hmac.compare_digest(signature.encode(), expected)
    except UnicodeEncodeError:  # a lone surrogate: nobody signed that
        return False


def signature_matches(tenant: Tenant, external_id: str, signature: object) -> bool:
    """A signature that is not even text is simply no signature."""
    if not external_id or not isinstance(signature, str):
        return False
    return any(_matches(secret, external_id, signature) for secret in accepted_secrets(tenant))


def _decoded(token: str, secret: str) -> dict:
    """The claims once the signature checks; times are checked on our clock, after."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "require": list(TOKEN_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRefused(Refusal.SIGNATURE) from None
    except jwt.InvalidAlgorithmError:
        raise TokenRefused(Refusal.ALGORITHM) from None
    except jwt.MissingRequiredClaimError:
        raise TokenRefused(Refusal.MISSING_CLAIM) from None
    except jwt.DecodeError:
        raise TokenRefused(Refusal.MALFORMED) from None
    except jwt.InvalidTokenError:  # a claim of the wrong type (`sub` a number, …)
        raise TokenRefused(Refusal.BAD_CLAIM) from None


def _signed_claims(tenant: Tenant, token: str) -> dict:
    """Tried with each accepted secret; a wrong signature is the only reason to try the next."""
    for secret in accepted_secrets(tenant):
        try:
            return _decoded(token, secret)
        except TokenRefused as refused:
            if refused.refusal != Refusal.SIGNATURE:
                raise
    raise TokenRefused(Refusal.SIGNATURE)


def _moment(claims: dict, name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused(Refusal.BAD_CLAIM)
    try:
        return datetime.fromtimestamp(value, tz=utcnow().tzinfo)
    except (OverflowError, OSError, ValueError):
        raise TokenRefused(Refusal.BAD_CLAIM) from None


def _check_times(claims: dict) -> None:
    now = utcnow()
    expires = _moment(claims, "exp")
    if expires <= now:
        raise TokenRefused(Refusal.EXPIRED)
    if expires > now + MAX_TOKEN_LIFETIME:
        raise TokenRefused(Refusal.TOO_LONG)
    issued = _moment(claims, "iat")
    if issued is not None and issued > now + CLOCK_LEEWAY:
        raise TokenRefused(Refusal.ISSUED_IN_FUTURE)
    not_before = _moment(claims, "nbf")
    if not_before is not None and not_before > now + CLOCK_LEEWAY:
        raise TokenRefused(Refusal.NOT_YET_VALID)


def _check_contact(claims: dict) -> None:
    """`sub` a non-empty id; `name`, `email`, `phone` strings, empty when not known."""
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_ID_LENGTH:
        raise TokenRefused(Refusal.BAD_CLAIM)
    if not all(isinstance(claims[name], str) for name in CONTACT_CLAIMS):
        raise TokenRefused(Refusal.BAD_CLAIM)


def verified_claims(tenant: Tenant, token: object) -> dict:
    """The token's claims when it proves who the visitor is; TokenRefused otherwise."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused(Refusal.MALFORMED)
    claims = _signed_claims(tenant, token)
    _check_contact(claims)
    _check_times(claims)
    return claims


def require_verified(tenant: Tenant, visitor: dict) -> None:
    """The business's rule: no chat for a visitor the website did not sign in."""
    if tenant.require_verified_identity and not visitor.get("verified"):
        raise SignInRequired(tenant.sign_in_url)
