"""Every model, imported here so Alembic and `db.create_all` see the whole schema."""

from followup.models.chat import Agent, Channel, Chat, CustomerLoginToken, Message, Role
from followup.models.customer import CUSTOMER_GUEST, CUSTOMER_REGISTERED, Customer
from followup.models.followup import (
    FollowUpRequest,
    FollowUpStatusChange,
    Priority,
    Source,
    Status,
)
from followup.models.staff import ROLE_OWNER, ROLE_STAFF, ApiToken, StaffUser, hash_api_token
from followup.models.tenant import (
    DEFAULT_RESPONSE_TIME_HOURS,
    RESPONSE_TIME_HOURS_RANGE,
    Tenant,
)

__all__ = [
    "CUSTOMER_GUEST",
    "CUSTOMER_REGISTERED",
    "DEFAULT_RESPONSE_TIME_HOURS",
    "RESPONSE_TIME_HOURS_RANGE",
    "ROLE_OWNER",
    "ROLE_STAFF",
    "Agent",
    "ApiToken",
    "Channel",
    "Chat",
    "Customer",
    "CustomerLoginToken",
    "FollowUpRequest",
    "FollowUpStatusChange",
    "Message",
    "Priority",
    "Role",
    "Source",
    "StaffUser",
    "Status",
    "Tenant",
    "hash_api_token",
]
