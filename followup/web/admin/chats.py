"""One chat as the staff see it: the conversation, a staff reply, the chain and its pause.

The page is made of panes that refresh on their own: the conversation (polled, and
refreshed at once after a staff reply), the reply form, and the chain panel with
the per-chat "Pause auto follow-up" switch. Each answers an HTMX request with only
its pane, and a plain request (no JavaScript) with the whole page or a redirect.
"""

from flask import redirect, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import answer, render
from followup.services import autofollowup, chats, conversations
from followup.services.permissions import Permission
from followup.web.admin import bp, current_tenant, requires
from followup.web.admin.forms import PauseForm, StaffReplyForm

PAGE = "admin/chats/page.html"
CONVERSATION = "admin/chats/_conversation.html"
REPLY = "admin/chats/_reply.html"
CHAIN = "admin/chats/_chain.html"
CHAT_CHANGED = "chat-changed"


def _context(chat_id: int, reply: dict | None = None, **extra) -> dict:
    return {
        "conversation": conversations.conversation(current_tenant().id, chat_id),
        "tenant": current_tenant(),
        "now": utcnow(),
        "reply": reply or {"text": "", "errors": {}, "sent": False},
    } | extra


@bp.get("/chats/<int:chat_id>")
@requires(Permission.WORK_REQUESTS)
def chat_detail(chat_id: int):
    """The page; for HTMX (the conversation's polling) only the conversation."""
    return render(PAGE, CONVERSATION, **_context(chat_id))


@bp.post("/chats/<int:chat_id>/reply")
@requires(Permission.WORK_REQUESTS)
def chat_reply(chat_id: int):
    chat = conversations.get_chat(current_tenant().id, chat_id)
    text = StaffReplyForm.posted().text.data
    try:
        chats.post_staff_reply(chat, current_user, text)
    except ValidationFailed as exc:
        reply = {"text": text, "errors": exc.fields, "sent": False}
        return render(PAGE, REPLY, 422, **_context(chat.id, reply))
    reply = {"text": "", "errors": {}, "sent": True}
    return answer(
        lambda: render(PAGE, REPLY, **_context(chat.id, reply)),
        page_url=url_for("admin.chat_detail", chat_id=chat.id),
        events=[CHAT_CHANGED],
    )


@bp.post("/chats/<int:chat_id>/pause")
@requires(Permission.WORK_REQUESTS)
def chat_pause(chat_id: int):
    chat = conversations.get_chat(current_tenant().id, chat_id)
    autofollowup.set_paused(chat, PauseForm.posted().paused.data)
    return answer(
        lambda: render(PAGE, CHAIN, **_context(chat.id, pause_saved=True)),
        page_url=url_for("admin.chat_detail", chat_id=chat.id),
    )


@bp.get("/chats/<int:chat_id>/chain")
@requires(Permission.WORK_REQUESTS)
def chat_chain(chat_id: int):
    """The chain panel alone, refreshed after a staff reply (which holds reminders back);
    a plain visit goes to the chat's page."""

    def chat_page():
        conversations.get_chat(current_tenant().id, chat_id)  # another tenant's id: 404
        return redirect(url_for("admin.chat_detail", chat_id=chat_id))

    return answer(lambda: render(PAGE, CHAIN, **_context(chat_id)), page=chat_page)
