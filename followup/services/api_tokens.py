"""API tokens: a tenant's keys to the REST API, kept only as hashes."""

from sqlalchemy import select

from followup.clock import utcnow
from followup.errors import NotFound
from followup.extensions import db
from followup.locales import staff_gettext
from followup.models import ApiToken, hash_api_token
from followup.services.tenants import tenant_by_slug


def create_api_token(tenant_slug: str, name: str = "") -> str:
    """Create a token and return it in clear text; only its hash is kept."""
    tenant = tenant_by_slug(tenant_slug)
    token = ApiToken.generate()
    db.session.add(
        ApiToken(tenant_id=tenant.id, name=name, token_hash=hash_api_token(token), prefix=token[:8])
    )
    db.session.commit()
    return token


def api_tokens_of(tenant_slug: str) -> list[ApiToken]:
    """The tenant's tokens, oldest first, revoked ones included."""
    tenant = tenant_by_slug(tenant_slug)
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.id)
        )
    )


def revoke_api_token(token_id: int) -> ApiToken:
    """Revoke a token: the next request that sends it gets a 401. Revoking twice is a no-op."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(staff_gettext("No API token with id %(id)s.", id=token_id))
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    return token


def api_token_for(token: str) -> ApiToken | None:
    return db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_api_token(token), ApiToken.revoked_at.is_(None)
        )
    )
