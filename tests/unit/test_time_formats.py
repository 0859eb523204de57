"""How times read on every page and in every API: ISO in UTC, local timestamps, "time ago"."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup.clock import iso_utc
from followup.web.templating import local_datetime, time_ago

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_iso_utc_is_utc_with_a_z_and_whole_seconds():
    berlin = datetime(2026, 3, 29, 3, 30, 59, 999_999, tzinfo=ZoneInfo("Europe/Berlin"))
    assert iso_utc(berlin) == "2026-03-29T01:30:59Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2026-01-02T08:04:05Z"
    )
    assert iso_utc(None) is None


@given(MOMENTS)
def test_iso_utc_reads_as_strftime_would(moment):
    assert iso_utc(moment) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_local_datetime_in_the_tenants_zone():
    moment = datetime(2026, 7, 4, 16, 5, tzinfo=UTC)
    assert local_datetime(moment, "Europe/Berlin") == "Jul 4, 2026 18:05 CEST"
    assert local_datetime(moment, "America/New_York") == "Jul 4, 2026 12:05 EDT"
    assert local_datetime(None, "UTC") == "—"


@given(MOMENTS, st.sampled_from(ZONES))
def test_local_datetime_reads_as_strftime_would(moment, zone):
    expected = moment.astimezone(ZoneInfo(zone)).strftime("%b %-d, %Y %H:%M %Z")
    assert local_datetime(moment, zone) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (119, "1 minute ago"),
        (3599, "59 minutes ago"),
        (3600, "1 hour ago"),
        (2 * 86400 + 5, "2 days ago"),
    ],
)
def test_time_ago_in_the_largest_whole_unit(seconds, text):
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert time_ago(now - timedelta(seconds=seconds), now) == text
