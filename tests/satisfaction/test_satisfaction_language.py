"""The "How did we do?" page speaks the customer's language: the one of the chat the
request came from, else the business's default for visitors; never the browser's for
a link of ours (the link is for one customer, whoever's browser opens it)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followup.extensions import mail
from followup.locales import Language
from followup.services import chats, satisfaction
from followup.services.visitors import Visit
from tests.helpers.apps import text_of
from tests.helpers.jobs import configure_tenant
from tests.helpers.satisfaction import link_path, resolve
from tests.helpers.staff import as_a_new_request

RESOLVED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
FRENCH_BROWSER = {"Accept-Language": "fr-FR,fr;q=0.9"}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(RESOLVED_AT, tick=False) as traveller:
        yield traveller


def rating_path(followup) -> str:
    """The link's path, from the email resolving the request sent."""
    with mail.record_messages() as sent:
        resolve(followup)
    (message,) = sent
    return link_path(message.body)


def from_chat_in(tenant, make_followup, language: Language):
    opened = chats.start_chat(tenant.widget_public_key, None, Visit(asked_locale=language))
    return make_followup(tenant, email="kunde@example.de", chat_id=opened.chat.id)


def test_the_page_is_in_the_language_of_the_requests_chat(app, tenant, make_followup):
    path = rating_path(from_chat_in(tenant, make_followup, Language.GERMAN))
    customer = app.test_client()
    page = customer.get(path, headers=FRENCH_BROWSER)
    body = text_of(page)
    assert page.status_code == 200
    assert '<html lang="de">' in body
    assert "<title>Wie zufrieden waren Sie? · Acme Inc</title>" in body
    assert "<legend>Ihre Bewertung</legend>" in body
    labels = re.findall(r"<span>(\d — [^<]+)</span>", body)
    assert labels == [
        "1 — Sehr schlecht",
        "2 — Schlecht",
        "3 — In Ordnung",
        "4 — Gut",
        "5 — Ausgezeichnet",
    ]
    assert "Bis zu 2.000 Zeichen." in body  # the number as German writes it
    assert "Bewertung senden" in body

    # Its errors and its thanks too.
    as_a_new_request()
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    refused = customer.post(path, data={"csrf_token": token, "score": "9"}, headers=FRENCH_BROWSER)
    assert refused.status_code == 422
    assert "Bewertung: wählen Sie einen Wert von 1 bis 5." in text_of(refused)
    thanked = customer.post(path, data={"csrf_token": token, "score": "5"}, headers=FRENCH_BROWSER)
    assert thanked.status_code == 200
    assert "Vielen Dank für Ihre Bewertung. Sie hilft Acme Inc, Sie besser zu betreuen." in (
        text_of(thanked)
    )
    again = customer.get(path, headers=FRENCH_BROWSER)
    assert again.status_code == 409
    assert "Sie haben diese Anfrage bereits bewertet – vielen Dank." in text_of(again)  # noqa: RUF001


def test_without_a_chat_the_businesss_default_language_is_used(app, tenant, make_followup, clock):
    configure_tenant(tenant, visitor_locale="ru")
    path = rating_path(make_followup(tenant))  # made through the API: no chat
    clock.shift(satisfaction.LINK_LIFETIME + timedelta(days=1))
    page = app.test_client().get(path, headers=FRENCH_BROWSER)
    assert page.status_code == 410
    body = text_of(page)
    assert '<html lang="ru">' in body
    assert (
        "Срок действия ссылки истёк. Ссылки для оценки работают 14 дней после того, как "
        "запрос решён." in body
    )


def test_a_link_that_is_not_ours_is_in_the_browsers_language(app, tenant):
    page = app.test_client().get("/rate/not-a-real-token", headers=FRENCH_BROWSER)
    assert page.status_code == 404
    body = text_of(page)
    assert '<html lang="fr">' in body
    assert "<h1>Lien non valide</h1>" in body
