"""The texts widget-chat.js shows itself (no server answer to render them): the page
hands them over translated, as JSON in `data-texts` on #widget."""

from flask_babel import gettext


def script_texts() -> dict[str, str]:
    return {
        "connectProblem": gettext(
            "Sorry, the chat could not connect. Check your connection and try again."
        ),
        "tryAgain": gettext("Try again"),
        "voiceCouldNotStart": gettext("Voice input could not start."),
        "microphoneBlocked": gettext("Microphone access is blocked."),
        "noMicrophone": gettext("No microphone was found."),
        "voiceStopped": gettext("Voice input stopped. You can type instead."),
        "listening": gettext("Listening… Press Escape to stop."),
        "speaking": gettext("Speaking…"),
        "waitingForReply": gettext("Waiting for the reply…"),
    }
