"""TRUSTED_PROXIES: whose X-Forwarded-* headers name the client, and so which address
every per-address rate limit counts by."""

import re

import pytest
from werkzeug.test import Client

from followup.config import ConfigError
from followup.web.proxies import TrustedProxies, parse_trusted_proxies
from tests.helpers.apps import app_with_empty_schema
from tests.helpers.staff import StaffBrowser, as_a_new_request

PROXY = "10.0.0.2"


def seen_by_the_app(trusted: str, peer: str, headers: dict | None = None) -> dict:
    """What the app behind the middleware takes for the client's address, scheme and host."""

    def app(environ, start_response):
        start_response("200 OK", [])
        seen = (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"], environ["HTTP_HOST"])
        return [" ".join(seen).encode()]

    client = Client(TrustedProxies(app, parse_trusted_proxies(trusted)))
    response = client.get("/", headers=headers or {}, environ_base={"REMOTE_ADDR": peer})
    address, scheme, host = response.get_data(as_text=True).split(" ")
    return {"address": address, "scheme": scheme, "host": host}


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        # One proxy hop: the address it saw, whatever the client wrote before it.
        ("1", PROXY, "203.0.113.7", "203.0.113.7"),
        ("1", PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("2", PROXY, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        # Networks: only a peer in them is believed; the client is the rightmost address
        # outside them.
        ("10.0.0.0/8", "192.0.2.50", "203.0.113.7", "192.0.2.50"),
        ("10.0.0.0/8", PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.0/8, 127.0.0.1", PROXY, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        ("10.0.0.0/8", PROXY, "10.0.0.8, 10.0.0.9", "10.0.0.8"),
        ("::1, 10.0.0.0/8", "::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(trusted, peer, forwarded_for, client):
    seen = seen_by_the_app(trusted, peer, {"X-Forwarded-For": forwarded_for})
    assert seen["address"] == client


def test_the_nearest_trusted_proxy_names_the_scheme_and_host():
    headers = {
        "Host": "10.0.0.1:8000",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "followup.example.com",
    }
    assert seen_by_the_app("10.0.0.0/8", PROXY, headers) == {
        "address": "203.0.113.7",
        "scheme": "https",
        "host": "followup.example.com",
    }
    assert seen_by_the_app("10.0.0.0/8", "192.0.2.50", headers) == {
        "address": "192.0.2.50",
        "scheme": "http",
        "host": "10.0.0.1:8000",
    }


@pytest.mark.parametrize("setting", ["ten", "1,2", "10.0.0.0/33", "10.0.0.0/8,", "-1"])
def test_a_trusted_proxies_setting_that_means_nothing_stops_the_app(database_url, setting):
    message = re.escape(f'TRUSTED_PROXIES is "{setting}": give the number of proxies')
    with (
        pytest.raises(ConfigError, match=message),
        app_with_empty_schema(database_url, TRUSTED_PROXIES=setting),
    ):
        pass


def login_statuses(app, clients: list[str], peer: str = PROXY) -> list[int]:
    """A wrong password for a new account each time (the account budget stays out of
    it), through a proxy at `peer`, for each client in turn."""
    statuses = []
    for n, client in enumerate(clients):
        as_a_new_request()
        browser = StaffBrowser(app.test_client())
        browser.client.environ_base["REMOTE_ADDR"] = peer
        browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = client
        statuses.append(browser.login(f"guess{n}@acme.example", "wrong password").status_code)
    return statuses


ALICE = ["203.0.113.7"] * 10
BOB = ["198.51.100.4"]


def test_without_trusted_proxies_everyone_behind_the_proxy_shares_one_budget(app):
    """Nobody's X-Forwarded-For is believed by default: it could be written by anyone."""
    assert login_statuses(app, ALICE + BOB) == [401] * 10 + [429]


@pytest.mark.parametrize("trusted", ["1", "10.0.0.0/8"])
def test_with_trusted_proxies_clients_behind_the_proxy_have_their_own_budgets(
    database_url, trusted
):
    with app_with_empty_schema(database_url, TRUSTED_PROXIES=trusted) as app:
        assert login_statuses(app, ALICE + ALICE[:1] + BOB) == [401] * 10 + [429, 401]


def test_trusted_networks_ignore_forwarded_for_from_anyone_else(database_url):
    with app_with_empty_schema(database_url, TRUSTED_PROXIES="10.0.0.0/8") as app:
        assert login_statuses(app, ALICE + BOB, peer="192.0.2.50") == [401] * 10 + [429]
