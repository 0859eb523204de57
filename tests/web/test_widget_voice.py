"""Voice mode on our server: a recording transcribed (POST …/transcriptions), an AI reply
read aloud (GET …/messages/<id>/speech), the business's voice setting, and what the
widget page tells its script. The model server is the local fake (tests/fakes)."""

import io
import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from followup.extensions import db
from followup.models import Message, Role, Tenant, VoiceMode
from followup.services import staff_accounts, voice_audio
from tests.helpers.apps import text_of
from tests.helpers.staff import PASSWORD, as_a_new_request, logged_in_browser
from tests.helpers.widget_api import BASE, Session, bearer, start

SPOKEN_REPLIES_UNAVAILABLE = "Spoken replies aren't available here; replies appear as text."
WEBM = b"\x1aE\xdf\xa3" + b"\x00" * 2000  # a webm header, then what a recorder would write


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(client, tenant) -> Session:
    return start(client, tenant)


def send_recording(session: Session, data: bytes = WEBM, content_type: str = "audio/webm"):
    upload = {"audio": (io.BytesIO(data), "recording.webm", content_type)}
    return session.client.post(
        session.url("transcriptions"),
        data=upload,
        headers=bearer(session.token),
        content_type="multipart/form-data",
    )


def error_of(response) -> dict:
    assert response.content_type == "application/json"
    return response.get_json()["error"]


def message_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Message))


def greeting_id(session: Session) -> int:
    (greeting,) = session.get("messages").get_json()["messages"]
    assert greeting["role"] == Role.AGENT
    return greeting["id"]


def set_voice_mode(tenant, mode: VoiceMode) -> None:
    tenant.voice_mode = mode
    db.session.commit()


# --- transcriptions --------------------------------------------------------------------------


def test_a_recording_comes_back_as_the_text_the_model_heard(app, session, fake_llm):
    fake_llm.behaviour.heard = ["My email is ann dot lee at example dot com"]
    before = message_count()
    response = send_recording(session)
    assert response.status_code == 200
    assert response.get_json() == {"text": "My email is ann dot lee at example dot com"}
    (sent,) = fake_llm.audio_requests
    assert sent["path"] == "/v1/audio/transcriptions"
    assert sent["model"] == "whisper-1"
    assert sent["file"] == {"size": len(WEBM), "filename": "recording.webm", "type": "audio/webm"}
    # Only text comes back: the widget sends it as a voice message the usual way.
    assert message_count() == before


def test_the_transcription_model_is_configurable(app, session, fake_llm):
    app.config["OPENAI_TRANSCRIPTION_MODEL"] = "local-whisper"
    fake_llm.behaviour.heard = ["hello"]
    assert send_recording(session, content_type="audio/ogg").get_json() == {"text": "hello"}
    (sent,) = fake_llm.audio_requests
    assert sent["model"] == "local-whisper"
    assert sent["file"]["filename"] == "recording.ogg" and sent["file"]["type"] == "audio/ogg"


@pytest.mark.parametrize(
    ("content_type", "file_name"),
    [
        ("audio/webm;codecs=opus", "recording.webm"),
        ("audio/mp4", "recording.mp4"),
        ("audio/mpeg", "recording.mp3"),
        ("audio/x-wav", "recording.wav"),
    ],
)
def test_the_model_server_gets_a_file_name_that_tells_the_format(
    session, fake_llm, content_type, file_name
):
    assert send_recording(session, content_type=content_type).status_code == 200
    (sent,) = fake_llm.audio_requests
    assert sent["file"]["filename"] == file_name


def test_silence_is_an_empty_text_not_an_error(session, fake_llm):
    fake_llm.behaviour.heard = ["  \n "]
    response = send_recording(session)
    assert response.status_code == 200 and response.get_json() == {"text": ""}


def test_a_recording_needs_the_chats_own_session(client, tenant, session, fake_llm):
    no_token = client.post(
        session.url("transcriptions"),
        data={"audio": (io.BytesIO(WEBM), "r.webm", "audio/webm")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 401
    other = start(client, tenant)
    stranger = Session(client, session.chat_id, other.token)
    assert send_recording(stranger).status_code == 404
    assert fake_llm.audio_requests == []


@pytest.mark.parametrize(
    ("data", "content_type", "said"),
    [
        (b"", "audio/webm", "Recording: nothing was recorded. Try again."),
        (
            b"\0" * (voice_audio.MAX_AUDIO_BYTES + 1),
            "audio/webm",
            "Recording: keep it under 60 seconds (2 MB).",
        ),
        (b"<html>", "text/html", "Recording: send it as an audio file"),
    ],
    ids=["empty", "too-long", "not-audio"],
)
def test_bad_recordings_are_refused_in_our_words(session, fake_llm, data, content_type, said):
    response = send_recording(session, data, content_type)
    assert response.status_code == 422
    error = error_of(response)
    assert error["fields"]["audio"].startswith(said)
    assert fake_llm.audio_requests == []


def test_a_visitor_reads_the_refusals_in_the_chats_language(client, tenant, fake_llm):
    opened = client.post(f"{BASE}/{tenant.widget_public_key}/sessions", json={"locale": "de"})
    german = Session(client, opened.get_json()["chat_id"], opened.get_json()["session_token"])
    refused = error_of(send_recording(german, b""))
    assert refused["fields"]["audio"] == (
        "Aufnahme: es wurde nichts aufgenommen. Versuchen Sie es noch einmal."
    )
    fake_llm.behaviour.fail_status = 500
    failed = error_of(send_recording(german))
    assert failed["message"].startswith("Ihre Aufnahme konnte gerade nicht in Text")


def test_a_body_far_over_the_limit_is_413_unread(session, fake_llm):
    response = send_recording(session, b"\0" * (3 * voice_audio.MAX_AUDIO_BYTES))
    assert response.status_code == 413
    assert fake_llm.audio_requests == []


def test_a_form_without_the_audio_field_says_what_to_send(session, fake_llm):
    response = session.client.post(
        session.url("transcriptions"),
        data={"sound": (io.BytesIO(WEBM), "r.webm", "audio/webm")},
        headers=bearer(session.token),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert error_of(response)["fields"] == {
        "audio": "Recording: send it as the multipart form field 'audio'."
    }


def test_the_model_failing_is_a_clear_503_and_nothing_is_saved(session, fake_llm, caplog):
    fake_llm.behaviour.fail_status = 500
    before = message_count()
    with caplog.at_level(logging.WARNING):
        response = send_recording(session)
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "transcription_unavailable"
    assert error["message"] == (
        "Sorry, your recording could not be turned into text just now. "
        "Please try again, or type your message."
    )
    assert message_count() == before
    assert "HTTP 500" in caplog.text  # why, for the operator


def test_without_a_model_server_the_recording_is_refused_the_same_way(app, session, fake_llm):
    app.config["OPENAI_BASE_URL"] = app.config["OPENAI_API_KEY"] = None
    response = send_recording(session)
    assert response.status_code == 503
    assert error_of(response)["code"] == "transcription_unavailable"


def test_browser_only_voice_refuses_recordings(tenant, session, fake_llm):
    set_voice_mode(tenant, VoiceMode.BROWSER)
    response = send_recording(session)
    assert response.status_code == 409
    assert error_of(response)["code"] == "voice_on_server_off"
    assert fake_llm.audio_requests == []


@pytest.mark.parametrize("scope", ["SESSION", "IP"])
def test_recordings_are_rate_limited_per_session_and_ip(app, client, tenant, fake_llm, scope):
    app.config[f"WIDGET_TRANSCRIPTIONS_LIMIT_PER_{scope}"] = "2 per minute"
    first, second = start(client, tenant), start(client, tenant)
    assert [send_recording(first).status_code for _ in range(2)] == [200, 200]
    refused = send_recording(second if scope == "IP" else first)
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "too_many_requests"
    if scope == "SESSION":
        assert send_recording(second).status_code == 200  # another chat has its own budget


# --- speech ----------------------------------------------------------------------------------


def test_an_ai_reply_is_read_aloud_as_wav(app, session, fake_llm):
    app.config["OPENAI_SPEECH_VOICE"] = "nova"
    response = session.get(f"messages/{greeting_id(session)}/speech")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.data[:4] == b"RIFF" and response.data[8:12] == b"WAVE"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    (asked,) = fake_llm.audio_requests
    assert asked["path"] == "/v1/audio/speech"
    assert (asked["model"], asked["voice"], asked["response_format"]) == ("tts-1", "nova", "wav")
    assert asked["input"] == "Hi! I'm Alex from Acme Inc. How can I help you today?"


def test_only_the_chats_own_ai_replies_are_read_aloud(client, tenant, session, fake_llm):
    session.say("hello there")
    mine = session.get("messages").get_json()["messages"]
    customer_text = next(m for m in mine if m["role"] == "client")
    other = start(client, tenant)
    other_reply = greeting_id(other)
    for message_id in (customer_text["id"], other_reply, 999_999):
        response = session.get(f"messages/{message_id}/speech")
        assert response.status_code == 404
        assert error_of(response)["message"] == "This chat has no such reply to read aloud."
    assert fake_llm.audio_requests == []


def test_speech_needs_the_session(client, session, fake_llm):
    response = client.get(session.url(f"messages/{greeting_id(session)}/speech"))
    assert response.status_code == 401
    assert fake_llm.audio_requests == []


@pytest.mark.parametrize("status", [404, 500])
def test_no_speech_model_says_spoken_replies_are_not_available(session, fake_llm, status):
    fake_llm.behaviour.speech_status = status
    response = session.get(f"messages/{greeting_id(session)}/speech")
    assert response.status_code == 503
    error = error_of(response)
    assert (error["code"], error["message"]) == ("speech_unavailable", SPOKEN_REPLIES_UNAVAILABLE)


def test_browser_only_voice_reads_nothing_aloud_on_the_server(tenant, session, fake_llm):
    set_voice_mode(tenant, VoiceMode.BROWSER)
    response = session.get(f"messages/{greeting_id(session)}/speech")
    assert response.status_code == 409
    assert fake_llm.audio_requests == []


def test_speech_is_rate_limited_per_session(app, session, fake_llm):
    app.config["WIDGET_SPEECH_LIMIT_PER_SESSION"] = "1 per minute"
    url = f"messages/{greeting_id(session)}/speech"
    assert session.get(url).status_code == 200
    assert session.get(url).status_code == 429


# --- the widget page -------------------------------------------------------------------------


def test_the_page_tells_its_script_the_voice_mode_and_allows_blob_audio(client, tenant):
    set_voice_mode(tenant, VoiceMode.SERVER)
    response = client.get(f"/w/{tenant.widget_public_key}")
    page = text_of(response)
    assert 'data-voice-mode="server"' in page
    assert 'data-voice-api="/api/widget/v1/chats"' in page
    assert 'data-voice-server="true"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "media-src 'self' blob:;" in policy
    assert "default-src 'self';" in policy and "script-src 'self';" in policy


def test_without_a_model_server_the_page_offers_no_server_voice(app, client, tenant):
    app.config["OPENAI_BASE_URL"] = app.config["OPENAI_API_KEY"] = None
    page = text_of(client.get(f"/w/{tenant.widget_public_key}"))
    assert 'data-voice-mode="automatic"' in page and 'data-voice-server="false"' in page


# --- Settings → Website widget → Voice ------------------------------------------------------


SETTINGS = "/admin/settings/voice"


def stored_voice_mode(tenant) -> str:
    db.session.expire_all()
    return db.session.get(Tenant, tenant.id).voice_mode


def test_settings_offer_the_three_modes_automatic_first(staff_browser, tenant):
    page = text_of(staff_browser.get("/admin/settings"))
    assert 'id="voice-settings"' in page
    modes = [m for m in ("automatic", "browser", "server") if f'<option value="{m}"' in page]
    assert modes == ["automatic", "browser", "server"]
    assert '<option value="automatic" selected>' in page


@pytest.mark.parametrize("mode", list(VoiceMode))
def test_the_owner_chooses_the_voice_mode(staff_browser, tenant, mode):
    response = staff_browser.post(SETTINGS, data={"voice_mode": mode}, htmx=True)
    assert response.status_code == 200
    body = text_of(response)
    assert "<html" not in body and "Saved." in body
    assert f'<option value="{mode}" selected>' in body
    assert stored_voice_mode(tenant) == mode


def test_an_unknown_mode_is_refused_and_changes_nothing(staff_browser, tenant):
    staff_browser.post(SETTINGS, data={"voice_mode": "server"}, htmx=True)
    response = staff_browser.post(SETTINGS, data={"voice_mode": "telepathy"}, htmx=True)
    assert response.status_code == 422
    assert "Speech recognition and spoken replies: choose one of the options." in text_of(response)
    assert stored_voice_mode(tenant) == "server"


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("agent", False)])
def test_admins_may_change_it_agents_may_not(app, tenant, staff, role, allowed):
    member = staff_accounts.create_staff_user(
        "acme", f"{role}@acme.example", PASSWORD, name=role.title(), role=role
    )
    as_a_new_request()
    browser = logged_in_browser(app, member.email)
    response = browser.post(SETTINGS, data={"voice_mode": "server"}, htmx=True)
    assert (response.status_code == 200) is allowed
    assert stored_voice_mode(tenant) == ("server" if allowed else "automatic")
