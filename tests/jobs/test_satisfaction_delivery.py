"""The "How did we do?" question through the real outbox: a worker process delivers
the email to the SMTP server (aiosmtpd), and the link in it rates the request; a
customer with only a phone gets the short link by SMS through the Twilio SDK and the
local Twilio server. Both in the customer's language: the chat's, else the business's
default for visitors."""

import re

from followup.extensions import db
from followup.jobs.notifications import deliver_notifications
from followup.locales import Language
from followup.models import DeliveryState, NotificationChannel
from followup.services import chats
from followup.services.visitors import Visit
from tests.helpers.apps import text_of
from tests.helpers.jobs import TWILIO_FROM, configure_tenant, wait_for
from tests.helpers.satisfaction import link_path, resolve, survey_rows


def test_the_worker_emails_a_link_that_rates_the_request(
    app, tenant, make_followup, smtp, start_worker
):
    configure_tenant(tenant, customer_confirmation_enabled=False)
    followup = make_followup(tenant, email="maria@example.com")
    worker = start_worker()
    resolve(followup)

    def survey_arrived():
        return [m for m in smtp.received() if m.rcpt_tos == ["maria@example.com"]]

    (mail,) = wait_for(survey_arrived, "the satisfaction email", worker)
    assert mail.message["Subject"] == "Acme Inc: how did we do?"
    assert mail.message["From"] == "Acme Inc <followup@followup.example.test>"
    assert mail.message["Reply-To"] == "team@acme.example"
    text, html = mail.part("plain"), mail.part("html")
    path = link_path(text)
    assert f'href="https://followup.example.test{path}"' in html
    wait_for(lambda: survey_rows(followup)[0].state == DeliveryState.SENT, "the row sent", worker)

    customer = app.test_client()
    page = customer.get(path)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text_of(page)).group(1)
    rated = customer.post(path, data={"csrf_token": csrf, "score": "5", "comment": "Thanks!"})
    assert rated.status_code == 200
    assert "<h1>Thank you</h1>" in text_of(rated)
    assert customer.get(path).status_code == 409  # used


def test_a_customer_with_only_a_phone_gets_the_link_by_sms(app, tenant, make_followup, twilio):
    configure_tenant(tenant, customer_confirmation_enabled=False, sms_enabled=True)
    followup = make_followup(tenant, phone="+44 20 7946 0958")
    followup.email = ""  # a request without an email, as older ones may be
    db.session.commit()
    resolve(followup)
    (row,) = survey_rows(followup)
    assert row.channel == NotificationChannel.CUSTOMER_SMS
    deliver_notifications([row.id])  # as the worker would
    (sms,) = twilio.messages
    assert (sms.to, sms.from_) == ("+442079460958", TWILIO_FROM)
    path = link_path(sms.body)
    assert sms.body == f"Acme Inc: how did we do? Rate us: https://followup.example.test{path}"
    assert len(sms.body) < 160  # one SMS
    assert app.test_client().get(path).status_code == 200
    (row,) = survey_rows(followup)
    assert (row.state, row.provider_message_id) == (DeliveryState.SENT, sms.sid)


def test_the_email_is_in_the_language_of_the_customers_chat(
    app, tenant, make_followup, smtp, start_worker
):
    configure_tenant(tenant, customer_confirmation_enabled=False, visitor_locale="fr")
    opened = chats.start_chat(tenant.widget_public_key, None, Visit(asked_locale=Language.SPANISH))
    followup = make_followup(tenant, email="lucia@example.es", chat_id=opened.chat.id)
    worker = start_worker()
    resolve(followup)

    def survey_arrived():
        return [m for m in smtp.received() if m.rcpt_tos == ["lucia@example.es"]]

    (mail,) = wait_for(survey_arrived, "the satisfaction email", worker)
    assert mail.message["Subject"] == "Acme Inc: ¿qué tal lo hicimos?"
    text, html = mail.part("plain"), mail.part("html")
    assert text.replace("\r\n", "\n").startswith(
        "Hola:\n\nTu solicitud a Acme Inc está resuelta. ¿Qué tal lo hicimos?"
    )
    assert "Valóranos del 1 al 5, con un comentario si quieres" in text
    assert "El enlace funciona una sola vez, durante 14 días." in text
    assert '<html lang="es">' in html
    assert "Valora tu experiencia</a>" in html
    # The page the link opens speaks Spanish too, whatever the browser's language.
    page = app.test_client().get(link_path(text), headers={"Accept-Language": "de"})
    assert "<h1>¿Qué tal lo hicimos?</h1>" in text_of(page)


def test_the_sms_is_in_the_businesss_language_when_there_is_no_chat(
    app, tenant, make_followup, twilio
):
    configure_tenant(
        tenant, customer_confirmation_enabled=False, sms_enabled=True, visitor_locale="ru"
    )
    followup = make_followup(tenant, phone="+44 20 7946 0958")
    followup.email = ""
    db.session.commit()
    resolve(followup)
    (row,) = survey_rows(followup)
    deliver_notifications([row.id])
    (sms,) = twilio.messages
    path = link_path(sms.body)
    assert (
        sms.body == f"Acme Inc: как мы справились? Оцените нас: https://followup.example.test{path}"
    )
