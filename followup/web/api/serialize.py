"""Follow-up requests as the API's JSON."""

from datetime import datetime

from followup.clock import iso_utc
from followup.models import FollowUpActivity, FollowUpRequest
from followup.services import followups


def followup_json(followup: FollowUpRequest, *, now: datetime) -> dict:
    return {
        "id": followup.id,
        "name": followup.name,
        "email": followup.email,
        "phone": followup.phone,
        "reason": followup.reason,
        "summary": followup.summary,
        "priority": followup.priority,
        "status": followup.status,
        "source": followup.source,
        "notes": followup.notes,
        "notes_version": followup.notes_version,
        "chat_id": followup.chat_id,
        "assignee_id": followup.assignee_id,
        "created_at": iso_utc(followup.created_at),
        "contacted_at": iso_utc(followup.contacted_at),
        "resolved_at": iso_utc(followup.resolved_at),
        "cancelled_at": iso_utc(followup.cancelled_at),
        "response_time_hours": followup.response_time_hours,
        "due_at": iso_utc(followup.due_at),
        "overdue": followups.is_overdue(followup, now),
    }


def note_json(note: FollowUpActivity) -> dict:
    return {
        "id": note.id,
        "text": note.text,
        "author": note.actor_label,
        "staff_user_id": note.staff_user_id,
        "version": note.version,
        "created_at": iso_utc(note.created_at),
        "edited_at": iso_utc(note.edited_at),
    }
