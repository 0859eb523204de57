"""The visitor's language: chosen by the host page (`?locale=`), else the browser
(Accept-Language), else the business's default for visitors; kept with the chat for
everything after (its pages, errors, the AI's instructions, emails)."""

import json
import re
from html import unescape

import pytest
from flask_babel import force_locale

from followup.errors import ValidationFailed
from followup.extensions import db, mail
from followup.llm import prompts
from followup.llm.reminders import reminder_prompt
from followup.locales import Language, in_language
from followup.models import Channel, Chat, Source, Tenant
from followup.services import capture, chats, customer_login, followups, tenant_settings, voice
from followup.services.capture import VOICE, CaptureState
from followup.services.visitors import Visit
from tests.helpers.jobs import configure_tenant
from tests.helpers.widget import Visitor, stored_chat, submit

GERMAN_LOADING = "Verbindung wird hergestellt …"
FRENCH_LOADING = "Connexion…"
RUSSIAN_LOADING = "Подключение…"
ENGLISH_LOADING = "Connecting…"


def page(client, tenant, query: str = "", language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(f"/w/{tenant.widget_public_key}{query}", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- the choice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "accept_language", "default", "lang", "loading"),
    [
        # The host page's `FollowupWidget.locale` first, over the browser and the business.
        ("?locale=de", "fr-FR,fr;q=0.9", "ru", "de", GERMAN_LOADING),
        ("?locale=de-AT", None, "en", "de", GERMAN_LOADING),
        # Else the browser's best language of ours, by its weights.
        ("", "fr-FR,fr;q=0.9,en;q=0.5", "ru", "fr", FRENCH_LOADING),
        ("", "ja,es;q=0.8,de;q=0.3", "en", "es", "Conectando…"),
        # Else the business's default for visitors.
        ("", "ja-JP,ja;q=0.9", "ru", "ru", RUSSIAN_LOADING),
        ("", None, "ru", "ru", RUSSIAN_LOADING),
        # A value we do not serve is passed over quietly.
        ("?locale=xx-YY", "ja", "fr", "fr", FRENCH_LOADING),
        ("?locale=%3Cscript%3E", None, "de", "de", GERMAN_LOADING),
        ("", None, "en", "en", ENGLISH_LOADING),
    ],
)
def test_the_page_is_in_the_chosen_language(
    client, tenant, query, accept_language, default, lang, loading
):
    configure_tenant(tenant, visitor_locale=default)
    html = page(client, tenant, query, accept_language)
    assert f'<html lang="{lang}">' in html
    assert loading in html


def test_the_page_varies_with_the_browsers_language(client, tenant):
    response = client.get(f"/w/{tenant.widget_public_key}")
    assert "Accept-Language" in response.headers["Vary"]


def test_the_scripts_own_texts_come_translated_in_a_data_attribute(client, tenant):
    html = page(client, tenant, "?locale=ru")
    # JSON in an attribute (the page's CSP runs no inline script), escaped for it.
    texts = json.loads(unescape(re.search(r'data-texts="([^"]*)"', html).group(1)))
    assert texts["tryAgain"] == "Попробовать снова"
    assert texts["listening"] == "Слушаю… Нажмите Escape, чтобы остановить."
    assert all(texts.values())


def test_the_chat_keeps_the_language_it_started_in(client, tenant):
    configure_tenant(tenant, visitor_locale="fr")
    visitor = Visitor(client, tenant)
    started = visitor.start(locale="es", headers={"Accept-Language": "de"})
    assert "¡Hola! Soy" in started.get_data(as_text=True)  # the greeting
    assert stored_chat(visitor.chat_id).locale == "es"
    # Later requests carry another browser language: the chat stays Spanish.
    restored = client.get(
        visitor.url(), headers=visitor.headers() | {"Accept-Language": "ru"}
    ).get_data(as_text=True)
    assert "Contáctanos" in restored and "Escribe un mensaje…" in restored


def test_without_a_page_locale_the_browser_then_the_business_decide(client, tenant):
    configure_tenant(tenant, visitor_locale="ru")
    by_browser = Visitor(client, tenant)
    by_browser.start(headers={"Accept-Language": "de-CH,de;q=0.9"})
    assert stored_chat(by_browser.chat_id).locale == "de"
    by_business = Visitor(client, tenant)
    by_business.start(locale="pt-BR", headers={"Accept-Language": "ja"})
    assert stored_chat(by_business.chat_id).locale == "ru"


def test_the_json_api_chooses_the_same_way(client, tenant):
    configure_tenant(tenant, visitor_locale="de")
    key = tenant.widget_public_key
    asked = client.post(f"/api/widget/v1/{key}/sessions", json={"locale": "fr"})
    browser = client.post(
        f"/api/widget/v1/{key}/sessions", json={}, headers={"Accept-Language": "es"}
    )
    neither = client.post(f"/api/widget/v1/{key}/sessions", json={"locale": 42})
    assert [stored_chat(r.json["chat_id"]).locale for r in (asked, browser, neither)] == [
        "fr",
        "es",
        "de",
    ]
    # The greeting too, the business's default included.
    greetings = [chats.history(stored_chat(r.json["chat_id"]))[0].content for r in (asked, neither)]
    assert greetings[0].startswith("Bonjour ! Je suis") and greetings[1].startswith(
        "Hallo! Ich bin"
    )


# --- what the visitor reads ----------------------------------------------------------------


def test_form_errors_are_in_the_visitors_language(client, tenant):
    visitor = Visitor(client, tenant)
    visitor.start(locale="fr")
    answer = submit(visitor, "contact", name="", email="not-an-address", reason="Un devis")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nom : veuillez remplir ce champ." in html
    assert "E-mail : saisissez une adresse comme nom@example.com." in html


def test_api_errors_are_in_the_chats_language(client, tenant):
    key = tenant.widget_public_key
    started = client.post(f"/api/widget/v1/{key}/sessions", json={"locale": "de"})
    headers = {"Authorization": f"Bearer {started.json['session_token']}"}
    refused = client.post(
        f"/api/widget/v1/chats/{started.json['chat_id']}/followups",
        json={"name": "Anna", "email": "anna@", "reason": "Angebot"},
        headers=headers,
    )
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["message"] == "Einige Felder sind ungültig."
    assert error["fields"]["email"] == "E-Mail: geben Sie eine Adresse wie name@example.com ein."


def test_the_thank_you_and_promise_are_in_the_visitors_language(client, tenant):
    visitor = Visitor(client, tenant)
    visitor.start(locale="ru")
    sent = submit(
        visitor, "contact", name="Анна", email="anna@example.com", phone="", reason="Счёт"
    ).get_data(as_text=True)
    assert "Запрос отправлен" in sent
    assert "Спасибо, Анна! Ваш запрос отправлен нашей команде." in sent
    assert "Мы свяжемся с вами в течение 24 часов." in sent  # noqa: RUF001


def test_the_requests_list_is_in_the_visitors_language(client, tenant):
    visitor = Visitor(client, tenant)
    visitor.start(locale="de")
    panel = visitor.get("requests").get_data(as_text=True)
    # Not signed in: the panel says so, in German.
    assert "Meine Anfragen" in panel
    assert "Melden Sie sich an, um Ihre Anfragen zu sehen." in panel


# --- the AI, and what the services say ----------------------------------------------------


def test_the_model_is_told_the_chats_language(app, tenant, client, fake_llm):
    visitor = Visitor(client, tenant)
    visitor.start(locale="fr")
    visitor.say("Bonjour, vous livrez le samedi ?")
    system = fake_llm.requests[-1]["messages"][0]["content"]
    assert "The customer's language is French: always answer in French" in system


def test_reminders_are_written_in_the_chats_language(app, tenant, client):
    visitor = Visitor(client, tenant)
    visitor.start(locale="ru")
    chat = stored_chat(visitor.chat_id)
    prompt = reminder_prompt(chat.agent, tenant, [], "Ask if they still need help", None, "ru")
    assert "The customer's language is Russian: always answer in Russian" in prompt[0]["content"]
    # Said again after the step's instruction, which the team may write in English.
    assert prompt[-1]["content"].endswith(prompts.language_rule("ru"))
    assert prompts.language_rule(None) == prompts.language_rule("xx") == ""


def test_the_email_is_spelled_back_in_the_visitors_language(app):
    with app.test_request_context(), force_locale("de"):
        assert voice.spell_email("ann.lee@my-site.de") == (
            "a-n-n Punkt l-e-e at my Bindestrich site Punkt de"
        )
        state = CaptureState(name="Ann", email="ann@x.de", reason="Angebot")
        assert VOICE.summary(state).startswith("Ich fasse zusammen: Name Ann, E-Mail a-n-n at")
    with app.test_request_context(), force_locale("es"):
        assert voice.spell_email("a_b@c.es") == "a guion bajo b arroba c punto es"


def test_the_business_chooses_its_default_language(app, tenant):
    values = {"name": "Acme Inc", "timezone": "UTC", "visitor_locale": "es"}
    tenant_settings.update_business(tenant.id, values)
    assert db.session.get(Tenant, tenant.id).visitor_locale == "es"
    with pytest.raises(ValidationFailed) as refused:
        tenant_settings.update_business(tenant.id, values | {"visitor_locale": "klingon"})
    assert (
        "Default language for visitors: choose one of English, Deutsch"
        in (refused.value.fields["visitor_locale"])
    )
    db.session.rollback()
    assert db.session.get(Tenant, tenant.id).visitor_locale == "es"
    # Not sent (an older form, the API): left as it is.
    tenant_settings.update_business(tenant.id, {"name": "Acme Inc", "timezone": "UTC"})
    assert db.session.get(Tenant, tenant.id).visitor_locale == "es"


def test_an_sms_capture_asks_and_understands_the_chats_language(app):
    chat = Chat(channel=Channel.SMS, locale="de")
    form = {"prefill": {"email": "anna@example.de", "name": "Anna"}, "summary": "Angebot"}
    with app.test_request_context(), in_language(chat.locale):
        question = capture.begin(chat, capture.SMS, form)
        assert question.startswith("Unter welcher Telefonnummer erreichen wir Sie?")
        assert capture.next_step(chat, "keine").say == ("Wobei soll unser Team Ihnen helfen?")
        summary = capture.next_step(chat, "Ein Angebot für 40 Tische").say
        assert summary.startswith("Bitte prüfen Sie Ihre Angaben:\nName: Anna\n")
        assert "Telefon: keine\n" in summary
        # "Telefon" names the detail to change; "JA" (as the summary asks) sends.
        assert capture.next_step(chat, "Die Telefonnummer bitte").say.startswith(
            "Unter welcher Telefonnummer"
        )
        capture.next_step(chat, "überspringen")
        done = capture.next_step(chat, "JA")
        assert done.submit == {
            "email": "anna@example.de",
            "name": "Anna",
            "phone": None,
            "reason": "Ein Angebot für 40 Tische",
        }


def test_the_login_email_and_page_speak_the_chats_language(app, client, tenant):
    followups.create_followup(
        tenant.id,
        {"name": "Marie", "email": "marie@example.fr", "reason": "Un devis"},
        source=Source.TEXT,
    )
    chat = chats.start_chat(
        tenant.widget_public_key, None, Visit(asked_locale=Language.FRENCH)
    ).chat
    with mail.record_messages() as outbox:
        code = customer_login.request_login_link(chat, "marie@example.fr")
    (email,) = outbox
    assert email.subject == "Votre lien de connexion pour Acme Inc"
    assert "Quelqu’un a demandé un lien de connexion à la discussion avec Acme Inc" in email.body  # noqa: RUF001
    link = re.search(r"http://localhost(/customer-login/\S+)", email.body).group(1)
    # The browser asks for German: the page follows the chat that asked for the link.
    page = client.get(link, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in page and "Se connecter à la discussion" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    wrong = client.post(link, data={"csrf_token": csrf, "code": "WRONG1"}).get_data(as_text=True)
    assert "Ce n’est pas le code affiché dans la fenêtre de discussion." in wrong  # noqa: RUF001
    assert "Il vous reste 4 essais." in wrong
    done = client.post(link, data={"csrf_token": csrf, "code": code}).get_data(as_text=True)
    assert "Vous êtes connecté" in done
    # The chat says so in its own language.
    assert chats.history(chat)[-1].content == "Connecté en tant que marie@example.fr."
    # A link nobody knows: the browser's language.
    unknown = client.get("/customer-login/nope", headers={"Accept-Language": "es"})
    assert unknown.status_code == 404
    assert "Este enlace de acceso no funciona" in unknown.get_data(as_text=True)
