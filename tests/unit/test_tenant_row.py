"""`queries.tenant_row`: the tenant's row by id, read once per transaction."""

import pytest

from followup.errors import NotFound
from followup.extensions import db
from followup.models import FollowUpRequest
from followup.services.queries import tenant_row
from tests.helpers.database_work import database_work


def row_of(tenant, followup_id: int) -> FollowUpRequest:
    return tenant_row(FollowUpRequest, tenant.id, followup_id, "No such request.")


def test_a_row_read_in_this_transaction_is_not_queried_again(app, tenant, make_followup):
    followup_id = make_followup(tenant).id
    first = row_of(tenant, followup_id)
    with database_work() as again:
        assert row_of(tenant, followup_id) is first
    assert again == []


def test_another_tenants_row_is_not_found_even_when_already_read(
    app, tenant, other_tenant, make_followup
):
    theirs = make_followup(other_tenant)
    row_of(other_tenant, theirs.id)
    with pytest.raises(NotFound):
        row_of(tenant, theirs.id)


def test_a_row_expired_by_a_commit_is_read_again_and_may_be_gone(app, tenant, make_followup):
    followup = make_followup(tenant)
    row_of(tenant, followup.id)
    db.session.delete(followup)
    db.session.commit()
    with pytest.raises(NotFound):
        row_of(tenant, followup.id)
