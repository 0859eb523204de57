"""Settings → Website widget → Look: saving the look (all or nothing, in our words), who
may, and the live preview beside the form (the widget's own page with unsaved values)."""

import html
import io
import re

import pytest

from followup.extensions import db
from followup.models import WidgetLook
from followup.services import chats, staff_accounts, widget_look
from tests.helpers.apps import text_of
from tests.helpers.pictures import SVG, png
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request, logged_in_browser
from tests.helpers.templates import assert_rendered

PATH = "/admin/settings/look"
PREVIEW = "/admin/settings/look/preview"
LOOK = {
    "accent": "#0b6e4f",
    "position": "left",
    "agent_name": "Robin",
    "greeting": "Welcome to Acme! Ask me anything about your order.",
    "offline_message": "We're away: leave a message and we'll answer by 9 am.",
}
TOO_LIGHT = (
    "Accent colour: this colour is too light for white text on it (contrast 1.0:1; needs "
    "4.5:1). Pick a darker shade."
)


def saved_look(tenant) -> WidgetLook | None:
    db.session.expire_all()
    return db.session.get(WidgetLook, tenant.id)


def with_picture(data: dict, picture: bytes, name: str = "logo.png") -> dict:
    return data | {"avatar": (io.BytesIO(picture), name)}


def member_browser(app, role: str) -> StaffBrowser:
    member = staff_accounts.create_staff_user(
        "acme", f"{role}@acme.example", PASSWORD, name=role.title(), role=role
    )
    as_a_new_request()
    return logged_in_browser(app, member.email)


def srcdoc_of(body: str) -> str:
    found = re.search(r'srcdoc="([^"]*)"', body)
    assert found, body
    return html.unescape(found.group(1))


# --- the form --------------------------------------------------------------------------------


def test_the_settings_page_shows_the_form_and_the_saved_look_in_a_frame(staff_browser, tenant):
    body = text_of(staff_browser.get("/admin/settings"))
    assert 'id="look-title">Look</h3>' in body
    assert 'type="color" id="accent" name="accent" value="#3451d1"' in body
    assert re.search(r'name="position" value="right" checked', body)
    assert 'id="agent_name" name="agent_name" value="Alex"' in body
    # The preview frame loads the saved look from its own address, and runs no script.
    assert 'sandbox="allow-same-origin"' in body and f'src="{PREVIEW}"' in body
    # A model answers here: the preview can show the header as it reads when none does.
    assert 'name="preview_offline"' in body


def test_without_a_model_there_is_no_offline_switch_to_preview(app, staff_browser, tenant):
    """The header reads offline already, with the offline message once there is one."""
    app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    assert 'name="preview_offline"' not in text_of(staff_browser.get("/admin/settings"))


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "page"])
def test_saving_the_look(staff_browser, tenant, htmx):
    picture = png()
    response = staff_browser.post(
        PATH, data=with_picture(LOOK, picture), htmx=htmx, content_type="multipart/form-data"
    )
    if htmx:
        body = text_of(response)
        assert response.status_code == 200 and "<html" not in body
        assert "Look saved: the widget on your website shows it now." in body
        assert 'value="#0b6e4f"' in body and 'alt="The current header picture"' in body
    else:
        assert response.status_code == 303
    saved = saved_look(tenant)
    assert (saved.accent, saved.position, saved.greeting, saved.offline_message) == (
        "#0b6e4f",
        "left",
        LOOK["greeting"],
        LOOK["offline_message"],
    )
    assert saved.avatar == picture and chats.web_widget_agent_name(tenant) == "Robin"


def test_a_refused_save_changes_nothing_and_says_why(staff_browser, tenant):
    widget_look.update_look(tenant.id, LOOK, png())
    bad = with_picture(LOOK | {"accent": "#ffff00", "agent_name": "Sam"}, SVG, "logo.svg")
    response = staff_browser.post(PATH, data=bad, htmx=True, content_type="multipart/form-data")
    body = text_of(response)
    assert response.status_code == 422
    assert "Nothing was saved: correct the fields marked below." in body
    assert html.escape(TOO_LIGHT) in body
    assert "Header picture: SVG pictures can carry scripts" in body
    # What was typed stays in the form.
    assert 'value="#ffff00"' in body and 'value="Sam"' in body
    saved = saved_look(tenant)
    assert saved.accent == "#0b6e4f" and saved.avatar_type == "image/png"
    assert chats.web_widget_agent_name(tenant) == "Robin"


def test_a_big_picture_is_refused_by_its_size(staff_browser, tenant):
    big = png() + b"\x00" * (3 * 1024 * 1024)  # a phone photo's size
    response = staff_browser.post(
        PATH, data=with_picture(LOOK, big), htmx=True, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Header picture: keep it to 200 KB or less: save it smaller, or as WebP." in text_of(
        response
    )
    assert saved_look(tenant) is None


def test_an_admin_may_change_the_look(app, staff, tenant):
    response = member_browser(app, "admin").post(PATH, data=LOOK, htmx=True)
    assert response.status_code == 200
    assert saved_look(tenant).accent == "#0b6e4f"


def test_an_agent_may_not(app, staff, tenant):
    browser = member_browser(app, "agent")
    assert browser.post(PATH, data=LOOK, htmx=True).status_code == 403
    assert browser.post(PREVIEW, data=LOOK, htmx=True).status_code == 403
    assert browser.get(PREVIEW).status_code == 403
    assert saved_look(tenant) is None


@pytest.mark.parametrize("path", [PATH, PREVIEW])
def test_a_post_without_csrf_token_is_refused(staff_browser, tenant, path):
    response = staff_browser.post(path, data=LOOK, csrf=False, htmx=True)
    assert response.status_code == 400 and "security token" in text_of(response)
    assert saved_look(tenant) is None


@pytest.mark.parametrize("path", [PATH, PREVIEW])
def test_it_needs_a_login(browser, tenant, path):
    response = browser.client.post(path, data=LOOK)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- the preview -----------------------------------------------------------------------------


def test_the_preview_page_is_the_widget_with_the_saved_look(staff_browser, tenant):
    widget_look.update_look(tenant.id, LOOK)
    with assert_rendered(staff_browser, "widget/page.html"):
        response = staff_browser.get(PREVIEW)
    page = text_of(response)
    assert page.startswith('<!doctype html>\n<html lang="en">')  # the admin's language
    assert '<link rel="stylesheet" href="/w/accent/0b6e4f.css">' in page
    assert LOOK["greeting"] in page.replace("&#39;", "'")
    assert "<script" not in page  # a picture of the chat: it starts none
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_the_preview_shows_unsaved_values_and_saves_nothing(staff_browser, tenant):
    picture = png((10, 120, 60))
    data = with_picture(LOOK | {"preview_offline": "on"}, picture)
    response = staff_browser.post(PREVIEW, data=data, htmx=True, content_type="multipart/form-data")
    body = text_of(response)
    assert response.status_code == 200 and 'class="look-stage look-stage-left"' in body
    page = srcdoc_of(body)
    assert '<link rel="stylesheet" href="/w/accent/0b6e4f.css">' in page
    assert "Welcome to Acme! Ask me anything about your order." in html.unescape(page)
    # The offline message, as the header reads it when nobody answers at once.
    assert "We&#39;re away: leave a message and we&#39;ll answer by 9 am." in page
    assert 'src="data:image/png;base64,' in page  # the chosen picture, not saved yet
    assert "<script" not in page
    assert saved_look(tenant) is None and chats.web_widget_agent_name(tenant) == "Alex"


def test_the_preview_of_refused_values_keeps_the_saved_look_and_says_why(staff_browser, tenant):
    widget_look.update_look(tenant.id, LOOK)
    response = staff_browser.post(PREVIEW, data=LOOK | {"accent": "#ffff00"}, htmx=True)
    body = text_of(response)
    assert response.status_code == 200
    assert "The preview shows the saved look until this is corrected:" in body
    assert html.escape(TOO_LIGHT) in body
    assert '<link rel="stylesheet" href="/w/accent/0b6e4f.css">' in srcdoc_of(body)
