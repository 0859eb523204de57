"""Secrets the app must read back, kept in the database sealed: encrypted and
authenticated (Fernet) with a key derived from SECRET_KEY for each purpose, so a copy
of the database alone does not give them away (a member's TOTP secret would let
anyone make their sign-in codes).

A value sealed under another SECRET_KEY cannot be opened (`Unreadable`): after a key
change, members sign in with a recovery code and set their app up again.
"""

import hashlib
import hmac
from base64 import urlsafe_b64encode

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

TOTP_SECRET = "totp-secret"  # noqa: S105 (a purpose's name, no secret)


class Unreadable(Exception):
    """Sealed under another SECRET_KEY, or not sealed by us."""


def _box(purpose: str) -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    derived = hmac.new(key, f"followup sealing: {purpose}".encode(), hashlib.sha256).digest()
    return Fernet(urlsafe_b64encode(derived))


def seal(value: str, purpose: str) -> str:
    return _box(purpose).encrypt(value.encode()).decode("ascii")


def unseal(sealed: str, purpose: str) -> str:
    try:
        return _box(purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise Unreadable from exc
