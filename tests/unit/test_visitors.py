"""What tells chats apart, as pure rules: the chat's code, and the page address, referrer,
language and device class a browser reports (bad values are dropped, never refused)."""

import pytest

from followup.models import VISITOR_CODE_ALPHABET, DeviceClass, new_visitor_code
from followup.services.validation import international_phone
from followup.services.visitors import Visit, browser_language, device_class, web_address

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
KINDLE = (
    "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/124.2.1 like Chrome/124.0.6367.179 Safari/537.36"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
# An address of the longest length kept, 2000 characters.
LONGEST = "https://shop.example/" + "a" * (2000 - len("https://shop.example/"))
OLD_TABLET_PC = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Tablet PC 2.0)"


def test_codes_are_four_characters_that_cannot_be_misread():
    code = new_visitor_code()
    assert len(code) == 4 and set(code) <= set(VISITOR_CODE_ALPHABET)
    assert not set("ILOU") & set(VISITOR_CODE_ALPHABET)


def test_codes_rarely_repeat():
    """About a million codes: among a thousand chats, a repeat or two at most."""
    codes = [new_visitor_code() for _ in range(1000)]
    assert len(set(codes)) >= 995


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE, DeviceClass.MOBILE),
        (ANDROID_PHONE, DeviceClass.MOBILE),
        (ANDROID_TABLET, DeviceClass.TABLET),
        (FIREFOX_ANDROID_TABLET, DeviceClass.TABLET),
        (IPAD, DeviceClass.TABLET),
        (KINDLE, DeviceClass.TABLET),
        (WINDOWS_CHROME, DeviceClass.DESKTOP),
        (MAC_SAFARI, DeviceClass.DESKTOP),
        (OLD_TABLET_PC, DeviceClass.DESKTOP),
        ("python-requests/2.32", None),  # a server using the API: no browser, no device
        ("", None),
        (None, None),
    ],
)
def test_device_class_from_the_user_agent(user_agent, expected):
    assert device_class(user_agent) == expected


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        ("https://shop.example/pricing", "https://shop.example/pricing"),
        ("  http://localhost:8000/  ", "http://localhost:8000/"),
        ("HTTPS://Shop.Example/a", "https://Shop.Example/a"),
        # Only the origin and path: a query can carry a reset token or an email, and a
        # fragment a sign-in token (OAuth's implicit flow). Staff see what is kept.
        (
            "https://shop.example/reset?token=s3cret&email=ann%40mail.example",
            "https://shop.example/reset",
        ),
        ("https://shop.example/cb#access_token=secret", "https://shop.example/cb"),
        ("https://shop.example/a?q=1#top", "https://shop.example/a"),
        ("https://shop.example?ref=mail", "https://shop.example"),
        (LONGEST, LONGEST),
        (LONGEST + "a", None),
        (LONGEST + "?" + "q" * 5000, LONGEST),  # a long query alone loses only itself
        ("javascript:alert(1)", None),
        ("ftp://files.example/x", None),
        ("data:text/html,hi", None),
        ("https://", None),
        ("/pricing", None),
        ("https://user:pw@shop.example/", None),  # credentials are no page address
        ("https://shop.example/a b", None),
        ("https://shop.example/\nSet-Cookie: x", None),
        ("http://[::1/", None),
        ("", None),
        (None, None),
        (42, None),
        (["https://shop.example/"], None),
    ],
)
def test_web_addresses_are_http_and_bounded(reported, kept):
    assert web_address(reported) == kept


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        ("en", "en"),
        ("en-GB", "en-GB"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("fr-CA", "fr-CA"),
        ("english", None),
        ("en_GB", None),
        ("en-GB;q=0.9", None),
        ("<script>", None),
        ("a" * 36, None),
        ("", None),
        (7, None),
    ],
)
def test_languages_are_language_tags(reported, kept):
    assert browser_language(reported) == kept


def test_a_visit_keeps_what_is_good_and_drops_the_rest():
    visit = Visit.reported("https://shop.example/", "javascript:void(0)", "de-DE", IPHONE)
    assert visit == Visit("https://shop.example/", None, "de-DE", DeviceClass.MOBILE)
    assert Visit.reported(None, None, None, None) == Visit()


def test_phone_numbers_read_in_international_format():
    assert international_phone("+442071838750") == "+44 20 7183 8750"
    assert international_phone("+14155550177") == "+1 415-555-0177"
    assert international_phone("not a number") == "not a number"
