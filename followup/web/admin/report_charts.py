"""The reports' charts: each a title that states the finding, bars laid out for an inline
SVG (viewBox, so it scales to the phone's width; classes styled by app.css, so the
admin CSP holds: no inline style or script), and the same numbers as a table for
"Data" and its CSV.

Drawn by our templates rather than a charting library: every chart here is bars on a
value axis, a few dozen lines of layout, and a library's SVG would bring inline styles
and scripts the admin CSP refuses.
"""

from dataclasses import dataclass, field

from followup.locales import staff_gettext, staff_ngettext
from followup.services.reports import (
    BACKLOG_LABELS,
    SOURCE_LABELS,
    BacklogAge,
    Report,
    ReportSource,
)
from followup.services.satisfaction import SCORE_LABELS

WIDTH, HEIGHT = 480, 280
LEFT, RIGHT, TOP, BOTTOM = 58, 8, 14, 58
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 7
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str  # what a pointer shows (<title>): category, series and value


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    values: list[float]


@dataclass
class Chart:
    key: str
    title: str
    empty: str | None  # said instead of drawing empty axes
    x_label: str
    y_label: str
    categories: list[str]
    series: list[Series]
    headers: list[str]
    rows: list[list]
    percent: bool = False
    marker: tuple[int, str] | None = None  # (category bound, words): the promise
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    marker_x: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, PLOT_W, PLOT_H)

    def __post_init__(self) -> None:
        if self.empty is None:
            self._lay_out()

    def _lay_out(self) -> None:
        totals = [sum(s.values[n] for s in self.series) for n in range(len(self.categories))]
        top = 100.0 if self.percent else _nice_top(max(totals, default=0))
        slot = PLOT_W / max(len(self.categories), 1)
        width = slot * 0.7
        for n, category in enumerate(self.categories):
            base = 0.0
            for series in self.series:
                value = series.values[n]
                if not value:
                    continue
                height = PLOT_H * value / top
                y = TOP + PLOT_H - base - height
                shown = f"{value:.0f}%" if self.percent else f"{value:,.0f}"
                named = f"{series.name}: " if len(self.series) > 1 else ""
                self.bars.append(
                    Bar(
                        LEFT + slot * n + (slot - width) / 2,
                        y,
                        width,
                        height,
                        series.css,
                        f"{category}: {named}{shown}",
                    )
                )
                base += height
        suffix = "%" if self.percent else ""
        self.y_ticks = [
            Tick(TOP + PLOT_H - PLOT_H * k / TICKS, f"{top * k / TICKS:,.0f}{suffix}")
            for k in range(TICKS + 1)
        ]
        every = -(-len(self.categories) // MAX_X_LABELS)
        self.x_ticks = [
            Tick(LEFT + slot * n + slot / 2, category)
            for n, category in enumerate(self.categories)
            if n % every == 0
        ]
        if self.marker is not None:
            self.marker_x = LEFT + slot * self.marker[0]


def _nice_top(value: float) -> float:
    """The axis' top: the value rounded up to 1, 2 or 5 times a power of ten, and a
    multiple of the ticks, so every tick is a whole number."""
    if value <= 0:
        return float(TICKS)
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            top = step * magnitude * TICKS
            if top >= value:
                return float(top)
        magnitude *= 10


def dollars(amount) -> str:
    """Cents for a bill; a small amount to the hundredth of a cent, so it is not $0.00."""
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4f}"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


# --- the charts -----------------------------------------------------------------------------


def _labels(labels: dict) -> dict:
    """Labels the services mark (`staff_text`), as the panel shows them."""
    return {key: staff_gettext(label) for key, label in labels.items()}


def requests_chart(report: Report) -> Chart:
    figures = report.followups
    total = figures.total
    sources = _labels(SOURCE_LABELS)
    days = [d.label for d in figures.days]
    series = [
        Series(sources[s], f"bar-{s}", [day[s] for day in figures.per_day]) for s in ReportSource
    ]
    rows = [
        [d, *(day[s] for s in ReportSource), sum(day.values())]
        for d, day in zip(days, figures.per_day, strict=True)
    ]
    busiest = max(ReportSource, key=lambda s: sum(day[s] for day in figures.per_day))
    title = (
        staff_gettext(
            "%(total)s follow-up requests, most via %(source)s",
            total=format(total, ","),
            source=sources[busiest],
        )
        if total
        else staff_gettext("No follow-up requests")
    )
    return Chart(
        "requests",
        title,
        None
        if total
        else staff_gettext(
            "No follow-up requests in %(description)s.", description=report.period.description
        ),
        staff_gettext("Day"),
        staff_gettext("Requests"),
        days,
        series,
        [staff_gettext("Day"), *(sources[s] for s in ReportSource), staff_gettext("Total")],
        rows,
    )


def contact_chart(report: Report) -> Chart:
    figures = report.followups
    hours = figures.promise_hours
    bins = figures.contact_bins
    title = (
        staff_gettext(
            "%(share)s contacted within %(hours)s h",
            share=percent(figures.within_share),
            hours=hours,
        )
        if figures.contacted
        else staff_gettext("Nobody contacted yet")
    )
    promise_bound = next(n for n, b in enumerate(bins) if b.low_hours == hours)
    requests = staff_gettext("Requests")
    return Chart(
        "contact",
        title,
        None
        if figures.contacted
        else staff_gettext(
            "No request was contacted in %(description)s.", description=report.period.description
        ),
        staff_gettext("Time to first contact (hours)"),
        requests,
        [b.label for b in bins],
        [Series(requests, "bar-main", [b.count for b in bins])],
        [staff_gettext("Time to first contact"), requests],
        [[b.label, b.count] for b in bins],
        marker=(promise_bound, staff_gettext("Promise: %(hours)s h", hours=hours)),
    )


def promise_chart(report: Report) -> Chart:
    weeks = report.followups.weeks
    decided = sum(w.decided for w in weeks)
    shares = [(w.share or 0) * 100 for w in weeks]
    within = staff_gettext("Within the promise")
    return Chart(
        "promise",
        staff_gettext(
            "%(share)s of requests answered within the promise",
            share=percent(report.followups.within_share),
        )
        if decided
        else staff_gettext("No promise came due"),
        None
        if decided
        else staff_gettext(
            "No request came due in %(description)s.", description=report.period.description
        ),
        staff_gettext("Week"),
        staff_gettext("Within the promise (%)"),
        [w.label for w in weeks],
        [Series(within, "bar-ok", shares)],
        [staff_gettext("Week"), staff_gettext("Due or contacted"), within, staff_gettext("Share")],
        [[w.label, w.decided, w.within_promise, percent(w.share)] for w in weeks],
        percent=True,
    )


def backlog_chart(report: Report) -> Chart:
    backlog = report.followups.backlog
    total = sum(backlog.values())
    overdue = backlog[BacklogAge.OVERDUE]
    ages = _labels(BACKLOG_LABELS)
    stands = staff_gettext("Where the request stands")
    open_requests = staff_gettext("Open requests")
    return Chart(
        "backlog",
        staff_gettext(
            "%(overdue)s of %(total)s open requests overdue",
            overdue=format(overdue, ","),
            total=format(total, ","),
        )
        if total
        else staff_gettext("No open requests"),
        None if total else staff_gettext("No open requests: nobody is waiting."),
        stands,
        open_requests,
        [ages[a] for a in BacklogAge],
        [Series(staff_gettext("Open"), "bar-main", [backlog[a] for a in BacklogAge])],
        [stands, open_requests],
        [[ages[a], backlog[a]] for a in BacklogAge],
    )


def _step_label(step, named: bool) -> str:
    if named:
        return staff_gettext(
            "%(name)s · step %(position)s", name=step.agent_name, position=step.position
        )
    return staff_gettext("Step %(position)s", position=step.position)


def steps_chart(report: Report) -> Chart:
    chains = report.chains
    steps = chains.steps
    named = len({s.agent_name for s in steps}) > 1
    labels = [_step_label(s, named) for s in steps]
    title = (
        staff_gettext(
            "%(share)s of reminders got a reply within 24 h", share=percent(chains.reply_share)
        )
        if chains.sent
        else staff_gettext("No reminders sent")
    )
    replied = staff_gettext("Replied within 24 h")
    return Chart(
        "steps",
        title,
        None
        if chains.sent
        else staff_gettext(
            "No reminders were sent in %(description)s.", description=report.period.description
        ),
        staff_gettext("Step"),
        staff_gettext("Reminders"),
        labels,
        [
            Series(replied, "bar-ok", [s.replied for s in steps]),
            Series(staff_gettext("No reply"), "bar-muted", [s.sent - s.replied for s in steps]),
        ],
        [staff_gettext("Step"), staff_gettext("Sent"), replied, staff_gettext("Reply rate")],
        [
            [label, s.sent, s.replied, percent(s.reply_share)]
            for label, s in zip(labels, steps, strict=True)
        ],
    )


def _tokens_title(total: int, cost) -> str:
    if not total:
        return staff_gettext("No tokens used")
    if cost is None:
        return staff_gettext("%(total)s tokens", total=format(total, ","))
    return staff_gettext(
        "%(total)s tokens, about %(cost)s", total=format(total, ","), cost=dollars(cost)
    )


def tokens_chart(report: Report) -> Chart:
    ai = report.ai
    days = [d.label for d in ai.days]
    agents = sorted({t.agent_id for t in ai.token_days}, key=lambda a: ai.names.get(a, ""))
    per = {(t.day, t.agent_id): t.input_tokens + t.output_tokens for t in ai.token_days}
    series = [
        Series(
            ai.names.get(a, "?"), f"bar-s{n % 4}", [per.get((d, a), 0) for d in range(len(days))]
        )
        for n, a in enumerate(agents)
    ]
    total = sum(per.values())
    rows = [
        [days[t.day], ai.names.get(t.agent_id, "?"), t.input_tokens, t.output_tokens]
        for t in ai.token_days
    ]
    return Chart(
        "tokens",
        _tokens_title(total, ai.cost),
        None
        if total
        else staff_gettext(
            "The AI used no tokens in %(description)s.", description=report.period.description
        ),
        staff_gettext("Day"),
        staff_gettext("Tokens"),
        days,
        series,
        [
            staff_gettext("Day"),
            staff_gettext("AI employee"),
            staff_gettext("Input tokens"),
            staff_gettext("Output tokens"),
        ],
        rows,
    )


def satisfaction_chart(report: Report) -> Chart:
    ratings = report.satisfaction
    labels = [f"{score} · {staff_gettext(SCORE_LABELS[score])}" for score in ratings.distribution]
    counts = list(ratings.distribution.values())
    title = (
        staff_ngettext(
            "%(average)s average from %(count)s rating",
            "%(average)s average from %(count)s ratings",
            ratings.count,
            average=format(ratings.average, ".1f"),
            count=format(ratings.count, ","),
        )
        if ratings.count
        else staff_gettext("No ratings")
    )
    return Chart(
        "satisfaction",
        title,
        None
        if ratings.count
        else staff_gettext(
            "No customer rated a request in %(description)s.", description=report.period.description
        ),
        staff_gettext("Score (1 to 5)"),
        staff_gettext("Ratings"),
        labels,
        [Series(staff_gettext("Ratings"), "bar-main", counts)],
        [staff_gettext("Score"), staff_gettext("Ratings")],
        [[label, count] for label, count in zip(labels, counts, strict=True)],
    )


CHARTS = {
    "requests": requests_chart,
    "contact": contact_chart,
    "promise": promise_chart,
    "backlog": backlog_chart,
    "steps": steps_chart,
    "tokens": tokens_chart,
    "satisfaction": satisfaction_chart,
}


def charts_of(report: Report) -> dict[str, Chart]:
    """Every chart the member may see (none for an agent's own row)."""
    if report.own_row_only:
        return {}
    return {key: build(report) for key, build in CHARTS.items()}
