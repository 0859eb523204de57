"""AI employees: create and edit them, their channels, and their auto follow-up steps.

Every function takes the tenant's id and looks the agent up inside that tenant, so
another tenant's id is a 404. Every function checks all its input before it changes
anything: a refused save changes nothing and names every field that is wrong.
The chain *rules* (when a step is due, what resets it) live in the engine
(`services/autofollowup.py`); here are only the settings the staff edit.
"""

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from followup.errors import DomainError, NotFound, ValidationFailed
from followup.extensions import db
from followup.locales import staff_gettext, staff_ngettext, staff_text
from followup.models import Agent, AutoFollowupStep, Channel, Chat
from followup.services import autofollowup, working_hours
from followup.services.queries import tenant_row
from followup.services.tenants import parse_timezone
from followup.services.validation import (
    FieldErrors,
    clean_text,
    normalize_phone,
    problem,
    whole_number,
)

MAX_NAME = 100
MAX_ROLE = 200
MAX_TONE = 200
MAX_INSTRUCTIONS = 8000
MAX_STEPS = 20
MAX_DELAY_HOURS = 720  # 30 days
MAX_STEP_INSTRUCTION = 2000
# The labels of the forms' fields, which the messages name.
SMS_NUMBER = staff_text("SMS number")
INSTRUCTION = staff_text("Message instruction")
DIRECTIONS = ("up", "down")


# The spec's example chain, written in the panel's language when it is added.
EXAMPLE_CHAIN = [
    (4 * 60, staff_text("Remind the user that we're available and ready to help")),
    (24 * 60, staff_text("Ask if the question is still relevant")),
    (
        48 * 60,
        staff_text("Say a warm goodbye and let them know we're always happy to help when needed"),
    ),
]


class AgentInUse(DomainError):
    code = "agent_in_use"
    http_status = 409


# --- finding ---------------------------------------------------------------------------------


def get_agent(tenant_id: int, agent_id: int) -> Agent:
    return tenant_row(Agent, tenant_id, agent_id, staff_text("No such AI employee."))


def agents_of(tenant_id: int) -> list[Agent]:
    return list(
        db.session.scalars(select(Agent).where(Agent.tenant_id == tenant_id).order_by(Agent.id))
    )


@dataclass(frozen=True)
class AgentRow:
    agent: Agent
    step_count: int
    chat_count: int


def list_agents(tenant_id: int) -> list[AgentRow]:
    """The tenant's AI employees with how many steps and chats each has (two queries)."""
    steps = (
        select(func.count(AutoFollowupStep.id))
        .where(AutoFollowupStep.agent_id == Agent.id)
        .scalar_subquery()
    )
    chats = select(func.count(Chat.id)).where(Chat.agent_id == Agent.id).scalar_subquery()
    rows = db.session.execute(
        select(Agent, steps, chats).where(Agent.tenant_id == tenant_id).order_by(Agent.id)
    )
    return [AgentRow(agent, step_count, chat_count) for agent, step_count, chat_count in rows]


def get_step(agent: Agent, step_id: int) -> AutoFollowupStep:
    step = next((s for s in agent.steps if s.id == step_id), None)
    if step is None:
        raise NotFound(staff_gettext("No such step."))
    return step


# --- persona ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    name: str
    role: str
    tone: str
    instructions: str


def new_persona() -> dict:
    """What the new-employee form starts with: the model's default role and tone."""
    columns = Agent.__table__.c
    return {
        "name": "",
        "role": columns.role.default.arg,
        "tone": columns.tone.default.arg,
        "instructions": "",
    }


def validate_persona(data: dict) -> Persona:
    errors = FieldErrors()
    name = errors.check(
        clean_text, data.get("name"), "name", staff_text("Name"), required=True, max_length=MAX_NAME
    )
    role = errors.check(
        clean_text, data.get("role"), "role", staff_text("Role"), required=True, max_length=MAX_ROLE
    )
    tone = errors.check(
        clean_text, data.get("tone"), "tone", staff_text("Tone"), required=True, max_length=MAX_TONE
    )
    instructions = errors.check(
        clean_text,
        data.get("instructions"),
        "instructions",
        staff_text("Instructions"),
        required=False,
        max_length=MAX_INSTRUCTIONS,
    )
    errors.raise_if_any()
    return Persona(name, role, tone, instructions or "")


def create_agent(tenant_id: int, data: dict) -> Agent:
    """A new AI employee; the tenant's first one also answers the website chat."""
    persona = validate_persona(data)
    has_widget_agent = db.session.scalar(
        select(Agent.id).where(Agent.tenant_id == tenant_id, Agent.serves_web_widget).limit(1)
    )
    agent = Agent(
        tenant_id=tenant_id,
        name=persona.name,
        role=persona.role,
        tone=persona.tone,
        instructions=persona.instructions,
        serves_web_widget=has_widget_agent is None,
    )
    db.session.add(agent)
    db.session.commit()
    return agent


def update_persona(tenant_id: int, agent_id: int, data: dict) -> Agent:
    persona = validate_persona(data)
    agent = get_agent(tenant_id, agent_id)
    agent.name, agent.role, agent.tone = persona.name, persona.role, persona.tone
    agent.instructions = persona.instructions
    db.session.commit()
    return agent


def delete_agent(tenant_id: int, agent_id: int) -> None:
    """Remove an employee that has no chats and does not answer the website chat."""
    agent = get_agent(tenant_id, agent_id)
    if agent.serves_web_widget:
        raise AgentInUse(
            staff_gettext(
                "%(name)s answers the website chat. Assign the website chat to another "
                "employee first (on their Channels tab).",
                name=agent.name,
            )
        )
    chat_count = db.session.scalar(select(func.count(Chat.id)).where(Chat.agent_id == agent.id))
    if chat_count:
        raise AgentInUse(
            staff_ngettext(
                "%(name)s has %(num)s chat and cannot be deleted: their conversations stay "
                "with them.",
                "%(name)s has %(num)s chats and cannot be deleted: their conversations stay "
                "with them.",
                chat_count,
                name=agent.name,
            )
        )
    db.session.delete(agent)
    db.session.commit()


# --- working hours ---------------------------------------------------------------------------


def update_working_hours(
    tenant_id: int,
    agent_id: int,
    timezone: object,
    hours: object,
    special_dates: list[tuple[str, object]],
) -> Agent:
    """Save the time zone, weekly hours and special dates (the engine's rules check them).
    `special_dates`: (date, intervals) pairs, in the order the staff listed them."""
    dates = _listed_once(special_dates)
    errors = FieldErrors()
    zone = errors.check(
        clean_text, timezone, "timezone", staff_text("Time zone"), required=True, max_length=64
    )
    if zone:
        zone = errors.check(parse_timezone, zone)
    checked = errors.check(working_hours.validate_working_hours, hours, dates)
    errors.raise_if_any()
    agent = get_agent(tenant_id, agent_id)
    agent.timezone = zone
    agent.working_hours, agent.special_dates = checked
    db.session.commit()
    _settings_changed(agent)
    return agent


def _listed_once(special_dates: list[tuple[str, object]]) -> dict:
    """Special dates as stored: {date: intervals}. A date listed twice is refused, as a
    dictionary would silently keep only the last one; "special_dates[<i>].date" names
    the listing (from 0) that repeats an earlier one."""
    dates, errors = {}, {}
    for position, (day, intervals) in enumerate(special_dates):
        if day in dates:
            label = staff_gettext("Special date %(day)s", day=day)
            errors[f"special_dates[{position}].date"] = problem(
                label, staff_text("it is already listed above.")
            )
        dates[day] = intervals
    if errors:
        raise ValidationFailed(errors)
    return dates


# --- channels --------------------------------------------------------------------------------


def widget_agent_of(tenant_id: int) -> Agent | None:
    return db.session.scalar(
        select(Agent).where(Agent.tenant_id == tenant_id, Agent.serves_web_widget).limit(1)
    )


def _sms_number(value: object) -> str | None:
    text = clean_text(value, "sms_number", SMS_NUMBER, required=False, max_length=40)
    return normalize_phone(text, "sms_number", SMS_NUMBER) if text else None


def _number_taken(number: str, agent_id: int) -> bool:
    # Numbers are unique across every tenant: an inbound SMS must find exactly one agent.
    return (
        db.session.scalar(
            select(Agent.id).where(Agent.sms_number == number, Agent.id != agent_id).limit(1)
        )
        is not None
    )


def _number_taken_problem() -> str:
    return problem(SMS_NUMBER, staff_text("another AI employee already uses this number."))


def update_channels(tenant_id: int, agent_id: int, serves_web_widget: bool, sms_number: object):
    """Which channels the agent serves. Exactly one agent per tenant answers the website
    chat, so assigning it here moves it from the other agent, and it cannot be simply
    switched off (another agent must take it)."""
    agent = get_agent(tenant_id, agent_id)
    errors = FieldErrors()
    number = errors.check(_sms_number, sms_number)
    if number and _number_taken(number, agent.id):
        errors.errors["sms_number"] = _number_taken_problem()
    if agent.serves_web_widget and not serves_web_widget:
        errors.errors["serves_web_widget"] = problem(
            staff_text("This employee answers the website chat"),
            staff_text(
                "it stays on, as the website chat always needs an employee. To move it, "
                "open another employee's Channels tab and switch it on there."
            ),
        )
    errors.raise_if_any()
    if serves_web_widget and not agent.serves_web_widget:
        db.session.execute(
            update(Agent)
            .where(Agent.tenant_id == tenant_id, Agent.id != agent.id)
            .values(serves_web_widget=False)
        )
        agent.serves_web_widget = True
    agent.sms_number = number
    try:
        db.session.commit()
    except IntegrityError:
        # Another save took the number between our check and this commit.
        db.session.rollback()
        raise ValidationFailed({"sms_number": _number_taken_problem()}) from None
    return agent


def channels_of(agent: Agent) -> list[str]:
    """The channels an agent serves, for the list page."""
    served = ((Channel.WEB, agent.serves_web_widget), (Channel.SMS, bool(agent.sms_number)))
    return [channel for channel, on in served if on]


# --- auto follow-up --------------------------------------------------------------------------


def _settings_changed(agent: Agent) -> None:
    """Chains already running follow the new settings: the engine plans them again."""
    autofollowup.agent_settings_changed(agent.id)


def set_autofollowup_enabled(tenant_id: int, agent_id: int, enabled: bool) -> Agent:
    agent = get_agent(tenant_id, agent_id)
    agent.autofollowup_enabled = bool(enabled)
    db.session.commit()
    _settings_changed(agent)
    return agent


@dataclass(frozen=True)
class StepSettings:
    delay_minutes: int
    instruction: str
    run_once_per_chat: bool


def _whole_number(value: object, field: str, upper: int, message: str) -> int:
    text = value.strip() if isinstance(value, str) else value
    if text in (None, ""):
        return 0  # an empty field is zero: "4 h" with the minutes left blank
    number = whole_number(text, upper)
    if number is None:
        raise ValidationFailed({field: message})
    return number


def validate_step(data: dict) -> StepSettings:
    """A step's form: delay hours 0 to 720 and minutes 0 to 59 (together at least a minute),
    an instruction, and the run-once switch."""
    errors = FieldErrors()
    hours = errors.check(
        _whole_number,
        data.get("delay_hours"),
        "delay_hours",
        MAX_DELAY_HOURS,
        problem(
            staff_text("Hours"),
            staff_gettext("use a whole number from 0 to %(most)s.", most=MAX_DELAY_HOURS),
        ),
    )
    minutes = errors.check(
        _whole_number,
        data.get("delay_minutes"),
        "delay_minutes",
        59,
        problem(staff_text("Minutes"), staff_text("use a whole number from 0 to 59.")),
    )
    if hours == 0 and minutes == 0:
        errors.errors["delay"] = problem(
            staff_text("Delay"), staff_text("make it at least 1 minute.")
        )
    instruction = errors.check(
        clean_text,
        data.get("instruction"),
        "instruction",
        INSTRUCTION,
        required=False,
        max_length=MAX_STEP_INSTRUCTION,
    )
    if instruction is None and "instruction" not in errors.errors:
        errors.errors["instruction"] = problem(
            INSTRUCTION, staff_text("describe what the employee should write.")
        )
    errors.raise_if_any()
    return StepSettings(
        (hours or 0) * 60 + (minutes or 0), instruction, _checked(data.get("run_once_per_chat"))
    )


def _checked(value: object) -> bool:
    return value in (True, "on", "true", "1", 1)


def _renumber(agent: Agent) -> None:
    for position, step in enumerate(sorted(agent.steps, key=lambda s: s.position), start=1):
        step.position = position


def _room_for(agent: Agent, count: int) -> None:
    if len(agent.steps) + count > MAX_STEPS:
        too_many = staff_gettext("An employee can have at most %(most)s steps.", most=MAX_STEPS)
        raise ValidationFailed({"steps": too_many}, too_many)


def add_step(tenant_id: int, agent_id: int, data: dict) -> AutoFollowupStep:
    settings = validate_step(data)
    agent = get_agent(tenant_id, agent_id)
    _room_for(agent, 1)
    step = AutoFollowupStep(
        position=len(agent.steps) + 1,
        delay_minutes=settings.delay_minutes,
        instruction=settings.instruction,
        run_once_per_chat=settings.run_once_per_chat,
    )
    agent.steps.append(step)
    db.session.commit()
    _settings_changed(agent)
    return step


def add_example_chain(tenant_id: int, agent_id: int) -> Agent:
    """The spec's three-step example, as a start for an empty chain."""
    agent = get_agent(tenant_id, agent_id)
    if agent.steps:
        only_empty = staff_gettext("The example chain can only start an empty chain.")
        raise ValidationFailed({"steps": only_empty}, only_empty)
    for position, (delay, instruction) in enumerate(EXAMPLE_CHAIN, start=1):
        agent.steps.append(
            AutoFollowupStep(
                position=position, delay_minutes=delay, instruction=staff_gettext(instruction)
            )
        )
    db.session.commit()
    _settings_changed(agent)
    return agent


def update_step(tenant_id: int, agent_id: int, step_id: int, data: dict) -> AutoFollowupStep:
    settings = validate_step(data)
    step = get_step(get_agent(tenant_id, agent_id), step_id)
    step.delay_minutes = settings.delay_minutes
    step.instruction = settings.instruction
    step.run_once_per_chat = settings.run_once_per_chat
    db.session.commit()
    _settings_changed(step.agent)
    return step


def remove_step(tenant_id: int, agent_id: int, step_id: int) -> Agent:
    agent = get_agent(tenant_id, agent_id)
    agent.steps.remove(get_step(agent, step_id))
    _renumber(agent)
    db.session.commit()
    _settings_changed(agent)
    return agent


def move_step(tenant_id: int, agent_id: int, step_id: int, direction: object) -> Agent:
    """Swap the step with its neighbour above or below; at either end nothing moves."""
    agent = get_agent(tenant_id, agent_id)
    step = get_step(agent, step_id)
    if direction not in DIRECTIONS:
        raise ValidationFailed({"direction": staff_gettext("Move a step up or down.")})
    steps = sorted(agent.steps, key=lambda s: s.position)
    index = steps.index(step)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(steps):
        steps[index], steps[other] = steps[other], steps[index]
        for position, step in enumerate(steps, start=1):
            step.position = position
        db.session.commit()
        _settings_changed(agent)
    return agent


def split_delay(minutes: int) -> tuple[int, int]:
    """A delay as the form shows it: (hours, minutes)."""
    return divmod(minutes, 60)
