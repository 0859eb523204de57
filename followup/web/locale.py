"""The visitor's language: chosen in one place, kept for the rest of the request.

Widget pages, the widget API and the customer login page are in the visitor's
language; the admin panel stays English (Babel's default when nothing was chosen).
"""

from flask import has_request_context, request
from flask_babel import refresh

from followup.locales import Language, choose_language, supported_language
from followup.models import Tenant

# Kept in the WSGI environ, not on `g`: `g` outlives a request when tests share an app
# context (and the worker has one for its life).
_ENVIRON_KEY = "followup.locale"


def visitor_locale(tenant: Tenant | None, asked: object = None) -> Language:
    """This request's visitor's language (`followup.locales.choose_language`): `asked` by
    the host page (`FollowupWidget.locale`, passed as `?locale=`), else the browser's
    (Accept-Language), else the business's default for visitors."""
    default = tenant.visitor_locale if tenant is not None else None
    return choose_language(asked, browser_language(), default)


def browser_language() -> Language | None:
    """The best of ours among the languages the browser asks for (Accept-Language)."""
    # Werkzeug matches "fr-FR" to "fr" and weighs each language by its q value.
    best = request.accept_languages.best_match([language.value for language in Language])
    return supported_language(best)


def use_locale(locale: object) -> None:
    """Serve the rest of this request in `locale` (a chat's, or the one just chosen)."""
    request.environ[_ENVIRON_KEY] = supported_language(locale)
    refresh()  # a text translated before this (a cached locale) must not stick


def request_locale() -> str | None:
    """Babel's locale selector: the visitor's language where a widget or customer page
    chose one, else None (English)."""
    if not has_request_context():
        return None
    return request.environ.get(_ENVIRON_KEY)
