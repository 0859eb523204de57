"""The chat page's forms (see `followup.web.forms`). The page posts them with htmx;
the website's customer data comes along as JSON text, read by `chat._customer_from`."""

from followup.models import Mode
from followup.web.forms import OptionalText, PostedForm, Text


class StartChatForm(PostedForm):
    page_url = OptionalText()  # where the chat starts, and how the visitor came there
    referrer = OptionalText()
    language = OptionalText()
    locale = OptionalText()  # the page's language, as the host page or browser chose it
    customer = OptionalText()  # the website's `FollowupWidget.customer`, as JSON


class MessageForm(PostedForm):
    text = OptionalText()
    mode = Text(default=Mode.TEXT)
    after = OptionalText()  # the newest message the page has


class FollowupForm(PostedForm):
    """The follow-up form, offered by the AI or under "Contact us"."""

    name = Text()
    email = Text()
    phone = Text()
    reason = Text()
    form_key = Text()  # which form of the page it is
    form_id = OptionalText()  # the form's one-time id: sent twice, it saves one request

    def details(self) -> dict:
        """What the customer typed."""
        return {field: self[field].data for field in ("name", "email", "phone", "reason")}


class LoginLinkForm(PostedForm):
    email = Text()
