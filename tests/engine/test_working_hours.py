"""Working hours: open or closed, the next opening (across midnight, on special dates,
over both daylight saving changes of 2026 in Europe/Berlin), and the checks on what
the staff enter. Then the engine waiting for an opening across a DST change."""

from datetime import UTC, datetime, timedelta

import pytest

from followup.errors import ValidationFailed
from followup.models import Agent
from followup.services import working_hours
from followup.services.working_hours import is_open, next_opening, validate_working_hours
from tests.helpers.chains import client_says, make_agent, refreshed, run_due, start_chat
from tests.helpers.chains import reminders as reminders_of

WEEKDAYS_9_18 = working_hours.MON_FRI_9_18
EVERY_DAY_9_18 = {day: [["09:00", "18:00"]] for day in working_hours.WEEKDAYS}


def berlin(hours: dict, special: dict | None = None) -> Agent:
    return Agent(timezone="Europe/Berlin", working_hours=hours, special_dates=special or {})


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_open_from_the_start_up_to_but_not_including_the_end():
    agent = berlin(WEEKDAYS_9_18)  # Monday 2 March 2026, UTC+1
    assert not is_open(agent, utc(2026, 3, 2, 7, 59, 59))
    assert is_open(agent, utc(2026, 3, 2, 8, 0))
    assert is_open(agent, utc(2026, 3, 2, 16, 59, 59, 999999))
    assert not is_open(agent, utc(2026, 3, 2, 17, 0))
    assert not is_open(agent, utc(2026, 3, 7, 10, 0))  # Saturday: day off


def test_next_opening_is_now_when_open_else_the_next_start():
    agent = berlin(WEEKDAYS_9_18)
    assert next_opening(agent, utc(2026, 3, 2, 10, 0)) == utc(2026, 3, 2, 10, 0)
    assert next_opening(agent, utc(2026, 3, 2, 17, 0)) == utc(2026, 3, 3, 8, 0)
    assert next_opening(agent, utc(2026, 3, 6, 17, 0)) == utc(2026, 3, 9, 8, 0)  # Fri → Mon


def test_hours_across_midnight_are_two_intervals_that_join_up():
    agent = berlin({"mon": [["22:00", "24:00"]], "tue": [["00:00", "02:00"]]})
    assert is_open(agent, utc(2026, 3, 2, 22, 59, 59))  # Mon 23:59:59 Berlin
    assert is_open(agent, utc(2026, 3, 2, 23, 0))  # Tue 00:00
    assert is_open(agent, utc(2026, 3, 3, 0, 59))  # Tue 01:59
    assert not is_open(agent, utc(2026, 3, 3, 1, 0))  # Tue 02:00
    assert next_opening(agent, utc(2026, 3, 2, 20, 0)) == utc(2026, 3, 2, 21, 0)
    assert next_opening(agent, utc(2026, 3, 3, 1, 0)) == utc(2026, 3, 9, 21, 0)


def test_a_special_date_replaces_the_weekday():
    agent = berlin(
        WEEKDAYS_9_18,
        {"2026-12-24": [], "2026-12-25": [["10:00", "14:00"]], "2026-12-27": [["12:00", "13:00"]]},
    )
    thursday_morning = utc(2026, 12, 24, 9, 0)  # closed all day, though a Thursday
    assert not is_open(agent, thursday_morning)
    assert next_opening(agent, thursday_morning) == utc(2026, 12, 25, 9, 0)  # 10:00 Berlin
    assert not is_open(agent, utc(2026, 12, 25, 13, 0))  # 14:00 Berlin: special hours end
    assert next_opening(agent, utc(2026, 12, 25, 13, 0)) == utc(2026, 12, 27, 11, 0)  # a Sunday


def test_never_open_has_no_next_opening():
    agent = berlin({day: [] for day in working_hours.WEEKDAYS})
    assert next_opening(agent, utc(2026, 3, 2, 8, 0)) is None


def test_dst_spring_forward_opens_at_nine_on_the_summer_clock():
    agent = berlin(EVERY_DAY_9_18)
    saturday_evening = utc(2026, 3, 28, 17, 0)  # 18:00 CET
    assert next_opening(agent, saturday_evening) == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    assert not is_open(agent, utc(2026, 3, 29, 6, 59, 59))


def test_dst_spring_forward_an_interval_starting_in_the_skipped_hour_opens_at_the_jump():
    agent = berlin({"sun": [["02:30", "06:00"]]})
    assert not is_open(agent, utc(2026, 3, 29, 0, 59, 59))  # 01:59:59 CET
    assert is_open(agent, utc(2026, 3, 29, 1, 0))  # 03:00 CEST: the clock jumped past 02:30
    assert next_opening(agent, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0)


def test_dst_spring_forward_an_interval_inside_the_skipped_hour_never_opens():
    agent = berlin({"sun": [["02:10", "02:50"]]})
    assert next_opening(agent, utc(2026, 3, 28, 12, 0)) == utc(2026, 4, 5, 0, 10)  # 02:10 CEST


def test_dst_fall_back_opens_at_nine_on_the_winter_clock():
    agent = berlin(EVERY_DAY_9_18)
    saturday_evening = utc(2026, 10, 24, 16, 0)  # 18:00 CEST
    assert next_opening(agent, saturday_evening) == utc(2026, 10, 25, 8, 0)  # 09:00 CET
    assert is_open(agent, utc(2026, 10, 25, 16, 59)) and not is_open(agent, utc(2026, 10, 25, 17))


def test_dst_fall_back_the_repeated_hour_is_open_both_times():
    agent = berlin({"sun": [["02:00", "02:30"]]})
    assert next_opening(agent, utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 0)  # CEST
    assert not is_open(agent, utc(2026, 10, 25, 0, 45))  # 02:45 CEST
    assert next_opening(agent, utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 25, 1, 0)  # 02:00 CET


def test_dst_fall_back_an_interval_reopens_when_the_clock_goes_back_into_it():
    agent = berlin({"sun": [["01:30", "02:30"]]})
    assert not is_open(agent, utc(2026, 10, 25, 0, 40))  # 02:40 CEST
    assert next_opening(agent, utc(2026, 10, 25, 0, 40)) == utc(2026, 10, 25, 1, 0)  # 02:00 CET


def test_the_presets_are_24_7_and_mon_fri_9_18():
    assert set(working_hours.PRESETS) == {"always-open", "mon-fri-9-18"}
    assert working_hours.PRESETS["always-open"]["hours"] == working_hours.ALWAYS_OPEN
    always = berlin(working_hours.ALWAYS_OPEN)
    for moment in (utc(2026, 3, 29, 1, 0), utc(2026, 10, 25, 1, 30), utc(2026, 3, 8, 23, 59)):
        assert is_open(always, moment)
    for preset in working_hours.PRESETS.values():
        assert validate_working_hours(preset["hours"], {})[0] == preset["hours"]
    assert working_hours.MON_FRI_9_18["sat"] == [] and working_hours.MON_FRI_9_18["fri"] == [
        ["09:00", "18:00"]
    ]


def test_validation_cleans_sorts_and_fills_in_days_off():
    hours, special = validate_working_hours(
        {"mon": [["13:00", "18:00"], ["9:00", "12:30"]], "sun": [["22:00", "24:00"]]},
        {"2026-12-31": [["10:00", "14:00"]], "2026-12-24": []},
    )
    assert hours["mon"] == [["09:00", "12:30"], ["13:00", "18:00"]]
    assert hours["sun"] == [["22:00", "24:00"]] and hours["tue"] == []
    assert list(special) == ["2026-12-24", "2026-12-31"]


@pytest.mark.parametrize(
    ("hours", "special", "field", "message"),
    [
        ({"mon": [["25:00", "26:00"]]}, {}, "working_hours.mon.0.start", 'Monday: "25:00" is not'),
        ({"mon": [["25:00", "26:00"]]}, {}, "working_hours.mon.0.end", '"26:00" is not an end'),
        ({"mon": [["9", "18:00"]]}, {}, "working_hours.mon.0.start", '"9" is not a start time'),
        ({"mon": [["24:00", "24:00"]]}, {}, "working_hours.mon.0.start", '"24:00" is not a start'),
        ({"tue": [["09:00", "18:60"]]}, {}, "working_hours.tue.0.end", '"18:60" is not an end'),
        ({"tue": [["09:00", ""]]}, {}, "working_hours.tue.0.end", "an empty time is not an end"),
        ({"wed": [["18:00", "09:00"]]}, {}, "working_hours.wed.0.end", "the end (09:00) must be"),
        ({"wed": [["09:00", "09:00"]]}, {}, "working_hours.wed.0.end", "the end (09:00) must be"),
        ({"thu": [["09:00"]]}, {}, "working_hours.thu.0", "needs a start and an end time"),
        (
            {"fri": [["09:00", "12:00"], ["11:00", "14:00"]]},
            {},
            "working_hours.fri.1.start",
            "Friday: 11:00\u201314:00 overlaps 09:00\u201312:00",
        ),
        (
            {"fri": [["11:00", "14:00"], ["09:00", "12:00"]]},  # as typed, before sorting
            {},
            "working_hours.fri.0.start",
            "11:00\u201314:00 overlaps 09:00\u201312:00",
        ),
        ({"sat": [["09:00", "10:00"]] * 13}, {}, "working_hours.sat", "12 intervals or fewer"),
        ({"funday": []}, {}, "working_hours", "there is no weekday funday"),
        (["09:00", "18:00"], {}, "working_hours", "give each weekday its intervals"),
        ({}, {"2026-02-30": []}, "special_dates.2026-02-30.date", "enter a real date as YYYY-MM"),
        ({}, {"tomorrow": []}, "special_dates.tomorrow.date", 'Special date "tomorrow": enter'),
        ({}, {"": []}, "special_dates..date", "Special date: enter a real date"),
        (
            {},
            {"2026-12-24": [["14:00", "10:00"]]},
            "special_dates.2026-12-24.0.end",
            "Special date 2026-12-24: the end (10:00) must be after",
        ),
        ({}, [["2026-12-24"]], "special_dates", "give each date its intervals"),
    ],
)
def test_validation_names_the_field_at_fault_and_says_why(hours, special, field, message):
    with pytest.raises(ValidationFailed) as error:
        validate_working_hours(hours, special)
    assert message in error.value.fields[field], error.value.fields


def test_validation_reports_every_wrong_time_at_once():
    with pytest.raises(ValidationFailed) as error:
        validate_working_hours(
            {"mon": [["18:00", "09:00"]], "sat": [["10:00", "12:00"], ["x", "y"]]},
            {"2026-13-01": []},
        )
    assert set(error.value.fields) == {
        "working_hours.mon.0.end",
        "working_hours.sat.1.start",
        "working_hours.sat.1.end",
        "special_dates.2026-13-01.date",
    }


def test_dst_a_reminder_due_on_the_night_of_the_change_waits_for_nine_summer_time(clock, tenant):
    make_agent(tenant, timezone="Europe/Berlin", working_hours=EVERY_DAY_9_18)
    clock.move_to(utc(2026, 3, 28, 16, 0))  # Saturday 17:00 CET
    chat = start_chat(tenant)
    client_says(chat)  # step 1 due 21:00 CET: closed until Sunday 09:00 CEST
    sunday_nine = utc(2026, 3, 29, 7, 0)
    assert refreshed(chat).chain_due_at == sunday_nine
    clock.move_to(sunday_nine - timedelta(minutes=1))
    run_due()
    assert reminders_of(chat) == []
    clock.move_to(sunday_nine)
    run_due()
    assert [m.created_at for m in reminders_of(chat)] == [sunday_nine]
