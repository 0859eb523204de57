"""The AI Employees pages: the list, the new-employee form, and one employee's tabs.

Every tab has its own URL (`/admin/agents/<id>/working-hours` …), so a reload or a
shared link opens the same tab. A normal request gets the whole page; an HTMX
request gets the employee's area (header, tab bar and tab) when it switches tabs,
or just the form it posted to when it saves (`followup.htmx.render`). A refused
save answers 422 with the form, what was typed and every field's error.
"""

import re

from flask import current_app, request, url_for

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import answer, redirect_after_post, render
from followup.locales import staff_gettext, staff_text
from followup.models import WEEKDAYS, Agent, AutoFollowupStep
from followup.services import agents as service
from followup.services import conversations, reports, working_hours
from followup.services.agents import EXAMPLE_CHAIN
from followup.services.permissions import Permission
from followup.services.tenant_settings import timezone_choices
from followup.services.validation import whole_number
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.forms import ChannelsForm, PersonaForm, WorkingHoursForm

LIST_PAGE = "admin/agents/page.html"
AGENT_PAGE = "admin/agents/agent.html"
AGENT_AREA = "admin/agents/_agent.html"
TABS = {
    "persona": staff_text("Persona"),
    "working-hours": staff_text("Working Hours"),
    "channels": staff_text("Channels"),
    "auto-followup": staff_text("Auto Follow-up"),
    "chats": staff_text("Chats"),
}
SMS_WEBHOOK_PATH = "/hooks/twilio/sms"  # CONTRACT.md
# A day that is opened again starts from the usual office hours.
NEW_INTERVAL = ["09:00", "18:00"]


# --- the list and the new-employee form ------------------------------------------------------


def _list_context(new_form: dict | None = None) -> dict:
    return {
        "rows": service.list_agents(current_tenant().id),
        "channels_of": service.channels_of,
        "new_form": new_form or {"values": service.new_persona(), "errors": {}},
    }


@bp.get("/agents")
@requires(Permission.MANAGE_SETTINGS)
def agents():
    return render(LIST_PAGE, "admin/agents/_list.html", **_list_context())


@bp.post("/agents")
@requires(Permission.MANAGE_SETTINGS)
def agent_create():
    values = PersonaForm.posted().data
    try:
        agent = service.create_agent(current_tenant().id, values)
    except ValidationFailed as exc:
        form = {"values": values, "errors": exc.fields, "open": True}
        return render(LIST_PAGE, "admin/agents/_new.html", 422, **_list_context(form))
    # The new employee has a page of its own: the browser goes there.
    return redirect_after_post(tab_url(agent, "persona"))


# --- one employee ----------------------------------------------------------------------------


def persona_form(agent: Agent, values: dict | None = None, errors: dict | None = None, saved=False):
    if values is None:
        values = PersonaForm.values_of(agent)
    return {"values": values, "errors": errors or {}, "saved": saved}


def _saved_draft(agent: Agent) -> dict:
    """The saved hours as the form shows them. A day off keeps a row ready (hidden) for
    when it is opened again; likewise a closed special date."""

    def day(intervals: list) -> dict:
        rows = [list(i) for i in intervals]
        return {"off": not rows, "intervals": rows or [list(NEW_INTERVAL)]}

    return {
        "timezone": agent.timezone,
        "days": {name: day(agent.working_hours.get(name, [])) for name in WEEKDAYS},
        "special": [
            {"date": date, **day(intervals)}
            for date, intervals in sorted((agent.special_dates or {}).items())
        ],
    }


# What the engine names ("working_hours.mon.1.end", "special_dates.2026-12-24.date",
# "working_hours.tue"): the day, then the interval and its time, or the date itself.
_HOURS_FIELD = re.compile(
    r"^(?P<kind>working_hours|special_dates)\.(?P<day>.*?)"
    r"(?:\.(?P<index>\d+)(?:\.(?P<part>start|end))?|\.(?P<date>date))?$"
)
# A special date by its place in the list ("special_dates[2].date"): one listed twice.
_LISTING = re.compile(r"^special_dates\[(?P<index>\d+)\]\.date$")


def _hours_targets(key: str, draft: dict) -> list[tuple[str, set[str]]]:
    """The rows a problem is about, each with the ids of its inputs at fault."""
    if key == "timezone":
        return [(key, {key})]
    listing = _LISTING.match(key)
    if listing is not None:
        return [(f"special-{listing['index']}-date", {f"special-{listing['index']}-date"})]
    match = _HOURS_FIELD.match(key)
    if match is None:
        return []
    day, index, part = match["day"], match["index"], match["part"]
    if match["kind"] == "working_hours":
        rows = [(day, draft["days"][day])] if day in draft["days"] else []
    else:
        rows = [(f"special-{i}", e) for i, e in enumerate(draft["special"]) if e["date"] == day]
    if match["date"]:
        return [(f"{row}-date", {f"{row}-date"}) for row, _ in rows]
    if index is not None:
        parts = [part] if part else ["start", "end"]
        return [(row, {f"{row}-{p}-{index}" for p in parts}) for row, _ in rows]
    return [  # the day's hours as a whole
        (row, {f"{row}-{p}-{i}" for p in ("start", "end") for i in range(len(e["intervals"]))})
        for row, e in rows
    ]


def _hours_errors(fields: dict, draft: dict) -> tuple[dict, set[str], list[str]]:
    """The form shows each problem under its row and marks only the input at fault.
    Returns the messages by row key, the ids of the inputs at fault, and the messages
    that belong to no row."""
    by_row, invalid, others = {}, set(), []
    for key, message in fields.items():
        targets = _hours_targets(key, draft)
        for row, inputs in targets:
            by_row.setdefault(row, []).append(message)
            invalid |= inputs
        if not targets:
            others.append(message)
    return by_row, invalid, others


def hours_form(agent: Agent, draft: dict | None = None, errors: dict | None = None, **flags):
    """The Working Hours form: the saved hours, or what is being edited (`draft`)."""
    draft = draft or _saved_draft(agent)
    by_row, invalid, others = _hours_errors(errors or {}, draft)
    return {"draft": draft, "errors": by_row, "invalid": invalid, "other_errors": others, **flags}


def channels_form(
    agent: Agent, values: dict | None = None, errors: dict | None = None, saved=False
):
    if values is None:
        values = ChannelsForm.values_of(agent)
    return {
        "values": values,
        "errors": errors or {},
        "saved": saved,
        "widget_agent": service.widget_agent_of(agent.tenant_id),
        "webhook_url": current_app.config["PUBLIC_BASE_URL"] + SMS_WEBHOOK_PATH,
    }


def step_form(step: AutoFollowupStep | None, values: dict | None = None, errors=None, saved=False):
    """A step's form: the saved step, or what was typed with its errors."""
    if values is None:
        hours, minutes = service.split_delay(step.delay_minutes) if step else (0, 0)
        values = {
            "delay_hours": hours,
            "delay_minutes": minutes,
            "instruction": step.instruction if step else "",
            "run_once_per_chat": step.run_once_per_chat if step else False,
        }
    return {"step": step, "values": values, "errors": errors or {}, "saved": saved}


def chain_context(agent: Agent, **forms) -> dict:
    """What the Auto Follow-up tab shows; `forms` replaces a step's or the list's state."""
    return {
        "steps": [forms.get(f"step_{step.id}") or step_form(step) for step in agent.steps],
        "new_step": forms.get("new_step"),
        "max_steps": service.MAX_STEPS,
        "example_chain": [(delay, staff_gettext(text)) for delay, text in EXAMPLE_CHAIN],
        "max_delay_hours": service.MAX_DELAY_HOURS,
        "toggle_saved": forms.get("toggle_saved", False),
        "steps_error": forms.get("steps_error"),
        "focus": forms.get("focus"),
        "step_stats": step_stats(agent),
    }


def step_stats(agent: Agent) -> dict:
    """Each step's reminders sent and replies over the last 30 days, for its card."""
    tenant = current_tenant()
    return reports.recent_step_figures(tenant.id, agent.id, tenant.timezone)


def agent_context(agent: Agent, tab: str, **forms) -> dict:
    """Everything a tab needs; `forms` replaces a form's state (what was typed, errors)."""
    context = {
        "agent": agent,
        "tab": tab,
        "tabs": {key: staff_gettext(label) for key, label in TABS.items()},
        "tenant": current_tenant(),
        "now": utcnow(),
    }
    if tab == "persona":
        context["persona"] = forms.get("persona") or persona_form(agent)
    elif tab == "working-hours":
        context |= {
            "hours": forms.get("hours") or hours_form(agent),
            "timezones": timezone_choices(),
            "day_names": {
                day: staff_gettext(name) for day, name in working_hours.DAY_NAMES.items()
            },
            "presets": {
                key: preset | {"label": staff_gettext(preset["label"])}
                for key, preset in working_hours.PRESETS.items()
            },
        }
    elif tab == "channels":
        context["channels"] = forms.get("channels") or channels_form(agent)
    elif tab == "auto-followup":
        context |= chain_context(agent, **forms)
    elif tab == "chats":
        context |= {
            "chats": conversations.agent_chats(current_tenant().id, agent.id),
            "chat_total": conversations.count_agent_chats(current_tenant().id, agent.id),
        }
    return context


def render_tab(agent: Agent, tab: str, partial: str | None = None, status: int = 200, **forms):
    """The page, or for HTMX the employee's area (`partial` names a smaller piece)."""
    return render(AGENT_PAGE, partial or AGENT_AREA, status, **agent_context(agent, tab, **forms))


def _agent(agent_id: int) -> Agent:
    return service.get_agent(current_tenant().id, agent_id)


@bp.get("/agents/<int:agent_id>", defaults={"tab": "persona"})
@bp.get("/agents/<int:agent_id>/working-hours", defaults={"tab": "working-hours"})
@bp.get("/agents/<int:agent_id>/channels", defaults={"tab": "channels"})
@bp.get("/agents/<int:agent_id>/auto-followup", defaults={"tab": "auto-followup"})
@bp.get("/agents/<int:agent_id>/chats", defaults={"tab": "chats"})
@requires(Permission.MANAGE_SETTINGS)
def agent_detail(agent_id: int, tab: str):
    # `?tab=working-hours` is accepted too, for links written that way.
    if request.args.get("tab") in TABS:
        tab = request.args["tab"]
    return render_tab(_agent(agent_id), tab)


def tab_changed(agent: Agent, tab: str, partial: str, **forms):
    """After a save: HTMX gets `partial` refreshed; a plain form post goes back to the tab."""
    return answer(lambda: render_tab(agent, tab, partial, **forms), page_url=tab_url(agent, tab))


def tab_url(agent: Agent, tab: str) -> str:
    # The tab must be named: the endpoint has one rule per tab.
    return url_for("admin.agent_detail", agent_id=agent.id, tab=tab)


@bp.post("/agents/<int:agent_id>/persona")
@requires(Permission.MANAGE_SETTINGS)
def agent_persona(agent_id: int):
    agent = _agent(agent_id)
    values = PersonaForm.posted().data
    try:
        service.update_persona(current_tenant().id, agent.id, values)
    except ValidationFailed as exc:
        form = persona_form(agent, values, exc.fields)
        return render_tab(agent, "persona", AGENT_AREA, 422, persona=form)
    # The name is in the header too: the whole area is refreshed.
    return tab_changed(agent, "persona", AGENT_AREA, persona=persona_form(agent, saved=True))


@bp.post("/agents/<int:agent_id>/delete")
@requires(Permission.MANAGE_SETTINGS)
def agent_delete(agent_id: int):
    service.delete_agent(current_tenant().id, agent_id)
    return redirect_after_post(url_for("admin.agents"))


# --- working hours ---------------------------------------------------------------------------


def _open_intervals(entry: dict) -> list[list[str]]:
    return [] if entry["off"] else entry["intervals"]


def _row_list(draft: dict, key: str) -> list | None:
    """The rows a button names: a weekday ("mon") or a special date by index ("special-2")."""
    if key in draft["days"]:
        return draft["days"][key]["intervals"]
    index = _index(key.removeprefix("special-"), draft["special"])
    if key.startswith("special-") and index is not None:
        return draft["special"][index]["intervals"]
    return None


def _index(text: str, rows: list) -> int | None:
    """A position in `rows` named by a button; None for anything else."""
    return whole_number(text, len(rows) - 1)


def _edit_draft(draft: dict, op: str) -> None:
    """One change to the form that is not a save: a row added or removed, a special
    date added or removed, or a preset filled in (saved only by Save)."""
    action, _, argument = op.partition(":")
    key, _, index = argument.partition(":")
    rows = _row_list(draft, key)
    if action == "add" and rows is not None:
        rows.append(list(NEW_INTERVAL))
    elif action == "remove" and rows is not None and (at := _index(index, rows)) is not None:
        rows.pop(at)
    elif action == "add-date":
        draft["special"].append({"date": "", "off": True, "intervals": [list(NEW_INTERVAL)]})
    elif action == "remove-date" and (at := _index(key, draft["special"])) is not None:
        draft["special"].pop(at)
    elif action == "preset" and argument in working_hours.PRESETS:
        hours = working_hours.PRESETS[argument]["hours"]
        draft["days"] = {
            day: {
                "off": not hours.get(day),
                "intervals": [list(i) for i in hours.get(day, [])] or [list(NEW_INTERVAL)],
            }
            for day in WEEKDAYS
        }


HOURS_PARTIAL = "admin/agents/_working_hours.html"


@bp.post("/agents/<int:agent_id>/working-hours")
@requires(Permission.MANAGE_SETTINGS)
def agent_working_hours(agent_id: int):
    agent = _agent(agent_id)
    posted = WorkingHoursForm.posted()
    draft, op = posted.draft(), posted.op.data
    if op != "save":
        # Editing the rows, not saving yet: the form comes back with the change.
        _edit_draft(draft, op)
        form = hours_form(agent, draft, unsaved=True, preset=op.startswith("preset:"))
        return render_tab(agent, "working-hours", HOURS_PARTIAL, hours=form)
    hours = {day: _open_intervals(entry) for day, entry in draft["days"].items()}
    special = [(entry["date"], _open_intervals(entry)) for entry in draft["special"]]
    try:
        service.update_working_hours(
            current_tenant().id, agent.id, draft["timezone"], hours, special
        )
    except ValidationFailed as exc:
        form = hours_form(agent, draft, exc.fields, unsaved=True)
        return render_tab(agent, "working-hours", HOURS_PARTIAL, 422, hours=form)
    return tab_changed(agent, "working-hours", HOURS_PARTIAL, hours=hours_form(agent, saved=True))


# --- channels --------------------------------------------------------------------------------

CHANNELS_PARTIAL = "admin/agents/_channels.html"


@bp.post("/agents/<int:agent_id>/channels")
@requires(Permission.MANAGE_SETTINGS)
def agent_channels(agent_id: int):
    agent = _agent(agent_id)
    values = ChannelsForm.posted().data
    try:
        service.update_channels(
            current_tenant().id, agent.id, values["serves_web_widget"], values["sms_number"]
        )
    except ValidationFailed as exc:
        form = channels_form(agent, values, exc.fields)
        return render_tab(agent, "channels", CHANNELS_PARTIAL, 422, channels=form)
    return tab_changed(
        agent, "channels", CHANNELS_PARTIAL, channels=channels_form(agent, saved=True)
    )
