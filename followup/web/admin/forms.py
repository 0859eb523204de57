"""The admin's forms: the fields each posts (see `followup.web.forms`).

The Working Hours form is read by its view (`agents._draft_from_form`): its rows come
and go as the staff edit them, named by day and position.
"""

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


class NotesForm(PostedForm):
    notes = Text()
    notes_version = OptionalText()  # the version the staff member edited


class RetryForm(PostedForm):
    """Send a request's failed notification again, on one channel."""

    channel = OptionalText()


class FollowupSettingsForm(PostedForm):
    enabled = Checkbox()
    response_time_hours = Text()
    customer_confirmation = Checkbox()


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


class OriginsForm(PostedForm):
    allowed_origins = Text()
