"""Follow-up requests as the API's JSON."""

from datetime import datetime
from decimal import Decimal

from followup.clock import iso_utc
from followup.models import FollowUpActivity, FollowUpRequest
from followup.services import followups
from followup.services.reports import Report
from followup.services.satisfaction import Summary as RatingSummary


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


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.6f}"


def report_json(report: Report) -> dict:
    """The reports' figures as `GET /reports/summary` answers them (openapi.py: Report)."""
    period = report.period
    days = [day.first_day.isoformat() for day in period.days()]
    f, chains, ai = report.followups, report.chains, report.ai
    return {
        "period": {"from": days[0], "to": days[-1], "time_zone": period.zone},
        "agent_id": report.agent_id,
        "as_of": iso_utc(report.as_of),
        "followups": {
            "total": f.total,
            "per_day": [
                {"date": date, **{source.value: count for source, count in day.items()}}
                for date, day in zip(days, f.per_day, strict=True)
            ],
            "promise_hours": f.promise_hours,
            "contacted": f.contacted,
            "decided": f.decided,
            "within_promise": f.within_promise,
            "within_promise_share": _share(f.within_promise, f.decided),
            "time_to_contact": [
                {"from_hours": b.low_hours, "to_hours": b.high_hours, "count": b.count}
                for b in f.contact_bins
            ],
            "per_week": [
                {
                    "week_start": bucket.first_day.isoformat(),
                    "decided": w.decided,
                    "within_promise": w.within_promise,
                }
                for bucket, w in zip(period.weeks(), f.weeks, strict=True)
            ],
            "backlog": {age.value: count for age, count in f.backlog.items()},
        },
        "assignees": [
            {
                "assignee_id": row.assignee_id,
                "name": row.name,
                "requests": row.requests,
                "handled": row.handled,
                "median_contact_seconds": row.median_contact_seconds,
                "decided": row.decided,
                "within_promise": row.within_promise,
            }
            for row in report.assignees
        ],
        "auto_followup": {
            "chats": chains.chats,
            "sent": chains.sent,
            "replied_within_24h": chains.replied,
            "exhausted": chains.exhausted,
            "opted_out": chains.opted_out,
            "steps": [
                {
                    "step_id": s.step_id,
                    "agent": s.agent_name,
                    "position": s.position,
                    "sent": s.sent,
                    "replied_within_24h": s.replied,
                }
                for s in chains.steps
            ],
            "employees": [
                {
                    "agent_id": e.agent_id,
                    "name": e.name,
                    "chats": e.chats,
                    "sent": e.sent,
                    "replied_within_24h": e.replied,
                    "exhausted": e.exhausted,
                    "opted_out": e.opted_out,
                }
                for e in chains.employees
            ],
        },
        "ai": {
            "conversations": ai.conversations,
            "customer_messages": ai.customer_messages,
            "handoffs": ai.handoffs,
            "handoff_share": _share(ai.handoffs, ai.conversations),
            "model_failures": ai.model_failures,
            "employees": [
                {
                    "agent_id": e.agent_id,
                    "name": e.name,
                    "conversations": e.conversations,
                    "customer_messages": e.customer_messages,
                    "handoffs": e.handoffs,
                    "model_failures": e.model_failures,
                    "input_tokens": e.input_tokens,
                    "output_tokens": e.output_tokens,
                }
                for e in ai.employees
            ],
            "tokens_per_day": [
                {
                    "date": days[t.day],
                    "agent_id": t.agent_id,
                    "input_tokens": t.input_tokens,
                    "output_tokens": t.output_tokens,
                }
                for t in ai.token_days
            ],
            "models": [
                {
                    "model": m.model,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "estimated_cost": _money(m.cost),
                }
                for m in ai.models
            ],
            "estimated_cost": _money(ai.cost),
        },
        "satisfaction": _satisfaction_json(report.satisfaction),
    }


def _satisfaction_json(ratings: RatingSummary) -> dict:
    return {
        "count": ratings.count,
        "average": ratings.average,
        "distribution": {str(score): n for score, n in ratings.distribution.items()},
        "comments": [
            {
                "followup_id": c.followup_id,
                "score": c.score,
                "comment": c.text,
                "created_at": iso_utc(c.created_at),
            }
            for c in ratings.comments
        ],
    }
