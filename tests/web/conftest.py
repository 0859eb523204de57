"""Fixtures of the widget's web tests: a test client, and a visitor with a chat open."""

import pytest
from flask.testing import FlaskClient

from tests.helpers.widget import Visitor


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def visitor(client, tenant) -> Visitor:
    visitor = Visitor(client, tenant)
    visitor.start()
    return visitor
