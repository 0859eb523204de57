"""How a posted form is read: each blueprint declares its forms (`forms.py`) with these.

The forms only read. The services check every value and word every error, the same
for a form, the API and the jobs; CSRFProtect checks every staff post (its token in
the `X-CSRFToken` header or the `csrf_token` field), so the forms carry no CSRF field
of their own.
"""

from typing import Self

from flask import request
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField


class PostedForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect's, above

    @classmethod
    def posted(cls) -> Self:
        # The form fields only: Flask-WTF would otherwise read a JSON body as the form.
        return cls(formdata=request.form)

    @classmethod
    def values_of(cls, obj: object) -> dict:
        """The form's values as `obj` (a saved record) has them."""
        return cls(formdata=None, obj=obj).data


class Text(StringField):
    """Text as typed; empty when not sent, or not set on the record."""

    def __init__(self, default: str = "", **kwargs):
        super().__init__(default=default, **kwargs)

    def process_data(self, value: object) -> None:
        self.data = "" if value is None else value


class OptionalText(StringField):
    """Text as typed; None when not sent, which the service tells apart from empty."""


class Checkbox(BooleanField):
    """Ticked only when sent as "on", what a checkbox without a value attribute sends."""

    def process_formdata(self, valuelist: list) -> None:
        self.data = bool(valuelist) and valuelist[0] == "on"
