"""The staff log-in form (see `followup.web.forms`)."""

from followup.web.forms import PostedForm, Text


class LoginForm(PostedForm):
    email = Text()
    password = Text()


class ForgotPasswordForm(PostedForm):
    email = Text()


class NewPasswordForm(PostedForm):
    """A password reset: the new password."""

    password = Text()


class JoinForm(PostedForm):
    """An invitation accepted: the member's name and password."""

    name = Text()
    password = Text()


class NameForm(PostedForm):
    name = Text()


class PhoneForm(PostedForm):
    phone = Text()


class EmailChangeForm(PostedForm):
    email = Text()
    current_password = Text()


class PasswordChangeForm(PostedForm):
    current_password = Text()
    password = Text()


class CodeForm(PostedForm):
    """A code from the authenticator app, or a recovery code."""

    code = Text()


class TwoFactorOffForm(PostedForm):
    current_password = Text()
