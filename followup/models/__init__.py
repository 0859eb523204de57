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
    ActivityKind,
    FollowUpActivity,
    FollowUpRequest,
    FollowUpStatusChange,
    Priority,
    Source,
    Status,
)
from followup.models.idempotency import IdempotencyKey
from followup.models.notification import (
    STAFF_LINK_KINDS,
    DeliveryState,
    Notification,
    NotificationChannel,
    NotificationKind,
)
from followup.models.sms_answer import AnswerState, SmsAnswer
from followup.models.sms_send import SendState, SmsSend
from followup.models.staff import (
    ApiToken,
    StaffRecoveryCode,
    StaffRole,
    StaffStatus,
    StaffToken,
    StaffTokenPurpose,
    StaffUser,
    hash_api_token,
    hash_link_token,
)
from followup.models.tenant import (
    DEFAULT_RESPONSE_TIME_HOURS,
    RESPONSE_TIME_HOURS_RANGE,
    Tenant,
    response_promise,
)

__all__ = [
    "DEFAULT_RESPONSE_TIME_HOURS",
    "RESPONSE_TIME_HOURS_RANGE",
    "STAFF_LINK_KINDS",
    "VISITOR_CODE_ALPHABET",
    "WEEKDAYS",
    "ActionType",
    "ActivityKind",
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
    "FollowUpActivity",
    "FollowUpRequest",
    "FollowUpStatusChange",
    "IdempotencyKey",
    "Message",
    "Mode",
    "Notification",
    "NotificationChannel",
    "NotificationKind",
    "Priority",
    "ReminderSend",
    "Role",
    "SendState",
    "SmsAnswer",
    "SmsSend",
    "Source",
    "StaffRecoveryCode",
    "StaffRole",
    "StaffStatus",
    "StaffToken",
    "StaffTokenPurpose",
    "StaffUser",
    "Status",
    "Tenant",
    "always_open",
    "hash_api_token",
    "hash_link_token",
    "new_visitor_code",
    "response_promise",
]
