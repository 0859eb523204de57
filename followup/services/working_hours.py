"""An AI employee's working hours: when is it open, when does it open next.

Hours are wall-clock times in the agent's own time zone, so they follow daylight
saving time: "09:00" is nine on the office clock in winter and in summer.

- `working_hours`: {"mon": [["09:00", "18:00"], ...], ...}; an empty list is a day off.
  An interval is [start, end) with "24:00" allowed as an end. Hours past midnight
  are two intervals: [start, "24:00"] on one day and ["00:00", end] on the next;
  the two join up, so the agent stays open across midnight.
- `special_dates`: {"2026-12-24": [["10:00", "14:00"]], "2026-12-25": []} replace the
  weekday's hours on that local date (an empty list: closed all day).

On the night the clocks go forward, wall times in the skipped hour never happen: an
interval starting inside it opens when the clock jumps. On the night they go back,
the repeated hour is open or closed by its wall time, both times it comes round.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from followup.errors import ValidationFailed
from followup.locales import staff_gettext, staff_text
from followup.models import WEEKDAYS, Agent, always_open
from followup.services.validation import problem

DAY_SECONDS = 24 * 3600
# Nothing open within this many days (every day off, say): no opening is coming.
SEARCH_DAYS = 400
MAX_INTERVALS_PER_DAY = 12
MAX_SPECIAL_DATES = 400
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        (
            staff_text("Monday"),
            staff_text("Tuesday"),
            staff_text("Wednesday"),
            staff_text("Thursday"),
            staff_text("Friday"),
            staff_text("Saturday"),
            staff_text("Sunday"),
        ),
        strict=True,
    )
)
ALWAYS_OPEN = always_open()
WEEKEND = ("sat", "sun")
MON_FRI_9_18 = {day: [] if day in WEEKEND else [["09:00", "18:00"]] for day in WEEKDAYS}
DASH = "\u2013"  # an en dash, between the ends of a range
# The presets the Working Hours tab offers, by the key its buttons post.
PRESETS = {
    "always-open": {"label": staff_text("24/7"), "hours": ALWAYS_OPEN},
    "mon-fri-9-18": {"label": staff_text("Mon\u2013Fri 9:00\u201318:00"), "hours": MON_FRI_9_18},
}


# --- open or closed ------------------------------------------------------------------------------


def is_open(agent: Agent, at: datetime) -> bool:
    local = at.astimezone(_zone(agent.timezone))
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return any(start <= second < end for start, end in _intervals_on(agent, local.date()))


def next_opening(agent: Agent, at: datetime) -> datetime | None:
    """`at` if the agent is open then, else the first moment after it when it opens;
    None when nothing opens within SEARCH_DAYS."""
    if is_open(agent, at):
        return at
    zone = _zone(agent.timezone)
    first_day = at.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        # An opening is a moment the wall clock reaches an interval's start, or jumps
        # into an interval when the clocks change: try those, earliest first.
        starts = [start for start, _ in _intervals_on(agent, day)]
        candidates = [moment for start in starts for moment in _moments(day, start, zone)]
        candidates += _clock_changes(day, zone)
        for moment in sorted(candidates):
            if moment >= at and is_open(agent, moment):
                return moment
    return None


def _intervals_on(agent: Agent, day: date) -> list[tuple[int, int]]:
    special = (agent.special_dates or {}).get(day.isoformat())
    if special is not None:
        intervals = special
    else:
        intervals = (agent.working_hours or {}).get(WEEKDAYS[day.weekday()], [])
    return [(_seconds(start), _seconds(end)) for start, end in intervals]


def _seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _moments(day: date, second: int, zone: ZoneInfo) -> list[datetime]:
    """The moments the wall clock shows `second` on `day`: one usually, two in the
    repeated hour; in the skipped hour, moments near the jump (checked by the caller)."""
    wall = datetime.combine(day, time()) + timedelta(seconds=second)
    return sorted({wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})


def _clock_changes(day: date, zone: ZoneInfo) -> list[datetime]:
    """The moment during `day` when the zone's UTC offset changes (DST), if it does:
    found by halving the day down to the second (offsets change on whole seconds)."""
    low = int(datetime.combine(day, time(), tzinfo=zone).timestamp())
    high = int(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).timestamp())
    before = _offset(low, zone)
    if _offset(high, zone) == before:
        return []
    while high - low > 1:  # offset(low) == before != offset(high)
        middle = (low + high) // 2
        low, high = (middle, high) if _offset(middle, zone) == before else (low, middle)
    return [datetime.fromtimestamp(high, UTC)]


def _offset(timestamp: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()


@cache
def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


# --- checking what the staff enter ---------------------------------------------------------------


def validate_working_hours(hours: object, special_dates: object = None) -> tuple[dict, dict]:
    """Check weekly hours and special dates; return them cleaned (every weekday present,
    intervals sorted, times as HH:MM). Raises ValidationFailed naming every problem by
    the field that is wrong, as sent (before sorting):

    - "working_hours.<day>.<i>.start" / ".end": that time of the day's i-th interval
      ("special_dates.<date>.<i>.start" on a special date), and
      "<…>.<i>" for an interval that is not a [start, end] pair;
    - "working_hours.<day>", "special_dates.<date>": the day's intervals as a whole;
      "special_dates.<date>.date": the date itself;
    - "working_hours", "special_dates": the shape of the whole.

    Each message names the day ("Monday: …", "Special date 2026-12-24: …")."""
    errors: dict[str, str] = {}
    cleaned_hours = _clean_week(hours, errors)
    cleaned_dates = _clean_special_dates(special_dates, errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned_hours, cleaned_dates


WORKING_HOURS = staff_text("Working hours")
SPECIAL_DATES = staff_text("Special dates")


def _clean_week(hours: object, errors: dict) -> dict:
    if not isinstance(hours, dict):
        errors["working_hours"] = problem(
            WORKING_HOURS, staff_text("give each weekday its intervals.")
        )
        return {}
    unknown = sorted(str(key) for key in hours if key not in WEEKDAYS)
    if unknown:
        advice = staff_gettext(
            "there is no weekday %(days)s; use mon … sun.", days=", ".join(unknown)
        )
        errors["working_hours"] = problem(WORKING_HOURS, advice)
    week = {}
    for day in WEEKDAYS:
        intervals = hours.get(day) or []
        label = staff_gettext(DAY_NAMES[day])
        week[day] = _clean_intervals(intervals, f"working_hours.{day}", label, errors)
    return week


def _clean_special_dates(special_dates: object, errors: dict) -> dict:
    if special_dates in (None, ""):
        return {}
    if not isinstance(special_dates, dict):
        advice = staff_text("give each date its intervals.")
        errors["special_dates"] = problem(SPECIAL_DATES, advice)
        return {}
    if len(special_dates) > MAX_SPECIAL_DATES:
        advice = staff_gettext("list %(most)s or fewer.", most=MAX_SPECIAL_DATES)
        errors["special_dates"] = problem(SPECIAL_DATES, advice)
        return {}
    cleaned = {}
    for key, intervals in special_dates.items():
        field = f"special_dates.{key}"
        day = _parse_date(key)
        if day is None:
            typed = str(key).strip()[:20]
            label = (
                staff_gettext('Special date "%(typed)s"', typed=typed)
                if typed
                else staff_gettext("Special date")
            )
            advice = staff_text("enter a real date as YYYY-MM-DD, e.g. 2026-12-24.")
            errors[f"{field}.date"] = problem(label, advice)
            continue
        label = staff_gettext("Special date %(day)s", day=day.isoformat())
        cleaned[day.isoformat()] = _clean_intervals(intervals or [], field, label, errors)
    return dict(sorted(cleaned.items()))


def _parse_date(text: object) -> date | None:
    if not isinstance(text, str) or not _DATE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:  # e.g. 2026-02-30
        return None


def _clean_intervals(intervals: object, field: str, label: str, errors: dict) -> list[list[str]]:
    """One day's intervals, sorted. Every interval is checked, each problem filed under
    the time that is wrong (its position as sent); overlaps only once each is right."""
    if not isinstance(intervals, list | tuple):
        advice = staff_text("give the intervals as a list of [start, end] times.")
        errors[field] = problem(label, advice)
        return []
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        advice = staff_gettext("keep to %(most)s intervals or fewer.", most=MAX_INTERVALS_PER_DAY)
        errors[field] = problem(label, advice)
        return []
    cleaned, problems = [], {}
    for index, interval in enumerate(intervals):
        for part, advice in _interval_problems(interval).items():
            problems[f"{field}.{index}{part}"] = problem(label, advice)
        if not problems:
            cleaned.append((index, [_clean_time(value) for value in interval]))
    if problems:
        errors.update(problems)
        return []
    cleaned.sort(key=lambda entry: _seconds(entry[1][0]))
    for (_, earlier), (index, later) in pairwise(cleaned):
        if _seconds(later[0]) < _seconds(earlier[1]):
            advice = staff_gettext(
                "%(later)s overlaps %(earlier)s; the intervals of one day must not overlap.",
                later=_range(later),
                earlier=_range(earlier),
            )
            errors[f"{field}.{index}.start"] = problem(label, advice)
            return []
    return [pair for _, pair in cleaned]


def _range(pair: list[str]) -> str:
    return f"{pair[0]}{DASH}{pair[1]}"


def _interval_problems(interval: object) -> dict[str, str]:
    """What is wrong with one interval, by the part at fault: "" (the interval),
    ".start" or ".end"; empty when it is right."""
    if not isinstance(interval, list | tuple) or len(interval) != 2:
        return {"": staff_gettext("each interval needs a start and an end time.")}
    start, end = (_clean_time(value) for value in interval)
    found = {}
    if start is None or start == "24:00":
        found[".start"] = staff_gettext(
            "%(time)s is not a start time; use 00:00 to 23:59, e.g. 09:00.",
            time=_shown(interval[0]),
        )
    if end is None:
        found[".end"] = staff_gettext(
            "%(time)s is not an end time; use 00:01 to 24:00, e.g. 18:00.",
            time=_shown(interval[1]),
        )
    if not found and _seconds(end) <= _seconds(start):
        found[".end"] = staff_gettext(
            "the end (%(end)s) must be after the start (%(start)s). For hours past midnight, "
            "end this day at 24:00 and start the next day at 00:00.",
            end=end,
            start=start,
        )
    return found


def _clean_time(value: object) -> str | None:
    """A time from 00:00 to 24:00 ("9:30" too), as "HH:MM"; None if it is not one."""
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return f"{hours:02d}:{minutes:02d}"


def _shown(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    return f'"{text[:20]}"' if text else staff_gettext("an empty time")
