"""What the agent is told: its persona, the follow-up rules, and the follow-up tool."""

import re
from typing import Protocol

from followup.locales import ENGLISH_NAMES, Language, supported_language
from followup.models import Agent, Message, Priority, Role, Tenant, response_promise


class CaptureStyle(Protocol):
    """What the model is told about a channel that captures a follow-up in conversation
    (`services.capture.Style` is one)."""

    after_offer: str  # what happens once the model calls the tool
    writing: str  # how to write on this channel


FOLLOWUP_TOOL_NAME = "offer_followup"

FOLLOWUP_TOOL = {
    "type": "function",
    "function": {
        "name": FOLLOWUP_TOOL_NAME,
        "description": (
            "Arrange for a person from the team to follow up: the customer's contact details "
            "are then collected and confirmed with them. Call it only after the customer has "
            "confirmed they want a human to contact them."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "What the customer needs help with, in one or two sentences.",
                },
                "summary": {
                    "type": "string",
                    "description": "A short summary of the conversation so far, for the team.",
                },
                "priority": {
                    "type": "string",
                    "enum": [priority.value for priority in Priority],
                    "description": "high for urgent needs, complaints or escalations.",
                },
            },
            "required": ["reason", "summary"],
        },
    },
}


# The response time as a model writes it ("We will get back to you within 48 hours.").
_PROMISE_SENTENCE = re.compile(
    r"\s*\bwe(?:'|\u2019| wi)ll (?:contact you|get back to you|be in touch)"
    r" within \d+ hours?\b[.!]?",
    re.IGNORECASE,
)


def without_promise(text: str) -> str:
    """The model's offer without a response-time sentence: the form below it states the
    tenant's (the model may write one despite its rules, or one from an older prompt)."""
    return _PROMISE_SENTENCE.sub("", text).strip()


# Where no conversational capture runs (the web widget's text chat), a form does it,
# and the form tells the customer when the team will answer.
_FORM_AFTER_OFFER = "a form pre-filled with their details will appear for them to check and confirm"


def _when_the_team_answers(tenant: Tenant, capture: CaptureStyle | None) -> str:
    if capture is None:
        return (
            "do not say when the team will answer: the form states it "
            f'("{response_promise(tenant)}")'
        )
    return f'tell them: "{response_promise(tenant)}"'


def _followup_rules(tenant: Tenant, capture: CaptureStyle | None) -> str:
    if not tenant.followups_enabled:
        return (
            "You cannot arrange for a person to contact the customer; never promise that "
            "someone will call or write back."
        )
    return f"""When the customer needs a person — they ask for a human; complex or custom orders;
pricing negotiations or bulk discounts; technical issues needing investigation; complaints
or escalations; appointments or consultations; questions needing account-specific details;
anything you cannot resolve — offer to have the team follow up. Before you call the
{FOLLOWUP_TOOL_NAME} tool:
1. confirm that the customer wants a person to contact them;
2. summarize what was discussed;
3. {_when_the_team_answers(tenant, capture)}.
Then call {FOLLOWUP_TOOL_NAME}; {capture.after_offer if capture else _FORM_AFTER_OFFER}.
Never ask for their contact details yourself."""


def language_rule(locale: str | None) -> str:
    """The visitor's language (the chat's locale), named for the model; "" without one
    (a prompt written for no chat): the model then follows the customer."""
    language = supported_language(locale)
    if language is None:
        return ""
    name = ENGLISH_NAMES[language]
    rule = f"The customer's language is {name}: always answer in {name}"
    if language != Language.ENGLISH:
        rule += ", even though these instructions are in English"
    return rule + ", unless the customer writes to you in another language."


def system_prompt(
    agent: Agent, tenant: Tenant, capture: CaptureStyle | None = None, locale: str | None = None
) -> str:
    """`capture`: how this chat captures a follow-up in conversation (voice, SMS); None
    in the web widget's text chat, which shows the form. `locale`: the chat's language."""
    persona = f"You are {agent.name}, {agent.role} at {tenant.name}. Tone: {agent.tone}."
    writing = capture.writing if capture else ""
    parts = [
        persona,
        language_rule(locale),
        writing,
        agent.instructions.strip(),
        _followup_rules(tenant, capture),
    ]
    return "\n\n".join(part for part in parts if part)


_ROLE_FOR_MODEL = {Role.CLIENT: "user", Role.AGENT: "assistant", Role.STAFF: "assistant"}


def conversation(
    agent: Agent,
    tenant: Tenant,
    history: list[Message],
    capture: CaptureStyle | None = None,
    locale: str | None = None,
) -> list[dict]:
    """The chat as the model sees it: the system prompt, then each message in order."""
    messages = [{"role": "system", "content": system_prompt(agent, tenant, capture, locale)}]
    for message in history:
        role = _ROLE_FOR_MODEL.get(Role(message.role))
        if role and message.content:
            prefix = "[A staff member wrote] " if message.role == Role.STAFF else ""
            messages.append({"role": role, "content": prefix + message.content})
    return messages


def tools_for(tenant: Tenant) -> list[dict]:
    """The follow-up tool exists for the model only while follow-ups are enabled."""
    return [FOLLOWUP_TOOL] if tenant.followups_enabled else []
