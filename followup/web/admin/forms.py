"""The admin's forms: the fields each posts (see `followup.web.forms`)."""

from wtforms import Field, FieldList, Form, FormField

from followup.models import WEEKDAYS
from followup.web.forms import Checkbox, OptionalText, PostedForm, Text

# --- AI employees ----------------------------------------------------------------------------


class PersonaForm(PostedForm):
    """A new employee, and an employee's Persona tab."""

    name = Text()
    role = Text()
    tone = Text()
    instructions = Text()


class ChannelsForm(PostedForm):
    serves_web_widget = Checkbox()
    sms_number = Text()


class AutoFollowupForm(PostedForm):
    """The Enable switch of an employee's chain."""

    enabled = Checkbox()


class Rows(Field):
    """Every value posted under the field's name, in order: one per row of a day."""

    def process_formdata(self, valuelist: list) -> None:
        self.data = [value.strip() for value in valuelist]

    def process_data(self, value: object) -> None:
        self.data = list(value or [])


class DayHours(Form):
    """One day's rows ("mon-start", "mon-end", "mon-off"), as typed."""

    off = Checkbox()
    start = Rows()
    end = Rows()

    def draft(self) -> dict:
        """The day as the form shows it again: rows left wholly empty are dropped."""
        rows = zip(self.start.data, self.end.data, strict=False)
        return {"off": self.off.data, "intervals": [[s, e] for s, e in rows if s or e]}


class SpecialDateHours(DayHours):
    """A special date's rows ("special-0-date", "special-0-start", ...)."""

    date = Text()

    def draft(self) -> dict:
        return {"date": self.date.data.strip()} | super().draft()


def _day() -> FormField:
    return FormField(DayHours, separator="-")


class WorkingHoursForm(PostedForm):
    """An employee's Working Hours tab: its rows come and go as staff edit them (`op`
    names the edit; "save" saves)."""

    timezone = Text()
    op = Text(default="save")
    mon = _day()
    tue = _day()
    wed = _day()
    thu = _day()
    fri = _day()
    sat = _day()
    sun = _day()
    special = FieldList(FormField(SpecialDateHours, separator="-"))

    def draft(self) -> dict:
        """The form as posted, days off keeping their rows (not saved) for the form."""
        return {
            "timezone": self.timezone.data,
            "days": {day: self[day].form.draft() for day in WEEKDAYS},
            "special": [entry.form.draft() for entry in self.special],
        }


class StepForm(PostedForm):
    delay_hours = Text()
    delay_minutes = Text()
    instruction = Text()
    run_once_per_chat = Checkbox()


class StepMoveForm(PostedForm):
    direction = OptionalText()


# --- follow-up requests ----------------------------------------------------------------------


class StatusForm(PostedForm):
    status = OptionalText()


class AssignForm(PostedForm):
    """The assignee select, or "Assign to me": a staff id, or empty for nobody."""

    assignee_id = OptionalText()


class PriorityForm(PostedForm):
    priority = OptionalText()


class NoteForm(PostedForm):
    """A new note, or a note's edit (with the version the writer read)."""

    text = Text()
    version = OptionalText()


class BulkForm(PostedForm):
    """The list's bulk bar: the selected requests, the action and its value."""

    ids = Rows()
    action = OptionalText()  # assign, priority or status
    assignee_id = OptionalText()
    priority = OptionalText()
    status = OptionalText()


class RetryForm(PostedForm):
    """Send one of a request's failed notifications again."""

    notification_id = OptionalText()


class FollowupSettingsForm(PostedForm):
    enabled = Checkbox()
    response_time_hours = Text()
    customer_confirmation = Checkbox()
    satisfaction_survey = Checkbox()


# --- chats -----------------------------------------------------------------------------------


class StaffReplyForm(PostedForm):
    text = Text()


class PauseForm(PostedForm):
    """A chat's "Pause auto follow-up" switch."""

    paused = Checkbox()


# --- settings --------------------------------------------------------------------------------


class BusinessForm(PostedForm):
    name = Text()
    contact_email = Text()
    contact_phone = Text()
    timezone = Text()
    sms_enabled = Checkbox()
    visitor_locale = OptionalText()  # not sent: left as it is


class OriginsForm(PostedForm):
    allowed_origins = Text()


class IdentityForm(PostedForm):
    require_verified_identity = Checkbox()
    sign_in_url = Text()


class VoiceForm(PostedForm):
    voice_mode = Text()


class LookForm(PostedForm):
    """The widget's look; its picture comes as a file (`request.files["avatar"]`)."""

    accent = Text()
    position = Text()
    agent_name = Text()
    greeting = Text()
    offline_message = Text()
    remove_avatar = Checkbox()
    # The preview only: show the header as it reads when nobody answers at once.
    preview_offline = Checkbox()


# --- the team --------------------------------------------------------------------------------


class InviteForm(PostedForm):
    email = Text()
    role = Text()


class RoleForm(PostedForm):
    role = Text()


class RequireTwoFactorForm(PostedForm):
    required = Checkbox()
