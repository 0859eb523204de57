"""The model server's audio endpoints, through the OpenAI SDK: a recording turned into
text (`audio/transcriptions`) and a reply turned into speech (`audio/speech`).

Like the chat, every failure (not configured, no such model, down, slow) surfaces as
`LLMUnavailable`, with why for the log and never the audio or the text.
"""

import openai
from flask import current_app

from followup.llm.client import LLMUnavailable, client, why_not

# WAV plays in every browser's <audio> and every OpenAI-compatible speech server makes it.
SPEECH_FORMAT = "wav"
SPEECH_CONTENT_TYPE = "audio/wav"
# The longest text the speech endpoint reads (OpenAI's limit).
MAX_SPEECH_CHARS = 4096


def transcribe(audio: bytes, filename: str, content_type: str) -> str:
    """What was said in this recording."""
    config = current_app.config
    try:
        transcription = client().audio.transcriptions.create(
            model=config["OPENAI_TRANSCRIPTION_MODEL"], file=(filename, audio, content_type)
        )
    except openai.OpenAIError as exc:
        raise LLMUnavailable(why_not(exc)) from exc
    return transcription.text or ""


def speech(text: str) -> bytes:
    """This text read aloud, as a WAV file."""
    config = current_app.config
    try:
        spoken = client().audio.speech.create(
            model=config["OPENAI_SPEECH_MODEL"],
            voice=config["OPENAI_SPEECH_VOICE"],
            input=text[:MAX_SPEECH_CHARS],
            response_format=SPEECH_FORMAT,
        )
    except openai.OpenAIError as exc:
        raise LLMUnavailable(why_not(exc)) from exc
    return spoken.content
