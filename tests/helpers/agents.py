"""Builders shared by the AI-employee, chat and Auto Follow-up admin tests.

They go through the services where the services have a way in (agents, steps,
chats, messages), and set the chain columns directly where the test wants a
chain in a given state without waiting for the engine to put it there.
"""

import html
import re
from datetime import datetime

from followup.extensions import db
from followup.models import Agent, AutoFollowupStep, Channel, Chat, Customer, Message, Role
from followup.services import agents

SCRIPT = '<script>alert("x")</script>'


def unescaped(pattern: str, body: str) -> list[str]:
    return [html.unescape(match) for match in re.findall(pattern, body)]


def make_agent(tenant, name: str = "Alex", steps: int = 0, **fields) -> Agent:
    """An agent of `tenant`, with `steps` steps of 1, 2, 3 … hours."""
    agent = agents.create_agent(
        tenant.id,
        {"name": name, "role": fields.pop("role", "Support"), "tone": "Friendly"},
    )
    for number in range(1, steps + 1):
        agents.add_step(
            tenant.id,
            agent.id,
            {"delay_hours": str(number), "delay_minutes": "0", "instruction": f"Nudge {number}"},
        )
    for key, value in fields.items():
        setattr(agent, key, value)
    db.session.commit()
    return agent


def make_chat(
    agent: Agent,
    title: str = "",
    customer_name: str | None = None,
    channel: str = Channel.WEB,
    messages: tuple = (),
    **chain,
) -> Chat:
    """A chat of `agent`; `messages` are (role, text) or Message field dicts;
    `chain` sets chain columns (chain_step_id, chain_due_at, …)."""
    customer = None
    if customer_name:
        customer = Customer(
            tenant_id=agent.tenant_id,
            name=customer_name,
            email=re.sub(r"\W+", ".", customer_name.lower()).strip(".") + "@example.com",
        )
        db.session.add(customer)
    chat = Chat(
        tenant_id=agent.tenant_id,
        agent_id=agent.id,
        channel=channel,
        title=title,
        customer=customer,
        **chain,
    )
    db.session.add(chat)
    db.session.flush()
    for item in messages:
        fields = item if isinstance(item, dict) else {"role": item[0], "content": item[1]}
        db.session.add(Message(chat_id=chat.id, **fields))
    db.session.commit()
    return chat


def schedule(chat: Chat, step: AutoFollowupStep, due_at: datetime, cycle: int = 1) -> Chat:
    """Put the chat's chain at `step`, due at `due_at` (as the engine would)."""
    chat.chain_cycle, chat.chain_step_id, chat.chain_due_at = cycle, step.id, due_at
    chat.chain_ended = None
    db.session.commit()
    return chat


CLIENT, AGENT, STAFF, SYSTEM = Role.CLIENT, Role.AGENT, Role.STAFF, Role.SYSTEM
