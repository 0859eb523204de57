"""`GET /metrics` in one process: who may read it (the token, else this machine only, not
through a proxy; or nobody when turned off), and what the web process counts: requests
by URL rule, the model's calls and the tokens the model server reported, notifications
by state. Counts across processes: tests/ops/test_metrics_processes.py."""

import pytest
from flask import request

from followup.extensions import db
from followup.llm.client import LLMUnavailable, stream_chat
from followup.models import DeliveryState, Notification
from followup.web.proxies import trust_proxies
from tests.helpers.metrics import parsed, value

TOKEN = "a-long-metrics-token-for-tests"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
BEHIND_A_LOCAL_PROXY = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
BEHIND_A_REAL_IP_PROXY = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.9"}


def read(app, **request) -> dict:
    response = app.test_client().get("/metrics", **request)
    assert response.status_code == 200, response.text
    assert response.content_type.startswith("text/plain; version=")
    return parsed(response.text)


def test_from_this_machine_without_a_token(app):
    assert "followup_http_requests_total" in app.test_client().get("/metrics").text


@pytest.mark.parametrize(
    "environ",
    [OUTSIDE, BEHIND_A_LOCAL_PROXY, BEHIND_A_REAL_IP_PROXY],
    ids=["outside", "proxied", "proxied-real-ip"],
)
def test_refused_from_elsewhere_and_through_a_proxy_without_a_token(app, environ):
    response = app.test_client().get("/metrics", environ_base=environ)
    assert response.status_code == 403
    assert response.text == (
        "Metrics are served only to this machine, directly, not through a proxy. "
        "Set a metrics token to read them from elsewhere.\n"
    )
    assert "followup_" not in response.text


def test_the_real_peer_decides_not_a_forwarded_address(app):
    """Behind trusted proxies the app believes X-Forwarded-For for the client's address;
    /metrics does not: a forged 127.0.0.1 from outside is refused."""
    app.config["TRUSTED_PROXIES"] = "1"
    trust_proxies(app)
    with app.test_client() as client:
        response = client.get(
            "/metrics", environ_base=OUTSIDE, headers={"X-Forwarded-For": "127.0.0.1"}
        )
        assert request.remote_addr == "127.0.0.1"  # what the rate limits would believe
    assert response.status_code == 403


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
    ids=["missing", "wrong", "other-scheme", "longer", "empty"],
)
def test_with_a_token_set_only_the_token_opens_it(app, authorization):
    app.config["METRICS_TOKEN"] = TOKEN
    headers = {"Authorization": authorization} if authorization else {}
    response = app.test_client().get("/metrics", headers=headers)  # from loopback, even
    assert response.status_code == 403
    assert response.text == (
        "Metrics need the metrics token, sent as Authorization: Bearer <token>.\n"
    )


def test_the_right_token_opens_it_from_anywhere(app):
    app.config["METRICS_TOKEN"] = TOKEN
    samples = read(app, environ_base=OUTSIDE, headers={"Authorization": f"Bearer {TOKEN}"})
    assert value(samples, "followup_notifications", state="pending") == 0


@pytest.mark.parametrize("environ", [{}, OUTSIDE], ids=["local", "outside"])
def test_turned_off_it_is_not_there(app, environ):
    app.config["METRICS_ENABLED"] = False
    response = app.test_client().get("/metrics", environ_base=environ)
    assert response.status_code == 404
    assert "followup_" not in response.text


def test_requests_are_counted_by_url_rule_and_status(app, tenant):
    before = read(app)
    client = app.test_client()
    for _ in range(3):
        client.get(f"/api/widget/v1/{tenant.widget_public_key}/config")
    client.get("/api/widget/v1/pk_nobody/config")
    client.get("/no/such/page").close()
    client.open("/no/such/page", method="BREW").close()  # any method name a client invents
    after = read(app)
    rule = "/api/widget/v1/<public_key>/config"

    def added(**labels) -> float:
        name = "followup_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert added(route=rule, method="GET", status="200") == 3
    assert added(route=rule, method="GET", status="404") == 1
    assert added(route="unmatched", method="GET", status="404") == 1
    assert (
        added(route="unmatched", method="other", status="405")
        + added(route="unmatched", method="other", status="404")
        == 1
    )
    assert not [key for key in after if ("method", "BREW") in key[1]]
    # Closed responses are timed: the one to the unmatched page.
    timed = "followup_http_request_duration_seconds_count"
    assert (
        value(after, timed, route="unmatched", method="GET")
        - value(before, timed, route="unmatched", method="GET")
        == 1
    )
    # No raw path, no public key, in any label.
    assert not [key for key in after if any(tenant.widget_public_key in v for _, v in key[1])]


def test_the_models_calls_and_tokens_as_the_model_server_reported_them(app, fake_llm):
    before = read(app)
    events = list(stream_chat([{"role": "user", "content": "one two three"}]))
    fake_llm.behaviour.fail_status = 500
    with pytest.raises(LLMUnavailable):
        list(stream_chat([{"role": "user", "content": "four"}]))
    after = read(app)

    def added(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # The fake counts words: 3 in the prompt, 5 in "You said: one two three".
    assert events[-1].text == "You said: one two three"
    assert added("followup_llm_tokens_total", direction="input") == 3
    assert added("followup_llm_tokens_total", direction="output") == 5
    assert added("followup_llm_calls_total", outcome="ok") == 1
    assert added("followup_llm_calls_total", outcome="failed") == 1
    assert added("followup_llm_call_duration_seconds_count", outcome="ok") == 1
    assert added("followup_llm_call_duration_seconds_count", outcome="failed") == 1


def test_a_reply_left_half_read_counts_as_abandoned(app):
    before = read(app)
    stream = stream_chat([{"role": "user", "content": "hello there"}])
    next(stream)  # the first words, then the visitor leaves
    stream.close()
    after = read(app)
    name = "followup_llm_calls_total"
    assert value(after, name, outcome="abandoned") - value(before, name, outcome="abandoned") == 1
    assert value(after, name, outcome="ok") == value(before, name, outcome="ok")


def test_notifications_are_counted_by_state_read_at_the_scrape(app, tenant, make_followup):
    make_followup(tenant)
    make_followup(tenant)
    rows = db.session.scalars(db.select(Notification)).all()
    assert len(rows) >= 2
    rows[0].state = DeliveryState.FAILED
    db.session.commit()
    samples = read(app)
    by_state = {
        state: value(samples, "followup_notifications", state=state) for state in DeliveryState
    }
    assert by_state[DeliveryState.FAILED] == 1
    assert sum(by_state.values()) == len(rows)


def test_without_redis_the_rest_is_still_served(app, caplog):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    samples = read(app)
    assert not [key for key in samples if key[0] == "followup_queue_depth"]
    assert value(samples, "followup_notifications", state="failed") == 0
    assert ("followup_notifications", frozenset({("state", "failed")})) in samples
    assert "Metrics: queue depths not read (ConnectionError)." in caplog.text
