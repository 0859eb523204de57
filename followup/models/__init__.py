"""Every model, imported here so Alembic and `db.create_all` see the whole schema."""

from followup.models.agent import WEEKDAYS, Agent, AutoFollowupStep, always_open
from followup.models.autofollowup import ReminderSend
from followup.models.chat import (
    VISITOR_CODE_ALPHABET,
    ActionType,
    ChainEnd,
    Channel,
    Chat,
    CustomerLoginToken,
    DeviceClass,
    Message,
    Mode,
    Role,
    new_visitor_code,
)
from followup.models.customer import Customer, CustomerStatus
from followup.models.followup import (
    FollowUpRequest,
    FollowUpStatusChange,
    Priority,
    Source,
    Status,
)
from followup.models.idempotency import IdempotencyKey
from followup.models.notification import DeliveryState, Notification, NotificationChannel
from followup.models.sms_answer import AnswerState, SmsAnswer
from followup.models.sms_send import SendState, SmsSend
from followup.models.staff import ApiToken, StaffRole, StaffUser, hash_api_token
from followup.models.tenant import (
    DEFAULT_RESPONSE_TIME_HOURS,
    RESPONSE_TIME_HOURS_RANGE,
    Tenant,
    response_promise,
)

__all__ = [
    "DEFAULT_RESPONSE_TIME_HOURS",
    "RESPONSE_TIME_HOURS_RANGE",
    "VISITOR_CODE_ALPHABET",
    "WEEKDAYS",
    "ActionType",
    "Agent",
    "AnswerState",
    "ApiToken",
    "AutoFollowupStep",
    "ChainEnd",
    "Channel",
    "Chat",
    "Customer",
    "CustomerLoginToken",
    "CustomerStatus",
    "DeliveryState",
    "DeviceClass",
    "FollowUpRequest",
    "FollowUpStatusChange",
    "IdempotencyKey",
    "Message",
    "Mode",
    "Notification",
    "NotificationChannel",
    "Priority",
    "ReminderSend",
    "Role",
    "SendState",
    "SmsAnswer",
    "SmsSend",
    "Source",
    "StaffRole",
    "StaffUser",
    "Status",
    "Tenant",
    "always_open",
    "hash_api_token",
    "new_visitor_code",
    "response_promise",
]
