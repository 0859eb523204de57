"""The reports' charts: each a title that states the finding, bars laid out for an inline
SVG (viewBox, so it scales to the phone's width; classes styled by app.css, so the
admin CSP holds: no inline style or script), and the same numbers as a table for
"Data" and its CSV.

Drawn by our templates rather than a charting library: every chart here is bars on a
value axis, a few dozen lines of layout, and a library's SVG would bring inline styles
and scripts the admin CSP refuses.
"""

from dataclasses import dataclass, field

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


def requests_chart(report: Report) -> Chart:
    figures = report.followups
    total = figures.total
    days = [d.label for d in figures.days]
    series = [
        Series(SOURCE_LABELS[s], f"bar-{s}", [day[s] for day in figures.per_day])
        for s in ReportSource
    ]
    rows = [
        [d, *(day[s] for s in ReportSource), sum(day.values())]
        for d, day in zip(days, figures.per_day, strict=True)
    ]
    busiest = max(ReportSource, key=lambda s: sum(day[s] for day in figures.per_day))
    title = (
        f"{total:,} follow-up requests, most via {SOURCE_LABELS[busiest]}"
        if total
        else "No follow-up requests"
    )
    return Chart(
        "requests",
        title,
        None if total else f"No follow-up requests in {report.period.description}.",
        "Day",
        "Requests",
        days,
        series,
        ["Day", *(SOURCE_LABELS[s] for s in ReportSource), "Total"],
        rows,
    )


def contact_chart(report: Report) -> Chart:
    figures = report.followups
    hours = figures.promise_hours
    bins = figures.contact_bins
    title = (
        f"{percent(figures.within_share)} contacted within {hours} h"
        if figures.contacted
        else "Nobody contacted yet"
    )
    promise_bound = next(n for n, b in enumerate(bins) if b.low_hours == hours)
    return Chart(
        "contact",
        title,
        None if figures.contacted else f"No request was contacted in {report.period.description}.",
        "Time to first contact (hours)",
        "Requests",
        [b.label for b in bins],
        [Series("Requests", "bar-main", [b.count for b in bins])],
        ["Time to first contact", "Requests"],
        [[b.label, b.count] for b in bins],
        marker=(promise_bound, f"Promise: {hours} h"),
    )


def promise_chart(report: Report) -> Chart:
    weeks = report.followups.weeks
    decided = sum(w.decided for w in weeks)
    shares = [(w.share or 0) * 100 for w in weeks]
    return Chart(
        "promise",
        f"{percent(report.followups.within_share)} of requests answered within the promise"
        if decided
        else "No promise came due",
        None if decided else f"No request came due in {report.period.description}.",
        "Week",
        "Within the promise (%)",
        [w.label for w in weeks],
        [Series("Within the promise", "bar-ok", shares)],
        ["Week", "Due or contacted", "Within the promise", "Share"],
        [[w.label, w.decided, w.within_promise, percent(w.share)] for w in weeks],
        percent=True,
    )


def backlog_chart(report: Report) -> Chart:
    backlog = report.followups.backlog
    total = sum(backlog.values())
    overdue = backlog[BacklogAge.OVERDUE]
    return Chart(
        "backlog",
        f"{overdue:,} of {total:,} open requests overdue" if total else "No open requests",
        None if total else "No open requests: nobody is waiting.",
        "Where the request stands",
        "Open requests",
        [BACKLOG_LABELS[a] for a in BacklogAge],
        [Series("Open", "bar-main", [backlog[a] for a in BacklogAge])],
        ["Where the request stands", "Open requests"],
        [[BACKLOG_LABELS[a], backlog[a]] for a in BacklogAge],
    )


def steps_chart(report: Report) -> Chart:
    chains = report.chains
    steps = chains.steps
    names = {s.agent_name for s in steps}
    labels = [
        f"{s.agent_name} · step {s.position}" if len(names) > 1 else f"Step {s.position}"
        for s in steps
    ]
    title = (
        f"{percent(chains.reply_share)} of reminders got a reply within 24 h"
        if chains.sent
        else "No reminders sent"
    )
    return Chart(
        "steps",
        title,
        None if chains.sent else f"No reminders were sent in {report.period.description}.",
        "Step",
        "Reminders",
        labels,
        [
            Series("Replied within 24 h", "bar-ok", [s.replied for s in steps]),
            Series("No reply", "bar-muted", [s.sent - s.replied for s in steps]),
        ],
        ["Step", "Sent", "Replied within 24 h", "Reply rate"],
        [
            [label, s.sent, s.replied, percent(s.reply_share)]
            for label, s in zip(labels, steps, strict=True)
        ],
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
    cost = ai.cost
    title = f"{total:,} tokens" + (f", about {dollars(cost)}" if cost is not None else "")
    rows = [
        [days[t.day], ai.names.get(t.agent_id, "?"), t.input_tokens, t.output_tokens]
        for t in ai.token_days
    ]
    return Chart(
        "tokens",
        title if total else "No tokens used",
        None if total else f"The AI used no tokens in {report.period.description}.",
        "Day",
        "Tokens",
        days,
        series,
        ["Day", "AI employee", "Input tokens", "Output tokens"],
        rows,
    )


def satisfaction_chart(report: Report) -> Chart:
    ratings = report.satisfaction
    labels = [f"{score} · {SCORE_LABELS[score]}" for score in ratings.distribution]
    counts = list(ratings.distribution.values())
    noun = "rating" if ratings.count == 1 else "ratings"
    return Chart(
        "satisfaction",
        f"{ratings.average:.1f} average from {ratings.count:,} {noun}"
        if ratings.count
        else "No ratings",
        None if ratings.count else f"No customer rated a request in {report.period.description}.",
        "Score (1 to 5)",
        "Ratings",
        labels,
        [Series("Ratings", "bar-main", counts)],
        ["Score", "Ratings"],
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
