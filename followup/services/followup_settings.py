"""The follow-up settings staff change from the Follow-ups page (response time); the
tenant's own settings (origins, phone, time zone) are in `tenant_settings`."""

from followup.errors import ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_text
from followup.models import RESPONSE_TIME_HOURS_RANGE, Tenant
from followup.services.validation import problem, whole_number

RESPONSE_TIME = staff_text("Response Time (hours)")


def parse_response_time_hours(value: object) -> int:
    low, high = RESPONSE_TIME_HOURS_RANGE
    advice = staff_gettext("use a whole number from %(low)s to %(high)s.", low=low, high=high)
    message = problem(RESPONSE_TIME, advice)
    if isinstance(value, bool):
        raise ValidationFailed({"response_time_hours": message})
    if isinstance(value, str):
        value = whole_number(value.strip(), high)
        if value is None:
            raise ValidationFailed({"response_time_hours": message})
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed({"response_time_hours": message})
    return value


def update_followup_settings(
    tenant_id: int,
    enabled: bool,
    response_time_hours: object,
    customer_confirmation: bool | None = None,
    satisfaction_survey: bool | None = None,
) -> Tenant:
    """Save the follow-up settings; `customer_confirmation` or `satisfaction_survey` None
    leaves that one as it is."""
    hours = parse_response_time_hours(response_time_hours)
    tenant = db.session.get(Tenant, tenant_id)
    tenant.followups_enabled = bool(enabled)
    tenant.response_time_hours = hours
    if customer_confirmation is not None:
        tenant.customer_confirmation_enabled = customer_confirmation
    if satisfaction_survey is not None:
        tenant.satisfaction_survey_enabled = satisfaction_survey
    db.session.commit()
    return tenant
