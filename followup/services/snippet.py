"""Check the snippet: where a tenant's widget was last loaded from, and when.

The widget's config request (which `/widget.js` makes on every host page it is pasted
on) says which page asked: its Origin, else its Referer. Only the page's origin is
kept (scheme://host[:port]), never a path or query, which may carry a customer's
token or address. It is written at most once a minute per tenant, whatever the
traffic: a page view costs no write.
"""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, update

from followup.clock import utcnow
from followup.extensions import db
from followup.models import Tenant
from followup.services import tenant_settings

WRITE_INTERVAL = timedelta(minutes=1)
ORIGIN_LIMIT = 300  # the column's size
ADDRESS_LIMIT = 2000


def page_origin(address: str | None) -> str | None:
    """scheme://host[:port] of an http(s) address or origin, as browsers write origins
    (`tenant_settings.normalize_origin`); None for anything else ("null", file:, junk)."""
    if not address or len(address) > ADDRESS_LIMIT:
        return None
    parts = urlsplit(address.strip())
    try:
        origin = tenant_settings.normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None
    return origin if len(origin) <= ORIGIN_LIMIT else None


def record_seen(tenant: Tenant, origin: str | None, referer: str | None) -> bool:
    """Note that the widget was loaded on the page these headers name, unless it was
    noted less than a minute ago; returns whether it wrote. The condition is in the
    UPDATE too, so web processes racing write once."""
    seen_on = page_origin(origin) or page_origin(referer)
    if seen_on is None:
        return False
    now = utcnow()
    recent = now - WRITE_INTERVAL
    if tenant.widget_seen_at is not None and tenant.widget_seen_at > recent:
        return False
    written = db.session.execute(
        update(Tenant)
        .where(
            Tenant.id == tenant.id,
            or_(Tenant.widget_seen_at.is_(None), Tenant.widget_seen_at <= recent),
        )
        .values(widget_seen_origin=seen_on, widget_seen_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(written)


def last_seen(tenant: Tenant) -> tuple[str, datetime] | None:
    """(origin, when) the widget was last loaded, or None: not seen yet."""
    if tenant.widget_seen_origin is None or tenant.widget_seen_at is None:
        return None
    return tenant.widget_seen_origin, tenant.widget_seen_at


def seen_on_allowed_origin(tenant: Tenant) -> bool:
    """Whether the site the widget was last seen on may show it (its allowed origins):
    a site left out gets no chat button, the likeliest reason a pasted snippet "does
    nothing". True when not seen yet."""
    if tenant.widget_seen_origin is None:
        return True
    return tenant.widget_seen_origin in (tenant.allowed_origins or [])
