"""The capture's progress keeps the JSON shape stored in `Chat.followup_capture`."""

from followup.services.capture import CaptureState

BEGUN = {
    "email": "ann@example.com",
    "name": None,
    "phone": None,
    "reason": None,
    "style": "sms",
    "summary": None,
    "priority": "high",
    "step": "name",
}


def test_a_stored_capture_reads_and_writes_back_the_same_json():
    assert CaptureState.from_json(BEGUN).to_json() == BEGUN
    later = BEGUN | {"email_confirmed": False, "phone_asked": True}
    assert CaptureState.from_json(later).to_json() == later


def test_a_capture_begun_before_sms_keeps_having_no_style():
    by_voice = {key: value for key, value in BEGUN.items() if key != "style"}
    state = CaptureState.from_json(by_voice)
    assert state.style is None
    assert state.to_json() == by_voice
