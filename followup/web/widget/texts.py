"""The texts widget-chat.js shows itself (no server answer to render them): the page
hands them over translated, as JSON in `data-texts` on #widget. The voice keys are the
script's own names for them."""

from flask_babel import gettext

from followup.services.voice_audio import SPOKEN_REPLIES_UNAVAILABLE


def script_texts() -> dict[str, str]:
    return {
        "connectProblem": gettext(
            "Sorry, the chat could not connect. Check your connection and try again."
        ),
        "tryAgain": gettext("Try again"),
        "listening": gettext("Listening… Press Escape to stop."),
        "recording": gettext(
            "Recording… Press the microphone again to send it, or Escape to stop."
        ),
        "transcribing": gettext("Turning your voice into text…"),
        "speaking": gettext("Speaking…"),
        "waiting": gettext("Waiting for the reply…"),
        "notHeard": gettext("Sorry, I didn't catch that. Press the microphone to try again."),
        "couldNotStart": gettext("Voice input could not start."),
        "blocked": gettext("Microphone access is blocked."),
        "noMicrophone": gettext("No microphone was found."),
        "stopped": gettext("Voice input stopped. You can type instead."),
        "notSent": gettext(
            "Sorry, your recording could not be sent. Please try again, or type your message."
        ),
        "noSpokenReplies": gettext(SPOKEN_REPLIES_UNAVAILABLE),
    }
