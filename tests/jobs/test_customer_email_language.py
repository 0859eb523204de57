"""The confirmation email to a customer, in their chat's language (the business's
default for requests made without a chat), sent by a real `python worker.py` through
SMTP (aiosmtpd)."""

from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from followup.extensions import db
from followup.locales import Language
from followup.models import FollowUpRequest, Source
from followup.services import chats, followups
from followup.services.visitors import Visit
from tests.helpers.jobs import all_sent, configure_tenant, wait_for

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def confirmation_to(smtp, address: str):
    (mail,) = [mail for mail in smtp.received() if mail.rcpt_tos == [address]]
    return mail


@ONE_DATABASE
def test_the_confirmation_is_in_the_customers_language(app, tenant, smtp, start_worker):
    configure_tenant(tenant, visitor_locale="fr", timezone="Europe/Madrid")
    worker = start_worker()
    # A visitor whose website asked for Spanish, and a request made through the API.
    opened = chats.start_chat(tenant.widget_public_key, None, Visit(asked_locale=Language.SPANISH))
    from_chat = followups.create_followup(
        tenant.id,
        {
            "name": "Lucía",
            "email": "lucia@example.es",
            "phone": "+34 612 345 678",
            "reason": "Un presupuesto",
        },
        source=Source.TEXT,
        chat_id=opened.chat.id,
    )
    followups.create_followup(
        tenant.id,
        {"name": "Luc", "email": "luc@example.fr", "reason": "Un devis"},
        source=Source.API,
    )
    wait_for(lambda: (rows := all_sent()) and len(rows) == 4 and rows, "four emails", worker)

    spanish = confirmation_to(smtp, "lucia@example.es")
    assert spanish.message["Subject"] == "Acme Inc: hemos recibido tu solicitud"
    received = db.session.get(FollowUpRequest, from_chat.id).created_at
    # The date and time as Spanish writes them, in the business's time zone.
    local = received.astimezone(ZoneInfo("Europe/Madrid"))
    day = format_date(local, "long", locale="es")
    written = f"{day}, {local.hour}:{local.minute:02d} {local.tzname()}"
    plain = spanish.part("plain")
    assert plain.startswith("Hola:")
    assert f"Gracias por contactar con Acme Inc. Recibimos tu solicitud el {written}." in plain
    assert "Nos pondremos en contacto contigo en menos de 24 horas." in plain
    assert "Nos pondremos en contacto contigo en lucia@example.es o en el +34 612 34 56 78." in (
        plain
    )
    assert "Si algo cambia, responde a este correo." in plain
    html = spanish.part("html")
    assert '<html lang="es">' in html
    assert "Nos pondremos en contacto contigo en menos de 24 horas." in html

    french = confirmation_to(smtp, "luc@example.fr")
    assert french.message["Subject"] == "Acme Inc : nous avons bien reçu votre demande"
    assert "Nous vous recontacterons sous 24 heures." in french.part("plain")
    # The team's own emails stay English.
    staff = [mail for mail in smtp.received() if mail.rcpt_tos == ["team@acme.example"]]
    assert all(mail.message["Subject"].startswith("New follow-up request") for mail in staff)
