"""The widget shows the business's look: its accent (a stylesheet of our own, the page's
CSP allows no inline style), header picture, AI employee's name, greeting and offline
message; the loader reads the accent and the launcher's side from the config."""

import re

import pytest

from followup.extensions import db
from followup.services import widget_look
from tests.helpers.apps import text_of
from tests.helpers.pictures import png
from tests.helpers.widget import Visitor

LOOK = {
    "accent": "#0b6e4f",
    "position": "left",
    "agent_name": "Robin",
    "greeting": "Welcome to Acme! Ask me anything about your order.",
    "offline_message": "We're away: leave a message and we'll answer by 9 am.",
}


def page_of(client, tenant) -> str:
    return text_of(client.get(f"/w/{tenant.widget_public_key}"))


def stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)


def presence_line(page: str) -> str:
    found = re.search(r'<p class="presence" id="presence">(.*?)</p>', page, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&#39;", "'").strip()


def test_the_default_look_is_the_widget_blue(client, tenant):
    page = page_of(client, tenant)
    assert stylesheets(page)[-1] == "/w/accent/3451d1.css"
    assert 'class="avatar" aria-hidden="true">A</span>' in page  # the business's initial
    assert presence_line(page) == "Alex, the AI assistant, replies in seconds"


def test_the_page_shows_the_saved_look(client, tenant):
    picture = png()
    widget_look.update_look(tenant.id, LOOK, picture)
    page = page_of(client, tenant)
    assert stylesheets(page)[-1] == "/w/accent/0b6e4f.css"
    src = f"/w/{tenant.widget_public_key}/avatar/{widget_look.picture_digest(picture)}"
    assert f'<img class="avatar avatar-picture" alt="" src="{src}">' in page
    assert presence_line(page) == "Robin, the AI assistant, replies in seconds"
    # The page's policy still forbids inline styles: the accent comes as a file.
    policy = client.get(f"/w/{tenant.widget_public_key}").headers["Content-Security-Policy"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy


def test_the_chat_opens_with_the_greeting(client, tenant):
    widget_look.update_look(tenant.id, LOOK)
    html = text_of(Visitor(client, tenant).start())
    assert "Welcome to Acme! Ask me anything about your order." in html
    assert "How can I help you today?" not in html


@pytest.mark.parametrize("followups_enabled", [True, False], ids=["followups-on", "followups-off"])
def test_without_a_model_the_header_shows_the_offline_message(
    app, client, tenant, followups_enabled
):
    app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    tenant.followups_enabled = followups_enabled
    db.session.commit()
    widget_look.update_look(tenant.id, LOOK)
    page = page_of(client, tenant)
    assert presence_line(page) == LOOK["offline_message"]
    assert 'class="presence-dot is-away"' in page


def test_the_accent_stylesheet_is_made_from_the_colour_and_kept(client):
    response = client.get("/w/accent/0b6e4f.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    shades = widget_look.accent_shades("#0b6e4f")
    css = text_of(response)
    assert "--accent: #0b6e4f;" in css
    assert f"--accent-dark: {shades['accent_dark']};" in css
    assert f"--accent-soft: {shades['accent_soft']};" in css
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("digits", ["0B6E4F", "0b6e4", "0b6e4f0", "x;}body{", "0b6e4g"])
def test_an_accent_stylesheet_of_no_colour_is_a_404(client, digits):
    assert client.get(f"/w/accent/{digits}.css").status_code == 404


def test_accent_stylesheets_are_rate_limited_per_address(app, client):
    app.config["WIDGET_READS_LIMIT_PER_IP"] = "2 per minute"
    assert [client.get(f"/w/accent/{d}.css").status_code for d in ("111111", "222222")] == [
        200,
        200,
    ]
    assert client.get("/w/accent/333333.css").status_code == 429


def test_the_header_picture_is_served_from_our_origin_and_kept(client, tenant):
    picture = png((10, 120, 60))
    widget_look.update_look(tenant.id, LOOK, picture)
    url = f"/w/{tenant.widget_public_key}/avatar/{widget_look.picture_digest(picture)}"
    response = client.get(url)
    assert response.status_code == 200 and response.data == picture
    assert response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # A new picture, a new address: the old one is gone.
    widget_look.update_look(tenant.id, LOOK, png((200, 0, 0)))
    assert client.get(url).status_code == 404


def test_another_business_key_does_not_serve_the_picture(client, tenant, other_tenant):
    picture = png()
    widget_look.update_look(tenant.id, LOOK, picture)
    digest = widget_look.picture_digest(picture)
    assert client.get(f"/w/{other_tenant.widget_public_key}/avatar/{digest}").status_code == 404


def test_the_loader_reads_the_accent_and_side_from_the_config(client, tenant):
    widget_look.update_look(tenant.id, LOOK)
    config = client.get(f"/api/widget/v1/{tenant.widget_public_key}/config").get_json()
    assert config["look"] == {"accent": "#0b6e4f", "position": "left"}
    assert config["agent_name"] == "Robin"
