"""The staff log-in form (see `followup.web.forms`)."""

from followup.web.forms import PostedForm, Text


class LoginForm(PostedForm):
    email = Text()
    password = Text()
