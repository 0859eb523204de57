"""Auto Follow-up: an employee's chain editor (its tab) and the monitoring dashboard.

The editor changes one thing per request, in place: the Enable switch, one step's
form (saved, or sent back with its errors beside its fields), or the step list
(a step added, removed or moved). The dashboard only observes: every chat whose
chain is active (or that was handed to the team), searchable, filterable by
employee; a row opens the chat.
"""

from flask import request

from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.locales import staff_text
from followup.models import Agent
from followup.services import agents as service
from followup.services import autofollowup
from followup.services.permissions import Permission
from followup.services.queries import MAX_ID
from followup.services.validation import FieldErrors, problem, search_text, whole_number
from followup.web.admin import bp, current_tenant, lists, requires
from followup.web.admin.agents import render_tab, step_form, step_stats, tab_changed, tab_url
from followup.web.admin.forms import AutoFollowupForm, StepForm, StepMoveForm

TAB = "auto-followup"
TOGGLE_PARTIAL = "admin/autofollowup/_toggle.html"
STEPS_PARTIAL = "admin/autofollowup/_steps.html"
STEP_PARTIAL = "admin/autofollowup/_step.html"
DASHBOARD = "admin/autofollowup/page.html"


def _agent(agent_id: int) -> Agent:
    return service.get_agent(current_tenant().id, agent_id)


def _one_step(agent: Agent, form: dict, status: int = 200):
    """One step's card, alone: a save or a refusal changes nothing else on the page."""
    step = form["step"]
    number = step.position if step else len(agent.steps) + 1
    return render(
        "admin/agents/agent.html",
        STEP_PARTIAL,
        status,
        agent=agent,
        form=form,
        number=number,
        total=len(agent.steps) + (0 if step else 1),
        max_delay_hours=service.MAX_DELAY_HOURS,
        step_stats=step_stats(agent),
    )


@bp.post("/agents/<int:agent_id>/auto-followup")
@requires(Permission.MANAGE_SETTINGS)
def agent_autofollowup_toggle(agent_id: int):
    agent = service.set_autofollowup_enabled(
        current_tenant().id, agent_id, AutoFollowupForm.posted().enabled.data
    )
    return tab_changed(agent, TAB, TOGGLE_PARTIAL, toggle_saved=True)


@bp.get("/agents/<int:agent_id>/steps/new")
@requires(Permission.MANAGE_SETTINGS)
def agent_step_new(agent_id: int):
    """A blank step's card, added at the end of the list; stored when it is saved."""
    agent = _agent(agent_id)
    return answer(
        lambda: _one_step(agent, step_form(None)),
        page=lambda: render_tab(agent, TAB, None, new_step=step_form(None)),
    )


@bp.post("/agents/<int:agent_id>/steps")
@requires(Permission.MANAGE_SETTINGS)
def agent_step_add(agent_id: int):
    agent = _agent(agent_id)
    values = StepForm.posted().data
    try:
        step = service.add_step(current_tenant().id, agent.id, values)
    except ValidationFailed as exc:
        if "steps" in exc.fields:
            return render_tab(agent, TAB, STEPS_PARTIAL, 422, steps_error=exc.fields["steps"])
        form = step_form(None, values, exc.fields)
        return answer(
            lambda: _one_step(agent, form, 422),
            page=lambda: render_tab(agent, TAB, None, 422, new_step=form),
        )

    def renumbered_list():
        response = render_tab(agent, TAB, STEPS_PARTIAL, focus=f"step-{step.id}-title")
        # The new card asked to replace itself; the whole list is renumbered instead.
        response.headers["HX-Retarget"] = "#af-steps"
        response.headers["HX-Reswap"] = "outerHTML"
        return response

    return answer(renumbered_list, page_url=tab_url(agent, TAB))


@bp.post("/agents/<int:agent_id>/steps/example")
@requires(Permission.MANAGE_SETTINGS)
def agent_steps_example(agent_id: int):
    agent = _agent(agent_id)
    try:
        service.add_example_chain(current_tenant().id, agent.id)
    except ValidationFailed as exc:
        return render_tab(agent, TAB, STEPS_PARTIAL, 422, steps_error=exc.fields["steps"])
    return tab_changed(agent, TAB, STEPS_PARTIAL)


@bp.post("/agents/<int:agent_id>/steps/<int:step_id>")
@requires(Permission.MANAGE_SETTINGS)
def agent_step_save(agent_id: int, step_id: int):
    agent = _agent(agent_id)
    step = service.get_step(agent, step_id)
    values = StepForm.posted().data
    try:
        service.update_step(current_tenant().id, agent.id, step.id, values)
    except ValidationFailed as exc:
        form = step_form(step, values, exc.fields)
        return answer(
            lambda: _one_step(agent, form, 422),
            page=lambda: render_tab(agent, TAB, None, 422, **{f"step_{step.id}": form}),
        )
    return answer(
        lambda: _one_step(agent, step_form(step, saved=True)), page_url=tab_url(agent, TAB)
    )


@bp.post("/agents/<int:agent_id>/steps/<int:step_id>/delete")
@requires(Permission.MANAGE_SETTINGS)
def agent_step_delete(agent_id: int, step_id: int):
    agent = service.remove_step(current_tenant().id, agent_id, step_id)
    return tab_changed(agent, TAB, STEPS_PARTIAL, focus="add-step")


@bp.post("/agents/<int:agent_id>/steps/<int:step_id>/move")
@requires(Permission.MANAGE_SETTINGS)
def agent_step_move(agent_id: int, step_id: int):
    direction = StepMoveForm.posted().direction.data
    agent = service.move_step(current_tenant().id, agent_id, step_id, direction)
    # Keep the keyboard on the same button of the moved step, wherever it went.
    return tab_changed(agent, TAB, STEPS_PARTIAL, focus=f"step-{step_id}-{direction}")


# --- the monitoring dashboard ----------------------------------------------------------------


def _agent_id(raw: str) -> int | None:
    if not raw:
        return None
    agent_id = whole_number(raw, MAX_ID)
    if agent_id is None:
        raise ValidationFailed(
            {"agent": problem(staff_text("Employee"), staff_text("choose one from the list."))}
        )
    return agent_id


def _dashboard_filters() -> tuple[str, Agent | None]:
    errors = FieldErrors()
    q = errors.check(search_text, request.args.get("q"))
    agent_id = errors.check(_agent_id, request.args.get("agent", ""))
    errors.raise_if_any()
    return q, service.get_agent(current_tenant().id, agent_id) if agent_id else None


@bp.get("/auto-followup")
@requires(Permission.WORK_REQUESTS)
def auto_followup():
    q, agent = _dashboard_filters()
    tenant = current_tenant()
    agent_id = agent.id if agent else None
    page = autofollowup.active_chains(
        tenant.id, q=q, agent_id=agent_id, after=request.args.get("after")
    )
    context = {
        "page": page,
        "q": q,
        "selected_agent": agent,
        "filter_args": lists.filter_args(q=q, agent=agent_id),
        "chat_url_of": lists.detail_url_maker("admin.chat_detail", "chat_id", {}),
        "followup_url_of": lists.detail_url_maker("admin.followup_detail", "followup_id", {}),
        "tenant": tenant,
    }

    def table():
        agents = service.agents_of(tenant.id)
        return render(DASHBOARD, "admin/autofollowup/_table.html", agents=agents, **context)

    if not request.args.get("after"):
        return table()
    # The next rows of the table, for its "more" button; a plain visit gets the page.
    return answer(lambda: render(DASHBOARD, "admin/autofollowup/_rows.html", **context), page=table)
