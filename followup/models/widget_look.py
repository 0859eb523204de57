"""How a business's website chat looks: its accent colour, header picture, launcher side,
greeting and offline message (Settings → Website widget → Look)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from followup.clock import utcnow
from followup.extensions import db
from followup.models.base import UTCDateTime, one_of

# The widget's own blue: white text on it is 6.5:1.
DEFAULT_ACCENT = "#3451d1"


class LauncherPosition(StrEnum):
    """The bottom corner of the website where the chat button sits."""

    RIGHT = "right"
    LEFT = "left"


class WidgetLook(db.Model):
    """One per business at most; a business without one has the default look.

    The picture is kept in the database, not on disk, so every web process of a
    scaled-out install serves the same one; it is small (services/widget_look.py)."""

    __tablename__ = "widget_looks"
    __table_args__ = (one_of("position", LauncherPosition),)

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    accent: Mapped[str] = mapped_column(String(7), default=DEFAULT_ACCENT)
    position: Mapped[str] = mapped_column(String(8), default=LauncherPosition.RIGHT)
    # None: the widget's own words (the greeting names the AI employee and the business).
    greeting: Mapped[str | None] = mapped_column(String(500))
    offline_message: Mapped[str | None] = mapped_column(String(300))
    # Read only when the picture itself is served: every page view reads the rest.
    avatar: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    avatar_type: Mapped[str | None] = mapped_column(String(16))
    # A digest of the picture: its URL, so browsers may keep it for ever.
    avatar_digest: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
