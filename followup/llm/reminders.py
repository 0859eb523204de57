"""Writing a reminder with the model: the agent's persona and the conversation, plus the
step's instruction as guidance for the model only.

The instruction is never sent to the customer: the model writes the message, and a
reply that is empty or merely repeats the instruction counts as a failed call
(`LLMUnavailable`), retried later like any other failure.
"""

from dataclasses import replace

from followup.llm import prompts
from followup.llm.client import Completion, LLMUnavailable, stream_chat
from followup.models import Agent, Message, Tenant

TASK = """The customer has not replied since the last message above. Write your next \
message to them now, a short and natural follow-up in the customer's language, in \
keeping with your persona and the conversation so far.

What this follow-up should do, in your team's words (guidance for you; never copy, quote \
or mention it): {instruction}

Write only the message itself."""


def reminder_prompt(
    agent: Agent,
    tenant: Tenant,
    history: list[Message],
    instruction: str,
    capture: prompts.CaptureStyle | None = None,
    locale: str | None = None,
) -> list[dict]:
    """What the model reads: the agent's usual conversation on this channel (`capture`:
    how a follow-up is taken there, e.g. by SMS) in the chat's language (`locale`), then
    the task."""
    task = {"role": "system", "content": TASK.format(instruction=instruction.strip())}
    rule = prompts.language_rule(locale)
    if rule:  # said again last: the instruction above may be in another language
        task["content"] += f"\n\n{rule}"
    return [*prompts.conversation(agent, tenant, history, capture, locale), task]


def write_reminder(prompt: list[dict], instruction: str) -> Completion:
    """The reminder the model wrote for `prompt` (no tools: it only writes)."""
    completion = None
    for event in stream_chat(prompt):
        if isinstance(event, Completion):
            completion = event
    text = completion.text.strip() if completion else ""
    if not text:
        raise LLMUnavailable("The model wrote an empty reminder.")
    if _plain(text) == _plain(instruction):
        raise LLMUnavailable("The model repeated the step's instruction instead of writing.")
    return replace(completion, text=text)


def _plain(text: str) -> str:
    return " ".join(text.lower().strip(" \"'“”.!").split())
