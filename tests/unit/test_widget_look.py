"""The widget's look: the contrast rule for the accent (WCAG 2.x), the header picture's
type and size, and saving (all or nothing)."""

import pytest

from followup.errors import NotFound, ValidationFailed
from followup.extensions import db
from followup.models import Agent, WidgetLook
from followup.services import chats, widget_look
from tests.helpers.pictures import GIF, JPEG_START, SVG, WEBP, png

LOOK = {
    "accent": "#0b6e4f",
    "position": "left",
    "agent_name": "Robin",
    "greeting": "Welcome to Acme! Ask me anything about your order.",
    "offline_message": "We're away right now: leave a message and we'll answer by 9 am.",
}

# --- the contrast rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "ratio"),
    [
        # Published reference values: #767676 is the lightest grey that passes on white.
        ("#767676", 4.54),
        ("#777777", 4.48),
        ("#ffff00", 1.07),
        ("#000000", 21.0),
        ("#ffffff", 1.0),
        ("#3451d1", 6.47),
    ],
)
def test_contrast_ratio_with_white_follows_wcag(colour, ratio):
    assert widget_look.contrast_ratio("#ffffff", colour) == pytest.approx(ratio, abs=0.005)
    assert widget_look.contrast_ratio(colour, "#ffffff") == pytest.approx(ratio, abs=0.005)


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("#3451d1", "#3451d1"),
        ("#3451D1", "#3451d1"),
        ("3451d1", "#3451d1"),
        ("#000", "#000000"),
        (" #767676 ", "#767676"),
    ],
)
def test_a_dark_enough_accent_passes(typed, saved):
    assert widget_look.parse_accent(typed) == saved


@pytest.mark.parametrize(
    ("colour", "shown"),
    [("#ffff00", "1.0"), ("#777777", "4.4"), ("#7fb2ff", "2.1")],
)
def test_a_light_accent_is_refused_in_our_words(colour, shown):
    with pytest.raises(ValueError) as refused:
        widget_look.parse_accent(colour)
    # Rounded down: 4.48 must not read as the 4.5 it falls short of.
    assert str(refused.value) == (
        f"this colour is too light for white text on it (contrast {shown}:1; needs 4.5:1). "
        "Pick a darker shade."
    )


@pytest.mark.parametrize("typed", ["", "blue", "#12345", "#1234567", "#ggg000", "rgb(0,0,0)", None])
def test_a_colour_that_is_no_colour_is_refused(typed):
    with pytest.raises(ValueError, match=r"use a colour like #3451d1"):
        widget_look.parse_accent(typed)


@pytest.mark.parametrize("accent", ["#767676", "#3451d1", "#0b6e4f", "#b42318", "#000000"])
def test_the_shades_keep_their_text_readable(accent):
    shades = widget_look.accent_shades(accent)
    # The darker shade is text on the soft one (the promise line, the Contacted badge).
    assert widget_look.contrast_ratio(shades["accent_dark"], shades["accent_soft"]) >= 4.5
    assert widget_look.contrast_ratio("#ffffff", shades["accent_dark"]) >= 4.5


# --- the picture -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(png(), "image/png"), (JPEG_START + b"\x00" * 64, "image/jpeg"), (WEBP, "image/webp")],
)
def test_png_jpeg_and_webp_are_taken_by_their_bytes(data, content_type):
    assert widget_look.check_picture(data) == content_type


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            SVG,
            "Header picture: SVG pictures can carry scripts, so we do not take them: save it "
            "as PNG, JPEG or WebP.",
        ),
        (
            b"  <svg xmlns='http://www.w3.org/2000/svg'/>",
            "Header picture: SVG pictures can "
            "carry scripts, so we do not take them: save it as PNG, JPEG or WebP.",
        ),
        (GIF, "Header picture: use a PNG, JPEG or WebP picture."),
        (
            b"<html><script>alert(1)</script></html>",
            "Header picture: use a PNG, JPEG or WebP picture.",
        ),
        (b"MZ\x90\x00 not a picture", "Header picture: use a PNG, JPEG or WebP picture."),
        (
            png() + b"\x00" * (200 * 1024),
            "Header picture: keep it to 200 KB or less: save it smaller, or as WebP.",
        ),
    ],
)
def test_other_files_are_refused_in_our_words(data, message):
    with pytest.raises(ValidationFailed) as refused:
        widget_look.check_picture(data)
    assert refused.value.fields == {"avatar": message}


def test_a_picture_of_exactly_the_limit_is_taken():
    picture = png()
    data = picture + b"\x00" * (widget_look.MAX_PICTURE_BYTES - len(picture))
    assert widget_look.check_picture(data) == "image/png"


# --- saving ----------------------------------------------------------------------------------


def test_a_business_without_a_look_has_the_default(tenant):
    look = widget_look.look_of(tenant.id)
    assert (look.accent, look.position, look.greeting, look.avatar_digest) == (
        "#3451d1",
        "right",
        None,
        None,
    )


def test_saving_the_look_names_the_widget_agent_and_keeps_the_picture(tenant):
    picture = png()
    widget_look.update_look(tenant.id, LOOK, picture)
    db.session.expire_all()
    saved = db.session.get(WidgetLook, tenant.id)
    assert (saved.accent, saved.position, saved.greeting, saved.offline_message) == (
        LOOK["accent"],
        LOOK["position"],
        LOOK["greeting"],
        LOOK["offline_message"],
    )
    assert (saved.avatar, saved.avatar_type) == (picture, "image/png")
    assert widget_look.avatar_of(tenant.widget_public_key, saved.avatar_digest) == (
        picture,
        "image/png",
    )
    assert chats.web_widget_agent_name(tenant) == "Robin"
    # Saved again without a file: the picture stays; with "remove": it goes.
    widget_look.update_look(tenant.id, LOOK | {"accent": "#000000"})
    assert widget_look.look_of(tenant.id).avatar_digest == saved.avatar_digest
    widget_look.update_look(tenant.id, LOOK, remove_picture=True)
    assert widget_look.look_of(tenant.id).avatar_digest is None


def test_the_greeting_opens_every_new_chat(tenant):
    widget_look.update_look(tenant.id, LOOK)
    chat = chats.start_chat(tenant.widget_public_key).chat
    first = chats.history(chat)[0]
    assert first.content == LOOK["greeting"] and chat.agent.name == "Robin"


def test_without_a_greeting_the_chat_greets_in_our_words(tenant):
    widget_look.update_look(tenant.id, LOOK | {"greeting": "  "})
    chat = chats.start_chat(tenant.widget_public_key).chat
    assert chats.history(chat)[0].content == (
        "Hi! I'm Robin from Acme Inc. How can I help you today?"
    )


def test_the_name_goes_to_the_employee_that_answers_the_website(tenant):
    first = Agent(tenant_id=tenant.id, name="Sam")
    web = Agent(tenant_id=tenant.id, name="Ava", serves_web_widget=True)
    db.session.add_all([first, web])
    db.session.commit()
    widget_look.update_look(tenant.id, LOOK)
    db.session.expire_all()
    assert (db.session.get(Agent, first.id).name, db.session.get(Agent, web.id).name) == (
        "Sam",
        "Robin",
    )


def test_a_refused_save_changes_nothing_and_names_every_problem(tenant):
    widget_look.update_look(tenant.id, LOOK, png())
    before = widget_look.look_of(tenant.id)
    bad = LOOK | {
        "accent": "#ffff00",
        "position": "top",
        "agent_name": "",
        "greeting": "x" * 501,
        "offline_message": "y" * 301,
    }
    with pytest.raises(ValidationFailed) as refused:
        widget_look.update_look(tenant.id, bad, SVG)
    assert refused.value.fields == {
        "accent": "Accent colour: this colour is too light for white text on it (contrast "
        "1.0:1; needs 4.5:1). Pick a darker shade.",
        "position": "Launcher position: choose bottom right or bottom left.",
        "agent_name": "AI employee's name: please fill this in.",
        "greeting": "Greeting: keep it to 500 characters or fewer (this has 501).",
        "offline_message": "Offline message: keep it to 300 characters or fewer (this has 301).",
        "avatar": "Header picture: SVG pictures can carry scripts, so we do not take them: "
        "save it as PNG, JPEG or WebP.",
    }
    db.session.expire_all()
    assert widget_look.look_of(tenant.id) == before
    assert chats.web_widget_agent_name(tenant) == "Robin"


def test_a_picture_of_another_digest_or_business_is_not_served(tenant, other_tenant):
    widget_look.update_look(tenant.id, LOOK, png())
    digest = widget_look.look_of(tenant.id).avatar_digest
    for key, asked in (
        (tenant.widget_public_key, "0" * 16),
        (other_tenant.widget_public_key, digest),
    ):
        with pytest.raises(NotFound, match="No such picture"):
            widget_look.avatar_of(key, asked)
