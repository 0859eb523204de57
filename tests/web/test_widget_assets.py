"""What a website visitor downloads for the widget: the loader within 3 KB and the chat
page within 40 KB gzipped, as served; versioned files kept for a year; gzip only
where no secret sits (issue 16, "Light")."""

import gzip

from followup.web.static_files import IMMUTABLE
from tests.helpers.html_tree import parse

LOADER_BUDGET = 3 * 1024
CHAT_PAGE_BUDGET = 40 * 1024
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends


# Flask-Compress leaves smaller bodies as they are (COMPRESS_MIN_SIZE): gzip would not
# make them smaller. The business's accent stylesheet is one.
UNCOMPRESSED_BELOW = 500


def served_bytes(client, url: str) -> int:
    """The body's size as sent to a browser that takes gzip (checked to be gzip)."""
    response = client.get(url, headers=GZIP)
    assert response.status_code == 200, url
    if len(response.data) < UNCOMPRESSED_BELOW:
        return len(response.data)
    assert response.headers["Content-Encoding"] == "gzip", url
    assert "Accept-Encoding" in response.headers["Vary"]
    gzip.decompress(response.data)  # a real gzip stream
    return len(response.data)


def chat_page_assets(client, tenant) -> list[str]:
    page = client.get(f"/w/{tenant.widget_public_key}").get_data(as_text=True)
    tree = parse(page)
    return [
        element.attrs.get("src") or element.attrs["href"]
        for element in tree.iter()
        if (element.tag == "script" and "src" in element.attrs)
        or (element.tag == "link" and element.attrs.get("rel") == "stylesheet")
    ]


def test_the_loader_is_at_most_3_kb_gzipped_as_served(client):
    size = served_bytes(client, "/widget.js")
    assert size <= LOADER_BUDGET, f"/widget.js is {size} bytes gzipped (budget {LOADER_BUDGET})"


def test_the_chat_page_with_its_css_and_scripts_is_at_most_40_kb_gzipped(client, tenant):
    assets = chat_page_assets(client, tenant)
    assert any("htmx" in url for url in assets) and any(
        url.endswith(".css") or ".css?" in url for url in assets
    )
    sizes = {url: served_bytes(client, url) for url in assets}
    sizes["page"] = served_bytes(client, f"/w/{tenant.widget_public_key}")
    total = sum(sizes.values())
    assert total <= CHAT_PAGE_BUDGET, f"the chat page is {total} bytes gzipped: {sizes}"


def test_the_chat_pages_files_are_versioned_and_kept_a_year_while_the_page_is_not(client, tenant):
    for url in chat_page_assets(client, tenant):
        # The accent's stylesheet is named by its colour: a new colour, a new URL.
        assert "?v=" in url or url.startswith("/w/accent/"), url
        assert client.get(url).headers["Cache-Control"] == IMMUTABLE, url
    page = client.get(f"/w/{tenant.widget_public_key}")
    assert page.headers["Cache-Control"] == "no-cache"


def test_a_stale_or_missing_version_is_not_kept_for_long(client):
    for url in ("/static/css/widget.css?v=0123456789abcdef", "/static/css/widget.css"):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", ""), url


def test_staff_pages_are_never_compressed(client):
    # Their CSRF token beside text a visitor chooses: compression would leak it (BREACH).
    response = client.get("/login", headers=GZIP)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "csrf" in response.get_data(as_text=True).lower()
