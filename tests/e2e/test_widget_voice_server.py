"""Voice mode through our server, in real Chromium: the browser records the visitor with
MediaRecorder from a fake microphone (it hears a test tone), the app sends the recording
to the fake model server, whose scripted transcript becomes the visitor's voice message;
the AI's reply is then read aloud through the speech endpoint and played, or, where no
speech model answers, the widget says once that replies appear as text.

Headless Chromium has webkitSpeechRecognition, but it cannot work offline: these tests
use the business's "server only" setting, and the automatic one with the API removed.
"""

import pytest
from playwright.sync_api import FrameLocator, expect

from tests.helpers.browser import FAKE_MEDIA_ARGS, screenshot
from tests.helpers.embedded_widget import host_page, open_widget, set_voice_mode

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize("chromium", [FAKE_MEDIA_ARGS], indirect=True),
]

HEARD = "Do you make oak tables to measure?"
REPLY = f"You said: {HEARD}"
NO_SPOKEN_REPLIES = "Spoken replies aren't available here; replies appear as text."
RECORDING = "Recording… Press the microphone again to send it, or Escape to stop."
NO_SPEECH_API = "delete window.webkitSpeechRecognition; delete window.SpeechRecognition;"
# A browser with neither speech recognition nor speech synthesis (Firefox on Linux, say).
NO_SPEECH_APIS = NO_SPEECH_API + " delete window.speechSynthesis;"

# Notes how each <audio> play() ended: the reply's WAV must really play (and its blob:
# URL pass the page's CSP).
PLAYS_NOTED = """
window.__played = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const playing = play.call(this);
  this.addEventListener("ended", () => window.__played.push("ended"));
  playing.then(() => window.__played.push("playing"), (e) => window.__played.push(e.name));
  return playing;
};
"""


def say_into_the_mic(chat: FrameLocator) -> None:
    """Press the microphone: it records (the fake microphone's tone); again: it sends."""
    mic = chat.get_by_role("button", name="Speak your message")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    expect(chat.locator("#voice-status")).to_have_text(RECORDING)
    mic.click()


def speech_requests(fake_model) -> list[dict]:
    return [r for r in fake_model.audio_requests if r["path"].endswith("/audio/speech")]


def test_server_mode_records_transcribes_answers_and_speaks(
    browser_page, shop, host_site, widget_app_server, fake_model
):
    page = browser_page
    set_voice_mode(widget_app_server, "server")
    fake_model.behaviour.heard = [HEARD]
    page.context.add_init_script(PLAYS_NOTED)
    chat = open_widget(page, host_site.publish("/voice-server", host_page(shop, None)))

    with page.expect_response(lambda response: response.url.endswith("/speech")) as speech:
        say_into_the_mic(chat)
        visitor = chat.locator("#messages .msg-client.msg-voice .bubble-text")
        expect(visitor).to_have_text([HEARD])
        expect(chat.locator("#messages .msg-agent .bubble-text").last).to_have_text(REPLY)
    assert speech.value.status == 200
    assert speech.value.header_value("Content-Type") == "audio/wav"
    (upload,) = [r for r in fake_model.audio_requests if r["path"].endswith("/transcriptions")]
    assert upload["model"] == "whisper-1"
    assert upload["file"]["type"].startswith("audio/") and upload["file"]["size"] > 0
    assert [r["input"] for r in speech_requests(fake_model)] == [REPLY]
    # Played to its end, the dialogue goes on: the widget records the next answer.
    expect(chat.locator("#voice-status")).to_have_text(RECORDING)
    screenshot(page, "widget-voice-server-recording")
    chat_frame = next(frame for frame in page.frames if "/w/" in frame.url)
    assert chat_frame.evaluate("window.__played") == ["playing", "ended"]
    expect(chat.locator("#voice-no-speech")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(chat.get_by_role("button", name="Speak your message")).to_have_attribute(
        "aria-pressed", "false"
    )


@pytest.mark.allow_console_errors("status of 503", "HTTP 503 for the fetch")
def test_without_a_speech_model_the_widget_says_so_once_and_goes_on_in_text(
    browser_page, shop, host_site, widget_app_server, fake_model
):
    page = browser_page
    # Automatic, in a browser without speech APIs: the server hears and would speak.
    set_voice_mode(widget_app_server, "automatic")
    page.context.add_init_script(NO_SPEECH_APIS)
    fake_model.behaviour.heard = [HEARD, "And walnut chairs?"]
    fake_model.behaviour.speech_status = 404
    chat = open_widget(page, host_site.publish("/voice-no-speech", host_page(shop, None)))

    say_into_the_mic(chat)
    expect(chat.locator("#messages .msg-agent .bubble-text").last).to_have_text(REPLY)
    notice = chat.locator("#voice-no-speech")
    expect(notice).to_have_text(NO_SPOKEN_REPLIES)
    expect(chat.locator("#voice-status")).to_have_text(RECORDING)  # voice input goes on
    screenshot(page, "widget-voice-no-spoken-replies")

    chat.get_by_role("button", name="Speak your message").click()  # send the second answer
    expect(chat.locator("#messages .msg-agent .bubble-text").last).to_have_text(
        "You said: And walnut chairs?"
    )
    # Said once: not again, and speech is not asked for again.
    expect(notice).to_have_count(0)
    assert len(speech_requests(fake_model)) == 1
    page.keyboard.press("Escape")
