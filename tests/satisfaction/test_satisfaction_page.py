"""The public page a "How did we do?" link opens: the question, thank you, already
rated, expired and not valid; CSRF and the per-IP rate limit; and the rating as staff
then see it on the request (escaped) and in its activity."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followup.extensions import db, mail
from followup.models import SatisfactionRating
from followup.services import satisfaction
from tests.helpers.apps import text_of
from tests.helpers.jobs import configure_tenant
from tests.helpers.satisfaction import link_path, resolve
from tests.helpers.staff import as_a_new_request

RESOLVED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
COMMENT = 'Fixed <script>alert("x")</script> & fast'


@pytest.fixture
def clock():
    with time_machine.travel(RESOLVED_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def followup(tenant, make_followup, clock):
    return make_followup(tenant, name="Maria Garcia", email="maria@example.com")


@pytest.fixture
def path(followup) -> str:
    """The link's path, from the email resolving the request sent."""
    with mail.record_messages() as sent:
        resolve(followup)
    (message,) = sent
    return link_path(message.body)


@pytest.fixture
def customer(app):
    """The customer's browser: nobody logged in."""
    return app.test_client()


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text_of(page)).group(1)


def answer(customer, path: str, **fields):
    """Open the link and send the form, as the customer's browser does."""
    as_a_new_request()  # the customer's own CSRF token, not another browser's
    token = csrf_of(customer.get(path))
    return customer.post(path, data={"csrf_token": token} | fields)


def stored() -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(r.score, r.comment) for r in db.session.scalars(db.select(SatisfactionRating))]


def test_the_link_opens_the_question_with_five_labelled_choices(customer, path):
    page = customer.get(path)
    body = text_of(page)
    assert page.status_code == 200
    assert "<h1>How did we do?</h1>" in body
    assert "Acme Inc" in body
    assert "<legend>Your rating</legend>" in body
    labels = re.findall(r'value="(\d)" required[^>]*>\s*<span>([^<]+)</span>', body)
    assert labels == [
        ("1", "1 — Very poor"),
        ("2", "2 — Poor"),
        ("3", "3 — Okay"),
        ("4", "4 — Good"),
        ("5", "5 — Excellent"),
    ]
    assert 'maxlength="2000"' in body
    # The token is in the URL: not cached, not sent on as a Referer, not indexed.
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert stored() == []  # opening it (a mail scanner does) rates nothing


def test_rating_thanks_the_customer_and_a_second_use_changes_nothing(customer, path):
    token = csrf_of(customer.get(path))
    response = customer.post(path, data={"csrf_token": token, "score": "4", "comment": COMMENT})
    assert response.status_code == 200
    assert "<h1>Thank you</h1>" in text_of(response)
    # The page asks no more; a post sent anyway (a second tab) changes nothing.
    again = customer.post(path, data={"csrf_token": token, "score": "1"})
    assert again.status_code == 409
    assert "You already rated this request — thank you." in text_of(again)
    opened = customer.get(path)
    assert opened.status_code == 409
    assert "You already rated this request — thank you." in text_of(opened)
    assert "<form" not in text_of(opened)
    assert stored() == [(4, COMMENT)]


def test_staff_see_the_rating_on_the_request_escaped_and_in_its_activity(
    customer, path, followup, staff_browser
):
    rated = answer(customer, path, score="4", comment=COMMENT)
    assert rated.status_code == 200, text_of(rated)
    as_a_new_request()
    body = text_of(staff_browser.get(f"/admin/followups/{followup.id}"))
    section = body[body.index('id="satisfaction-rating"') :]
    assert '<strong class="rating-score">4 — Good</strong>' in section
    assert "Fixed &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; fast" in section
    assert '<script>alert("x")' not in body
    assert "rated it <strong>4 — Good</strong>" in body
    assert "The customer" in body


def test_posting_without_the_csrf_token_is_refused(customer, path):
    customer.get(path)
    response = customer.post(path, data={"score": "5"})
    assert response.status_code == 400
    assert "security token" in text_of(response)
    assert stored() == []


@pytest.mark.parametrize("score", ["", "0", "6", "five"])
def test_a_missing_or_bad_score_shows_the_form_again_with_the_comment_kept(customer, path, score):
    response = answer(customer, path, score=score, comment="Kept <b>words</b>")
    body = text_of(response)
    assert response.status_code == 422
    assert "Rating: choose one from 1 to 5." in body
    assert "Kept &lt;b&gt;words&lt;/b&gt;</textarea>" in body
    assert stored() == []


def test_an_expired_link_says_so(customer, path, clock):
    clock.move_to(RESOLVED_AT + timedelta(days=14))
    opened = customer.get(path)
    assert opened.status_code == 410
    assert "This link has expired." in text_of(opened)
    assert "<form" not in text_of(opened)


def test_an_expired_link_takes_no_rating(customer, path, clock):
    token = csrf_of(customer.get(path))
    clock.move_to(RESOLVED_AT + timedelta(days=14))
    response = customer.post(path, data={"csrf_token": token, "score": "5"})
    assert response.status_code == 410
    assert stored() == []


def test_a_day_before_the_end_the_link_still_works(customer, path, clock):
    clock.move_to(RESOLVED_AT + timedelta(days=13, hours=23))
    assert answer(customer, path, score="5").status_code == 200
    assert stored() == [(5, "")]


def test_forged_and_other_tenants_links_are_not_valid(customer, path, other_tenant, make_followup):
    theirs = make_followup(other_tenant)
    resolve(theirs)
    token = path.removeprefix("/rate/")
    # Signed by us, but naming a request of another tenant than its own.
    wrong_tenant = satisfaction.make_token(
        theirs.tenant_id + 1, theirs.id, RESOLVED_AT + timedelta(days=14)
    )
    for bad in (f"/rate/{token[:-2]}xx", "/rate/nothing-here", f"/rate/{wrong_tenant}"):
        response = customer.get(bad)
        assert response.status_code == 404
        assert "This link is not valid." in text_of(response)
        posted = customer.post(bad, data={"csrf_token": csrf_of(customer.get(path)), "score": "5"})
        assert posted.status_code == 404
    assert stored() == []


def test_the_page_is_rate_limited_per_address(customer, path, app):
    app.config["SATISFACTION_RATE_LIMIT"] = "3 per minute"
    statuses = [customer.get(path).status_code for _ in range(3)]
    statuses.append(customer.get("/rate/guess").status_code)
    assert statuses == [200, 200, 200, 429]
    other_address = customer.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_address.status_code == 200


def test_the_owner_turns_the_question_off_in_the_follow_up_settings(staff_browser, tenant):
    page = text_of(staff_browser.get("/admin/followups/settings"))
    assert 'id="satisfaction_survey" name="satisfaction_survey" checked' in page
    staff_browser.refresh_csrf("/admin/followups/settings")
    response = staff_browser.post(
        "/admin/followups/settings",
        data={"enabled": "on", "response_time_hours": "24", "customer_confirmation": "on"},
        htmx=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert tenant.satisfaction_survey_enabled is False
    assert tenant.customer_confirmation_enabled is True
    configure_tenant(tenant, satisfaction_survey_enabled=True)
