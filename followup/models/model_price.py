"""What a business pays its model provider, per model: the reports estimate AI cost from it."""

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from followup.extensions import db

# Dollars per million tokens, to the hundredth of a cent.
PRICE = Numeric(12, 4)


class ModelPrice(db.Model):
    """The price per million input and output tokens of one model, as the business set
    it in Settings; a blank price shows no cost."""

    __tablename__ = "model_prices"
    __table_args__ = (UniqueConstraint("tenant_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(100))
    input_per_million: Mapped[Decimal | None] = mapped_column(PRICE)
    output_per_million: Mapped[Decimal | None] = mapped_column(PRICE)
