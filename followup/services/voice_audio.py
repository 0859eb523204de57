"""Voice mode on our server, for browsers without speech APIs (or when the business
chooses it): a visitor's recording becomes text, and an AI reply becomes speech.

The text goes back to the widget, which sends it as a voice message the usual way, so
a transcript is a message like any recognized utterance (`chats.take_client_message`).
Only the chat's own AI replies are read aloud, never text sent in: the endpoint must
not become a free text-to-speech service. Nothing is stored here: a failure loses
nothing but the moment, and says so in our words.
"""

import logging

from flask_babel import gettext
from sqlalchemy import select

from followup.errors import DomainError, NotFound, ValidationFailed
from followup.extensions import db
from followup.llm import audio
from followup.llm.client import LLMUnavailable
from followup.locales import mark
from followup.models import Chat, Message, Role, Tenant, VoiceMode
from followup.services.validation import problem

log = logging.getLogger(__name__)

# About a minute of speech as browsers record it (Opus at 32-64 kbit/s), with room to spare.
MAX_AUDIO_BYTES = 2 * 1024 * 1024
MAX_RECORDING_S = 60  # the widget stops recording here (static/js/widget-chat.js)
RECORDING = mark("Recording")
SPEECH_CONTENT_TYPE = audio.SPEECH_CONTENT_TYPE
SPOKEN_REPLIES_UNAVAILABLE = mark("Spoken replies aren't available here; replies appear as text.")


class VoiceOnServerOff(DomainError):
    """The business chose the browser's own speech APIs only."""

    code = "voice_on_server_off"
    http_status = 409


class TranscriptionFailed(DomainError):
    code = "transcription_unavailable"
    http_status = 503


class SpeechUnavailable(DomainError):
    code = "speech_unavailable"
    http_status = 503


def _tenant_of(chat: Chat) -> Tenant:
    return db.session.get(Tenant, chat.tenant_id)


def _require_server_voice(chat: Chat, refusal: str) -> None:
    if _tenant_of(chat).voice_mode == VoiceMode.BROWSER:
        raise VoiceOnServerOff(refusal)


def checked_recording(data: bytes, content_type: str | None) -> None:
    """A recording we can send on: some audio, not too long."""
    if not data:
        raise ValidationFailed(
            {"audio": problem(RECORDING, mark("nothing was recorded. Try again."))}
        )
    if len(data) > MAX_AUDIO_BYTES:
        advice = gettext(
            "keep it under %(seconds)s seconds (%(megabytes)s MB).",
            seconds=MAX_RECORDING_S,
            megabytes=MAX_AUDIO_BYTES // 2**20,
        )
        raise ValidationFailed({"audio": problem(RECORDING, advice)})
    if not (content_type or "").startswith("audio/"):
        advice = mark("send it as an audio file (audio/webm, audio/ogg, audio/mp4, …).")
        raise ValidationFailed({"audio": problem(RECORDING, advice)})


# The model server tells the format by the file name: the usual one for each audio type.
_EXTENSIONS = {"mpeg": "mp3", "x-wav": "wav", "wave": "wav", "x-m4a": "m4a", "mp4a-latm": "m4a"}


def _file_name(content_type: str) -> str:
    subtype = content_type.split("/", 1)[1].split(";", 1)[0].strip() or "webm"
    return f"recording.{_EXTENSIONS.get(subtype, subtype)}"


def transcribe(chat: Chat, data: bytes, content_type: str | None) -> str:
    """What the visitor said in this recording ("" when nothing could be made out)."""
    _require_server_voice(
        chat, mark("Voice input goes through your browser here. Please type your message.")
    )
    checked_recording(data, content_type)
    try:
        text = audio.transcribe(data, _file_name(content_type), content_type)
    except LLMUnavailable as exc:
        log.warning("Transcription unavailable for chat %s: %s", chat.id, exc)
        raise TranscriptionFailed(
            mark(
                "Sorry, your recording could not be turned into text just now. "
                "Please try again, or type your message."
            )
        ) from exc
    return " ".join(text.split())


def speech_of_reply(chat: Chat, message_id: int) -> bytes:
    """One of this chat's AI replies, read aloud (a WAV file)."""
    _require_server_voice(chat, SPOKEN_REPLIES_UNAVAILABLE)
    reply = db.session.scalar(
        select(Message).where(
            Message.id == message_id, Message.chat_id == chat.id, Message.role == Role.AGENT
        )
    )
    if reply is None or not reply.content.strip():
        raise NotFound(mark("This chat has no such reply to read aloud."))
    try:
        return audio.speech(reply.content)
    except LLMUnavailable as exc:
        log.warning("Speech unavailable for chat %s: %s", chat.id, exc)
        raise SpeechUnavailable(SPOKEN_REPLIES_UNAVAILABLE) from exc
