"""One chat as the staff see it: the conversation, a staff reply, the chain and its pause.

The page is made of panes that refresh on their own: the conversation (polled, and
refreshed at once after a staff reply), the reply form, and the chain panel with
the per-chat "Pause auto follow-up" switch. Each answers an HTMX request with only
its pane, and a plain request (no JavaScript) with the whole page or a redirect.
"""

from flask import redirect, request, url_for
from flask_login import current_user

from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.htmx import is_partial_request, redirect_after_post, render, trigger
from followup.services import autofollowup, chats, conversations
from followup.web.admin import bp, current_tenant

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
def chat_detail(chat_id: int):
    """The page; for HTMX (the conversation's polling) only the conversation."""
    return render(PAGE, CONVERSATION, **_context(chat_id))


@bp.post("/chats/<int:chat_id>/reply")
def chat_reply(chat_id: int):
    chat = conversations.get_chat(current_tenant().id, chat_id)
    text = request.form.get("text", "")
    try:
        chats.post_staff_reply(chat, current_user, text)
    except ValidationFailed as exc:
        reply = {"text": text, "errors": exc.fields, "sent": False}
        return render(PAGE, REPLY, 422, **_context(chat.id, reply))
    if not is_partial_request():
        return redirect_after_post(url_for("admin.chat_detail", chat_id=chat.id))
    reply = {"text": "", "errors": {}, "sent": True}
    return trigger(render(PAGE, REPLY, **_context(chat.id, reply)), CHAT_CHANGED)


@bp.post("/chats/<int:chat_id>/pause")
def chat_pause(chat_id: int):
    chat = conversations.get_chat(current_tenant().id, chat_id)
    autofollowup.set_paused(chat, request.form.get("paused") == "on")
    if not is_partial_request():
        return redirect_after_post(url_for("admin.chat_detail", chat_id=chat.id))
    return render(PAGE, CHAIN, **_context(chat.id, pause_saved=True))


@bp.get("/chats/<int:chat_id>/chain")
def chat_chain(chat_id: int):
    """The chain panel alone, refreshed after a staff reply (which holds reminders back)."""
    if not is_partial_request():
        conversations.get_chat(current_tenant().id, chat_id)  # another tenant's id: 404
        return redirect(url_for("admin.chat_detail", chat_id=chat_id))
    return render(PAGE, CHAIN, **_context(chat_id))
