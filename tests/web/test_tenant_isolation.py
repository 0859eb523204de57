"""Every admin and API route that takes an id answers 404 for another tenant's id.

The routes are read from the app's URL map, so a new route is covered the day it
is added; an id argument this test does not know yet makes it fail loudly.
"""

import pytest

from followup import create_app
from followup.config import TestConfig
from followup.extensions import db
from followup.models import FollowUpRequest, Status

ID_ROUTE_PREFIXES = ("/admin/", "/api/v1/")


def _id_routes() -> list[tuple[str, str]]:
    app = create_app(TestConfig)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(ID_ROUTE_PREFIXES) and rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule))
    return routes


ID_ROUTES = _id_routes()
# Admin routes are walked as a page request and as an HTMX request; the API has one kind.
WALK = [
    pytest.param(method, rule, htmx, id=f"{method} {rule} {'htmx' if htmx else 'page'}")
    for method, rule in ID_ROUTES
    for htmx in ((False, True) if rule.startswith("/admin/") else (False,))
]


def test_the_walk_covers_the_known_id_routes():
    assert {
        ("GET", "/admin/followups/<int:followup_id>"),
        ("POST", "/admin/followups/<int:followup_id>/status"),
        ("POST", "/admin/followups/<int:followup_id>/notes"),
        ("GET", "/admin/users/<int:customer_id>"),
        ("GET", "/api/v1/followups/<int:followup_id>"),
        ("PATCH", "/api/v1/followups/<int:followup_id>"),
    } <= set(ID_ROUTES)


# Plausible bodies, so a 404 cannot be a 400/422 in disguise.
BODIES = {"status": "contacted", "notes": "intruder was here"}


@pytest.mark.parametrize(("method", "rule", "htmx"), WALK)
def test_another_tenants_id_is_404(
    staff_browser, api_token, other_tenant, make_followup, method, rule, htmx
):
    theirs = make_followup(other_tenant, name="Their Customer")
    ids = {"followup_id": theirs.id, "customer_id": theirs.customer_id}
    url = rule
    for name, value in ids.items():
        url = url.replace(f"<int:{name}>", str(value))
    assert "<" not in url, f"teach this test the id argument of {rule}"

    if rule.startswith("/api/"):
        response = staff_browser.client.open(
            url,
            method=method,
            json=BODIES if method != "GET" else None,
            headers={"Authorization": f"Bearer {api_token}"},
        )
        assert response.get_json()["error"]["code"] == "not_found"
    elif method == "GET":
        response = staff_browser.get(url, htmx=htmx)
    else:
        response = staff_browser.post(url, data=BODIES, htmx=htmx)

    assert response.status_code == 404, (method, url, response.get_data(as_text=True)[:300])
    assert "Their Customer" not in response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(FollowUpRequest, theirs.id)
    assert (stored.status, stored.notes) == (Status.PENDING, "")
