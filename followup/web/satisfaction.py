"""The public page a "How did we do?" link opens: no login, the signed token in the URL.

Opening the link (GET) only shows the question; the rating is stored by the form's
POST, which CSRFProtect guards like every other form (a mail scanner opening the
link rates nothing). Each state of the link has its own page: the question, thank
you, already rated, expired, not valid. Each speaks the customer's language: the one
of the chat the request came from (as the email or SMS that carried the link), else
the business's default; the browser's only for a link that is not ours.
"""

from enum import StrEnum

from flask import Blueprint, make_response, render_template, request

from followup.errors import ValidationFailed
from followup.services import satisfaction as service
from followup.web.forms import PostedForm, Text
from followup.web.locale import use_locale, visitor_locale
from followup.web.rate_limits import per_ip

bp = Blueprint("satisfaction", __name__)


class RatingForm(PostedForm):
    score = Text()
    comment = Text()


class PageState(StrEnum):
    ASK = "ask"
    THANKS = "thanks"
    ALREADY_RATED = "already_rated"
    EXPIRED = "expired"
    NOT_VALID = "not_valid"


# The link's refusals, each with its page and status.
REFUSALS = {
    service.AlreadyRated: (PageState.ALREADY_RATED, 409),
    service.LinkExpired: (PageState.EXPIRED, 410),
    service.LinkNotValid: (PageState.NOT_VALID, 404),
}


def _page(state: PageState, status: int, **context):
    context = {"link": None, "errors": {}, "score": "", "comment": ""} | context
    page = render_template(
        "satisfaction.html",
        state=state,
        labels=service.SCORE_LABELS,
        max_comment=service.MAX_COMMENT,
        lifetime_days=service.LINK_LIFETIME.days,
        **context,
    )
    response = make_response(page, status)
    # The token is in the URL: keep it out of caches, Referer headers and search engines.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/rate/<token>", methods=["GET", "POST"])
@per_ip("SATISFACTION_RATE_LIMIT")
def rate(token: str):
    form = RatingForm.posted()
    use_locale(visitor_locale(None, service.link_locale(token)))
    try:
        link = service.open_link(token)
        if request.method == "POST":
            service.rate(token, form.score.data, form.comment.data)
            return _page(PageState.THANKS, 200, link=link)
    except tuple(REFUSALS) as exc:
        state, status = REFUSALS[type(exc)]
        return _page(state, status)
    except ValidationFailed as exc:
        return _page(
            PageState.ASK,
            422,
            link=link,
            errors=exc.fields,
            score=form.score.data,
            comment=form.comment.data,
        )
    return _page(PageState.ASK, 200, link=link)
